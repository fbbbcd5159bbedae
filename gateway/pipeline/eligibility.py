"""Real-time eligibility (270 → 271): the thin layer between the HTTP API and the pure cores.

- :func:`answer_one` finds who answers a payer ID (a simulated payer of the gateway, else the
  gateway itself with AAA 79 / 42 in 2100A) and asks it, reading the member's accumulators
  through the store (run it in the store thread: ``core.in_store``);
- :func:`answer_interchange` is ``POST /api/v1/x12``: envelope and guide checks by the
  engine (a 270 that fails them gets the TA1/999, never a 271), then one 271 per 270 set in
  one interchange back to the sender.

Which sets are answered is the registry's word (:mod:`gateway.x12.kinds`, ``ELIGIBILITY``).
No PHI leaves here but in the answers themselves: the audit details are identifiers only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from gateway.config import GatewayConfig
from gateway.payers.adjudicate import Accumulator, AccumulatorKey
from gateway.payers.config import PayerConfig
from gateway.payers.eligibility import answer_eligibility, unknown_payer
from gateway.pipeline.steps import partner_directory
from gateway.profiles import PartnerSet
from gateway.store.sqlite import Store
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.eligibility import (
    EligibilityAnswer,
    EligibilityRequest,
    Envelope,
    SetAnswers,
    build_271,
    read_270,
)
from gateway.x12.engine import analyze, build_responses
from gateway.x12.envelope import set_accepted, set_implementation
from gateway.x12.kinds import Handling, kind_of
from gateway.x12.results import FileAnalysis
from gateway.x12.segments import Validator

REAL_TIME = (Handling.ELIGIBILITY, Handling.CLAIM_STATUS)
"""What ``POST /api/v1/x12`` answers in the same exchange: 270 → 271, 276 → 277."""


def find_payer(
    payer_id: str, payers: Mapping[str, PayerConfig], partners: PartnerSet
) -> tuple[PayerConfig | None, bool]:
    """(the simulated payer answering ``payer_id``, whether an external payer has it)."""
    for config in payers.values():
        if config.payer_id == payer_id:
            return config, False
    external = any(
        p.role == "payer" and payer_id in p.payer_ids for p in partners.partners.values()
    )
    return None, external


def answer_one(
    store: Store,
    request: EligibilityRequest,
    payers: Mapping[str, PayerConfig],
    partners: PartnerSet,
    today: date,
) -> EligibilityAnswer:
    """The answer to one request (call in the store thread)."""
    config, external = find_payer(request.payer_id, payers, partners)
    if config is None:
        return unknown_payer(request, external=external)
    with store.transaction() as tx:

        def accumulators(key: AccumulatorKey) -> Accumulator | None:
            row = tx.accumulator(key.payer_id, key.member_id, key.year)
            if row is None:
                return None
            return Accumulator(Decimal(row.deductible_met), Decimal(row.oop_met))

        return answer_eligibility(request, config, accumulators, today=today)


def outcome_of(answer: EligibilityAnswer) -> str:
    """``active``, ``inactive`` or ``aaa:<code>`` (audit and metrics)."""
    if answer.errors:
        return f"aaa:{answer.errors[0].code}"
    return answer.status


@dataclass
class X12Answer:
    status: int
    """200 with a 271 (277); 422 with the TA1/999 (or a text report) of a rejected 270
    (276); 400 when the payload is neither."""
    content: bytes
    content_type: str = "application/edi-x12"
    audit: list[dict[str, Any]] = field(default_factory=list)
    """One entry per answered request (identifiers only; ``event``: the audit event when
    not ``eligibility.answered``)."""
    message: str = ""


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
) -> X12Answer:
    """``POST /api/v1/x12``: the 271 interchange answering the 270s of ``data`` (call in the
    store thread), from ``analysis`` (:func:`check_interchange`) or checked here with
    ``validator``."""
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
        return X12Answer(400, b"", message=analysis.reject_reason or "not an X12 interchange")
    if len(analysis.interchanges) != 1:
        return X12Answer(400, b"", message="send exactly one interchange (ISA..IEA)")
    interchange = analysis.interchanges[0]
    transactions = [(g, t) for g in interchange.groups for t in g.transactions]

    def rejection() -> X12Answer:
        responses = build_responses(
            analysis, directory=directory, duplicates=(), next_control=control, now=when
        )
        body = b"".join(r.content for r in responses)
        return X12Answer(422, body, message="the 270 fails the envelope or the guide")

    if interchange.ta1_code is not None:  # the envelope first (a 4010 270: TA1 003)
        return rejection()
    handlings: set[Handling] = set()
    for group, transaction in transactions:
        guide = set_implementation(transaction.st01, transaction.st03 or "", group.gs08)
        kind = kind_of(transaction.st01, guide)
        if kind is None or kind.handling not in REAL_TIME:
            return X12Answer(
                400,
                b"",
                message=f"set {transaction.st02} is {transaction.st01} ({guide or 'no guide'}): "
                "this endpoint answers 270 eligibility inquiries (005010X279A1) and 276 claim "
                "status requests (005010X212) only",
            )
        handlings.add(kind.handling)
    if len(handlings) > 1:
        return X12Answer(400, b"", message="send 270s or 276s in one interchange, not both")
    if not transactions or any(not set_accepted(g, t) for g, t in transactions):
        return rejection()
    if handlings == {Handling.CLAIM_STATUS}:
        from gateway.pipeline.claim_status import answer_276s

        body, status_audit = answer_276s(
            store, data, uploader=uploader, config=config, partners=partners, payers=payers,
            receiver=(interchange.sender_qualifier, interchange.sender_id), control=control,
            now=when, usage=interchange.usage_indicator,
        )  # fmt: skip
        return X12Answer(200, body, audit=status_audit)
    sets: list[SetAnswers] = []
    audit: list[dict[str, Any]] = []
    today = when.date()
    for ts in iter_transaction_sets(data):
        requests = read_270(ts.segments, ts.delimiters)
        answers = tuple(answer_one(store, r, payers, partners, today) for r in requests)
        sets.append(SetAnswers(requests[0].reference if requests else "", answers))
        st02 = ts.segments[0].elements[1] if len(ts.segments[0].elements) > 1 else ""
        for answer in answers:
            audit.append(
                {
                    "isa13": ts.isa13,
                    "gs06": ts.gs06,
                    "st02": st02,
                    "bht03": answer.request.reference,
                    "trn02": answer.request.trace,
                    "payer": answer.request.payer_id,
                    "outcome": outcome_of(answer),
                }
            )
    envelope = Envelope(
        config.interchange_qualifier,
        config.interchange_id,
        interchange.sender_qualifier,
        interchange.sender_id,
        control(),
        interchange.usage_indicator,
        when,
    )
    return X12Answer(200, build_271(sets, envelope), audit=audit)


def json_271(
    answer: EligibilityAnswer,
    *,
    config: GatewayConfig,
    receiver: tuple[str, str],
    control: int,
    now: datetime,
) -> bytes:
    """The 271 interchange of one JSON request (``?include=x12``)."""
    envelope = Envelope(
        config.interchange_qualifier, config.interchange_id, receiver[0], receiver[1],
        control, "P", now,
    )  # fmt: skip
    return build_271([SetAnswers(answer.request.reference, (answer,))], envelope)
