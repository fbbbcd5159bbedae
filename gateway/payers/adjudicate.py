"""Adjudication of claims by a simulated payer: PURE and deterministic.

:func:`adjudicate` takes the claims of one payer batch (in the order given), the payer's
configuration, and everything stateful as look-ups passed in by the caller:

- ``accumulators(key)``: the member's deductible / out-of-pocket amounts met in a plan year,
  as persisted by the caller (``None`` = nothing yet: the roster's starting values apply);
- ``paid_history(fingerprint)``: the payer claim control number (CLP07) of a processed claim
  with that fingerprint (:func:`gateway.x12.edits.claim_fingerprint`), for duplicates (18);
- ``original(payer_claim_id)``: the latest decision stored under a CLP07, for corrected
  (CLM05-3 = 7) and voided (8) claims;
- ``next_claim_number()``: a new CLP07 (the caller's durable counter).

It returns the decisions (:mod:`gateway.payers.model`) and what the caller must persist: the
new accumulator values, the fingerprints of processed claims, the CLP07s reversed.
No clock, no randomness: "today" is the receipt date passed in.

Per claim, in order:

1. member not on the roster → REJECTED ``A3:33`` (payer 277CA, no CLP07, no 835);
2. corrected/void claim whose REF*F8 is unknown → REJECTED ``A7:464``; already reversed
   (the look-up returns a reversal) or replaced earlier in this batch → REJECTED ``A7:495``;
3. a pend rule matches (not for voids) → PENDED with its CLP07 and the rule's ``P*`` status;
   :func:`release_pended` adjudicates it later under the same CLP07 and receipt date;
4. corrected/void: a REVERSAL (CLP02 22) of the original — every amount negated, its
   accumulator effect taken back; a void stops here;
5. per line: exact duplicate of a processed claim (OA-18), no coverage on the service date
   (CO-26 before the first coverage, else CO-27 + N30), timely filing (CO-29), non-covered
   (CO-96 + N130), prior authorization missing (CO-197 + M62), diagnosis not valid for the
   procedure (CO-11 + M76) — a denied line is adjusted in full;
   otherwise the fee schedule gives the allowed amount (CO-45 = charge - allowed), then
   copay (PR-3, once per claim and category), deductible (PR-1), coinsurance (PR-2), with
   the member's share capped by the out-of-pocket maximum; accumulators carry from line to
   line and claim to claim.

Every ADJUDICATED decision balances (see :mod:`gateway.payers.model`): denials are line
CAS, so claim-level CAS only appear when CLM02 differs from the lines' sum (CO-16 + M54) or
the claim has no lines. Claim status 4 when every line is denied, else 1. The plan year is
the calendar year of the claim's first service date. Non-adjudicated decisions (REJECTED,
PENDED) carry ``status`` 4, ``paid`` 0 and no lines: they never go to an 835.

Pended claims and the 277CA: a PENDED decision's ``status_category`` is the pend rule's
``P*`` code, as the model describes. But 005010X214 limits the claim-level STC01-1 of a
batch 277CA to ``A*`` categories (X12 RFI 1942), so the payer 277CA should acknowledge a
pended claim as ``A2:20`` (it has a CLP07: it entered adjudication) and report the ``P*``
status only in a later unsolicited/solicited 277 (005010X212), or in STC12 text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from gateway.payers.config import HUNDRED, ZERO, Member, PayerConfig, PendRule, Plan, money
from gateway.payers.model import (
    Adjustment,
    ClaimDecision,
    ClaimStatus,
    GroupCode,
    LineDecision,
    Outcome,
    reversal_of,
)
from gateway.x12.claims import Claim, ServiceLine
from gateway.x12.edits import claim_fingerprint

# STC01 of the payer 277CA (005010X214 allows only A* categories there: see the README)
SUBSCRIBER_NOT_FOUND = "A3:33"
"""Subscriber and subscriber id not found."""
ORIGINAL_NOT_FOUND = "A7:464"
"""Payer assigned claim control number (REF*F8) invalid: no such original claim."""
ORIGINAL_ALREADY_ADJUSTED = "A7:495"
"""Re-adjudication must reference the newly assigned CLP07 of a previously adjusted claim."""

REPLACEMENT = "7"
VOID = "8"
ATTACHMENT_REQUIRED = "252"
"""CARC: an attachment/other documentation is required (a request for information expired)."""
MISSING_MEDICAL_RECORD = "M127"
DEDUCTIBLE, COINSURANCE, COPAY = "1", "2", "3"
_ONE = Decimal(1)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ClaimInput:
    """One claim for the payer, with what :class:`Claim` does not carry."""

    claim: Claim
    reference: str = ""
    """The caller's outbound claim reference (opaque; echoed in :class:`ClaimResult`)."""
    prior_authorization: str = ""
    """2300 REF*G1 (see :func:`gateway.payers.inputs.claim_inputs`)."""
    line_authorizations: Mapping[str, str] = field(default_factory=dict)
    """LX01 → 2400 REF*G1."""


