"""Real-time claim status (276 → 277): the thin layer between the edges (HTTP API, CLI) and
the pure cores.

- :func:`lifecycle` finds the claim a request names among the requesting partner's own claims
  (CLM01, else the payer claim control number; same payer ID and billing NPI) and reads its
  lifecycle from the store: front-end edits, route, payer decision, the 835 that paid it;
- :func:`answer_one` answers one request (gateway/payers/claim_status.py) and logs it in
  ``status_requests`` (call in the store thread: ``core.in_store``); :func:`forwarded_in`
  logs an external payer's answer to a JSON request (forwarded to its CORE endpoint as a
  276, gateway/pipeline/core_forward.py ``forward_status``);
- :func:`answer_276_sets` is the 276 kind's answerer for gateway/pipeline/inquiries.py: the
  276 sets of an interchange the engine accepted, as one 277 interchange (real time over
  ``POST /api/v1/x12`` and CAQH CORE ``/core``; batch 276 files → ``_277.x12``).

A claim of another partner (or another provider's NPI) is never found: "not found" (A4:35).
The audit details are identifiers only (trace numbers, payer ID, status codes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.config import GatewayConfig
from gateway.payers.claim_status import ClaimLifecycle, Payment, answer_status
from gateway.payers.codec import decision_from_json
from gateway.payers.config import PayerConfig
from gateway.payers.model import ClaimStatus, Outcome
from gateway.pipeline.inquiries import Answered, AnswerEnvelope, InquiryContext
from gateway.profiles import PartnerSet
from gateway.store.claim_status import StatusClaim, StatusRequestRow
from gateway.store.sqlite import Store, Transaction
from gateway.x12.claim_status import (
    SetAnswers,
    StatusAnswer,
    StatusRequest,
    build_277,
    envelope_for,
    read_276,
    statuses_of,
)
from gateway.x12.claims import TransactionSet


def _day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def _charge(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("0")


def find_claim(tx: Transaction, partner_id: str, request: StatusRequest) -> StatusClaim | None:
    """The partner's newest claim the request names (same payer ID and billing NPI)."""
    found: list[StatusClaim] = []
    if request.claim_id:
        found = tx.status_claims(partner_id, request.payer_id, request.claim_id)
    if not found and request.payer_claim_id:
        found = tx.status_claims_by_payer_number(
            partner_id, request.payer_id, request.payer_claim_id
        )
    mine = [c for c in found if not request.provider_npi or c.billing_npi == request.provider_npi]
    return mine[0] if mine else None


def lifecycle(tx: Transaction, claim: StatusClaim) -> tuple[ClaimLifecycle, int | None]:
    """The claim's lifecycle and its newest route id (None: never routed)."""
    base = ClaimLifecycle(
        clm01=claim.clm01,
        charge=_charge(claim.charge),
        received=_day(claim.received_at),
        accepted=claim.accepted,
        edit_codes=claim.codes,
    )
    route = tx.status_route(claim.id)
    if route is None:
        return base, None
    decision = decision_from_json(route.decision) if route.decision else None
    payment = None
    if decision is not None and decision.outcome is Outcome.ADJUDICATED:
        paid = tx.paid_by(route.id, decision.payer_claim_id)
        if paid is not None:
            payment = Payment(paid.trace, date.fromisoformat(paid.payment_date), paid.method_code)
    return (
        ClaimLifecycle(
            clm01=claim.clm01,
            charge=_charge(claim.charge),
            received=_day(claim.received_at),
            accepted=True,
            route_state=route.state,
            updated=_day(route.updated_at),
            decision=decision,
            corrected=claim.frequency_code == "7"
            and decision is not None
            and decision.status is not ClaimStatus.REVERSAL,
            payment=payment,
            service_date=decision.service_date if decision else None,
            service_date_end=decision.service_date_end if decision else None,
            **_requested(tx, route.id),
        ),
        route.id,
    )


def _requested(tx: Transaction, route_id: int) -> dict[str, Any]:
    """The route's open request for information (277 RFAI): the items in words, due date."""
    from gateway.pipeline.rfai import loinc_words
    from gateway.store.rfai import OPEN

    found = tx.requests_for_route(route_id)
    if not found or found[0].state != OPEN:
        return {}
    request = found[0]
    return {
        "requested": ", ".join(loinc_words(code) for code in request.items),
        "due": date.fromisoformat(request.due),
    }


def payer_name_of(payer_id: str, payers: Mapping[str, PayerConfig], partners: PartnerSet) -> str:
    for config in payers.values():
        if config.payer_id == payer_id:
            return config.name
    for partner in partners.partners.values():
        if partner.role == "payer" and payer_id in partner.payer_ids:
            return partner.name
    return ""


def answer_in(
    tx: Transaction,
    request: StatusRequest,
    *,
    partner_id: str,
    payers: Mapping[str, PayerConfig],
    partners: PartnerSet,
    channel: str,
    now: datetime,
) -> StatusAnswer:
    """The answer to one request inside an open transaction, logged in ``status_requests``."""
    payer_name = payer_name_of(request.payer_id, payers, partners)
    claim = find_claim(tx, partner_id, request)
    route_id = None
    found = None
    if claim is not None:
        found, route_id = lifecycle(tx, claim)
    answer = answer_status(request, found, payer_name=payer_name, today=now.date())
    tx.record_status_requests(
        [
            StatusRequestRow(
                now.timestamp(), partner_id, channel, request.payer_id, request.trace,
                claim.clm01 if claim else request.claim_id, claim.id if claim else None,
                route_id, statuses_of(answer), answer.source,
            )
        ]
    )  # fmt: skip
    return answer


