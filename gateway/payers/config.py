"""A simulated payer's configuration: roster, plans, fee schedule and rules.

PURE data (loaded by :mod:`gateway.payers.loader`). Amounts are :class:`~decimal.Decimal`
with 2 places; percentages are Decimals (``20`` = 20 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
OTHER_CATEGORY = "other"
"""Service category of a procedure that no configured category claims."""


def money(value: Decimal) -> Decimal:
    """``value`` rounded half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Category:
    """A service category: procedures whose code starts with one of ``prefixes``."""

    name: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Benefit:
    """How a plan pays one service category."""

    copay: Decimal = ZERO
    """Per claim (visit) and category: charged once, on the category's first paid line."""
    deductible: bool = True
    """The allowed amount (after the copay) goes to the deductible first."""
    coinsurance: bool = True
    """The plan's coinsurance applies to what is left after copay and deductible."""


DEFAULT_BENEFIT = Benefit()


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    deductible: Decimal
    """Per member and plan (calendar) year."""
    coinsurance_percent: Decimal
    """The member's share after the deductible (``20`` = the member pays 20 %)."""
    out_of_pocket_max: Decimal
    """Cap on deductible + coinsurance + copays per member and plan year."""
    timely_filing_days: int
    """A line whose service ended more than this many days before receipt is denied (29)."""
    benefits: Mapping[str, Benefit] = field(default_factory=dict)
    """Category name → benefit; a category not listed gets :data:`DEFAULT_BENEFIT`."""
    prior_auth_required: frozenset[str] = frozenset()
    """Procedure codes that need a prior authorization number (REF*G1) or are denied (197)."""
    non_covered: frozenset[str] = frozenset()
    """Procedure codes the plan does not cover (96 + N130)."""

    def benefit(self, category: str) -> Benefit:
        return self.benefits.get(category, DEFAULT_BENEFIT)


@dataclass(frozen=True)
class Coverage:
    """One enrollment period: ``start`` .. ``end`` inclusive (``end`` None = open)."""

    plan: str
    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class StartingAccumulator:
    """What a member had already met in a plan year before the gateway saw any claim."""

    year: int
    deductible_met: Decimal = ZERO
    oop_met: Decimal = ZERO


@dataclass(frozen=True)
class Member:
    id: str
    coverage: tuple[Coverage, ...]
    starting: tuple[StartingAccumulator, ...] = ()
    note: str = ""
    """Why this member is on the roster by name (demo special cases)."""
    first_name: str = ""
    last_name: str = ""
    birth_date: date | None = None
    """Demographics for eligibility (271 NM1/DMG): empty for members enrolled by the
    :class:`EnrollmentRule`, which carry none (any name and date of birth match them)."""
    group_number: str = ""
    """REF*6P group number in the 271 (empty: the plan id stands in)."""

    def coverage_on(self, day: date) -> Coverage | None:
        for period in self.coverage:
            if period.covers(day):
                return period
        return None

    def starting_for(self, year: int) -> StartingAccumulator | None:
        for item in self.starting:
            if item.year == year:
                return item
        return None


@dataclass(frozen=True)
class EnrollmentRule:
    """Every member ID ``prefix`` + ``digits`` digits is enrolled from ``coverage_start``
    (open-ended) in the plan ``plan_by_last_digit[last digit]``."""

    prefix: str
    digits: int
    coverage_start: date
    plan_by_last_digit: Mapping[str, str]

    def member(self, member_id: str) -> Member | None:
        rest = member_id[len(self.prefix) :]
        if (
            not member_id.startswith(self.prefix)
            or len(rest) != self.digits
            or not rest.isascii()
            or not (rest.isascii() and rest.isdigit())
        ):
            return None
        plan = self.plan_by_last_digit.get(rest[-1])
        if plan is None:
            return None
        return Member(member_id, (Coverage(plan, self.coverage_start),))


