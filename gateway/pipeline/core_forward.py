"""Real-time inquiries for an external payer with a CAQH CORE endpoint (its profile's
``<core url=... timeout=... />``): forwarded in a CORE SOAP 1.2 envelope (twisted.web client),
within the endpoint's round-trip budget (CORE: 20 s).

:func:`plan_forward` decides (PURE): every inquiry of the interchange names one payer, that
payer is external and has an endpoint, and the interchange passed its envelope and guide
checks. The request sets are re-enveloped from the gateway to the payer
(:func:`gateway.x12.forward.rewrap`); the payer's answer sets are re-enveloped from the gateway
back to the submitter. A timeout, a connection or HTTP error, a SOAP fault, a CORE ErrorCode
other than Success or an answer without answer sets raises :class:`ForwardError`: the caller
then answers as for an unreachable payer (a 270: AAA 42 in 2100A, "unable to respond at
current time"; a 276: from what the gateway saw of the claim). 270s and 276s alike (the
PayloadType registry's kinds with a request reader in :data:`_READERS`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from twisted.internet import defer, ssl
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, FileBodyProducer, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from gateway.caqh.envelope import (
    REALTIME,
    RULE_VERSION,
    Malformed,
    Operation,
    parse_soap_response,
    soap_request,
    timestamp_text,
)
from gateway.caqh.payloads import PAYLOAD_KINDS, PayloadKind
from gateway.profiles import CoreEndpoint, Partner, PartnerSet
from gateway.x12.claim_status import StatusAnswer, StatusRequest, build_276, read_276, read_277
from gateway.x12.claims import TransactionSet, iter_transaction_sets
from gateway.x12.eligibility import (
    EligibilityAnswer,
    EligibilityRequest,
    Envelope,
    build_270,
    read_270,
    read_271,
)
from gateway.x12.envelope import set_accepted
from gateway.x12.results import FileAnalysis
from gateway.x12.segments import Delimiters, Segment

T = TypeVar("T")


class ForwardError(Exception):
    """The payer's endpoint did not answer usefully (``reason`` is safe to log: no PHI)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ForwardPlan:
    payer: Partner
    payer_id: str
    endpoint: CoreEndpoint
    payload_kind: PayloadKind
    sets: tuple[TransactionSet, ...]
    audit: tuple[dict[str, Any], ...]
    """One entry per request (identifiers only)."""


_READERS: dict[str, Callable[[Sequence[Segment], Delimiters], Sequence[Any]]] = {
    "270": read_270,
    "276": read_276,
}
"""The request reader of each inquiry the forward speaks (payer ID, BHT03 and TRN02 of each
request: whom to forward to, and the audit)."""


def plan_forward(data: bytes, analysis: FileAnalysis, partners: PartnerSet) -> ForwardPlan | None:
    """The forward of ``data`` to an external payer's CORE endpoint, or None (answered here)."""
    if not analysis.readable or len(analysis.interchanges) != 1:
        return None
    interchange = analysis.interchanges[0]
    if interchange.ta1_code is not None:
        return None
    transactions = [(g, t) for g in interchange.groups for t in g.transactions]
    if not transactions or any(not set_accepted(g, t) for g, t in transactions):
        return None
    sets = tuple(iter_transaction_sets(data))
    payer_ids: set[str] = set()
    audit: list[dict[str, Any]] = []
    kinds = {ts.segments[0].elements[0] if ts.segments else "" for ts in sets}
    kind = next((k for k in PAYLOAD_KINDS if {k.st01} == kinds), None)
    reader = _READERS.get(kind.st01) if kind is not None else None
    if kind is None or reader is None:
        return None  # one kind of inquiry per forward: 270s or 276s
    for ts in sets:
        st02 = ts.segments[0].elements[1] if len(ts.segments[0].elements) > 1 else ""
        for request in reader(ts.segments, ts.delimiters):
            payer_ids.add(request.payer_id)
            audit.append(
                {"isa06": interchange.sender_id, "isa08": interchange.receiver_id,
                 "isa13": ts.isa13, "gs06": ts.gs06, "st02": st02,
                 "bht03": request.reference, "trn02": request.trace,
                 "payer": request.payer_id}
            )  # fmt: skip
    if len(payer_ids) != 1:
        return None
    (payer_id,) = payer_ids
    payer = external_endpoint(payer_id, partners)
    if payer is None or payer.core is None:
        return None
    return ForwardPlan(payer, payer_id, payer.core, kind, sets, tuple(audit))


