"""Property tests: whatever claim comes in, every decision balances (gateway.payers.model's
rules, which the 835 builder checks), and accumulators move exactly by what the decisions
say — and back when a claim is voided."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.payers.adjudicate import (
    Accumulator,
    AccumulatorKey,
    accumulator_effect,
    adjudicate,
    counter,
    no_history,
    no_originals,
    reverse,
)
from gateway.payers.model import ClaimStatus, Outcome
from tests.payers.builders import Line, Payer, Spec, assert_balanced, config, inputs

CODES = ["99213", "99214", "97110", "90471", "73630", "12345", "99395"]
DIAGNOSES = ["J069", "M5450", "I10", "E119", "Z0000", "R519", "S8290XA"]
MEMBERS = [
    "MBR900000001",
    "MBR900000002",
    "MBR900000003",
    "MBR900000004",
    "MBR900000005",
    "MBR900000006",
    "NOTAMEMBER",
]

amounts = st.integers(min_value=0, max_value=150_000).map(lambda c: Decimal(c) / 100)
days = st.one_of(
    st.none(),
    st.dates(min_value=date(2019, 6, 1), max_value=date(2027, 6, 1)),
)
lines = st.builds(
    Line,
    code=st.sampled_from(CODES),
    charge=amounts.map(lambda a: f"{a:.2f}"),
    units=st.sampled_from(["1", "2", "4", "0.5", "10"]),
    modifiers=st.lists(st.sampled_from(["50", "26", "TC", "25"]), max_size=2, unique=True).map(
        tuple
    ),
    day=days,
    pointers=st.sampled_from(["1", "2", "1:2"]),
    authorization=st.sampled_from(["", "", "AUTH9"]),
)
members = st.one_of(
    st.sampled_from(MEMBERS),
    st.integers(min_value=0, max_value=999_999_999).map(lambda n: f"MBR{n:09d}"),
)
specs = st.builds(
    Spec,
    member=members,
    lines=st.lists(lines, min_size=1, max_size=4).map(tuple),
    claim_id=st.sampled_from(["P1", "P2", "P3"]),
    diagnoses=st.lists(st.sampled_from(DIAGNOSES), min_size=2, max_size=2, unique=True).map(tuple),
    charge=st.one_of(st.none(), st.none(), amounts.map(lambda a: f"{a:.2f}")),
    authorization=st.sampled_from(["", "", "G1AUTH"]),
)
stored = st.one_of(
    st.none(),
    st.tuples(amounts, amounts).map(
        lambda t: Accumulator(min(t), max(t))  # oop includes the deductible
    ),
)
received = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 1, 1))

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(batch=st.lists(specs, min_size=1, max_size=4), start=stored, today=received)
def test_any_batch_balances(batch: list[Spec], start: Accumulator | None, today: date) -> None:
    result = adjudicate(
        inputs(*batch),
        config(),
        lambda _key: start,
        received=today,
        paid_history=no_history,
        original=no_originals,
        next_claim_number=counter("P"),
    )
    assert len(result.claims) == len(batch)
    effects: dict[AccumulatorKey, list[Decimal]] = {}
    for claim in result.claims:
        for decision in claim.decisions:
            if decision.outcome != Outcome.ADJUDICATED:
                assert decision.paid == 0 and decision.lines == ()
                continue
            assert_balanced(decision)
            assert_balanced(reverse(decision))
            assert decision.status in (ClaimStatus.PAID_PRIMARY, ClaimStatus.DENIED)
            assert decision.paid >= 0 and decision.patient_responsibility >= 0
            assert all(line.paid >= 0 for line in decision.lines)
            assert all(
                a.amount > 0 for line in decision.lines for a in line.adjustments if a.group != "CO"
            )
            if decision.status == ClaimStatus.DENIED:
                assert decision.paid == 0
            deductible, oop = accumulator_effect(decision)
            if oop and decision.service_date is not None:
                key = AccumulatorKey("SIM01", decision.member_id, decision.service_date.year)
                total = effects.setdefault(key, [Decimal(0), Decimal(0)])
                total[0] += deductible
                total[1] += oop
    # accumulators moved by exactly what the decisions charged the members
    for update in result.accumulator_updates:
        assert [update.deductible_delta, update.oop_delta] == effects.get(update.key)
        assert update.after.oop_met <= max(update.before.oop_met, Decimal("6000.00"))
        assert update.after.deductible_met <= max(update.before.deductible_met, Decimal("2000.00"))
    assert {u.key for u in result.accumulator_updates} == set(effects)


@SETTINGS
@given(spec=specs, today=received)
def test_void_restores_the_accumulators(spec: Spec, today: date) -> None:
    payer = Payer()
    first = payer.run(spec, received=today)
    before = {u.key: u.before for u in first.accumulator_updates}
    decision = first.claims[0].decision
    if decision.outcome != Outcome.ADJUDICATED:
        return
    void = payer.run(
        Spec(
            spec.member,
            spec.lines,
            claim_id="VOID",
            frequency="8",
            original=decision.payer_claim_id,
            diagnoses=spec.diagnoses,
        ),
        received=today,
    )
    (reversal,) = void.decisions
    assert reversal.status == ClaimStatus.REVERSAL
    assert_balanced(reversal)
    for key, value in before.items():
        assert payer.accumulators[key] == value