@dataclass(frozen=True)
class FeeSchedule:
    fees: Mapping[str, Decimal]
    """Procedure code → allowed amount per unit."""
    modifiers: Mapping[str, Decimal] = field(default_factory=dict)
    """Modifier → percent of the fee (``50`` → 150, ``26`` → 40); others count 100 %."""
    unlisted_percent_of_charge: Decimal = HUNDRED
    """Allowed amount of a procedure not in :attr:`fees`, as a percent of its charge."""

    def allowed(
        self, code: str, modifiers: tuple[str, ...], units: Decimal, charge: Decimal
    ) -> Decimal:
        """The allowed amount for a line: never more than its charge."""
        fee = self.fees.get(code)
        if fee is None:
            amount = charge * self.unlisted_percent_of_charge / HUNDRED
        else:
            amount = fee * units
            for modifier in modifiers:
                factor = self.modifiers.get(modifier)
                if factor is not None:
                    amount = amount * factor / HUNDRED
        return min(money(amount), charge)


@dataclass(frozen=True)
class DiagnosisRule:
    """``procedure`` is paid only with a diagnosis (one the line points to) starting with one
    of ``allowed_prefixes``; otherwise CARC 11."""

    procedure: str
    allowed_prefixes: tuple[str, ...]


@dataclass(frozen=True)
class PendRule:
    """Claims matching every given condition are pended (payer 277CA ``status``)."""

    name: str
    status: str
    """STC01-1:STC01-2, e.g. ``P2:46`` (in review) or ``P3:297`` (medical notes requested)."""
    text: str
    min_charge: Decimal | None = None
    procedures: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    request: tuple[str, ...] = ()
    """LOINC codes of the documents the payer asks for (a 277 RFAI, X213); empty: the claim
    is only pended and released by the next cycle."""
    request_text: str = ""
    """Plain words for the request (the 277 RFAI's STC12)."""
    due_days: int = 30
    """Days from the request to its due date; unanswered by then: denied (CARC 252)."""

    def matches(self, charge: Decimal, member_id: str, procedures: frozenset[str]) -> bool:
        if self.min_charge is not None and charge < self.min_charge:
            return False
        if self.procedures and not (self.procedures & procedures):
            return False
        return not (self.members and member_id not in self.members)


@dataclass(frozen=True)
class RemitInfo:
    """``[remit]`` of payer.toml: the payer as its 835s describe it (demo defaults)."""

    tin: str = "999999999"
    address: str = "1 PAYER PLAZA"
    city: str = "SPRINGFIELD"
    state: str = "IL"
    postal_code: str = "62701"
    contact_name: str = "EDI SUPPORT"
    phone: str = "8005550100"


@dataclass(frozen=True)
class PayerConfig:
    payer_id: str
    """The payer ID (2010BB NM109) this configuration answers for."""
    name: str
    plans: Mapping[str, Plan]
    members: Mapping[str, Member]
    """Members named on the roster (they win over the enrollment rule)."""
    fee_schedule: FeeSchedule
    categories: tuple[Category, ...] = ()
    enrollment_rule: EnrollmentRule | None = None
    diagnosis_rules: Mapping[str, DiagnosisRule] = field(default_factory=dict)
    pend_rules: tuple[PendRule, ...] = ()
    remit: RemitInfo = field(default_factory=RemitInfo)
    source: str = ""
    """Where it was loaded from (for messages)."""
    appeal_days: int | None = None
    """``[payer] appeal_days``: days from a denial's payment date to appeal it (None: the
    profile does not say)."""

    def member(self, member_id: str) -> Member | None:
        """The roster entry for ``member_id`` (named, else by the enrollment rule)."""
        named = self.members.get(member_id)
        if named is not None:
            return named
        if self.enrollment_rule is not None:
            return self.enrollment_rule.member(member_id)
        return None

    def category(self, procedure_code: str) -> str:
        """The service category of a procedure (the longest matching prefix wins)."""
        best = OTHER_CATEGORY
        best_length = -1
        for category in self.categories:
            for prefix in category.prefixes:
                if procedure_code.startswith(prefix) and len(prefix) > best_length:
                    best, best_length = category.name, len(prefix)
        return best