async def post_core(
    reactor: Any,
    endpoint: CoreEndpoint,
    payload: bytes,
    *,
    kind: PayloadKind,
    sender_id: str,
    receiver_id: str,
    now: datetime,
) -> bytes:
    """POST ``payload`` to ``endpoint`` in a RealTime envelope; the answer's payload, or
    :class:`ForwardError` (the whole exchange is bounded by ``endpoint.timeout``)."""
    fields = [
        ("PayloadType", kind.request),
        ("ProcessingMode", REALTIME),
        ("PayloadID", str(uuid.uuid4())),
        ("TimeStamp", timestamp_text(now)),
        ("SenderID", sender_id),
        ("ReceiverID", receiver_id),
        ("CORERuleVersion", RULE_VERSION),
    ]
    password = os.environ.get(endpoint.password_env, "") if endpoint.password_env else ""
    body = soap_request(
        Operation.REALTIME, fields, payload, username=endpoint.user or sender_id,
        password=password,
    )  # fmt: skip

    async def exchange() -> tuple[int, bytes]:
        agent = Agent(reactor, tls_policy(endpoint), connectTimeout=endpoint.timeout)
        soap = b'application/soap+xml; charset=utf-8; action="RealTimeTransaction"'
        headers = Headers({b"content-type": [soap]})
        producer: Any = FileBodyProducer(BytesIO(body))
        response = await agent.request(b"POST", endpoint.url.encode(), headers, producer)
        content = await readBody(response)
        return int(response.code), bytes(content)

    d = defer.ensureDeferred(exchange())
    expired: list[bool] = []

    def expire() -> None:
        expired.append(True)
        d.cancel()

    timer = reactor.callLater(endpoint.timeout, expire)
    try:
        status, content = await d
    except Exception as exc:
        if expired:
            raise ForwardError(f"no answer within {endpoint.timeout:g} s") from exc
        raise ForwardError(f"{type(exc).__name__}") from exc
    finally:
        if timer.active():
            timer.cancel()
    try:
        parsed = parse_soap_response(content)
    except Malformed as exc:
        raise ForwardError(f"HTTP {status}: {exc}") from exc
    if parsed.fault:
        raise ForwardError(f"SOAP fault: {parsed.fault[:120]}")
    code = parsed.fields.get("ErrorCode", "")
    if code != "Success":
        raise ForwardError(f"CORE ErrorCode {code[:40] or '(none)'}")
    if not parsed.payload or parsed.fields.get("PayloadType") != kind.response:
        raise ForwardError(f"no {kind.response} in the answer")
    return parsed.payload


@implementer(IPolicyForHTTPS)
class _MutualTls:
    """TLS to a payer's endpoint: its server certificate checked against ``ca`` (else the
    system's trust store) and the host name; our client certificate when configured."""

    def __init__(self, endpoint: CoreEndpoint) -> None:
        self.trust = (
            ssl.Certificate.loadPEM(Path(endpoint.ca).read_bytes()) if endpoint.ca else None
        )
        self.client = None
        if endpoint.client_certificate:
            pem = Path(endpoint.client_certificate).read_bytes()
            key = Path(endpoint.client_key).read_bytes()
            self.client = ssl.PrivateCertificate.loadPEM(pem + b"\n" + key)

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        return ssl.optionsForClientTLS(
            hostname.decode("ascii"),
            trustRoot=self.trust if self.trust is not None else ssl.platformTrust(),
            clientCertificate=self.client,
        )


