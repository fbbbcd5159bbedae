"""A simulated payer's eligibility answer (270 → 271): PURE and deterministic.

:func:`answer_eligibility` reads the payer's roster (coverage periods, names and dates of
birth of the named members), its plans (deductible, coinsurance, out-of-pocket maximum,
per-category copay / deductible / coinsurance, non-covered procedures, prior authorization)
and the member's accumulators for the plan year of the date of service — the same look-up
the claim leg uses (:data:`gateway.payers.adjudicate.AccumulatorView`: the stored values,
else the roster's starting values, else nothing met) — so a paid claim that went toward the
deductible shows in the next answer's "remaining".

AAA errors (2100C): member ID missing 72, not on the roster 75, name mismatch 73, date of
birth invalid, or missing when the name is missing too (for a member who has one on
the roster) 58, date of birth that
does not match 71. Members enrolled by the ``MBR`` + 9 digits rule carry no demographics:
any name and date of birth match them. Coverage not open on the date → EB*6 (inactive).

Service types: 30 (and 1) answer the plan as a whole; a category of the payer answers for the
codes of :data:`CATEGORY_SERVICE_TYPES`; any other code is answered EB*V (cannot process)
with a message. The simulated payers are in-network only and individual plans only: no
family or out-of-network figures (their plans do not have any).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from gateway.payers.adjudicate import Accumulator, AccumulatorKey, AccumulatorView
from gateway.payers.config import HUNDRED, ZERO, PayerConfig, Plan
from gateway.x12.eligibility import (
    SERVICE_TYPES,
    Aaa,
    Benefit,
    EligibilityAnswer,
    EligibilityRequest,
)

CATEGORY_SERVICE_TYPES: Mapping[str, tuple[str, ...]] = {
    "office_visit": ("98",),
    "therapy": ("PT", "AE"),
    "preventive": ("80", "BZ"),
}
"""The service type codes (X12 1365) a payer's service category answers for."""
GENERIC = ("30", "1")


def _names_match(expected: str, given: str) -> bool:
    return not expected or expected.strip().upper() == given.strip().upper()


def member_errors(request: EligibilityRequest, config: PayerConfig) -> list[Aaa]:
    """The AAA errors about who the request names (empty: the member is found and matches)."""
    subscriber = request.subscriber
    if not subscriber.member_id:
        return [Aaa("72", "2100C")]
    member = config.member(subscriber.member_id)
    if member is None:
        return [Aaa("75", "2100C")]
    if subscriber.birth_date and subscriber.birth_day is None:
        return [Aaa("58", "2100C")]
    if member.birth_date is not None and not subscriber.birth_date and not subscriber.last_name:
        return [Aaa("58", "2100C")]  # the member ID alone does not identify a named member
    if not (
        _names_match(member.last_name, subscriber.last_name)
        and _names_match(member.first_name, subscriber.first_name)
    ):
        return [Aaa("73", "2100C")]
    if member.birth_date is not None and subscriber.birth_day != member.birth_date:
        return [Aaa("71", "2100C")]
    dependent = request.dependent
    if dependent is not None and dependent.birth_date and dependent.birth_day is None:
        return [Aaa("58", "2100D")]
    return []


def _plan_benefits(
    plan: Plan, service_type: str, deductible_left: Accumulator
) -> tuple[Benefit, ...]:
    """The EB lines of the plan as a whole (service type 30/1)."""
    met = deductible_left
    deductible_remaining = max(plan.deductible - met.deductible_met, ZERO)
    oop_remaining = max(plan.out_of_pocket_max - met.oop_met, ZERO)
    types = (service_type,)
    return (
        Benefit("1", types, plan_name=plan.name),
        Benefit("C", types, "IND", period="23", amount=plan.deductible, in_network="Y"),
        Benefit("C", types, "IND", period="29", amount=deductible_remaining, in_network="Y"),
        Benefit("A", types, "IND", percent=plan.coinsurance_percent / HUNDRED, in_network="Y"),
        Benefit("G", types, "IND", period="23", amount=plan.out_of_pocket_max, in_network="Y"),
        Benefit("G", types, "IND", period="29", amount=oop_remaining, in_network="Y"),
    )


