"""The ONE composition root: ``make_service(config, reactor) -> MultiService``.

Children start in order and stop in reverse: the core (store, pipeline) first, then the
listeners; on shutdown the SFTP listener stops taking new sessions and lets in-flight uploads
finish within ``sftp.shutdown_grace`` before the core stops.
"""

from __future__ import annotations

import signal
from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString

from gateway.audit import AuditLog, console_stream
from gateway.config import GatewayConfig
from gateway.errors import ConfigError
from gateway.pipeline.core import GatewayCore
from gateway.profiles import PartnerSet, load_partners
from gateway.transports.http import make_site


class PartnerRegistry:
    """The partner profiles in force; :meth:`reload` swaps in a new set only if it is valid."""

    def __init__(self, config: GatewayConfig, audit: AuditLog) -> None:
        self.config = config
        self.audit = audit
        self.current: PartnerSet = load_partners(str(config.partners_dir))

    def __call__(self) -> PartnerSet:
        return self.current

    def reload(self) -> bool:
        try:
            fresh = load_partners(str(self.config.partners_dir))
        except ConfigError as exc:
            self.audit(
                "config.reload_failed",
                partners_dir=str(self.config.partners_dir),
                problems=[str(p) for p in exc.problems],
            )
            return False
        self.current = fresh
        self.audit("config.reloaded", partners=sorted(fresh.partners))
        return True


class _ReloadOnHangup(Service):
    def __init__(self, registry: PartnerRegistry, reactor: Any) -> None:
        self.registry = registry
        self.reactor = reactor
        self._previous: Any = None

    def startService(self) -> None:  # noqa: N802
        super().startService()

        def handler(signum: int, frame: Any) -> None:
            self.reactor.callFromThread(self.registry.reload)

        try:
            self._previous = signal.signal(signal.SIGHUP, handler)
        except ValueError:  # not the main thread (tests)
            self._previous = None

    def stopService(self) -> Any:  # noqa: N802
        if self._previous is not None:
            signal.signal(signal.SIGHUP, self._previous)
        return super().stopService()


class _SftpService(StreamServerEndpointService):
    """The SFTP listener; on stop, drains in-flight uploads before closing sessions."""

    def __init__(self, endpoint: Any, factory: Any, grace: float) -> None:
        super().__init__(endpoint, factory)
        self.grace = grace

    @defer.inlineCallbacks
    def stopService(self):  # type: ignore[no-untyped-def]  # noqa: N802
        listening = super().stopService()  # stop accepting connections first
        yield self.factory.shutdown(self.grace)
        yield listening


class GatewayService(MultiService):
    def __init__(self, config: GatewayConfig, reactor: Any, console: bool = True) -> None:
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.audit = AuditLog(
            config.audit_log_path, console_stream() if console and config.log.console else None
        )
        self.partners = PartnerRegistry(config, self.audit)
        self.core = GatewayCore(config, self.partners, self.audit, reactor)
        self.core.setServiceParent(self)
        _ReloadOnHangup(self.partners, reactor).setServiceParent(self)

        from gateway.transports.sftp import make_sftp_factory

        self.sftp_factory = make_sftp_factory(
            config=config.sftp,
            host_key_dir=config.data_dir / "host_keys",
            staging_dir=self.core.staging_dir,
            partners=self.partners,
            intake=self.core,
            mailbox=self.core,
            audit=self.audit,
            reactor=reactor,
        )
        self.sftp = _SftpService(
            serverFromString(reactor, config.sftp.listen),
            self.sftp_factory,
            config.sftp.shutdown_grace,
        )
        self.sftp.setServiceParent(self)
        self.http = StreamServerEndpointService(
            serverFromString(reactor, config.http.listen), make_site(self)
        )
        self.http.setServiceParent(self)

    def startService(self) -> None:  # noqa: N802
        super().startService()
        self.audit(
            "gateway.started",
            sftp=self.config.sftp.listen,
            http=self.config.http.listen,
            data_dir=str(self.config.data_dir),
            partners=sorted(self.partners().partners),
        )

    @defer.inlineCallbacks
    def stopService(self):  # type: ignore[no-untyped-def]  # noqa: N802
        self.audit("gateway.stopping")
        yield super().stopService()
        self.audit("gateway.stopped")
        self.audit.close()

    def listening_ports(self) -> dict[str, int]:
        """Actual ports (useful with ``tcp:0``)."""
        ports = {}
        for name, svc in (("sftp", self.sftp), ("http", self.http)):
            port = getattr(svc, "_waitingForPort", None)
            result = getattr(port, "result", None)
            if result is not None:
                ports[name] = result.getHost().port
        return ports


def make_service(config: GatewayConfig, reactor: Any, console: bool = True) -> GatewayService:
    return GatewayService(config, reactor, console=console)
