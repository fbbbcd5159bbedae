"""A Service wrapper: listen on start; on stop, graceful shutdown then stop listening."""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred

from gateway.transports.sftp.factory import SftpFactory


class SftpService(Service):
    """``SftpService(factory, serverFromString(reactor, config.sftp.listen))``."""

    name = "sftp"

    def __init__(self, factory: SftpFactory, endpoint: Any) -> None:
        self.factory = factory
        self.endpoint = endpoint
        self.port: Any = None
        self._listening: Deferred[Any] | None = None

    def startService(self) -> None:
        super().startService()
        self._listening = self.endpoint.listen(self.factory)

        def listening(port: Any) -> None:
            self.port = port

        self._listening.addCallback(listening)

    @defer.inlineCallbacks
    def stopService(self) -> Any:
        super().stopService()
        if self._listening is not None:
            yield self._listening
        port, self.port = self.port, None
        if port is not None:
            yield port.stopListening()  # no new TCP connections
        yield self.factory.shutdown()
