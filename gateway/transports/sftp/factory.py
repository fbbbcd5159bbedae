"""The SSH factory: host keys, pruned algorithms, idle and login timeouts, pre-login
connection caps, address bans, graceful shutdown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.conch.ssh import connection
from twisted.conch.ssh.factory import SSHFactory
from twisted.conch.ssh.keys import Key
from twisted.conch.ssh.transport import (
    DISCONNECT_BY_APPLICATION,
    DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT,
    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
    SSHServerTransport,
)
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gateway.config import SftpConfig
from gateway.ports import Audit, Intake, Mailbox
from gateway.profiles import Partner, PartnerSet, SftpUser
from gateway.transports.sftp import jail
from gateway.transports.sftp.auth import (
    BANNED_MESSAGE,
    REFRESH_SECONDS,
    Authenticator,
    BlockStore,
    ConnectionPortal,
    GatewayUserAuthServer,
    peer_host,
)
from gateway.transports.sftp.hostkeys import load_or_create_host_keys
from gateway.transports.sftp.server import SftpAvatar, SftpContext
from gateway.transports.sftp.throttle import LoginGuard

log = Logger()

CIPHERS = [b"aes256-ctr", b"aes192-ctr", b"aes128-ctr"]
MACS = [b"hmac-sha2-512", b"hmac-sha2-256"]
KEX = [
    b"mlkem768x25519-sha256",
    b"curve25519-sha256",
    b"curve25519-sha256@libssh.org",
    b"ecdh-sha2-nistp256",
    b"ecdh-sha2-nistp384",
    b"ecdh-sha2-nistp521",
]
HOST_KEY_ALGORITHMS = [b"ssh-ed25519", b"rsa-sha2-512", b"rsa-sha2-256"]


def _keep(preferred: list[bytes], available: list[bytes]) -> list[bytes]:
    return [name for name in preferred if name in available]


class GatewayServerTransport(SSHServerTransport):
    """Server transport with pruned algorithms, an idle timeout and connection tracking."""

    factory: SftpFactory
    _idle_call: Any = None
    _last_activity: float = 0.0
    _opened_at: float = 0.0
    _login_call: Any = None
    #: The source address while this connection holds a pre-login slot (None once released).
    prelogin_address: str | None = None
    #: Failed login attempts on this connection, across ``ssh-userauth`` service requests.
    login_attempts: int = 0

    def connectionMade(self) -> None:
        self.supportedCiphers = _keep(CIPHERS, list(SSHServerTransport.supportedCiphers))
        self.supportedMACs = _keep(MACS, list(SSHServerTransport.supportedMACs))
        self.supportedKeyExchanges = _keep(KEX, list(self.supportedKeyExchanges))
        self.supportedPublicKeys = _keep(HOST_KEY_ALGORITHMS, list(self.supportedPublicKeys))
        self.supportedCompressions = [b"none"]
        self.factory.connections.add(self)
        reactor = self.factory.reactor
        self._last_activity = reactor.seconds()
        self._opened_at = reactor.seconds()
        self._idle_call = reactor.callLater(self.factory.config.idle_timeout, self._check_idle)
        # From connection start, not from the first userauth request: a client that never
        # starts authenticating is closed too.
        login_timeout = min(self.factory.config.login_timeout, self.factory.config.idle_timeout)
        self._login_call = reactor.callLater(login_timeout, self._login_timed_out)
        super().connectionMade()
        if self.factory.authenticator.banned(peer_host(self)):
            self.sendDisconnect(DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT, BANNED_MESSAGE)

    def _login_timed_out(self) -> None:
        self._login_call = None
        if self.transport is None or getattr(self.transport, "disconnecting", False):
            return
        self.sendDisconnect(DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, b"login took too long")

    def setService(self, service: Any) -> None:
        if isinstance(service, connection.SSHConnection):  # only started after a login
            self._logged_in()
        super().setService(service)

    def _logged_in(self) -> None:
        if self._login_call is not None and self._login_call.active():
            self._login_call.cancel()
        self._login_call = None
        self.factory.release_prelogin(self)

    def dataReceived(self, data: bytes) -> None:
        self._last_activity = self.factory.reactor.seconds()
        super().dataReceived(data)

    def sendPacket(self, messageType: int, payload: bytes) -> None:
        self._last_activity = self.factory.reactor.seconds()
        super().sendPacket(messageType, payload)

    def _check_idle(self) -> None:
        reactor = self.factory.reactor
        idle = reactor.seconds() - self._last_activity
        timeout = self.factory.config.idle_timeout
        if idle >= timeout:
            self._idle_call = None
            self.disconnect(b"idle timeout")
        else:
            self._idle_call = reactor.callLater(timeout - idle, self._check_idle)

    def disconnect(self, message: bytes) -> None:
        """Tell the client why, then close."""
        if self.transport is None or getattr(self.transport, "disconnecting", False):
            return
        self.sendDisconnect(DISCONNECT_BY_APPLICATION, message)

    def connectionLost(self, reason: Any = None) -> None:
        if self._idle_call is not None and self._idle_call.active():
            self._idle_call.cancel()
        self._idle_call = None
        if self._login_call is not None and self._login_call.active():
            self._login_call.cancel()
        self._login_call = None
        self.factory.release_prelogin(self)
        self.factory.connections.discard(self)
        super().connectionLost(reason)
        avatar = getattr(self, "avatar", None)  # set by Conch's userauth once logged in
        partner = getattr(avatar, "partner_id", None)
        if partner is not None:
            transport: Any = self.transport
            peer = transport.getPeer() if transport is not None else None
            self.factory.context.audit(
                "sftp.session.closed",
                partner=partner,
                peer=getattr(peer, "host", None),
                seconds=round(self.factory.reactor.seconds() - self._opened_at, 3),
            )
        self.factory.connection_gone()


class SftpFactory(SSHFactory):
    """The SSH server factory of the SFTP transport. See :func:`make_sftp_factory`."""

    protocol = GatewayServerTransport
    noisy = False

    def __init__(
        self,
        *,
        config: SftpConfig,
        host_keys: dict[bytes, Key],
        context: SftpContext,
        partners: Callable[[], PartnerSet],
        audit: Audit,
        reactor: Any,
        blocks: BlockStore | None = None,
    ) -> None:
        self.config = config
        self.reactor = reactor
        self.context = context
        self.privateKeys = host_keys
        self.publicKeys = {kind: key.public() for kind, key in host_keys.items()}
        self.primes = None  # no group exchange (no moduli, and gex-sha1 is pruned anyway)
        self.services = {
            b"ssh-userauth": GatewayUserAuthServer,
            b"ssh-connection": connection.SSHConnection,
        }
        self.connections: set[GatewayServerTransport] = set()
        self._gone_waiters: list[Deferred[None]] = []
        self._shutdown: Deferred[None] | None = None
        #: Connections not yet logged in, per source address.
        self.prelogin: dict[str, int] = {}
        self.authenticator = Authenticator(
            partners=partners,
            guard=LoginGuard(config.lockout, reactor.seconds),
            audit=audit,
            reactor=reactor,
            make_avatar=self._make_avatar,
            accepting=lambda: self.context.accepting,
            blocks=blocks,
        )
        self._refresher: LoopingCall | None = None
        # Conch's userauth reads ``factory.portal``; ours swaps in a per-connection one.
        self.portal = ConnectionPortal(self.authenticator, "unknown")

    def _make_avatar(self, partner: Partner, user: SftpUser, address: str) -> SftpAvatar:
        # The partner id names a staging directory: it must be one plain path component.
        if jail.check_name(partner.id).startswith("."):
            raise jail.denied("unusable partner id")
        return SftpAvatar(self.context, partner.id, user.name, address)

    def startFactory(self) -> None:
        super().startFactory()
        if self._refresher is None:
            # Stored locks and bans first (a restart keeps them), then every REFRESH_SECONDS.
            self._refresher = LoopingCall(self.authenticator.refresh)
            self._refresher.clock = self.reactor
            self._refresher.start(REFRESH_SECONDS, now=True)

    def stopFactory(self) -> None:
        if self._refresher is not None and self._refresher.running:
            self._refresher.stop()
        self._refresher = None
        super().stopFactory()

    def buildProtocol(self, addr: Any) -> Any:
        if not self.context.accepting:
            return None  # refuse new connections while shutting down
        host = str(getattr(addr, "host", addr))
        # Pre-login caps: refused at once (closed before any SSH byte), so a flood of
        # connections that never log in cannot starve the partners.
        if sum(self.prelogin.values()) >= self.config.max_prelogin:
            return None
        if self.prelogin.get(host, 0) >= self.config.max_prelogin_per_address:
            return None
        protocol: Any = super().buildProtocol(addr)
        if protocol is not None:
            self.prelogin[host] = self.prelogin.get(host, 0) + 1
            protocol.prelogin_address = host
        return protocol

    def release_prelogin(self, transport: GatewayServerTransport) -> None:
        host, transport.prelogin_address = transport.prelogin_address, None
        if host is None:
            return
        left = self.prelogin.get(host, 0) - 1
        if left > 0:
            self.prelogin[host] = left
        else:
            self.prelogin.pop(host, None)

    def connection_gone(self) -> None:
        if not self.connections:
            waiters, self._gone_waiters = self._gone_waiters, []
            for d in waiters:
                d.callback(None)

    def _all_gone(self) -> Deferred[None]:
        if not self.connections:
            return defer.succeed(None)
        d: Deferred[None] = Deferred()
        self._gone_waiters.append(d)
        return d

    @property
    def accepting(self) -> bool:
        return self.context.accepting

    def shutdown(self, grace: float | None = None) -> Deferred[None]:
        """Stop taking new connections, logins and uploads; wait up to ``grace`` seconds
        (default ``config.shutdown_grace``) for in-flight uploads to finish (close answered),
        then disconnect every session. Fires when all connections are gone. Idempotent.

        Stopping the listening port is the caller's business (before or after this).
        """
        if self._shutdown is not None:
            return self._shutdown
        self.context.accepting = False
        timeout = self.config.shutdown_grace if grace is None else grace
        uploads = self.context.uploads_done()
        if self.context.in_flight:
            log.info(
                "SFTP shutdown: waiting up to {timeout}s for {count} upload(s)",
                timeout=timeout,
                count=len(self.context.in_flight),
            )
        uploads.addTimeout(timeout, self.reactor)
        uploads.addErrback(lambda f: f.trap(defer.TimeoutError, defer.CancelledError))

        def disconnect(_: object) -> Deferred[None]:
            for transport in list(self.connections):
                transport.disconnect(b"server shutting down")
            gone = self._all_gone()
            gone.addTimeout(5, self.reactor)
            gone.addErrback(lambda f: f.trap(defer.TimeoutError, defer.CancelledError))
            return gone

        self._shutdown = uploads.addCallback(disconnect)
        return self._shutdown


def make_sftp_factory(
    *,
    config: SftpConfig,
    host_key_dir: Path,
    staging_dir: Path,
    partners: Callable[[], PartnerSet],
    intake: Intake,
    mailbox: Mailbox,
    audit: Audit,
    reactor: Any,
    blocks: BlockStore | None = None,
) -> SftpFactory:
    """Build the SFTP server factory (blocking: may generate host keys on first use).

    Listen with it on any stream endpoint, e.g.
    ``serverFromString(reactor, config.listen).listen(factory)``; on stop call
    ``factory.shutdown()``. ``partners()`` is called on every login, so a profile reload
    applies to new logins while open sessions keep going. ``blocks`` keeps password locks and
    address bans across restarts (:class:`gateway.transports.sftp.bans.StoredBlocks`);
    without it they live in memory only.
    """
    host_keys = load_or_create_host_keys(host_key_dir)
    staging_dir.mkdir(parents=True, exist_ok=True)
    context = SftpContext(
        config=config,
        staging_dir=staging_dir,
        intake=intake,
        mailbox=mailbox,
        audit=audit,
        reactor=reactor,
    )
    return SftpFactory(
        config=config,
        host_keys=host_keys,
        context=context,
        partners=partners,
        audit=audit,
        reactor=reactor,
        blocks=blocks,
    )


__all__ = ["SftpFactory", "make_sftp_factory"]
