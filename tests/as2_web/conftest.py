"""A real site with /as2 on port 0 over a real GatewayCore (SQLite + blobs in tmp_path, no
workers), the AS2 receiver and sender wired as in gateway.service, and a small AS2 partner
(twisted.web on port 0) that parses with gateway.as2.parse_inbound and answers signed MDNs."""

from __future__ import annotations

import dataclasses
import http.client
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import defer, reactor, threads
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.web import resource, server

from gateway.as2 import (
    KeyPair,
    Mic,
    PartnerAs2,
    build_mdn,
    build_outbound,
    load_certificates,
    load_private_key,
    parse_inbound,
)
from gateway.config import PROJECT_ROOT, As2Config, As2KeyFiles, GatewayConfig, PipelineConfig
from gateway.metrics import GatewayMetrics
from gateway.pipeline.as2_inbound import As2Directory, As2Receiver, clean_staging
from gateway.pipeline.as2_sender import As2Sender
from gateway.pipeline.core import GatewayCore
from gateway.profiles import PartnerSet, load_partners
from gateway.transports.http import make_site
from tests.x12files import corpus_file, readdress

AS2_DIR = PROJECT_ROOT / "config" / "demo" / "as2"
MDN_OPTIONS = (
    "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256"
)


def key_pair(stem: str) -> KeyPair:
    key = load_private_key((AS2_DIR / f"{stem}.key").read_bytes())
    return key, load_certificates((AS2_DIR / f"{stem}.crt").read_bytes())[0]


CLEARINGHOUSE = key_pair("clearinghouse")
CLEARINGHOUSE_NEXT = key_pair("clearinghouse-next")
BILLING = key_pair("demo-billing")
EXT01 = key_pair("ext01")


def claims(control: int) -> bytes:
    return readdress(corpus_file("837p/uhin-837.edi"), control=control)


def as2_config(**overrides: Any) -> As2Config:
    keys = tuple(
        As2KeyFiles(AS2_DIR / f"{stem}.key", AS2_DIR / f"{stem}.crt")
        for stem in ("clearinghouse", "clearinghouse-next")
    )
    options: dict[str, Any] = {
        "keys": keys,
        "mdn_retry": (0.05, 0.05),
        "send_retry": (0.05, 0.05),
        "poll_interval": 3600.0,  # tests drive run_once() themselves
        "timeout": 5.0,
    }
    options.update(overrides)
    return As2Config(**options)


def message(
    payload: bytes,
    *,
    message_id: str,
    sign_with: KeyPair | None = BILLING,
    encrypt_to: Any = CLEARINGHOUSE[1],
    as2_from: str = "DEMOBILLING",
    as2_to: str = "CLEARINGHOUSE",
    async_url: str | None = None,
    **kwargs: Any,
) -> tuple[list[tuple[str, str]], bytes, Mic]:
    out = build_outbound(
        payload,
        as2_from=as2_from,
        as2_to=as2_to,
        message_id=message_id,
        sign_with=sign_with,
        encrypt_to=encrypt_to,
        mdn_to="edi@demo-billing.example",
        async_mdn_url=async_url,
        filename="claims.837",
        **kwargs,
    )
    return out.headers, out.body, out.mic


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def http_post(port: int, path: str, headers: list[tuple[str, str]], body: bytes) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        answer = conn.getresponse()
        return Response(answer.status, answer.getheaders(), answer.read())
    finally:
        conn.close()


