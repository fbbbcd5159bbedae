"""Patient billing, the pure core: each claim's derived balance and state, patient payments
applied to them, A/R aging. No I/O (the facts come from gateway/store/billing.py).

A claim is one the gateway judged (a ``claims`` row: its id is the API's claim id). Its
history: the front-end edits (accepted or rejected by the clearinghouse), its route to the
payer (routed, payer-rejected, pended, accepted), every 835 posting that answers it (original,
reversal, corrected: gateway/payers/posting.py), the patient payments applied to it, the
statements it was on and its appeals.

Amounts, net of every posting (a reversal's amounts are negative, so an original and its
reversal net to zero):

* ``insurance_paid``   CLP04
* ``contractual``      CO adjustments with a contractual-allowance CARC (:data:`ALLOWANCE_CARCS`:
                       the fee schedule's reduction, discounts): never anyone's to pay
* ``denied``           every other non-PR adjustment (CO/OA/PI denials): open until it is
                       worked (corrected claim, appeal, written off)
* ``patient_responsibility`` PR (deductible 1, coinsurance 2, copay 3, ...)
* ``patient_paid``     patient payments applied to the claim
* ``written_off``      write-offs recorded for the claim (a denial not worked further, a
                       small balance)
* ``balance``          billed - insurance_paid - contractual - patient_paid - written_off
                       (= denied + patient_responsibility - patient_paid - written_off once
                       posted); negative: a credit

Not in A/R (balance 0): a claim the clearinghouse rejected (it never reached a payer: correct
it and send it again) and a claim whose payment was reversed (voided or replaced by a
corrected claim, which carries the balance).

States, in the order of the cycle (first that applies):
``rejected (clearinghouse)``, ``rejected (payer)``, ``pending`` (routed, not answered by an
835), ``reversed``, ``written off`` (written off, nothing open), ``closed`` (patient
responsibility paid, nothing open), ``patient paid`` (part of the patient's share paid),
``patient responsibility billed`` (on a statement), then what the payer decided: ``denied``,
``patient responsibility`` (nothing paid, all the patient's: a deductible), ``partly paid``,
``paid in full``.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from gateway.payers.posting import DENIED as POSTED_DENIED
from gateway.payers.posting import REVERSED as POSTED_REVERSED

ZERO = Decimal("0.00")

REJECTED_CLEARINGHOUSE = "rejected (clearinghouse)"
REJECTED_PAYER = "rejected (payer)"
PENDING = "pending"
REVERSED = "reversed"
CLOSED = "closed"
WRITTEN_OFF = "written off"
PATIENT_PAID = "patient paid"
PATIENT_BILLED = "patient responsibility billed"
DENIED = "denied"
PATIENT_RESPONSIBILITY = "patient responsibility"
PARTLY_PAID = "partly paid"
PAID_IN_FULL = "paid in full"

STATES = (
    REJECTED_CLEARINGHOUSE, REJECTED_PAYER, PENDING, PAID_IN_FULL, PARTLY_PAID, DENIED,
    PATIENT_RESPONSIBILITY, PATIENT_BILLED, PATIENT_PAID, CLOSED, WRITTEN_OFF, REVERSED,
)  # fmt: skip
"""Every state a claim can be in (the order of the billing cycle)."""

ALLOWANCE_CARCS = frozenset({"45", "42", "59", "94", "131", "144", "253"})
"""CO reasons that are the contract's allowance (fee schedule, discount, sequestration), not a
denial to work."""

PATIENT_REASONS: dict[str, str] = {
    "1": "deductible",
    "2": "coinsurance",
    "3": "copay",
}
"""PR CARCs in the words a patient reads; any other PR reason is ``not covered``."""

AGING_BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")


def patient_reason(carc: str) -> str:
    """Why the patient owes a PR amount, in plain words."""
    return PATIENT_REASONS.get(carc, "not covered by your plan")


def account_number(npi: str, member_id: str, last: str, first: str) -> str:
    """The patient's account number at a provider: stable, printed on the statement and
    accepted by ``POST /api/v1/patient-payments``; derived (never the member ID itself)."""
    key = "|".join((npi, member_id.upper(), last.upper(), first.upper())).encode()
    digest = base64.b32encode(hashlib.sha256(key).digest()).decode()
    return "PA" + digest[:8]


@dataclass(frozen=True)
class Adjustment:
    line_number: int
    group: str
    carc: str
    amount: Decimal


@dataclass(frozen=True)
class RemitLine:
    line_number: int
    procedure: str
    """``qualifier:code[:modifiers]`` as posted."""
    service_date: date | None
    billed: Decimal
    paid: Decimal
    remarks: tuple[str, ...] = ()
    """The line's RARCs (LQ*HE)."""

    @property
    def code(self) -> str:
        parts = self.procedure.split(":")
        return parts[1] if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class RemitPost:
    """One posted CLP (gateway/store/ledger.py) that answers the claim."""

    payer_key: str
    payer_name: str
    trace: str
    seq: int
    payment_date: date | None
    posted_at: float
    status_code: str
    kind: str
    payer_claim_id: str
    original_payer_claim_id: str
    service_date: date | None
    billed: Decimal
    paid: Decimal
    contractual: Decimal
    """Every CO amount (the ledger's figure)."""
    patient_responsibility: Decimal
    other: Decimal
    state: str
    remarks: tuple[str, ...]
    adjustments: tuple[Adjustment, ...]
    lines: tuple[RemitLine, ...]
    member_id: str
    patient_last: str
    patient_first: str

    @property
    def all_remarks(self) -> tuple[str, ...]:
        """The claim's RARCs, then the lines' (each once)."""
        return tuple(dict.fromkeys((*self.remarks, *(m for ln in self.lines for m in ln.remarks))))

    @property
    def allowance(self) -> Decimal:
        return _sum(
            a.amount for a in self.adjustments if a.group == "CO" and a.carc in ALLOWANCE_CARCS
        )

    @property
    def denied(self) -> Decimal:
        """billed - paid - allowance - patient responsibility."""
        return self.billed - self.paid - self.allowance - self.patient_responsibility


