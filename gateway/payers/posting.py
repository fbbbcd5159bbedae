"""Remittance posting, the pure core: an 835 (:class:`~gateway.x12.remit_read.Remittance`)
into the rows a provider's ledger posts, claim by claim and line by line. No I/O.

Per claim: billed (CLP03), allowed (sum of the lines' AMT*B6, when every line states it),
paid (CLP04), every adjustment with its group (CO/PR/OA/PI/CR), CARC and amount (claim-level
ones with ``line_number`` 0), RARCs, the payer claim number (CLP07), the patient control
number (CLP01), the status (CLP02 as sent, and the kind: original, ``reversal`` for CLP02 22,
``corrected`` for a claim that replaces an earlier one: CLP09 7 or a REF*F8 original) and the
derived balance:

    billed - paid - contractual (CO) = patient responsibility (PR) + other (OA/PI/CR)

State: ``reversed`` (CLP02 22), ``denied`` (CLP02 4/23/25, or nothing paid and nothing owed
by the patient), ``patient responsibility`` (nothing paid, all to the patient: a
deductible), ``partly paid`` (paid, but some of it denied: an OA/PI/CR amount, or a line
billed, not paid and not left to the patient), else ``paid in full``.

Per payment: BPR02 (amount), BPR04 (method as sent), TRN02 (check/EFT trace), BPR16 (date),
payer and payee (NPI/TIN) and the provider-level adjustments (PLB).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.x12.remit_read import RemitClaim, Remittance

ZERO = Decimal("0.00")
DENIED_CODES = frozenset({"4", "23", "25"})

PAID_IN_FULL = "paid in full"
PARTLY_PAID = "partly paid"
DENIED = "denied"
REVERSED = "reversed"
PATIENT_RESPONSIBILITY = "patient responsibility"

STATUS_WORDS: dict[str, str] = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded to additional payer(s)",
    "20": "Processed as secondary, forwarded to additional payer(s)",
    "21": "Processed as tertiary, forwarded to additional payer(s)",
    "22": "Reversal of previous payment",
    "23": "Not our claim, forwarded to additional payer(s)",
    "25": "Predetermination pricing only, no payment",
}


@dataclass(frozen=True)
class PostedAdjustment:
    line_number: int
    """0 for a claim-level CAS, else the line's number within the claim."""
    group: str
    carc: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class PostedLine:
    line_number: int
    procedure: str
    """SVC01 as ``qualifier:code[:modifier...]`` (e.g. ``HC:99213:25``)."""
    control_number: str
    """REF*6R, the 837's line item control number ('' when not echoed)."""
    service_date: date | None
    units: Decimal
    billed: Decimal
    allowed: Decimal | None
    paid: Decimal
    adjustments: tuple[PostedAdjustment, ...]
    remarks: tuple[str, ...]


@dataclass(frozen=True)
class PostedClaim:
    seq: int
    """The CLP's order in its 835 (1-based)."""
    patient_control: str
    payer_claim_id: str
    status_code: str
    kind: str
    """``original``, ``reversal`` or ``corrected``."""
    original_payer_claim_id: str
    frequency_code: str
    billed: Decimal
    allowed: Decimal | None
    paid: Decimal
    clp05: Decimal
    """CLP05 as sent (patient responsibility as the payer states it)."""
    adjustments: tuple[PostedAdjustment, ...]
    """Claim-level CAS only; the lines carry theirs."""
    remarks: tuple[str, ...]
    lines: tuple[PostedLine, ...]
    patient_last: str
    patient_first: str
    member_id: str
    service_date: date | None
    service_date_end: date | None

    @property
    def all_adjustments(self) -> tuple[PostedAdjustment, ...]:
        return self.adjustments + tuple(a for ln in self.lines for a in ln.adjustments)

    def group_total(self, *groups: str) -> Decimal:
        return _sum(a.amount for a in self.all_adjustments if a.group in groups)

    @property
    def contractual(self) -> Decimal:
        return self.group_total("CO")

    @property
    def patient_responsibility(self) -> Decimal:
        return self.group_total("PR")

    @property
    def other(self) -> Decimal:
        """billed - paid - contractual - patient responsibility (OA/PI/CR when balanced)."""
        return self.billed - self.paid - self.contractual - self.patient_responsibility

    @property
    def state(self) -> str:
        if self.status_code == "22":
            return REVERSED
        if self.status_code in DENIED_CODES:
            return DENIED
        if self.paid == ZERO:
            return PATIENT_RESPONSIBILITY if self.patient_responsibility > 0 else DENIED
        if self.other != ZERO or any(_line_denied(ln) for ln in self.lines):
            return PARTLY_PAID
        return PAID_IN_FULL


