"""A claim's status from its lifecycle (276 → 277): PURE and deterministic.

The store (gateway/store/claim_status.py, read by gateway/pipeline/claim_status.py) finds the
claim the request names among the requesting partner's own claims and hands its lifecycle
here as a :class:`ClaimLifecycle`; :func:`answer_status` says what the 277 says:

========================================  =============================================
where the claim is                        STC (category:status)
========================================  =============================================
no claim of this partner matches          A4:35 not found (``None`` lifecycle)
found, but the charge or dates differ     D0:35 data search unsuccessful
rejected by the clearinghouse's edits     our 277CA's codes (A3/A6/A7...), ``clearinghouse``
its set rejected by our 999, or its       A3:21, ``clearinghouse``, the reason in words
interchange by our TA1
accepted, not sent to the payer yet       A1:20, ``clearinghouse``
at the payer, not adjudicated             P1:20 pending, in process
pended by a pend rule                     the rule's status (P2:46 review, P3:297 records
                                          requested: "waiting for information")
rejected by the payer's front end         the payer 277CA's code (A3:33...)
paid (fully or partly)                    F1:65 (+ the CARCs' status codes)
adjudicated, nothing paid, not denied     F4 (e.g. all to the deductible)
denied                                    F2 + the first CARC's status code
a correction's new version                + F3:101 (processed as an adjustment)
voided (reversed, no new version)         F3:101
========================================  =============================================

Finalized answers carry the charge, the payment, the adjudication date and, from the 835 that
paid it, the check/EFT trace number and payment date; service lines as the payer decided them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from gateway.payers.model import Adjustment, ClaimDecision, ClaimStatus, LineDecision, Outcome
from gateway.x12.claim_status import (
    CARC_STATUS,
    LineStatus,
    Status,
    StatusAnswer,
    StatusRequest,
)

ENTITIES_2200 = frozenset(
    ("03", "13", "17", "1E", "1G", "1H", "1I", "1O", "1P", "1Q", "1R", "1S", "1T", "1U", "1V")
)
"""STC01-3 entity codes X212 allows at claim level (others are dropped from our 277CA's)."""
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Payment:
    """What the 835 that answered the claim says (the posted ledger)."""

    trace: str
    payment_date: date
    method: str = "CHK"


@dataclass(frozen=True)
class ClaimLifecycle:
    """What the gateway knows of one claim (identifiers and amounts; no PHI needed)."""

    clm01: str
    charge: Decimal
    received: date
    accepted: bool
    """By the clearinghouse's front-end edits."""
    edit_codes: tuple[str, ...] = ()
    """The STC composites of our 277CA rejecting it (``A7:562:85``); for a claim the
    999/TA1 stopped before the edits, ``A3:21`` and the reason (``999``, ``TA1:<code>``,
    :mod:`gateway.x12.rejected`)."""
    route_state: str | None = None
    """``routed``, ``pended``, ``adjudicated``, ``payer_rejected``, ``payer_accepted``;
    None: not sent to a payer."""
    updated: date | None = None
    """When the route last changed (the status's effective date)."""
    decision: ClaimDecision | None = None
    corrected: bool = False
    """The decision replaced an earlier one (a corrected claim, re-adjudicated)."""
    payment: Payment | None = None
    service_date: date | None = None
    service_date_end: date | None = None
    requested: str = ""
    """What the payer asked the provider for (a pend in P3), in words."""
    due: date | None = None


GUIDE_REASON = "999"
"""An edit code saying the claim's set was rejected by our 999 (gateway/x12/rejected.py)."""
TA1_REASON = "TA1:"
"""The prefix of an edit code saying its interchange was rejected by our TA1 (+ TA105)."""


def _rejected_where(codes: tuple[str, ...]) -> str:
    """Where the clearinghouse stopped the claim, in words."""
    if GUIDE_REASON in codes:
        return (
            "Rejected by the clearinghouse's implementation-guide check before it reached "
            "the payer: our 999 rejected its transaction set (see the 999 and its report); "
            "correct and resubmit"
        )
    ta1 = next((c.removeprefix(TA1_REASON) for c in codes if c.startswith(TA1_REASON)), None)
    if ta1 is not None:
        return (
            f"Rejected with its whole interchange by the clearinghouse's envelope check "
            f"(our TA1, note code {ta1}; see its report) before it reached the payer; "
            "correct and resubmit"
        )
    return (
        "Rejected by the clearinghouse's front-end edits before it reached "
        "the payer (see our 277CA); correct and resubmit"
    )


def _status(composite: str) -> Status:
    parts = composite.split(":")
    entity = parts[2] if len(parts) > 2 and parts[2] in ENTITIES_2200 else ""
    return Status(parts[0], parts[1] if len(parts) > 1 else "0", entity)


def _matches(request: StatusRequest, claim: ClaimLifecycle) -> bool:
    """The request's optional search data agree with the claim (charge; dates overlap)."""
    if request.charge is not None and request.charge != claim.charge:
        return False
    first, last = request.service_days
    if first is None or claim.service_date is None:
        return True
    claim_last = claim.service_date_end or claim.service_date
    return first <= claim_last and claim.service_date <= (last or first)


def _carcs(adjustments: tuple[Adjustment, ...]) -> tuple[tuple[str, str, Decimal], ...]:
    return tuple((a.group, a.reason, a.amount) for a in adjustments)


def _reason_statuses(category: str, adjustments: tuple[Adjustment, ...]) -> list[Status]:
    """The claim status codes saying what the CARCs say (not the contractual write-off)."""
    codes: list[str] = []
    for adjustment in adjustments:
        if adjustment.group == "CO" and adjustment.reason == "45":
            continue
        code = CARC_STATUS.get(adjustment.reason)
        if code and code not in codes:
            codes.append(code)
    return [Status(category, c) for c in codes]


def _final_status(
    paid: Decimal, status: ClaimStatus, adjustments: tuple[Adjustment, ...]
) -> list[Status]:
    if paid > 0:
        return [Status("F1", "65"), *_reason_statuses("F1", adjustments)[:2]]
    reasons = _reason_statuses("F2" if status is ClaimStatus.DENIED else "F4", adjustments)
    if status is ClaimStatus.DENIED:
        return reasons[:3] or [Status("F2", "1")]
    return reasons[:3] or [Status("F4", "1")]


def _line(line: LineDecision) -> LineStatus:
    denied = line.paid == 0 and any(a.group != "PR" for a in line.adjustments)
    statuses = _final_status(
        line.paid, ClaimStatus.DENIED if denied else ClaimStatus.PAID_PRIMARY, line.adjustments
    )
    return LineStatus(
        qualifier=line.procedure_qualifier or "HC",
        procedure=line.procedure_code,
        modifiers=line.modifiers,
        charge=line.charge,
        paid=line.paid,
        units=line.units,
        statuses=tuple(statuses),
        revenue_code=line.revenue_code or "",
        control_number=line.control_number or "",
        service_date=line.service_date,
        service_date_end=line.service_date_end,
        carcs=_carcs(line.adjustments),
    )


def not_found(request: StatusRequest, today: date, payer_name: str = "") -> StatusAnswer:
    return StatusAnswer(
        request,
        (Status("A4", "35"),),
        today,
        payer_name=payer_name,
        message="No claim of yours matches this request",
    )


def answer_status(
    request: StatusRequest,
    claim: ClaimLifecycle | None,
    *,
    payer_name: str = "",
    today: date,
) -> StatusAnswer:
    """The 277's answer for ``request`` (see the module docstring)."""
    if claim is None:
        return not_found(request, today, payer_name)
    base = StatusAnswer(
        request,
        (),
        claim.updated or claim.received,
        payer_name=payer_name,
        charge=claim.charge,
        claim_id=claim.clm01,
        service_date=claim.service_date,
        service_date_end=claim.service_date_end,
    )
    if not _matches(request, claim):
        return StatusAnswer(
            request,
            (Status("D0", "35"),),
            today,
            payer_name=payer_name,
            message="A claim has this number, but its charge or dates of "
            "service differ from the request",
        )
    if not claim.accepted:
        codes = [c for c in claim.edit_codes if ":" in c and not c.startswith(TA1_REASON)]
        rejected = tuple(_status(c) for c in codes[:3]) or (Status("A3", "21"),)
        return _with(
            base,
            rejected,
            source="clearinghouse",
            effective=claim.received,
            message=_rejected_where(claim.edit_codes),
        )
    decision = claim.decision
    state = claim.route_state
    statuses: list[Status]
    if state is None:
        return _with(
            base,
            (Status("A1", "20"),),
            source="clearinghouse",
            message="Received by the clearinghouse; not yet sent to the payer",
        )
    payer_claim_id = decision.payer_claim_id if decision else ""
    if claim.requested and claim.due is not None and state in ("routed", "payer_accepted"):
        # an external payer's 277 RFAI (X213) asked for documents: waiting for them
        return _with(
            base,
            (Status("P3", "297"),),
            payer_claim_id=payer_claim_id,
            message=_waiting(claim.requested, claim.due),
            requested=claim.requested,
            due=claim.due,
        )
    if state in ("routed", "payer_accepted") or (decision is None and state != "payer_rejected"):
        return _with(
            base,
            (Status("P1", "20"),),
            payer_claim_id=payer_claim_id,
            message="At the payer: accepted for processing, not yet adjudicated",
        )
    if state == "payer_rejected":
        code = decision.status_category if decision and decision.status_category else "A3:21"
        return _with(
            base,
            (_status(code),),
            payer_claim_id=payer_claim_id,
            message=(decision.status_text if decision else "")
            or "Rejected by the payer's front end; correct and resubmit",
        )
    assert decision is not None
    if decision.outcome is Outcome.PENDED:
        status = _status(decision.status_category or "P1:20")
        requested = claim.requested or (decision.status_text if status.category == "P3" else "")
        return _with(
            base,
            (status,),
            payer_claim_id=payer_claim_id,
            message=_waiting(claim.requested, claim.due)
            if claim.requested and claim.due is not None
            else decision.status_text,
            requested=requested,
            due=claim.due,
        )
    adjustments = (*decision.adjustments, *(a for ln in decision.lines for a in ln.adjustments))
    if decision.status is ClaimStatus.REVERSAL:
        statuses = [Status("F3", "101")]
    else:
        statuses = _final_status(decision.paid, decision.status, adjustments)
        if claim.corrected:
            statuses = [statuses[0], Status("F3", "101"), *statuses[1:2]]
    payment = claim.payment
    return StatusAnswer(
        request,
        tuple(statuses[:3]),
        base.effective,
        payer_name=payer_name,
        charge=decision.charge if decision.status is not ClaimStatus.REVERSAL else claim.charge,
        paid=decision.paid if decision.status is not ClaimStatus.REVERSAL else ZERO,
        finalized=claim.updated,
        payment_date=payment.payment_date if payment else None,
        payment_trace=payment.trace if payment else "",
        payment_method=payment.method if payment else "",
        payer_claim_id=payer_claim_id,
        claim_id=claim.clm01,
        service_date=decision.service_date or claim.service_date,
        service_date_end=decision.service_date_end or claim.service_date_end,
        lines=tuple(_line(ln) for ln in decision.lines),
        carcs=_carcs(decision.adjustments),
        remarks=decision.remarks,
        message="Voided: the payment was reversed"
        if decision.status is ClaimStatus.REVERSAL
        else "Corrected claim re-adjudicated; the earlier payment was reversed"
        if claim.corrected
        else "",
    )


def _waiting(requested: str, due: date) -> str:
    """``waiting for information: progress note, due 2026-12-31`` (a request for information,
    277 RFAI, open for the claim)."""
    return f"waiting for information: {requested}, due {due.isoformat()}"


def _with(
    base: StatusAnswer,
    statuses: tuple[Status, ...],
    *,
    source: str = "payer",
    effective: date | None = None,
    payer_claim_id: str = "",
    message: str = "",
    requested: str = "",
    due: date | None = None,
) -> StatusAnswer:
    return replace(
        base,
        statuses=statuses,
        source=source,
        effective=effective or base.effective,
        payer_claim_id=payer_claim_id,
        message=message,
        requested=requested,
        due=due,
    )