@dataclass(frozen=True, order=True)
class AccumulatorKey:
    payer_id: str
    member_id: str
    year: int
    """Plan year = calendar year of the claim's first service date."""


@dataclass(frozen=True)
class Accumulator:
    deductible_met: Decimal = ZERO
    oop_met: Decimal = ZERO
    """Everything the member paid toward the out-of-pocket maximum (PR-1 + PR-2 + PR-3)."""


@dataclass(frozen=True)
class AccumulatorUpdate:
    """A key this batch changed: persist :attr:`after` (or add the deltas)."""

    key: AccumulatorKey
    before: Accumulator
    after: Accumulator

    @property
    def deductible_delta(self) -> Decimal:
        return self.after.deductible_met - self.before.deductible_met

    @property
    def oop_delta(self) -> Decimal:
        return self.after.oop_met - self.before.oop_met


@dataclass(frozen=True)
class PaidRecord:
    """A processed claim (status 1) for the duplicate check: fingerprint → CLP07."""

    fingerprint: str
    payer_claim_id: str


@dataclass(frozen=True)
class ClaimResult:
    """What happened to one input claim (a correction gives reversal + new decision)."""

    reference: str
    claim_id: str
    fingerprint: str
    decisions: tuple[ClaimDecision, ...]

    @property
    def decision(self) -> ClaimDecision:
        """The claim's own decision (the reversal, for a void)."""
        return self.decisions[-1]

    @property
    def outcome(self) -> Outcome:
        return self.decision.outcome


@dataclass(frozen=True)
class AdjudicationResult:
    claims: tuple[ClaimResult, ...]
    """One per input, in input order."""
    accumulator_updates: tuple[AccumulatorUpdate, ...]
    """Changed keys, sorted; persist ``after`` in the same transaction as the decisions."""
    paid: tuple[PaidRecord, ...]
    """Add to the paid history (duplicate check)."""
    reversed: tuple[str, ...]
    """CLP07s reversed by this batch: drop them from the paid history; ``original()`` must
    from now on return the reversal (or None) for them."""

    @property
    def decisions(self) -> list[ClaimDecision]:
        """All decisions in order (a reversal right before its correction)."""
        return [d for c in self.claims for d in c.decisions]

    def by_outcome(self, outcome: Outcome) -> list[ClaimResult]:
        return [c for c in self.claims if c.outcome == outcome]


AccumulatorView = Callable[[AccumulatorKey], Accumulator | None]
PaidHistory = Callable[[str], str | None]
OriginalLookup = Callable[[str], ClaimDecision | None]
ClaimNumbers = Callable[[], str]


def no_accumulators(_key: AccumulatorKey) -> Accumulator | None:
    return None


def no_history(_fingerprint: str) -> str | None:
    return None


def no_originals(_payer_claim_id: str) -> ClaimDecision | None:
    return None


def counter(prefix: str, start: int = 1, width: int = 10) -> ClaimNumbers:
    """``prefix`` + a zero-padded counter from ``start`` (tests, benchmarks; production
    callers draw from a durable counter)."""
    state = [start]

    def next_number() -> str:
        value = state[0]
        state[0] += 1
        return f"{prefix}{value:0{width}d}"

    return next_number


# -------------------------------------------------------------------- entry points


def adjudicate(
    claims: Sequence[ClaimInput],
    config: PayerConfig,
    accumulators: AccumulatorView,
    *,
    received: date,
    paid_history: PaidHistory,
    original: OriginalLookup,
    next_claim_number: ClaimNumbers,
) -> AdjudicationResult:
    """Decide every claim of one batch received on ``received`` (see the module docs)."""
    session = _Session(config, accumulators, paid_history, original, next_claim_number)
    results = [session.one(item, received, None, allow_pend=True) for item in claims]
    return session.result(results)