@dataclass(frozen=True)
class PostedPlb:
    seq: int
    reason: str
    reference: str
    amount: Decimal
    """Positive reduces the payment."""


@dataclass(frozen=True)
class Posting:
    """One ``ST*835``: the payment and its claims, ready to post."""

    payer_id: str
    """The payer ID the 835 states (REF*2U / N1*PR), else ''."""
    payer_identifier: str
    """TRN03 (``1`` + the payer's EIN)."""
    payer_name: str
    payee_name: str
    payee_npi: str
    payee_tin: str
    trace: str
    """TRN02: the check or EFT trace number."""
    st02: str
    amount: Decimal
    """BPR02 (else the sum of CLP04 less PLB when BPR02 is unreadable)."""
    method_code: str
    """BPR04 as sent (CHK, ACH, NON, BOP, FWT)."""
    handling_code: str
    payment_date: date
    """BPR16."""
    production_date: date
    claims: tuple[PostedClaim, ...]
    plb: tuple[PostedPlb, ...]
    balanced: bool

    @property
    def payer_key(self) -> str:
        """Who paid, for the ledger's idempotency key: the payer ID, else TRN03."""
        return self.payer_id or self.payer_identifier

    @property
    def claims_paid(self) -> Decimal:
        return _sum(c.paid for c in self.claims)

    @property
    def plb_total(self) -> Decimal:
        return _sum(p.amount for p in self.plb)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def _line_denied(line: PostedLine) -> bool:
    """Billed, not paid, and not left to the patient either."""
    return (
        line.paid == ZERO
        and line.billed > 0
        and not any(a.group == "PR" and a.amount != ZERO for a in line.adjustments)
    )


def _kind(claim: RemitClaim) -> str:
    decision = claim.decision
    if claim.status_code == "22":
        return "reversal"
    if decision.frequency_code in ("7", "8") or decision.original_payer_claim_id:
        return "corrected"
    return "original"


def _claim(seq: int, claim: RemitClaim) -> PostedClaim:
    d = claim.decision
    lines = tuple(
        PostedLine(
            line_number=ln.line_number,
            procedure=":".join((ln.procedure_qualifier, ln.procedure_code, *ln.modifiers)),
            control_number=ln.control_number or "",
            service_date=ln.service_date or d.service_date,
            units=ln.units,
            billed=ln.charge,
            allowed=ln.allowed,
            paid=ln.paid,
            adjustments=tuple(
                PostedAdjustment(ln.line_number, a.group, a.reason, a.amount, a.quantity)
                for a in ln.adjustments
            ),
            remarks=ln.remarks,
        )
        for ln in d.lines
    )
    allowed = (
        _sum(ln.allowed for ln in lines if ln.allowed is not None)
        if lines and all(ln.allowed is not None for ln in lines)
        else None
    )
    return PostedClaim(
        seq=seq,
        patient_control=d.claim_id,
        payer_claim_id=d.payer_claim_id,
        status_code=claim.status_code,
        kind=_kind(claim),
        original_payer_claim_id=d.original_payer_claim_id or "",
        frequency_code=d.frequency_code,
        billed=d.charge,
        allowed=allowed,
        paid=d.paid,
        clp05=d.patient_responsibility,
        adjustments=tuple(
            PostedAdjustment(0, a.group, a.reason, a.amount, a.quantity) for a in d.adjustments
        ),
        remarks=d.remarks,
        lines=lines,
        patient_last=d.patient_last,
        patient_first=d.patient_first,
        member_id=d.member_id,
        service_date=d.service_date,
        service_date_end=d.service_date_end,
    )


def posting_of(remit: Remittance) -> Posting:
    """The posting of one remittance (read by :func:`~gateway.x12.remit_read.read_835`)."""
    payment = remit.payment
    claims = tuple(_claim(n, c) for n, c in enumerate(remit.claims, start=1))
    plb = tuple(
        PostedPlb(n, p.reason, p.reference, p.amount)
        for n, p in enumerate(payment.provider_adjustments, start=1)
    )
    return Posting(
        payer_id=payment.payer_id,
        payer_identifier=remit.payer_identifier,
        payer_name=payment.payer_name,
        payee_name=payment.payee_name,
        payee_npi=payment.payee_npi,
        payee_tin=payment.payee_tin,
        trace=payment.trace_number,
        st02=remit.st02,
        amount=remit.total if remit.total is not None else payment.total,
        method_code=remit.method_code,
        handling_code=remit.handling_code,
        payment_date=payment.payment_date,
        production_date=payment.production_date,
        claims=claims,
        plb=plb,
        balanced=remit.balanced,
    )
