"""The ONE composition root: ``make_service(config, reactor) -> MultiService``.

Children start in order: the core (store, pipeline) first, then the listeners. They stop in
phases (``MultiService`` would stop them all at once): first the listeners — the SFTP listener
stops taking sessions and lets in-flight uploads finish within ``sftp.shutdown_grace``, with the
store still there to take them — then the senders (AS2), then the core and the store last.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from gateway.api.limits import HttpLimits
from gateway.audit import AuditLog, console_stream
from gateway.config import GatewayConfig
from gateway.errors import ConfigError
from gateway.metrics import GatewayMetrics
from gateway.payers.config import PayerConfig
from gateway.payers.loader import load_simulated_payers
from gateway.pipeline.core import GatewayCore
from gateway.profiles import PartnerSet, load_partners
from gateway.transports.http import make_site

log = Logger()


class PartnerRegistry:
    """The partner profiles in force; :meth:`reload` swaps in a new set only if it is valid."""

    def __init__(self, config: GatewayConfig, audit: AuditLog) -> None:
        self.config = config
        self.audit = audit
        self.current, self.payers = self._load()

    def _load(self) -> tuple[PartnerSet, dict[str, PayerConfig]]:
        own = (self.config.interchange_qualifier, self.config.interchange_id)
        partners = load_partners(str(self.config.partners_dir), own_interchange=own)
        return partners, load_simulated_payers(partners, self.config.partners_dir)

    def __call__(self) -> PartnerSet:
        return self.current

    def payer_configs(self) -> dict[str, PayerConfig]:
        """Adjudication configuration of the simulated payers, by partner id."""
        return self.payers

    def reload(self) -> bool:
        try:
            fresh = self._load()
        except ConfigError as exc:
            self.audit(
                "config.reload_failed",
                partners_dir=str(self.config.partners_dir),
                problems=[str(p) for p in exc.problems],
            )
            return False
        self.current, self.payers = fresh
        self.audit("config.reloaded", partners=sorted(self.current.partners))
        return True


class _ReloadOnHangup(Service):
    def __init__(self, registry: PartnerRegistry, reactor: Any) -> None:
        self.registry = registry
        self.reactor = reactor
        self._previous: Any = None

    def startService(self) -> None:
        super().startService()

        def handler(signum: int, frame: Any) -> None:
            self.reactor.callFromThread(self.registry.reload)

        try:
            self._previous = signal.signal(signal.SIGHUP, handler)
        except ValueError:  # not the main thread (tests)
            self._previous = None

    def stopService(self) -> Any:
        if self._previous is not None:
            signal.signal(signal.SIGHUP, self._previous)
        return super().stopService()


class Listener(Service):
    """Listens on an endpoint; ``listening`` fires with the port (its real number with tcp:0).

    A failure to listen stops the reactor with a clear message instead of leaving a daemon
    that answers nothing.
    """

    def __init__(self, name: str, endpoint: Any, factory: Any, reactor: Any) -> None:
        self.setName(name)
        self.endpoint = endpoint
        self.factory = factory
        self.reactor = reactor
        self.port: Any = None
        self.listening: defer.Deferred[Any] = defer.Deferred()

    def startService(self) -> None:
        super().startService()
        d = self.endpoint.listen(self.factory)

        def up(port: Any) -> Any:
            self.port = port
            self.listening.callback(port)
            return port

        def down(failure: Any) -> None:
            print(
                f"error: cannot listen for {self.name}: {failure.getErrorMessage()}",
                file=sys.stderr,
            )
            self.listening.errback(failure)
            if self.reactor.running:
                self.reactor.stop()

        d.addCallbacks(up, down)

    @defer.inlineCallbacks
    def stopService(self):  # type: ignore[no-untyped-def]
        yield defer.maybeDeferred(super().stopService)
        if self.port is not None:
            yield self.port.stopListening()


class _SftpListener(Listener):
    """On stop: no new sessions, then in-flight uploads finish within the grace period."""

    grace = 30.0

    @defer.inlineCallbacks
    def stopService(self):  # type: ignore[no-untyped-def]
        if self.port is not None:
            yield self.port.stopListening()
            self.port = None
        yield self.factory.shutdown(self.grace)
        yield defer.maybeDeferred(Service.stopService, self)


def http_limits(config: GatewayConfig) -> HttpLimits:
    http = config.http
    return HttpLimits(
        max_body=http.max_body,
        max_uploads=http.max_uploads,
        max_in_flight=http.max_in_flight,
        max_per_partner=http.max_per_partner,
        idle_timeout=http.idle_timeout,
        request_timeout=http.request_timeout,
        max_uploads_per_address=http.max_uploads_per_address,
        min_body_rate=http.min_body_rate,
        body_rate_window=http.body_rate_window,
        max_request_line=http.max_request_line,
        max_header_bytes=http.max_header_bytes,
        max_header_fields=http.max_header_fields,
    )


class GatewayService(MultiService):
    def __init__(self, config: GatewayConfig, reactor: Any, console: bool = True) -> None:
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.audit = AuditLog(
            config.audit_log_path,
            console_stream() if console and config.log.console else None,
            node=config.node_id,
        )
        # Metrics follow the audit events (no other module knows about them).
        self.metrics = GatewayMetrics()
        self.audit.subscribe(self.metrics.observe)
        self.partners = PartnerRegistry(config, self.audit)
        self.core = GatewayCore(
            config, self.partners, self.audit, reactor, payers=self.partners.payer_configs
        )
        self.core.setServiceParent(self)
        _ReloadOnHangup(self.partners, reactor).setServiceParent(self)

        self._setup_as2()

        from gateway.store.logins import LoginBlocks
        from gateway.transports.sftp import make_sftp_factory
        from gateway.transports.sftp.bans import StoredBlocks

        self.sftp_factory = make_sftp_factory(
            config=config.sftp,
            host_key_dir=config.host_keys_dir,
            staging_dir=self.core.staging_dir,
            partners=self.partners,
            intake=self.core,
            mailbox=self.core,
            audit=self.audit,
            reactor=reactor,
            blocks=StoredBlocks(
                LoginBlocks(self.core.store),
                self.core.in_store,
                window=config.sftp.lockout.window,
                node=config.node_id,
            ),
        )
        self.sftp = _SftpListener(
            "sftp", serverFromString(reactor, config.sftp.listen), self.sftp_factory, reactor
        )
        self.sftp.grace = config.sftp.shutdown_grace
        self.sftp.setServiceParent(self)
        self.http = Listener(
            "http",
            serverFromString(reactor, config.http.listen),
            make_site(self, limits=http_limits(config), reactor=reactor),
            reactor,
        )
        self.http.setServiceParent(self)

    def _setup_as2(self) -> None:
        """AS2: the receiver behind ``/as2`` (mounted by make_site) and the sender service
        (async MDNs, pushes to partners); its tables are schema delta 2."""
        from gateway.pipeline.as2_inbound import As2Directory, As2Receiver, clean_staging
        from gateway.pipeline.as2_sender import As2Sender

        clean_staging(self.core.staging_dir)  # before the HTTP listener starts
        directory = As2Directory(self.config.as2, self.partners)
        self.as2_sender = As2Sender(self.core, directory, self.audit, self.reactor, self.config.as2)
        self.as2_sender.setServiceParent(self)
        self.as2_receiver = As2Receiver(
            self.core,
            directory,
            self.audit,
            kick_outbox=self.as2_sender.kick,
            mdn_handler=self.as2_sender.handle_mdn,
            max_content=self.config.http.max_body,
        )

    def startService(self) -> None:
        super().startService()
        d = defer.gatherResults([self.sftp.listening, self.http.listening], consumeErrors=True)
        # ports.json says "up": under twistd startService runs before reactor.run() installs
        # the SIGTERM handler, so announce once the reactor runs (a stop is then graceful).
        d.addCallback(lambda _: self.reactor.callWhenRunning(self._started))
        d.addErrback(lambda _: None)  # reported by the listener

    def _started(self) -> None:
        ports = self.listening_ports()
        # Where we really listen (tcp:0 in tests): written atomically for clients and tests.
        target = self.config.data_dir / "ports.json"
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps(ports))
        os.replace(temp, target)
        self.audit(
            "gateway.started",
            sftp_port=ports.get("sftp"),
            http_port=ports.get("http"),
            data_dir=str(self.config.data_dir),
            partners=sorted(self.partners().partners),
        )

    def stop_phases(self) -> list[list[Service]]:
        """What stops together, in order: listeners (and their grace), senders, the rest in
        reverse start order (the core — store, workers — last)."""
        listeners: list[Service] = [self.sftp, self.http]
        senders: list[Service] = [self.as2_sender]
        first = listeners + senders
        rest = [child for child in reversed(list(self)) if child not in first]
        return [listeners, senders, *([child] for child in rest)]

    @defer.inlineCallbacks
    def stopService(self):  # type: ignore[no-untyped-def]
        self.audit("gateway.stopping")
        Service.stopService(self)  # not MultiService's: it would stop every child at once
        for phase in self.stop_phases():
            stops = [defer.maybeDeferred(child.stopService) for child in phase if child.running]
            results = yield defer.DeferredList(stops, consumeErrors=True)
            for ok, failure in results:
                if not ok:  # one child's trouble must not keep the others from stopping
                    log.failure("stopping {names}", failure, names=[c.name for c in phase])
        self.audit("gateway.stopped")
        self.audit.close()

    def listening_ports(self) -> dict[str, int]:
        """Actual ports (useful with ``tcp:0``)."""
        ports: dict[str, int] = {}
        for listener in (self.sftp, self.http):
            if listener.port is not None:
                ports[str(listener.name)] = int(listener.port.getHost().port)
        return ports


def make_service(config: GatewayConfig, reactor: Any, console: bool = True) -> GatewayService:
    return GatewayService(config, reactor, console=console)