@dataclass(frozen=True)
class PatientPayment:
    reference: str
    claim_id: int | None
    """The claim it pays, or None: the account's (applied oldest first)."""
    account: str
    amount: Decimal
    payment_date: date
    method: str
    posted_at: float


@dataclass(frozen=True)
class Appeal:
    claim_id: int
    n: int
    reason: str
    appeal_date: date
    documents: tuple[str, ...]
    recorded_at: float


@dataclass(frozen=True)
class WriteOff:
    claim_id: int
    n: int
    amount: Decimal
    reason: str
    writeoff_date: date
    recorded_at: float


@dataclass(frozen=True)
class ClaimFacts:
    """Everything the store knows about one claim, in the order it happened."""

    claim_id: int
    partner_id: str
    """The submitter."""
    file_id: str
    clm01: str
    payer_id: str
    billing_npi: str
    billed: Decimal
    frequency_code: str
    accepted: bool
    codes: tuple[str, ...]
    """The front-end edits' codes (rejected claims)."""
    submitted_at: float
    route_id: int | None = None
    route_state: str | None = None
    payer_partner_id: str | None = None
    route_updated_at: float | None = None
    remits: tuple[RemitPost, ...] = ()
    appeals: tuple[Appeal, ...] = ()
    writeoffs: tuple[WriteOff, ...] = ()
    statements: tuple[tuple[str, float], ...] = ()
    """(statement id, when) of every statement the claim was on."""

    @property
    def latest(self) -> RemitPost | None:
        return self.remits[-1] if self.remits else None

    @property
    def patient(self) -> RemitPost | None:
        """The latest posting that names the patient."""
        return next((r for r in reversed(self.remits) if r.member_id), None)

    @property
    def account(self) -> str | None:
        p = self.patient
        if p is None:
            return None
        return account_number(self.billing_npi, p.member_id, p.patient_last, p.patient_first)

    @property
    def service_date(self) -> date | None:
        for r in reversed(self.remits):
            if r.service_date is not None:
                return r.service_date
            dates = [ln.service_date for ln in r.lines if ln.service_date is not None]
            if dates:
                return min(dates)
        return None

    @property
    def submitted_on(self) -> date:
        return datetime.fromtimestamp(self.submitted_at, UTC).date()


@dataclass(frozen=True)
class ClaimBalance:
    facts: ClaimFacts
    state: str
    insurance_paid: Decimal
    contractual: Decimal
    denied: Decimal
    patient_responsibility: Decimal
    patient_paid: Decimal
    balance: Decimal
    payments: tuple[tuple[PatientPayment, Decimal], ...]
    """The patient payments applied to this claim, with the amount applied."""
    written_off: Decimal = ZERO

    @property
    def patient_balance(self) -> Decimal:
        """What the patient still owes on it (negative: a credit). A write-off covers the
        denied part first, then the patient's share."""
        if self.state in (REVERSED, REJECTED_CLEARINGHOUSE):
            return -self.patient_paid
        forgiven = max(ZERO, self.written_off - max(self.denied, ZERO))
        return self.patient_responsibility - self.patient_paid - forgiven

    @property
    def denial_codes(self) -> tuple[tuple[str, str], ...]:
        """(group, CARC) of the current answer's denials: non-PR, not an allowance."""
        latest = self.facts.latest
        if latest is None or latest.status_code == "22":
            return ()
        return denials_in(latest)


