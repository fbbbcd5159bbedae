"""The SFTP transport (Twisted Conch): partners upload to ``/inbound`` and pick up from
``/outbound`` of a per-partner virtual tree.

Public API::

    factory = make_sftp_factory(config=..., host_key_dir=..., staging_dir=..., partners=...,
                                intake=..., mailbox=..., audit=..., reactor=reactor)
    port = await serverFromString(reactor, config.listen).listen(factory)
    ...
    await factory.shutdown()          # refuse new work, let uploads finish, disconnect
    await port.stopListening()

or as a service: ``SftpService(factory, endpoint)`` (stopService does both).
"""

from gateway.transports.sftp.factory import SftpFactory, make_sftp_factory
from gateway.transports.sftp.noise import is_conch_noise
from gateway.transports.sftp.service import SftpService

__all__ = ["SftpFactory", "SftpService", "is_conch_noise", "make_sftp_factory"]