def tls_policy(endpoint: CoreEndpoint) -> Any:
    """The TLS policy of ``endpoint`` (mutual TLS when it names a client certificate)."""
    if endpoint.ca or endpoint.client_certificate:
        return _MutualTls(endpoint)
    return BrowserLikePolicyForHTTPS()


def external_endpoint(payer_id: str, partners: PartnerSet) -> Partner | None:
    """The external payer with a CORE endpoint that answers ``payer_id``, else None."""
    payer = partners.by_payer_id(payer_id)
    if payer is None or payer.kind != "external" or payer.core is None:
        return None
    return payer


async def _ask(
    reactor: Any,
    payer: Partner,
    build: Callable[[Envelope], bytes],
    read: Callable[[TransactionSet], T | None],
    *,
    asked: tuple[str, str, str],
    gateway: tuple[str, str],
    control: int,
    now: datetime,
) -> T:
    """One request (``build`` writes it, ``asked``: its ST01, the answer's ST01 and the payer
    ID) asked of ``payer``'s CORE endpoint, the gateway the submitter; the first answer set
    ``read`` accepts, else :class:`ForwardError`."""
    assert payer.core is not None
    st01, answer_st01, payer_id = asked
    envelope = Envelope(gateway[0], gateway[1], payer.isa_qualifier, payer.isa_id, control,
                        "P", now)  # fmt: skip
    kind = next(k for k in PAYLOAD_KINDS if k.st01 == st01)
    payload = await post_core(
        reactor, payer.core, build(envelope), kind=kind,
        sender_id=gateway[1], receiver_id=payer_id, now=now,
    )  # fmt: skip
    for ts in answer_sets(payload, answer_st01):
        answer = read(ts)
        if answer is not None:
            return answer
    raise ForwardError(f"no {answer_st01} answers the request's TRN")


async def forward_request(
    reactor: Any,
    payer: Partner,
    request: EligibilityRequest,
    *,
    gateway: tuple[str, str],
    control: int,
    now: datetime,
) -> EligibilityAnswer:
    """One JSON request asked of ``payer``'s CORE endpoint as a 270 (the gateway the
    submitter), its 271 read back into the typed answer; :class:`ForwardError` otherwise."""

    def read(ts: TransactionSet) -> EligibilityAnswer | None:
        if not any(s.id == "TRN" and s.elements[1:2] == (request.trace,) for s in ts.segments):
            return None
        return read_271(ts.segments, ts.delimiters, request)

    return await _ask(
        reactor, payer, lambda envelope: build_270([request], envelope), read,
        asked=("270", "271", request.payer_id), gateway=gateway, control=control, now=now,
    )  # fmt: skip


async def forward_status(
    reactor: Any,
    payer: Partner,
    request: StatusRequest,
    *,
    gateway: tuple[str, str],
    control: int,
    now: datetime,
) -> StatusAnswer:
    """One JSON claim status request asked of ``payer``'s CORE endpoint as a 276 (the gateway
    the submitter), its 277 read back into the typed answer; :class:`ForwardError`
    otherwise."""

    def read(ts: TransactionSet) -> StatusAnswer | None:
        answer = read_277(ts.segments, ts.delimiters, request)
        return answer if answer is not None and answer.statuses else None

    return await _ask(
        reactor, payer, lambda envelope: build_276([request], envelope), read,
        asked=("276", "277", request.payer_id), gateway=gateway, control=control, now=now,
    )  # fmt: skip


def answer_sets(payload: bytes, st01: str) -> list[TransactionSet]:
    """The answer sets (``st01``) of the payer's payload, or :class:`ForwardError`."""
    try:
        sets = [ts for ts in iter_transaction_sets(payload) if ts.segments]
    except Exception as exc:
        raise ForwardError("the answer is not X12") from exc
    if not sets or any(ts.segments[0].elements[:1] != (st01,) for ts in sets):
        raise ForwardError(f"the answer holds no {st01}")
    return sets
