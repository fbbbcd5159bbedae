"""Inquiries: transaction sets answered ONE-TO-ONE by another set (270 → 271, later 276 → 277),
in real time or in batch. The generic half; what answers a kind is a registered answerer.

- :data:`ANSWERERS` maps a kind's short name (:attr:`gateway.x12.kinds.Kind.name`) to the
  function that answers the sets of one interchange with one answer interchange
  (:class:`SetAnswerer`). The 270's is :func:`gateway.pipeline.eligibility.answer_270_sets`;
  claim status plugs in with ``register_answerer("276", answer_276_sets)`` next to its
  ``Kind("276", ..., Handling.INQUIRY, ..., answer="277")`` in :mod:`gateway.x12.kinds`.
- :func:`answer_interchange` is the real-time path (``POST /api/v1/x12``, CAQH CORE
  ``/core``): envelope and guide verdict of the engine (a request that fails them gets the
  TA1/999, never an answer), then the answer interchange back to the ISA sender.
- :func:`answer_file_inquiries` is the batch path: the sets of a stored file that its 999
  accepted and that are inquiries are answered, one answer interchange per source
  interchange, all in one mailbox file ``<stamp>_<file id>_<answer kind>.x12`` (e.g.
  ``_271.x12``) for the submitter, inside the routing step's transaction.

Answerers run in the store thread with an open transaction (reads only: accumulators, claim
states). Their audit entries are identifiers only (control numbers, TRN02, payer ID, outcome).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from gateway.config import GatewayConfig
from gateway.payers.config import PayerConfig
from gateway.profiles import PartnerSet, partner_directory
from gateway.store.sqlite import Store, Transaction
from gateway.x12.claims import TransactionSet, iter_transaction_sets
from gateway.x12.engine import analyze, build_responses
from gateway.x12.envelope import set_accepted, set_implementation
from gateway.x12.kinds import Kind, is_inquiry
from gateway.x12.results import FileAnalysis
from gateway.x12.segments import Validator


@dataclass(frozen=True)
class InquiryContext:
    """What an answerer may use: an open store transaction and the gateway's setup."""

    tx: Transaction
    config: GatewayConfig
    partners: PartnerSet
    payers: Mapping[str, PayerConfig]
    today: date
    now: datetime


@dataclass(frozen=True)
class AnswerEnvelope:
    """Who the answer interchange goes to, and its control number (ISA13/GS06)."""

    receiver_qualifier: str
    receiver_id: str
    control: int
    usage: str
    now: datetime


@dataclass
class Answered:
    content: bytes
    """One answer interchange (ISA..IEA)."""
    audit: list[dict[str, Any]] = field(default_factory=list)
    """One entry per answered request (identifiers only)."""


class SetAnswerer(Protocol):
    def __call__(
        self, ctx: InquiryContext, sets: Sequence[TransactionSet], envelope: AnswerEnvelope
    ) -> Answered: ...


ANSWERERS: dict[str, SetAnswerer] = {}


def register_answerer(kind_name: str, answerer: SetAnswerer) -> None:
    ANSWERERS[kind_name] = answerer


def answerer_for(kind: Kind) -> SetAnswerer:
    _load_answerers()
    found = ANSWERERS.get(kind.name)
    if found is None:
        raise LookupError(f"no answerer registered for {kind.name}")
    return found


def _load_answerers() -> None:
    if "270" not in ANSWERERS:
        from gateway.pipeline.eligibility import answer_270_sets

        register_answerer("270", answer_270_sets)
    if "276" not in ANSWERERS:
        from gateway.pipeline.claim_status import answer_276_sets

        register_answerer("276", answer_276_sets)


def inquiry_of(ts: TransactionSet) -> Kind | None:
    st = ts.segments[0].elements if ts.segments else ()
    st01 = st[0] if st else ""
    st03 = st[2] if len(st) > 2 else ""
    return is_inquiry(st01, set_implementation(st01, st03, ts.gs08))


def st02_of(ts: TransactionSet) -> str:
    elements = ts.segments[0].elements if ts.segments else ()
    return elements[1] if len(elements) > 1 else ""


# ------------------------------------------------------------------------------ real time


@dataclass
class RealtimeAnswer:
    status: int
    """200 with the answer; 422 with the TA1/999 of a rejected request; 400 when the
    payload is not one inquiry interchange."""
    content: bytes
    content_type: str = "application/edi-x12"
    audit: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    kind: Kind | None = None
    """The inquiry kind answered (200)."""


def check_interchange(
    data: bytes, *, uploader: str, config: GatewayConfig, partners: PartnerSet,
    validator: Validator,
) -> FileAnalysis:  # fmt: skip
    """The engine's verdict on ``data`` (envelope and guide): no store, so it runs outside
    the store thread (one at a time: the validator is not shared between threads)."""
    directory = partner_directory(config, partners)
    return analyze(data, uploader=uploader, directory=directory, validator=validator)