def release_pended(
    pended: Sequence[tuple[ClaimInput, ClaimDecision]],
    config: PayerConfig,
    accumulators: AccumulatorView,
    *,
    paid_history: PaidHistory,
    original: OriginalLookup,
    unanswered: Collection[str] = (),
) -> AdjudicationResult:
    """Adjudicate claims pended earlier (their input and PENDED decision), ignoring the pend
    rules: same CLP07, same receipt date (timely filing counts from the first receipt).

    ``unanswered``: references (:attr:`ClaimInput.reference`) of claims whose request for
    information expired unanswered: every line is denied CO-252 (an attachment is required)
    with RARC M127 (missing medical record), nothing counted to the accumulators."""
    session = _Session(config, accumulators, paid_history, original, _no_numbers)
    session.missing_documents = frozenset(unanswered)
    results: list[ClaimResult] = []
    for item, decision in pended:
        if decision.outcome != Outcome.PENDED or decision.received is None:
            raise ValueError("release_pended takes PENDED decisions with a receipt date")
        results.append(
            session.one(item, decision.received, decision.payer_claim_id, allow_pend=False)
        )
    return session.result(results)


def _no_numbers() -> str:
    raise AssertionError("a released claim keeps its payer claim control number")


def reverse(decision: ClaimDecision, *, received: date | None = None) -> ClaimDecision:
    """The reversal (CLP02 22) of an adjudicated decision (:func:`model.reversal_of`), with
    the payer's own status text cleared and the receipt date of the reversing claim."""
    return replace(
        reversal_of(decision),
        status_category="",
        status_text="",
        received=received if received is not None else decision.received,
    )


def accumulator_effect(decision: ClaimDecision) -> tuple[Decimal, Decimal]:
    """(deductible, out-of-pocket) a decision added to its member's accumulators."""
    adjustments = [a for line in decision.lines for a in line.adjustments]
    adjustments += decision.adjustments
    deductible = sum(
        (a.amount for a in adjustments if a.group == "PR" and a.reason == DEDUCTIBLE), ZERO
    )
    oop = sum(
        (
            a.amount
            for a in adjustments
            if a.group == "PR" and a.reason in (DEDUCTIBLE, COINSURANCE, COPAY)
        ),
        ZERO,
    )
    return deductible, oop


def _negate(adjustments: tuple[Adjustment, ...]) -> tuple[Adjustment, ...]:
    return tuple(replace(a, amount=-a.amount) for a in adjustments)


# ------------------------------------------------------------------------ the work


@dataclass
class _Denial:
    group: GroupCode
    reason: str
    remarks: tuple[str, ...] = ()