@dataclass
class As2Env:
    core: GatewayCore
    directory: As2Directory
    receiver: As2Receiver
    sender: As2Sender
    metrics: GatewayMetrics
    partners: PartnerSet
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: Any = None
    kicks: int = 0
    stopped: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}/as2"

    def audit(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))
        self.metrics.observe(event, fields)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [f for e, f in self.events if e == event]

    def listening_ports(self) -> dict[str, int]:
        return {"sftp": 1, "http": int(self.port.getHost().port)}

    def post(
        self, headers: list[tuple[str, str]], body: bytes, path: str = "/as2"
    ) -> defer.Deferred[Response]:
        return threads.deferToThread(http_post, self.port.getHost().port, path, headers, body)

    def in_store(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        return self.core.in_store(fn, self.core.store, *args, **kwargs)

    async def files(self) -> list[Any]:
        return list(await self.core.in_store(self.core.store.recent_files))

    def staged(self) -> list[Path]:
        return sorted(self.core.staging_dir.glob("*/.as2-*"))


class _Gateway:
    def __init__(self, env: As2Env) -> None:
        self._env = env
        self.core = env.core
        self.metrics = env.metrics
        self.audit = env.audit
        self.reactor = reactor
        self.as2_receiver = env.receiver

    def partners(self) -> PartnerSet:
        return self._env.partners

    def listening_ports(self) -> dict[str, int]:
        return self._env.listening_ports()


def partners_copy(directory: Path, edit: Callable[[str, str], str] | None = None) -> Path:
    """The demo partner set in ``directory``, each file passed through ``edit(name, text)``."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in (PROJECT_ROOT / "partners").glob("*.xml"):
        text = source.read_text()
        (directory / source.name).write_text(edit(source.name, text) if edit else text)
    return directory


def allow_async_mdns(directory: Path, *urls: str, partner: str = "demo-billing.xml") -> Path:
    """The demo partner set with ``<async-mdn-url>`` entries for one partner's profile."""
    entries = "".join(f"\n    <async-mdn-url>{url}</async-mdn-url>" for url in urls)

    def edit(name: str, text: str) -> str:
        if name != partner:
            return text
        return re.sub(r"\n  </as2>", entries + "\n  </as2>", text, count=1)

    return partners_copy(directory, edit)


def set_as2_attributes(text: str, attributes: str) -> str:
    return re.sub(r'<as2 name="([^"]+)"', rf'<as2 name="\1" {attributes}', text, count=1)


MakeEnv = Callable[..., "defer.Deferred[As2Env]"]


@pytest_twisted.async_yield_fixture
async def make_env(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``env = await make_env(data_dir=..., partners_dir=..., as2=As2Config(...))``."""
    made: list[As2Env] = []

    async def make(
        data_dir: Path | None = None,
        partners_dir: Path | None = None,
        as2: As2Config | None = None,
    ) -> As2Env:
        config = GatewayConfig(
            source="test",
            data_dir=data_dir or tmp_path / f"data{len(made)}",
            partners_dir=partners_dir or PROJECT_ROOT / "partners",
            pipeline=PipelineConfig(workers=0),
            as2=as2 or as2_config(),
        )
        env = As2Env(None, None, None, None, GatewayMetrics(), load_partners(config.partners_dir))  # type: ignore[arg-type]
        env.core = GatewayCore(config, lambda: env.partners, env.audit, reactor)
        env.core.startService()
        clean_staging(env.core.staging_dir)
        env.directory = As2Directory(config.as2, lambda: env.partners)
        env.sender = As2Sender(env.core, env.directory, env.audit, reactor, config.as2)

        def kick() -> None:
            env.kicks += 1

        env.receiver = As2Receiver(
            env.core,
            env.directory,
            env.audit,
            kick_outbox=kick,
            mdn_handler=env.sender.handle_mdn,
        )
        site = make_site(_Gateway(env), reactor=reactor)
        env.port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(site)
        made.append(env)
        return env

    yield make
    for env in made:
        if env.stopped:
            continue
        await env.port.stopListening()
        if env.sender.running:
            await env.sender.stopService()
        if env.core.running:
            await env.core.stopService()


async def stop(env: As2Env) -> None:
    """A 'restart': stop listening, the sender and the core (the data directory stays)."""
    env.stopped = True
    await env.port.stopListening()
    if env.sender.running:
        await env.sender.stopService()
    await env.core.stopService()


# ----------------------------------------------------------------- a partner's AS2 server


@dataclass
class Received:
    headers: list[tuple[str, str]]
    body: bytes
    message_id: str | None = None
    payload: bytes | None = None
    mic: Mic | None = None


class PartnerServer(resource.Resource):
    """DEMOBILLING's AS2 server (for pushes) and a plain receiver for async MDNs.

    ``mode``: ``ok`` (signed MDN, processed), ``negative`` (processed/Error), ``wrong-mic``,
    ``http-500``, ``async`` (200 now; the MDN is POSTed to the Receipt-Delivery-Option URL by
    :meth:`send_async_mdns`), ``accept`` (200 and nothing else: an async-MDN receiver).
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.received: list[Received] = []
        self.pending_async: list[tuple[str, Any]] = []
        self.replayable: list[tuple[str, Any]] = []
        self.policy = PartnerAs2(
            "CLEARINGHOUSE",
            certificates=[CLEARINGHOUSE[1]],
            require_signature=True,
            require_encryption=True,
        )

    def render_POST(self, request: Any) -> bytes:
        headers = [
            (k.decode(), v.decode())
            for k, values in request.requestHeaders.getAllRawHeaders()
            for v in values
        ]
        body = request.content.read()
        entry = Received(headers, body)
        self.received.append(entry)
        if self.mode in ("accept", "http-500"):
            request.setResponseCode(200 if self.mode == "accept" else 500)
            return b"ok\n"
        msg = parse_inbound(
            headers,
            body,
            find_partner=lambda f, t: (
                self.policy if (f, t) == ("CLEARINGHOUSE", "DEMOBILLING") else None
            ),
            own_keys=lambda to: [BILLING] if to == "DEMOBILLING" else [],
        )
        entry.message_id, entry.payload, entry.mic = msg.message_id, msg.payload, msg.mic
        answer = msg
        disposition = None
        if self.mode == "wrong-mic":
            answer = dataclasses.replace(
                msg, mic=Mic("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", msg.mic.algorithm)
            )
        if self.mode == "negative":
            disposition = "processed/Error: unexpected-processing-error"
        mdn = build_mdn(answer, sign_with=BILLING, disposition=disposition)
        if self.mode == "async":
            assert msg.mdn is not None and msg.mdn.async_url
            self.pending_async.append((msg.mdn.async_url, mdn))
            self.replayable.append((msg.mdn.async_url, mdn))
            return b"thanks\n"
        for name, value in mdn.headers:
            request.setHeader(name.encode(), value.encode())
        return mdn.body

    async def send_async_mdns(self) -> list[Response]:
        answers = []
        while self.pending_async:
            url, mdn = self.pending_async.pop(0)
            match = re.match(r"http://127\.0\.0\.1:(\d+)(/.*)", url)
            assert match
            answers.append(
                await threads.deferToThread(
                    http_post, int(match.group(1)), match.group(2), mdn.headers, mdn.body
                )
            )
        return answers


@pytest_twisted.async_yield_fixture
async def partner_server():  # type: ignore[no-untyped-def]
    server_resource = PartnerServer()
    port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
        server.Site(server_resource)
    )
    server_resource.url = f"http://127.0.0.1:{port.getHost().port}/as2"  # type: ignore[attr-defined]
    yield server_resource
    await port.stopListening()


async def sleep(seconds: float) -> None:
    from twisted.internet.task import deferLater

    await deferLater(reactor, seconds, lambda: None)


async def until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if hasattr(value, "__await__"):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        await sleep(0.05)