def answer_interchange(
    store: Store,
    data: bytes,
    *,
    uploader: str,
    config: GatewayConfig,
    partners: PartnerSet,
    payers: Mapping[str, PayerConfig],
    validator: Validator | None = None,
    analysis: FileAnalysis | None = None,
    now: datetime | None = None,
    next_control: Callable[[], int] | None = None,
    accept: Callable[[Kind], bool] | None = None,
) -> RealtimeAnswer:
    """The answer interchange to the inquiry sets of ``data`` (call in the store thread),
    from ``analysis`` (:func:`check_interchange`) or checked here with ``validator``.
    ``accept`` narrows the kinds taken (a CORE PayloadType names one)."""
    when = now or datetime.now(UTC)
    directory = partner_directory(config, partners)
    if analysis is None:
        assert validator is not None, "give the analysis or a validator"
        analysis = analyze(data, uploader=uploader, directory=directory, validator=validator)

    def control() -> int:
        if next_control is not None:
            return next_control()
        with store.transaction() as tx:
            return tx.next_counter("control")

    if not analysis.readable:
        return RealtimeAnswer(400, b"", message=analysis.reject_reason or "not an X12 interchange")
    if len(analysis.interchanges) != 1:
        return RealtimeAnswer(400, b"", message="send exactly one interchange (ISA..IEA)")
    interchange = analysis.interchanges[0]
    transactions = [(g, t) for g in interchange.groups for t in g.transactions]

    def rejection() -> RealtimeAnswer:
        responses = build_responses(
            analysis, directory=directory, duplicates=(), next_control=control, now=when
        )
        body = b"".join(r.content for r in responses)
        return RealtimeAnswer(422, body, message="the request fails the envelope or the guide")

    if interchange.ta1_code is not None:  # the envelope first (a 4010 270: TA1 003)
        return rejection()
    kinds: set[Kind] = set()
    for group, transaction in transactions:
        guide = set_implementation(transaction.st01, transaction.st03 or "", group.gs08)
        kind = is_inquiry(transaction.st01, guide)
        if kind is None or (accept is not None and not accept(kind)):
            return RealtimeAnswer(
                400,
                b"",
                message=f"set {transaction.st02} is {transaction.st01} ({guide or 'no guide'}): "
                "this endpoint answers inquiries: 270 eligibility (005010X279A1) and 276 claim "
                "status (005010X212)",
            )
        kinds.add(kind)
    if len(kinds) > 1:
        return RealtimeAnswer(400, b"", message="send one kind of inquiry per interchange")
    if not transactions or any(not set_accepted(g, t) for g, t in transactions):
        return rejection()
    (kind,) = kinds
    envelope = AnswerEnvelope(
        interchange.sender_qualifier, interchange.sender_id, control(),
        interchange.usage_indicator, when,
    )  # fmt: skip
    sets = list(iter_transaction_sets(data))
    with store.transaction() as tx:
        ctx = InquiryContext(tx, config, partners, payers, when.date(), when)
        answered = answerer_for(kind)(ctx, sets, envelope)
    groups = {g.gs06: g for g in interchange.groups}
    for item in answered.audit:  # CORE's audit fields (identifiers of the envelopes)
        found = groups.get(str(item.get("gs06", "")))
        item.update(isa06=interchange.sender_id, isa08=interchange.receiver_id)
        if found is not None:
            item.update(gs02=found.gs02, gs03=found.gs03)
    return RealtimeAnswer(200, answered.content, audit=answered.audit, kind=kind)


# ---------------------------------------------------------------------------------- batch


@dataclass
class BatchAnswers:
    """What :func:`answer_file_inquiries` answered: per answer kind, the interchanges."""

    by_kind: dict[str, bytes] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    sets: int = 0
    answered: set[tuple[str, str]] = field(default_factory=set)
    """(ISA13, ST02) of every set answered."""


def answer_file_inquiries(
    tx: Transaction,
    data: bytes,
    accepted: set[tuple[str, str]],
    *,
    config: GatewayConfig,
    partners: PartnerSet,
    payers: Mapping[str, PayerConfig],
    usages: Mapping[str, str],
    receiver: tuple[str, str],
    now: datetime,
) -> BatchAnswers:
    """Answer the inquiry sets of a stored file whose (ISA13, ST02) is in ``accepted``:
    one answer interchange per (source interchange, kind), to ``receiver`` (the
    submitter's ISA qualifier and ID), usage as the source interchange's ISA15."""
    grouped: dict[tuple[str, Kind], list[TransactionSet]] = defaultdict(list)
    out_keys: set[tuple[str, str]] = set()
    for ts in iter_transaction_sets(data):
        if (ts.isa13, st02_of(ts)) not in accepted:
            continue
        kind = inquiry_of(ts)
        if kind is not None:
            grouped[(ts.isa13, kind)].append(ts)
            out_keys.add((ts.isa13, st02_of(ts)))
    out = BatchAnswers(answered=out_keys)
    ctx = InquiryContext(tx, config, partners, payers, now.date(), now)
    parts: dict[str, list[bytes]] = defaultdict(list)
    for (isa13, kind), sets in grouped.items():
        envelope = AnswerEnvelope(
            receiver[0], receiver[1], tx.next_counter("control"), usages.get(isa13, "P"), now
        )
        answered = answerer_for(kind)(ctx, sets, envelope)
        parts[kind.answer].append(answered.content)
        out.audit += answered.audit
        out.sets += len(sets)
    out.by_kind = {name: b"".join(chunks) for name, chunks in parts.items()}
    return out