class _Session:
    def __init__(
        self,
        config: PayerConfig,
        view: AccumulatorView,
        paid_history: PaidHistory,
        original: OriginalLookup,
        numbers: ClaimNumbers,
    ) -> None:
        self.config = config
        self.view = view
        self.paid_history = paid_history
        self.original = original
        self.numbers = numbers
        self.before: dict[AccumulatorKey, Accumulator] = {}
        self.current: dict[AccumulatorKey, Accumulator] = {}
        self.paid: dict[str, str] = {}
        self.reversed: list[str] = []
        self.missing_documents: frozenset[str] = frozenset()

    def result(self, results: list[ClaimResult]) -> AdjudicationResult:
        updates = tuple(
            AccumulatorUpdate(key, self.before[key], self.current[key])
            for key in sorted(self.current)
            if self.current[key] != self.before[key]
        )
        reversed_ids = set(self.reversed)
        paid = tuple(
            PaidRecord(fp, pcid) for fp, pcid in self.paid.items() if pcid not in reversed_ids
        )
        return AdjudicationResult(tuple(results), updates, paid, tuple(self.reversed))

    # ------------------------------------------------------------- accumulators

    def accumulator(self, key: AccumulatorKey, member: Member | None) -> Accumulator:
        found = self.current.get(key)
        if found is not None:
            return found
        stored = self.view(key)
        if stored is None:
            start = member.starting_for(key.year) if member is not None else None
            stored = (
                Accumulator(start.deductible_met, start.oop_met)
                if start is not None
                else Accumulator()
            )
        self.before[key] = stored
        self.current[key] = stored
        return stored

    def take_back(self, decision: ClaimDecision) -> None:
        """Undo what an original decision added to its member's accumulators."""
        deductible, oop = accumulator_effect(decision)
        if not deductible and not oop:
            return
        day = decision.service_date or decision.received
        if day is None:
            return
        key = AccumulatorKey(self.config.payer_id, decision.member_id, day.year)
        current = self.accumulator(key, self.config.member(decision.member_id))
        self.current[key] = Accumulator(
            max(ZERO, current.deductible_met - deductible), max(ZERO, current.oop_met - oop)
        )

    # ---------------------------------------------------------------- one claim

    def one(
        self, item: ClaimInput, received: date, payer_claim_id: str | None, *, allow_pend: bool
    ) -> ClaimResult:
        claim = item.claim
        fingerprint = claim_fingerprint(claim)

        def done(*decisions: ClaimDecision) -> ClaimResult:
            return ClaimResult(item.reference, claim.claim_id, fingerprint, decisions)

        member = self.config.member(claim.member_id.strip())
        if member is None:
            return done(
                _not_adjudicated(
                    claim,
                    Outcome.REJECTED,
                    "",
                    SUBSCRIBER_NOT_FOUND,
                    "Subscriber and subscriber ID not found",
                    received,
                )
            )
        frequency = claim.frequency_code.strip()
        original: ClaimDecision | None = None
        if frequency in (REPLACEMENT, VOID):
            original, problem = self.find_original(claim.original_reference.strip())
            if original is None:
                status, text = problem
                return done(_not_adjudicated(claim, Outcome.REJECTED, "", status, text, received))
        if allow_pend and frequency != VOID:
            rule = self.pend_rule(claim)
            if rule is not None:
                number = payer_claim_id or self.numbers()
                return done(
                    _not_adjudicated(
                        claim, Outcome.PENDED, number, rule.status, rule.text, received, original
                    )
                )
        decisions: list[ClaimDecision] = []
        if original is not None:
            decisions.append(reverse(original, received=received))
            self.take_back(original)
            self.reversed.append(original.payer_claim_id)
            if frequency == VOID:
                return done(*decisions)
        number = payer_claim_id or self.numbers()
        decision = self.decide(item, member, received, number, fingerprint, original)
        decisions.append(decision)
        if decision.status == ClaimStatus.PAID_PRIMARY:
            self.paid[fingerprint] = number
        return done(*decisions)

    def find_original(self, reference: str) -> tuple[ClaimDecision | None, tuple[str, str]]:
        if not reference:
            return None, (ORIGINAL_NOT_FOUND, "Corrected or void claim without REF*F8")
        if reference in self.reversed:
            return None, (
                ORIGINAL_ALREADY_ADJUSTED,
                "The original claim was already replaced or voided in this batch",
            )
        found = self.original(reference)
        if found is None or found.outcome == Outcome.REJECTED:
            return None, (ORIGINAL_NOT_FOUND, "Original claim (REF*F8) not found")
        if found.status == ClaimStatus.REVERSAL:
            return None, (
                ORIGINAL_ALREADY_ADJUSTED,
                "The original claim was already replaced or voided",
            )
        if found.outcome == Outcome.PENDED:
            return None, (ORIGINAL_NOT_FOUND, "Original claim (REF*F8) is still pending")
        return found, ("", "")

    def pend_rule(self, claim: Claim) -> PendRule | None:
        return pend_rule_for(self.config, claim)

    def duplicate_of(self, fingerprint: str) -> str | None:
        found = self.paid.get(fingerprint) or self.paid_history(fingerprint)
        if found is None or found in self.reversed:
            return None
        return found

    def decide(
        self,
        item: ClaimInput,
        member: Member,
        received: date,
        number: str,
        fingerprint: str,
        original: ClaimDecision | None,
    ) -> ClaimDecision:
        claim = item.claim
        period = claim.service_period()
        year = (period[0] if period is not None else received).year
        key = AccumulatorKey(self.config.payer_id, member.id, year)
        duplicate = (
            self.duplicate_of(fingerprint)
            if claim.frequency_code.strip() not in (REPLACEMENT, VOID)
            else None
        )
        copays_taken: set[str] = set()
        lines: list[LineDecision] = []
        denied_lines = 0
        for index, line in enumerate(claim.lines):
            decision, denied = self.line(
                item, line, index, member, key, received, period, duplicate, copays_taken
            )
            lines.append(decision)
            denied_lines += denied
        line_charges = sum((ln.charge for ln in lines), ZERO)
        charge = money(claim.charge) if claim.charge is not None else line_charges
        claim_adjustments: list[Adjustment] = []
        remarks: list[str] = []
        if charge != line_charges:
            claim_adjustments.append(Adjustment("CO", "16", charge - line_charges))
            remarks.append("M54")
        paid = sum((ln.paid for ln in lines), ZERO)
        responsibility = sum(
            (
                a.amount
                for a in (*claim_adjustments, *(a for ln in lines for a in ln.adjustments))
                if a.group == "PR"
            ),
            ZERO,
        )
        all_denied = not lines or denied_lines == len(lines)
        person = claim.person
        return ClaimDecision(
            claim_id=claim.claim_id,
            payer_claim_id=number,
            outcome=Outcome.ADJUDICATED,
            status=ClaimStatus.DENIED if all_denied else ClaimStatus.PAID_PRIMARY,
            charge=charge,
            paid=paid,
            patient_responsibility=responsibility,
            filing_indicator=claim.filing_indicator,
            facility_code=claim.facility_code,
            frequency_code=claim.frequency_code,
            lines=tuple(lines),
            adjustments=tuple(claim_adjustments),
            remarks=tuple(remarks),
            billing_npi=claim.billing_npi,
            billing_tin=claim.billing_tin,
            patient_last=person.last_or_org if person is not None else "",
            patient_first=person.first if person is not None else "",
            member_id=claim.member_id.strip(),
            service_date=period[0] if period is not None else None,
            service_date_end=period[1] if period is not None else None,
            received=received,
            original_payer_claim_id=original.payer_claim_id if original is not None else None,
        )

    def line(
        self,
        item: ClaimInput,
        line: ServiceLine,
        index: int,
        member: Member,
        key: AccumulatorKey,
        received: date,
        period: tuple[date, date] | None,
        duplicate: str | None,
        copays_taken: set[str],
    ) -> tuple[LineDecision, bool]:
        code = line.procedure_code.strip().upper()
        charge = money(line.charge) if line.charge is not None else ZERO
        units = line.units if line.units is not None and line.units > 0 else _ONE
        dates = [
            d
            for d in line.dates
            if d.qualifier == "472" and d.start is not None and d.end is not None
        ]
        start = dates[0].start if dates else (period[0] if period else None)
        end = dates[0].end if dates else (period[1] if period else None)
        base = LineDecision(
            line_number=_line_number(line.number, index),
            procedure_qualifier=line.procedure_qualifier,
            procedure_code=line.procedure_code,
            modifiers=line.modifiers,
            charge=charge,
            paid=ZERO,
            units=units,
            service_date=start,
            service_date_end=end if end != start else None,
            control_number=line.control_number or None,
            revenue_code=line.revenue_code or None,
        )
        coverage = member.coverage_on(start) if start is not None else None
        plan = self.config.plans.get(coverage.plan) if coverage is not None else None
        denial = self.denial(item, line, code, member, start, end, plan, received, duplicate)
        if denial is not None or plan is None:
            denial = denial or _Denial("CO", "27", ("N30",))
            full = (Adjustment(denial.group, denial.reason, charge),) if charge else ()
            return replace(base, allowed=ZERO, adjustments=full, remarks=denial.remarks), True
        allowed = self.config.fee_schedule.allowed(code, line.modifiers, units, charge)
        adjustments: list[Adjustment] = []
        if charge - allowed:
            adjustments.append(Adjustment("CO", "45", charge - allowed))
        category = self.config.category(code)
        benefit = plan.benefit(category)
        accumulated = self.accumulator(key, member)
        copay = ZERO
        if benefit.copay and category not in copays_taken:
            copays_taken.add(category)
            copay = min(benefit.copay, allowed)
        rest = allowed - copay
        deductible = ZERO
        if benefit.deductible:
            deductible = min(rest, max(ZERO, plan.deductible - accumulated.deductible_met))
        coinsurance = ZERO
        if benefit.coinsurance:
            coinsurance = money((rest - deductible) * plan.coinsurance_percent / HUNDRED)
        # the out-of-pocket maximum caps the member's share: coinsurance goes first, then
        # copay, then deductible
        room = max(ZERO, plan.out_of_pocket_max - accumulated.oop_met)
        excess = deductible + copay + coinsurance - room
        if excess > 0:
            cut = min(excess, coinsurance)
            coinsurance -= cut
            excess -= cut
            cut = min(excess, copay)
            copay -= cut
            excess -= cut
            deductible -= min(excess, deductible)
        self.current[key] = Accumulator(
            accumulated.deductible_met + deductible,
            accumulated.oop_met + deductible + copay + coinsurance,
        )
        for reason, amount in ((DEDUCTIBLE, deductible), (COINSURANCE, coinsurance)):
            if amount:
                adjustments.append(Adjustment("PR", reason, amount))
        if copay:
            adjustments.append(Adjustment("PR", COPAY, copay))
        paid = allowed - deductible - copay - coinsurance
        return replace(base, paid=paid, allowed=allowed, adjustments=tuple(adjustments)), False

    def denial(
        self,
        item: ClaimInput,
        line: ServiceLine,
        code: str,
        member: Member,
        start: date | None,
        end: date | None,
        plan: Plan | None,
        received: date,
        duplicate: str | None,
    ) -> _Denial | None:
        if item.reference in self.missing_documents:
            return _Denial("CO", ATTACHMENT_REQUIRED, (MISSING_MEDICAL_RECORD,))
        if duplicate is not None:
            return _Denial("OA", "18")
        if start is None or end is None:
            return _Denial("CO", "16", ("M52",))
        if line.charge is not None and line.charge < 0:
            return _Denial("CO", "16", ("M79",))
        if plan is None:
            first = min((c.start for c in member.coverage), default=None)
            if first is not None and start < first:
                return _Denial("CO", "26", ("N30",))
            return _Denial("CO", "27", ("N30",))
        if received > end + timedelta(days=plan.timely_filing_days):
            return _Denial("CO", "29")
        if code in plan.non_covered:
            return _Denial("CO", "96", ("N130",))
        if code in plan.prior_auth_required and not (
            item.prior_authorization.strip()
            or item.line_authorizations.get(line.number, "").strip()
        ):
            return _Denial("CO", "197", ("M62",))
        rule = self.config.diagnosis_rules.get(code)
        if rule is not None and not _diagnosis_ok(item.claim, line, rule.allowed_prefixes):
            return _Denial("CO", "11", ("M76",))
        return None