def _category_benefits(
    config: PayerConfig, plan: Plan, category: str, service_type: str
) -> tuple[Benefit, ...]:
    prefixes = next((c.prefixes for c in config.categories if c.name == category), ())

    def in_category(code: str) -> bool:
        return config.category(code) == category and any(code.startswith(p) for p in prefixes)

    types = (service_type,)
    excluded = sorted(c for c in plan.non_covered if in_category(c))
    if excluded:
        return (
            Benefit("I", types, messages=(f"Not covered by this plan: {', '.join(excluded)}",)),
        )
    benefit = plan.benefit(category)
    authorization = sorted(c for c in plan.prior_auth_required if in_category(c))
    messages: list[str] = []
    if authorization:
        messages.append(f"Prior authorization required for {', '.join(authorization)}")
    messages.append("Deductible applies" if benefit.deductible else "Deductible does not apply")
    out = [
        Benefit(
            "1",
            types,
            plan_name=plan.name,
            authorization_required=bool(authorization),
            messages=tuple(messages),
        )
    ]
    if benefit.copay > ZERO:
        out.append(Benefit("B", types, "IND", period="27", amount=benefit.copay, in_network="Y"))
    percent = plan.coinsurance_percent / HUNDRED if benefit.coinsurance else ZERO
    out.append(Benefit("A", types, "IND", percent=percent, in_network="Y"))
    return tuple(out)


def answer_eligibility(
    request: EligibilityRequest,
    config: PayerConfig,
    accumulators: AccumulatorView,
    *,
    today: date,
) -> EligibilityAnswer:
    """The payer's answer to ``request`` (see the module docstring)."""
    base = EligibilityAnswer(request, payer_name=config.name)
    errors = member_errors(request, config)
    if errors:
        return replace(base, errors=tuple(errors))
    member = config.member(request.subscriber.member_id)
    assert member is not None
    base = replace(
        base,
        first_name=member.first_name,
        last_name=member.last_name,
        birth_date=member.birth_date.strftime("%Y%m%d") if member.birth_date else "",
    )
    day = request.service_day or today
    coverage = member.coverage_on(day)
    if coverage is None:
        # the latest period that ended before the day (or the first that starts after it)
        past = [c for c in member.coverage if c.end is not None and c.end < day]
        period = past[-1] if past else (member.coverage[0] if member.coverage else None)
        plan_name = config.plans[period.plan].name if period and period.plan in config.plans else ""
        return replace(
            base,
            active=False,
            plan_id=period.plan if period else "",
            plan_name=plan_name,
            group_number=member.group_number,
            plan_begin=period.start if period else None,
            plan_end=period.end if period else None,
            benefits=(
                Benefit(
                    "6",
                    ("30",),
                    plan_name=plan_name,
                    messages=(f"No coverage on {day.isoformat()}",),
                ),
            ),
        )
    plan = config.plans[coverage.plan]
    key = AccumulatorKey(config.payer_id, member.id, day.year)
    stored = accumulators(key)
    if stored is None:
        start = member.starting_for(day.year)
        stored = Accumulator(start.deductible_met, start.oop_met) if start else Accumulator()
    benefits: list[Benefit] = list(_plan_benefits(plan, "30", stored))
    by_type = {t: name for name, types in CATEGORY_SERVICE_TYPES.items() for t in types}
    known = {c.name for c in config.categories}
    for service_type in request.service_types:
        if service_type == "30":
            continue
        if service_type in GENERIC:
            benefits += _plan_benefits(plan, service_type, stored)
            continue
        category = by_type.get(service_type)
        if category is None or category not in known:
            words = SERVICE_TYPES.get(service_type, service_type)
            benefits.append(
                Benefit(
                    "V",
                    (service_type,),
                    messages=(
                        f"Service type {service_type} ({words}) is not answered by this "
                        "payer; see health benefit plan coverage (30)",
                    ),
                )
            )
            continue
        benefits += _category_benefits(config, plan, category, service_type)
    return replace(
        base,
        active=True,
        plan_id=plan.id,
        plan_name=plan.name,
        group_number=member.group_number,
        plan_begin=coverage.start,
        plan_end=coverage.end,
        benefits=tuple(benefits),
    )


def unknown_payer(request: EligibilityRequest, *, external: bool = False) -> EligibilityAnswer:
    """The gateway's own answer when no simulated payer answers for the payer ID: AAA 79
    (invalid participant identification) in 2100A, or T4 when the ID is missing; an external
    payer that was not reached (no CORE endpoint, or no useful answer within its budget) gets
    42, unable to respond now."""
    if not request.payer_id:
        error = Aaa("T4", "2100A")
    elif external:
        error = Aaa("42", "2100A", follow_up="R", valid_request=True)
    else:
        error = Aaa("79", "2100A")
    return EligibilityAnswer(request, errors=(error,))