def denials_in(remit: RemitPost) -> tuple[tuple[str, str], ...]:
    """(group, CARC) of a posting's denials: non-PR adjustments that are not the contract's
    allowance, in the order the 835 gives them."""
    seen: dict[tuple[str, str], None] = {}
    for a in remit.adjustments:
        if a.group != "PR" and not (a.group == "CO" and a.carc in ALLOWANCE_CARCS):
            if a.amount != ZERO:
                seen[(a.group, a.carc)] = None
    return tuple(seen)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def _state(facts: ClaimFacts, pr: Decimal, patient_paid: Decimal, open_left: Decimal) -> str:
    if not facts.accepted:
        return REJECTED_CLEARINGHOUSE
    latest = facts.latest
    if latest is None:
        return REJECTED_PAYER if facts.route_state == "payer_rejected" else PENDING
    if latest.state == POSTED_REVERSED:
        return REVERSED
    if facts.writeoffs and open_left <= ZERO:
        return WRITTEN_OFF
    if pr > ZERO:
        if patient_paid >= pr:
            return CLOSED
        if patient_paid > ZERO:
            return PATIENT_PAID
        if facts.statements:
            return PATIENT_BILLED
    if latest.state == POSTED_DENIED:
        return DENIED
    return latest.state


def balances(
    facts: Sequence[ClaimFacts], payments: Sequence[PatientPayment] = ()
) -> list[ClaimBalance]:
    """Each claim's balance and state, with the patient payments applied: one paying a claim
    goes to it (more than it owes: a credit on it); one paying an account goes to the
    account's open patient balances, oldest visit first, and what is left is a credit on its
    newest claim."""
    by_id = {f.claim_id: f for f in facts}
    pr: dict[int, Decimal] = {}
    for f in facts:
        net = _sum(r.patient_responsibility for r in f.remits)
        pr[f.claim_id] = ZERO if f.latest is not None and f.latest.state == POSTED_REVERSED else net
    applied: dict[int, list[tuple[PatientPayment, Decimal]]] = defaultdict(list)
    for p in payments:
        if p.claim_id is not None and p.claim_id in by_id:
            applied[p.claim_id].append((p, p.amount))
    by_account: dict[str, list[ClaimFacts]] = defaultdict(list)
    for f in facts:
        if f.account is not None:
            by_account[f.account].append(f)
    for p in payments:
        if p.claim_id is not None or p.account not in by_account:
            continue
        claims = sorted(
            by_account[p.account], key=lambda f: (f.service_date or f.submitted_on, f.claim_id)
        )
        left = p.amount
        for f in claims:
            owed = pr[f.claim_id] - _sum(a for _, a in applied[f.claim_id])
            if owed <= ZERO or left <= ZERO:
                continue
            take = min(owed, left)
            applied[f.claim_id].append((p, take))
            left -= take
        if left > ZERO:
            applied[claims[-1].claim_id].append((p, left))
    out: list[ClaimBalance] = []
    for f in facts:
        mine = tuple(applied[f.claim_id])
        patient_paid = _sum(a for _, a in mine)
        paid = _sum(r.paid for r in f.remits)
        allowance = _sum(r.allowance for r in f.remits)
        denied = _sum(r.denied for r in f.remits)
        written_off = _sum(w.amount for w in f.writeoffs)
        open_left = f.billed - paid - allowance - patient_paid - written_off
        state = _state(f, pr[f.claim_id], patient_paid, open_left)
        balance = -patient_paid if state in (REJECTED_CLEARINGHOUSE, REVERSED) else open_left
        out.append(
            ClaimBalance(f, state, paid, allowance, denied, pr[f.claim_id], patient_paid,
                         balance, mine, written_off)
        )  # fmt: skip
    return out


def age_bucket(days: int) -> str:
    if days <= 30:
        return "0-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    if days <= 120:
        return "91-120"
    return "120+"


@dataclass(frozen=True)
class Aging:
    """A/R aging: open balances by age, in total, by payer and by provider NPI."""

    as_of: date
    basis: str
    """``service`` (date of service; a claim not yet answered ages from its submission) or
    ``submission``."""
    total: Mapping[str, Decimal]
    by_payer: Mapping[str, Mapping[str, Decimal]]
    by_provider: Mapping[str, Mapping[str, Decimal]]
    claims: int

    @property
    def open_balance(self) -> Decimal:
        return _sum(self.total.values())


def aging(claims: Sequence[ClaimBalance], as_of: date, basis: str = "service") -> Aging:
    """Every claim with an open balance (credits too, as negative amounts) in its bucket."""

    def empty() -> dict[str, Decimal]:
        return dict.fromkeys(AGING_BUCKETS, ZERO)

    total = empty()
    by_payer: dict[str, dict[str, Decimal]] = defaultdict(empty)
    by_provider: dict[str, dict[str, Decimal]] = defaultdict(empty)
    n = 0
    for c in claims:
        if c.balance == ZERO:
            continue
        f = c.facts
        start = f.submitted_on
        if basis == "service" and f.service_date is not None:
            start = f.service_date
        bucket = age_bucket((as_of - start).days)
        total[bucket] += c.balance
        by_payer[f.payer_id][bucket] += c.balance
        by_provider[f.billing_npi][bucket] += c.balance
        n += 1
    return Aging(as_of, basis, total, dict(by_payer), dict(by_provider), n)