def forwarded_in(
    tx: Transaction, answer: StatusAnswer, *, partner_id: str, channel: str, now: datetime
) -> StatusAnswer:
    """An external payer's answer (forwarded to its CORE endpoint), logged in
    ``status_requests`` like ours (the claim looked up among the partner's own, for the log)."""
    request = answer.request
    claim = find_claim(tx, partner_id, request)
    tx.record_status_requests(
        [
            StatusRequestRow(
                now.timestamp(), partner_id, channel, request.payer_id, request.trace,
                claim.clm01 if claim else request.claim_id, claim.id if claim else None,
                None, statuses_of(answer), answer.source,
            )
        ]
    )  # fmt: skip
    return answer


PAYER_SILENT = (
    "The payer did not answer the status request in time; this is what the clearinghouse "
    "knows of the claim. "
)
"""Put before the message of an answer given here because the external payer's CORE
endpoint did not answer (a JSON request)."""


def answer_one(
    store: Store,
    request: StatusRequest,
    *,
    partner_id: str,
    payers: Mapping[str, PayerConfig],
    partners: PartnerSet,
    channel: str,
    now: datetime,
) -> StatusAnswer:
    """The answer to one request, in its own transaction (call in the store thread)."""
    with store.transaction() as tx:
        return answer_in(tx, request, partner_id=partner_id, payers=payers, partners=partners,
                         channel=channel, now=now)  # fmt: skip


def outcome_of(answer: StatusAnswer) -> str:
    """The category for metrics and audit: ``F1``, ``P3``, ``A4``..."""
    return answer.category or "none"


def audit_fields(answer: StatusAnswer) -> dict[str, Any]:
    """Identifiers only: the trace number, payer ID, status codes (never CLM01 or names)."""
    return {
        "trn02": answer.request.trace,
        "payer": answer.request.payer_id,
        "outcome": outcome_of(answer),
        "status": statuses_of(answer),
        "source": answer.source,
    }


def status_sets(
    tx: Transaction,
    sets: Iterable[TransactionSet],
    *,
    partner_id: str,
    payers: Mapping[str, PayerConfig],
    partners: PartnerSet,
    now: datetime,
    channel: str,
) -> tuple[list[SetAnswers], list[dict[str, Any]]]:
    """The answers to the 276 sets (one :class:`SetAnswers` each, for one 277 each) inside an
    open transaction, and one audit entry per claim asked about (``inquiry``: ``276``)."""
    answered: list[SetAnswers] = []
    audit: list[dict[str, Any]] = []
    for ts in sets:
        requests = read_276(ts.segments, ts.delimiters)
        answers = tuple(
            answer_in(tx, r, partner_id=partner_id, payers=payers, partners=partners,
                      channel=channel, now=now)
            for r in requests
        )  # fmt: skip
        answered.append(SetAnswers(requests[0].reference if requests else "", answers))
        st02 = ts.segments[0].elements[1] if len(ts.segments[0].elements) > 1 else ""
        for answer in answers:
            audit.append(
                {"inquiry": "276", "isa13": ts.isa13, "gs06": ts.gs06, "st02": st02,
                 "bht03": answer.request.reference, **audit_fields(answer)}
            )  # fmt: skip
    return answered, audit


def _requester(partners: PartnerSet, qualifier: str, ident: str) -> str:
    """The partner whose interchange ID this is (the engine checked the uploader's ISA)."""
    for partner in partners.partners.values():
        if (partner.isa_qualifier, partner.isa_id) == (qualifier, ident):
            return partner.id
    return ""


def answer_276_sets(
    ctx: InquiryContext, sets: Sequence[TransactionSet], envelope: AnswerEnvelope
) -> Answered:
    """The answerer of the 276 kind (:mod:`gateway.pipeline.inquiries`: real time over
    ``POST /api/v1/x12`` and CAQH CORE, batch 276 files): one 277 X212 per 276 set, each
    claim asked about answered from its lifecycle, among the claims of the partner the answer
    goes to (the ISA sender of the 276) only."""
    partner_id = _requester(ctx.partners, envelope.receiver_qualifier, envelope.receiver_id)
    answered, audit = status_sets(
        ctx.tx, sets, partner_id=partner_id, payers=ctx.payers, partners=ctx.partners,
        now=ctx.now, channel="x12",
    )  # fmt: skip
    config = ctx.config
    x12_envelope = envelope_for(
        (config.interchange_qualifier, config.interchange_id),
        (envelope.receiver_qualifier, envelope.receiver_id),
        envelope.control,
        envelope.now,
        envelope.usage,
    )
    return Answered(build_277(answered, x12_envelope), audit)


def json_277(
    answer: StatusAnswer,
    *,
    config: GatewayConfig,
    receiver: tuple[str, str],
    control: int,
    now: datetime,
) -> bytes:
    """The 277 interchange of one JSON request (``?include=x12``)."""
    envelope = envelope_for(
        (config.interchange_qualifier, config.interchange_id), receiver, control, now
    )
    return build_277([SetAnswers(answer.request.reference, (answer,))], envelope)
