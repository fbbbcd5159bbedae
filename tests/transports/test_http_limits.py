"""The HTTP listener's guards, driven byte by byte over StringTransport on a MemoryReactorClock:
who may take an upload slot (authenticated from the headers), slots per address, slow bodies,
per-partner limits while a body arrives, and answers to oversized or ambiguous heads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.web import resource

from gateway.api.limits import HttpLimits
from gateway.config import PROJECT_ROOT
from gateway.pipeline.as2_inbound import As2Directory, As2Receiver
from gateway.profiles import PartnerSet, load_partners
from gateway.transports.http import GatewaySite, make_site
from tests.api.conftest import DEMO_TOKEN, EXT01_TOKEN
from tests.as2_web.conftest import as2_config


@dataclass
class FakeCore:
    staging_dir: Path


@dataclass
class FakeGateway:
    """What make_site needs of a GatewayService (no store: nothing here reaches a handler)."""

    core: FakeCore
    reactor: Any
    partner_set: PartnerSet
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    as2_receiver: Any = None

    def partners(self) -> PartnerSet:
        return self.partner_set

    def audit(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))

    def listening_ports(self) -> dict[str, int]:
        return {"sftp": 1, "http": 2}


@dataclass
class Harness:
    site: GatewaySite
    clock: MemoryReactorClock
    gateway: FakeGateway

    def connect(self, host: str = "10.0.0.1") -> Conn:
        address = IPv4Address("TCP", host, 40000)
        protocol: Any = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        protocol.makeConnection(transport)
        return Conn(protocol, transport)


@dataclass
class Conn:
    protocol: Any
    transport: StringTransport

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    @property
    def answer(self) -> bytes:
        return self.transport.value()

    @property
    def status(self) -> int | None:
        head = self.answer.split(b"\r\n", 1)[0]
        return int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else None

    def header(self, name: str) -> str | None:
        head = self.answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        for line in head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    @property
    def body(self) -> bytes:
        return self.answer.split(b"\r\n\r\n", 1)[1]

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)

    def lose(self) -> None:
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.protocol.connectionLost(Failure(ConnectionDone()))


@pytest.fixture
def harness(tmp_path: Path) -> Any:
    def make(limits: HttpLimits | None = None, as2: bool = True) -> Harness:
        clock = MemoryReactorClock()
        partners = load_partners(PROJECT_ROOT / "partners")
        gateway = FakeGateway(FakeCore(tmp_path / "staging"), clock, partners)
        if as2:
            directory = As2Directory(as2_config(), lambda: gateway.partner_set)
            gateway.as2_receiver = As2Receiver(None, directory, gateway.audit)
        site = make_site(gateway, limits or HttpLimits(), reactor=clock)
        site.doStart()
        return Harness(site, clock, gateway)

    return make


def api_post(token: str | None = DEMO_TOKEN, length: int = 1_000_000, extra: bytes = b"") -> bytes:
    head = b"POST /api/v1/files?filename=a.x12 HTTP/1.1\r\nHost: x\r\n"
    if token is not None:
        head += b"Authorization: Bearer " + token.encode() + b"\r\n"
    return head + extra + b"Content-Length: %d\r\n\r\n" % length


def as2_post(as2_from: str, as2_to: str = "CLEARINGHOUSE", mdn: bool = True) -> bytes:
    head = (
        b"POST /as2 HTTP/1.1\r\nHost: x\r\nMessage-ID: <m1@x>\r\n"
        b"Content-Type: application/pkcs7-mime\r\nContent-Length: 1000000\r\n"
        + f"AS2-From: {as2_from}\r\nAS2-To: {as2_to}\r\n".encode()
    )
    if mdn:
        head += b"Disposition-Notification-To: edi@x.example\r\n"
    return head + b"\r\n"


# ------------------------------------------------------------ who may take a slot


def test_an_api_upload_without_a_valid_token_is_401_before_a_slot(harness: Any) -> None:
    h = harness(HttpLimits(max_uploads=1))
    for token in (None, DEMO_TOKEN[:-4] + "AAAA"):
        conn = h.connect()
        conn.send(api_post(token, extra=b"Expect: 100-continue\r\n") + b"x")
        assert conn.status == 401, conn.answer
        assert conn.header(
            "www-authenticate",
        ).startswith('Bearer realm="edi-gateway"')
        assert b"100 Continue" not in conn.answer and conn.closed
        assert h.site.uploads == 0
    assert [f["reason"] for e, f in h.gateway.events if e == "api.auth.failed"] == [
        "missing",
        "mismatch",
    ]
    # the one slot is still there for a partner with a token
    conn = h.connect()
    conn.send(api_post())
    assert conn.answer == b"" and h.site.uploads == 1


def test_as2_with_unknown_names_gets_its_answer_before_a_slot(harness: Any) -> None:
    h = harness(HttpLimits(max_uploads=1))
    stranger = h.connect()
    stranger.send(as2_post("STRANGER") + b"x")
    assert stranger.status == 200 and stranger.closed  # a synchronous error MDN
    assert b"authentication-failed" in stranger.body
    not_ours = h.connect()
    not_ours.send(as2_post("DEMOBILLING", "SOMEONE-ELSE", mdn=False))
    assert not_ours.status == 400 and b"authentication-failed" in not_ours.body
    nameless = h.connect()
    nameless.send(b"POST /as2 HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n")
    assert nameless.status == 400 and b"AS2-From" in nameless.body
    assert h.site.uploads == 0
    rejected = [f for e, f in h.gateway.events if e == "as2.rejected"]
    assert len(rejected) == 3 and all(f.get("early") for f in rejected)
    # known names: the body is read (and checked in full once it is in)
    partner = h.connect()
    partner.send(as2_post("DEMOBILLING"))
    assert partner.answer == b"" and h.site.uploads == 1


def test_a_body_where_none_is_taken_is_413_at_once(harness: Any) -> None:
    h = harness()
    for path in (b"/healthz", b"/nothing", b"/metrics"):
        conn = h.connect()
        conn.send(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        assert conn.status == 413 and conn.closed, path
    # without an AS2 receiver, /as2 is just another path
    h = harness(as2=False)
    conn = h.connect()
    conn.send(as2_post("DEMOBILLING"))
    assert conn.status == 413
    assert h.site.uploads == 0


# ------------------------------------------------------------ slots per address


def test_uploads_per_address_are_capped(harness: Any) -> None:
    h = harness(HttpLimits(max_uploads_per_address=2, max_per_partner=8))
    first, second = h.connect(), h.connect()
    first.send(api_post())
    second.send(as2_post("DEMOBILLING"))
    assert h.site.uploads == 2
    third = h.connect()
    third.send(api_post(EXT01_TOKEN))
    assert third.answer.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    assert third.header("retry-after") == "1"
    assert json.loads(third.body)["error"] == "too_many_requests"
    # another address still gets a slot
    other = h.connect("10.0.0.2")
    other.send(api_post(EXT01_TOKEN))
    assert other.answer == b"" and h.site.uploads == 3
    # a finished (here: abandoned) upload frees its address's slot
    first.lose()
    fourth = h.connect()
    fourth.send(api_post())
    assert fourth.answer == b"" and h.site.uploads == 3
    assert h.site.uploads_by_address == {"10.0.0.1": 2, "10.0.0.2": 1}


# ------------------------------------------------------------ slow bodies


def test_a_body_slower_than_the_minimum_rate_is_408(harness: Any) -> None:
    h = harness(HttpLimits(min_body_rate=1024, body_rate_window=10.0))
    slow, steady = h.connect(), h.connect("10.0.0.2")
    slow.send(api_post())
    steady.send(api_post(EXT01_TOKEN))
    for _ in range(3):  # 3 windows: steady keeps 2 KiB/s, slow sends a byte a second
        for _ in range(10):
            slow.send(b"x")
            steady.send(b"y" * 2048)
            h.clock.advance(1.0)
        if slow.closed:
            break
    assert slow.status == 408 and slow.closed
    assert json.loads(slow.body)["error"] == "request_timeout"
    assert steady.answer == b"" and not steady.closed
    assert h.site.uploads == 1
    slow.lose()
    # the total request timeout (300 s) still applies to a body that keeps the rate
    while not steady.closed and h.clock.seconds() < 400:
        steady.send(b"y" * 2048)
        h.clock.advance(1.0)
    assert steady.status == 408 and h.clock.seconds() == 300.0
    assert h.site.uploads == 0
    assert not list((h.gateway.core.staging_dir / "_http").glob(".body-*"))


def test_the_rate_check_can_be_switched_off(harness: Any) -> None:
    h = harness(HttpLimits(min_body_rate=0, request_timeout=100.0, idle_timeout=1000.0))
    conn = h.connect()
    conn.send(api_post())
    h.clock.advance(99.0)
    assert conn.answer == b""
    h.clock.advance(2.0)
    assert conn.status == 408


# ------------------------------------------------------------ per-partner limit


def test_an_upload_being_received_counts_against_its_partner(harness: Any) -> None:
    h = harness(HttpLimits(max_per_partner=1))
    upload = h.connect()
    upload.send(api_post() + b"x" * 100)
    assert upload.answer == b""
    again = h.connect("10.0.0.2")
    again.send(api_post())
    assert again.status == 429 and json.loads(again.body)["error"] == "too_many_requests"
    poll = h.connect("10.0.0.3")
    poll.send(
        b"GET /api/v1/mailbox HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
        % DEMO_TOKEN.encode()
    )
    assert poll.answer.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    # another partner is not held up
    other = h.connect("10.0.0.4")
    other.send(api_post(EXT01_TOKEN))
    assert other.answer == b""
    # the upload goes away: its partner's place is free again
    upload.lose()
    retry = h.connect("10.0.0.5")
    retry.send(api_post())
    assert retry.answer == b""


# ------------------------------------------------------------ heads


def test_two_authorization_headers_are_refused(harness: Any) -> None:
    h = harness()
    conn = h.connect()
    conn.send(
        b"GET /api/v1/mailbox HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nobody.x\r\n"
        b"Authorization: Bearer " + DEMO_TOKEN.encode() + b"\r\n\r\n"
    )
    assert conn.status == 400 and conn.closed
    assert json.loads(conn.body)["error"] == "bad_request"
    upload = h.connect()
    upload.send(api_post(extra=b"Authorization: Bearer " + EXT01_TOKEN.encode() + b"\r\n"))
    assert upload.status == 400 and h.site.uploads == 0


def test_oversized_heads_are_answered_414_and_431(harness: Any) -> None:
    h = harness()
    line = h.connect()
    line.send(b"GET /" + b"a" * 17_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert line.status == 414 and line.closed
    big = h.connect()
    big.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 16_400 + b"\r\n\r\n")
    assert big.status == 431 and big.closed
    assert big.answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert json.loads(big.body)["error"] == "headers_too_large"
    many_small = h.connect()
    many_small.send(
        b"GET /healthz HTTP/1.1\r\n"
        + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 200) for i in range(90))
    )
    assert many_small.status == 431
    fields = h.connect()
    fields.send(
        b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(501)) + b"\r\n"
    )
    assert fields.status == 431
    # a request line arriving in pieces, with no end in sight
    trickle = h.connect()
    for _ in range(20):
        trickle.send(b"a" * 1000)
    assert trickle.status == 414
    # within the limits all is well
    fine = h.connect()
    fine.send(
        b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(400)) + b"\r\n"
    )
    assert fine.status == 200
    malformed = h.connect()
    malformed.send(b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n")
    assert malformed.status == 400 and json.loads(malformed.body)["error"] == "bad_request"


class _Boom(resource.Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        raise RuntimeError("boom")


def test_no_server_header_and_no_html_error_pages(harness: Any) -> None:
    h = harness()
    h.site.resource.putChild(b"boom", _Boom())
    answers = {}
    for method, path in (
        (b"GET", b"/healthz"),
        (b"GET", b"/"),
        (b"GET", b"/nothing"),
        (b"GET", b"/api/nothing"),
        (b"GET", b"/api/v1/nothing"),
        (b"DELETE", b"/healthz"),
        (b"GET", b"/as2"),
        (b"GET", b"/boom"),
    ):
        conn = h.connect()
        conn.send(
            method
            + b" "
            + path
            + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + DEMO_TOKEN.encode()
            + b"\r\n\r\n"
        )
        assert conn.header("server") is None, path
        assert b"<html" not in conn.answer.lower() and b"twisted" not in conn.answer.lower()
        answers[method + b" " + path] = (conn.status, conn.header("content-type"), conn.body)
    assert answers[b"GET /healthz"][0] == 200
    for key in (b"GET /", b"GET /nothing"):
        assert answers[key][:2] == (404, "text/plain; charset=utf-8"), key
    for key in (b"GET /api/nothing", b"GET /api/v1/nothing"):
        status, content_type, body = answers[key]
        assert (status, content_type) == (404, "application/json"), key
        assert json.loads(body)["error"] == "not_found"
    assert answers[b"DELETE /healthz"][:2] == (405, "text/plain; charset=utf-8")
    assert answers[b"GET /as2"][0] == 405
    assert answers[b"GET /boom"][:2] == (500, "text/plain; charset=utf-8")
    assert b"boom" not in answers[b"GET /boom"][2]
