"""A real site on port 0 over a real GatewayCore (SQLite + blobs in tmp_path, no workers)."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import defer, reactor, threads
from twisted.internet.endpoints import TCP4ServerEndpoint

from gateway.api.limits import HttpLimits
from gateway.config import PROJECT_ROOT, GatewayConfig, PipelineConfig
from gateway.metrics import GatewayMetrics
from gateway.payers.loader import load_simulated_payers
from gateway.pipeline.core import GatewayCore
from gateway.profiles import PartnerSet, load_partners
from gateway.transports.http import make_site

DEMO_TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"
EXT01_TOKEN = "ext01-1.K8_X0YZo_mIXR6Pa2l7BGhcMuQBTD5p_iOHW6jxrngk"


def bearer(token: str = DEMO_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Api:
    """The site under test and what it was built over."""

    port: Any
    core: GatewayCore
    metrics: GatewayMetrics
    events: list[tuple[str, dict[str, Any]]]
    site: Any
    ports: dict[str, int] = field(default_factory=dict)
    partners: PartnerSet = field(default_factory=PartnerSet)

    @property
    def number(self) -> int:
        return int(self.port.getHost().port)

    # the test double of GatewayService ---------------------------------------------------
    def audit(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))
        self.metrics.observe(event, fields)

    def listening_ports(self) -> dict[str, int]:
        return dict(self.ports)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [f for e, f in self.events if e == event]

    # clients -----------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> defer.Deferred[Response]:
        return threads.deferToThread(request, self.number, method, path, body, headers)

    def raw(self, data: bytes, *, wait: float = 5.0, pause: float = 0.0) -> defer.Deferred[bytes]:
        return threads.deferToThread(raw_exchange, self.number, data, wait, pause)

    def closed_when_idle(self, wait: float = 5.0) -> defer.Deferred[bool]:
        """Connect, send nothing: True when the server closes the connection within ``wait``."""
        return threads.deferToThread(closed_by_server, self.number, wait)

    def stored_files(self) -> defer.Deferred[list[Any]]:
        return self.core.in_store(self.core.store.recent_files)

    def spooled(self) -> list[str]:
        spool = self.core.staging_dir / "_http"
        return sorted(p.name for p in spool.iterdir()) if spool.exists() else []


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return Response(
            answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        )
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes, wait: float, pause: float) -> bytes:
    """Send ``data`` (in two halves ``pause`` seconds apart), read until the server closes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    received = b""
    try:
        if pause:
            half = len(data) // 2
            sock.sendall(data[:half])
            time.sleep(pause)
            data = data[half:]
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may close on us mid-body
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
    finally:
        sock.close()
    return received


def closed_by_server(port: int, wait: float) -> bool:
    sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        return sock.recv(1) == b""  # EOF; a TimeoutError means the server kept it open
    except TimeoutError:
        return False
    finally:
        sock.close()


MakeApi = Callable[..., "defer.Deferred[Api]"]


@pytest_twisted.async_yield_fixture
async def make_api(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``api = await make_api(limits=HttpLimits(...))``; stopped after the test."""
    made: list[Api] = []

    async def make(limits: HttpLimits | None = None, partners: PartnerSet | None = None) -> Api:
        config = GatewayConfig(
            source="test",
            data_dir=tmp_path / f"data{len(made)}",
            partners_dir=PROJECT_ROOT / "partners",
            pipeline=PipelineConfig(workers=0),
        )
        partner_set = partners or load_partners(config.partners_dir)
        metrics = GatewayMetrics()
        api = Api(port=None, core=None, metrics=metrics, events=[], site=None)  # type: ignore[arg-type]
        api.partners = partner_set
        payers = load_simulated_payers(partner_set, config.partners_dir)
        core = GatewayCore(config, lambda: api.partners, api.audit, reactor, lambda: payers)
        core.startService()
        api.core = core
        gateway = _Gateway(api)
        api.site = make_site(gateway, limits or HttpLimits(), reactor=reactor)
        api.port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(api.site)
        api.ports = {"sftp": 1, "http": api.number}
        made.append(api)
        return api

    yield make
    for api in made:
        await api.port.stopListening()
        await api.core.stopService()


class _Gateway:
    """What make_site needs of a GatewayService."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self.core = api.core
        self.metrics = api.metrics
        self.audit = api.audit
        self.reactor = reactor

    def partners(self) -> PartnerSet:
        return self._api.partners

    def listening_ports(self) -> dict[str, int]:
        return self._api.listening_ports()