def pend_rule_for(config: PayerConfig, claim: Claim) -> PendRule | None:
    """The first pend rule the claim matches (the one that pended it), or None."""
    if not config.pend_rules:
        return None
    charge = _claim_charge(claim)
    procedures = frozenset(line.procedure_code.strip().upper() for line in claim.lines)
    member_id = claim.member_id.strip()
    for rule in config.pend_rules:
        if rule.matches(charge, member_id, procedures):
            return rule
    return None


def _diagnosis_ok(claim: Claim, line: ServiceLine, prefixes: tuple[str, ...]) -> bool:
    pointed: set[int] = set()
    for pointer in line.diagnosis_pointers:
        if pointer.strip().isascii() and pointer.strip().isdigit():
            pointed.add(int(pointer))
    codes = [
        d.code.strip().upper().replace(".", "")
        for d in claim.diagnoses
        if d.pointer is not None and (not pointed or d.pointer in pointed)
    ]
    return any(c.startswith(prefixes) for c in codes)


def _line_number(raw: str, index: int) -> int:
    text = raw.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else index + 1


def _claim_charge(claim: Claim) -> Decimal:
    if claim.charge is not None:
        return money(claim.charge)
    return sum((money(ln.charge) for ln in claim.lines if ln.charge is not None), ZERO)


def _not_adjudicated(
    claim: Claim,
    outcome: Outcome,
    number: str,
    status: str,
    text: str,
    received: date,
    original: ClaimDecision | None = None,
) -> ClaimDecision:
    period = claim.service_period()
    person = claim.person
    return ClaimDecision(
        claim_id=claim.claim_id,
        payer_claim_id=number,
        outcome=outcome,
        status=ClaimStatus.DENIED,
        charge=_claim_charge(claim),
        paid=ZERO,
        patient_responsibility=ZERO,
        filing_indicator=claim.filing_indicator,
        facility_code=claim.facility_code,
        frequency_code=claim.frequency_code,
        status_category=status,
        status_text=text,
        billing_npi=claim.billing_npi,
        billing_tin=claim.billing_tin,
        patient_last=person.last_or_org if person is not None else "",
        patient_first=person.first if person is not None else "",
        member_id=claim.member_id.strip(),
        service_date=period[0] if period is not None else None,
        service_date_end=period[1] if period is not None else None,
        received=received,
        original_payer_claim_id=original.payer_claim_id if original is not None else None,
    )
