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

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gateway.config import GatewayConfig
from gateway.payers.adjudicate import Accumulator, AccumulatorKey
from gateway.payers.config import PayerConfig
from gateway.payers.eligibility import answer_eligibility, unknown_payer
from gateway.pipeline import inquiries
from gateway.pipeline.inquiries import (
    Answered,
    AnswerEnvelope,
    InquiryContext,
    RealtimeAnswer,
    check_interchange,
)
from gateway.profiles import PartnerSet
from gateway.store.sqlite import Store, Transaction
from gateway.x12.claims import TransactionSet
from gateway.x12.eligibility import (
    EligibilityAnswer,
    EligibilityRequest,
    Envelope,
    SetAnswers,
    build_271,
    read_270,
)

__all__ = [
    "RealtimeAnswer",
    "answer_in",
    "answer_interchange",
    "answer_one",
    "check_interchange",
    "json_271",
    "outcome_of",
]


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
    with store.transaction() as tx:
        return answer_in(tx, request, payers, partners, today)


def answer_in(
    tx: Transaction,
    request: EligibilityRequest,
    payers: Mapping[str, PayerConfig],
    partners: PartnerSet,
    today: date,
) -> EligibilityAnswer:
    """:func:`answer_one` within an open transaction."""
    config, external = find_payer(request.payer_id, payers, partners)
    if config is None:
        return unknown_payer(request, external=external)

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


def answer_270_sets(
    ctx: InquiryContext, sets: Sequence[TransactionSet], envelope: AnswerEnvelope
) -> Answered:
    """The answerer of the 270 kind (:mod:`gateway.pipeline.inquiries`): one 271 per 270
    set, each request (a 2000C/2000D loop with a TRN) answered by its payer, the TRN echoed."""
    answered: list[SetAnswers] = []
    audit: list[dict[str, Any]] = []
    for ts in sets:
        requests = read_270(ts.segments, ts.delimiters)
        answers = tuple(answer_in(ctx.tx, r, ctx.payers, ctx.partners, ctx.today) for r in requests)
        answered.append(SetAnswers(requests[0].reference if requests else "", answers))
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
    config = ctx.config
    x12_envelope = Envelope(
        config.interchange_qualifier,
        config.interchange_id,
        envelope.receiver_qualifier,
        envelope.receiver_id,
        envelope.control,
        envelope.usage,
        envelope.now,
    )
    return Answered(build_271(answered, x12_envelope), audit)


#: The real-time answer (kept under its first name).
X12Answer = RealtimeAnswer


def answer_interchange(store: Store, data: bytes, **kwargs: Any) -> RealtimeAnswer:
    """``POST /api/v1/x12``: the 271 interchange answering the 270s of ``data`` (call in the
    store thread); see :func:`gateway.pipeline.inquiries.answer_interchange`."""
    return inquiries.answer_interchange(store, data, **kwargs)


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
