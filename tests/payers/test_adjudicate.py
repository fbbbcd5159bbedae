"""Adjudication against the SIM01 demo configuration: payment math, denials, rejections,
pends, corrections, voids and determinism."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from gateway.payers.adjudicate import (
    ORIGINAL_ALREADY_ADJUSTED,
    ORIGINAL_NOT_FOUND,
    SUBSCRIBER_NOT_FOUND,
    Accumulator,
    AccumulatorKey,
    adjudicate,
    counter,
    no_accumulators,
    no_history,
    no_originals,
    pend_rule_for,
    reverse,
)
from gateway.payers.carc import CARC, RARC
from gateway.payers.inputs import claim_inputs
from gateway.payers.model import ClaimStatus, Outcome
from gateway.x12.claims import extract_claims, iter_transaction_sets
from gateway.x12.edits import claim_fingerprint
from tests.payers.builders import (
    DOS,
    RECEIVED,
    ROOT,
    SIM02_DIR,
    Line,
    Payer,
    Spec,
    assert_balanced,
    config,
    inputs,
    reasons,
)

PPO = "MBR000000010"  # last digit 0 → PPO500: deductible 500, 20 %, OOP 3000
HDHP = "MBR000000016"  # HDHP2000: deductible 2000, 30 %
BASIC = "MBR000000019"  # BASIC1000: no therapy
ENDED = "MBR900000001"
DEDUCTIBLE_MET = "MBR900000002"
NEEDS_AUTH = "MBR900000003"
STARTS_LATE = "MBR900000004"
RECORDS = "MBR900000005"
OOP_ALMOST = "MBR900000006"
KEY = AccumulatorKey("SIM01", PPO, 2026)


# ------------------------------------------------------------------- payment math


def test_office_visit_copay_and_contractual_adjustment() -> None:
    payer = Payer()
    result = payer.run(Spec(PPO, (Line("99213", "95.00", control="L1"),)))
    decision = result.decisions[0]
    assert decision.outcome == Outcome.ADJUDICATED
    assert decision.status == ClaimStatus.PAID_PRIMARY
    assert decision.payer_claim_id == "SIM01-0000000001"
    assert reasons(decision) == ["CO-45 10.00", "PR-3 25.00"]
    assert (decision.charge, decision.paid, decision.patient_responsibility) == (
        Decimal("95.00"),
        Decimal("60.00"),
        Decimal("25.00"),
    )
    line = decision.lines[0]
    assert line.allowed == Decimal("85.00")
    assert line.control_number == "L1"
    assert line.service_date == DOS
    assert decision.member_id == PPO and decision.billing_npi == "1234567893"
    assert decision.received == RECEIVED
    assert result.claims[0].reference == "ref-PCN1"
    assert_balanced(decision)


def test_deductible_then_coinsurance_across_two_claims_of_the_same_member() -> None:
    payer = Payer()
    first = payer.run(Spec(PPO, (Line("97110", "180.00", units="4"),), claim_id="A")).decisions[0]
    # allowed 4 x 38.00 = 152.00; therapy copay 20.00; the rest goes to the deductible
    assert reasons(first) == ["CO-45 28.00", "PR-1 132.00", "PR-3 20.00"]
    assert first.paid == Decimal("0.00") and first.status == ClaimStatus.PAID_PRIMARY
    assert payer.accumulators[KEY] == Accumulator(Decimal("132.00"), Decimal("152.00"))

    second = payer.run(Spec(PPO, (Line("97110", "540.00", units="12"),), claim_id="B"))
    decision = second.decisions[0]
    # allowed 456.00; copay 20.00; deductible left 368.00; 20 % of the last 68.00 = 13.60
    assert reasons(decision) == ["CO-45 84.00", "PR-1 368.00", "PR-2 13.60", "PR-3 20.00"]
    assert decision.paid == Decimal("54.40")
    assert decision.patient_responsibility == Decimal("401.60")
    (update,) = second.accumulator_updates
    assert update.key == KEY
    assert update.before == Accumulator(Decimal("132.00"), Decimal("152.00"))
    assert update.after == Accumulator(Decimal("500.00"), Decimal("553.60"))
    assert update.deductible_delta == Decimal("368.00")
    assert update.oop_delta == Decimal("401.60")

    third = payer.run(Spec(PPO, (Line("97110", "90.00", units="2"),), claim_id="C")).decisions[0]
    # deductible met: copay, then 20 % of 56.00
    assert reasons(third) == ["CO-45 14.00", "PR-2 11.20", "PR-3 20.00"]
    assert third.paid == Decimal("44.80")
    for d in (first, decision, third):
        assert_balanced(d)


def test_two_claims_in_one_batch_pay_like_two_batches() -> None:
    specs = (
        Spec(PPO, (Line("97110", "180.00", units="4"),), claim_id="A"),
        Spec(PPO, (Line("97110", "540.00", units="12"),), claim_id="B"),
    )
    together = Payer().run(*specs)
    apart = Payer()
    one = apart.run(specs[0])
    two = apart.run(specs[1])
    assert [d.paid for d in together.decisions] == [
        one.decisions[0].paid,
        two.decisions[0].paid,
    ]
    (update,) = together.accumulator_updates
    assert update.after == apart.accumulators[KEY]


def test_copay_once_per_claim_and_category() -> None:
    payer = Payer()
    decision = payer.run(
        Spec(PPO, (Line("99213", "95.00"), Line("99212", "60.00"), Line("90471", "25.00")))
    ).decisions[0]
    assert [reasons_of(line) for line in decision.lines] == [
        ["CO-45 10.00", "PR-3 25.00"],
        ["CO-45 10.00"],
        [],
    ]
    assert decision.paid == Decimal("60.00") + Decimal("50.00") + Decimal("25.00")


def reasons_of(line: object) -> list[str]:
    return [f"{a.group}-{a.reason} {a.amount}" for a in line.adjustments]  # type: ignore[attr-defined]


def test_starting_accumulators_from_the_roster_deductible_already_met() -> None:
    payer = Payer()
    decision = payer.run(Spec(DEDUCTIBLE_MET, (Line("97110", "90.00", units="2"),))).decisions[0]
    assert reasons(decision) == ["CO-45 14.00", "PR-2 11.20", "PR-3 20.00"]
    payer.run(Spec(DEDUCTIBLE_MET, (Line("99213", "95.00"),), claim_id="X"))
    key = AccumulatorKey("SIM01", DEDUCTIBLE_MET, 2026)
    assert payer.accumulators[key].deductible_met == Decimal("500.00")


def test_stored_accumulators_win_over_the_roster_starting_values() -> None:
    payer = Payer()
    key = AccumulatorKey("SIM01", DEDUCTIBLE_MET, 2026)
    payer.accumulators[key] = Accumulator()
    decision = payer.run(Spec(DEDUCTIBLE_MET, (Line("97110", "90.00", units="2"),))).decisions[0]
    assert reasons(decision) == ["CO-45 14.00", "PR-1 56.00", "PR-3 20.00"]


def test_out_of_pocket_maximum_caps_patient_responsibility() -> None:
    payer = Payer()
    first = payer.run(Spec(OOP_ALMOST, (Line("97110", "180.00", units="4"),))).decisions[0]
    # copay 20 + coinsurance 26.40 wanted, only 10.00 of room left: coinsurance goes first
    assert reasons(first) == ["CO-45 28.00", "PR-3 10.00"]
    assert first.paid == Decimal("142.00")
    key = AccumulatorKey("SIM01", OOP_ALMOST, 2026)
    assert payer.accumulators[key].oop_met == Decimal("3000.00")
    second = payer.run(Spec(OOP_ALMOST, (Line("99214", "140.00"),), claim_id="B")).decisions[0]
    assert reasons(second) == ["CO-45 15.00"]
    assert second.patient_responsibility == Decimal("0.00")
    assert second.paid == Decimal("125.00")


def test_modifiers_units_and_unlisted_codes() -> None:
    payer = Payer()
    decision = payer.run(
        Spec(
            HDHP,
            (
                Line("73630", "100.00", modifiers=("26",)),  # 40 % of 60.00 = 24.00
                Line("73630", "200.00", modifiers=("50",)),  # 150 % of 60.00 = 90.00
                Line("12345", "100.00"),  # unlisted: 60 % of the charge
                Line("99213", "50.00"),  # the fee is above the charge: allowed = charge
            ),
        )
    ).decisions[0]
    assert [line.allowed for line in decision.lines] == [
        Decimal("24.00"),
        Decimal("90.00"),
        Decimal("60.00"),
        Decimal("50.00"),
    ]
    # HDHP: everything goes to the deductible
    assert decision.paid == Decimal("0.00")
    assert decision.patient_responsibility == Decimal("224.00")
    assert_balanced(decision)


# -------------------------------------------------------------------------- denials


@pytest.mark.parametrize(
    ("spec", "received", "expected", "remarks"),
    [
        (Spec(ENDED, (Line("99213", "95.00"),)), RECEIVED, "CO-27 95.00", ("N30",)),
        (Spec(STARTS_LATE, (Line("99213", "95.00"),)), RECEIVED, "CO-26 95.00", ("N30",)),
        (Spec(BASIC, (Line("97110", "45.00"),)), RECEIVED, "CO-96 45.00", ("N130",)),
        (Spec(NEEDS_AUTH, (Line("97110", "45.00"),)), RECEIVED, "CO-197 45.00", ("M62",)),
        (
            Spec(PPO, (Line("97110", "45.00"),), diagnoses=("J069", "M5450")),
            RECEIVED,
            "CO-11 45.00",
            ("M76",),
        ),
        (Spec(PPO, (Line("99213", "95.00"),)), date(2027, 4, 4), "CO-29 95.00", ()),
        (Spec(PPO, (Line("99213", "95.00", day=None),)), RECEIVED, "CO-16 95.00", ("M52",)),
    ],
    ids=["27-ended", "26-not-yet", "96-non-covered", "197-no-auth", "11-diagnosis", "29", "16"],
)
def test_denials(spec: Spec, received: date, expected: str, remarks: tuple[str, ...]) -> None:
    payer = Payer()
    result = payer.run(spec, received=received)
    decision = result.decisions[0]
    assert decision.outcome == Outcome.ADJUDICATED
    assert decision.status == ClaimStatus.DENIED
    assert reasons(decision) == [expected]
    assert decision.lines[0].remarks == remarks
    assert decision.paid == Decimal("0.00") and decision.patient_responsibility == 0
    assert result.accumulator_updates == ()
    assert result.paid == ()  # denied claims are not "paid history"
    assert_balanced(decision)


def test_timely_filing_boundary() -> None:
    spec = Spec(PPO, (Line("99213", "95.00"),))
    last_day = date(2026, 10, 5).toordinal() + 180
    on_time = Payer().run(spec, received=date.fromordinal(last_day)).decisions[0]
    late = Payer().run(spec, received=date.fromordinal(last_day + 1)).decisions[0]
    assert on_time.status == ClaimStatus.PAID_PRIMARY
    assert reasons(late) == ["CO-29 95.00"]


def test_a_denied_line_leaves_the_rest_of_the_claim_paid() -> None:
    decision = (
        Payer().run(Spec(BASIC, (Line("97110", "45.00"), Line("99213", "95.00")))).decisions[0]
    )
    assert decision.status == ClaimStatus.PAID_PRIMARY
    assert reasons(decision) == ["CO-96 45.00", "CO-45 10.00", "PR-3 40.00"]
    assert decision.paid == Decimal("45.00")


def test_diagnosis_rule_uses_the_diagnoses_the_line_points_to() -> None:
    ok = Spec(PPO, (Line("97110", "45.00", pointers="2"),), diagnoses=("J069", "M5450"))
    assert Payer().run(ok).decisions[0].status == ClaimStatus.PAID_PRIMARY


@pytest.mark.parametrize("where", ["claim", "line"])
def test_prior_authorization_passes_with_ref_g1(where: str) -> None:
    line = Line("97110", "45.00", authorization="AUTH1" if where == "line" else "")
    spec = Spec(NEEDS_AUTH, (line,), authorization="AUTH1" if where == "claim" else "")
    decision = Payer().run(spec).decisions[0]
    assert decision.status == ClaimStatus.PAID_PRIMARY
    assert "CO-197" not in " ".join(reasons(decision))


def test_another_payers_authorization_does_not_count() -> None:
    spec = Spec(NEEDS_AUTH, (Line("97110", "45.00"),), other_payer_authorization="THEIRS")
    assert reasons(Payer().run(spec).decisions[0]) == ["CO-197 45.00"]


def test_exact_duplicate_of_a_paid_claim() -> None:
    payer = Payer()
    spec = Spec(PPO, (Line("99213", "95.00"),))
    first = payer.run(spec)
    assert first.paid[0].payer_claim_id == first.decisions[0].payer_claim_id
    again = payer.run(replace(spec, claim_id="NEWPCN")).decisions[0]
    assert again.status == ClaimStatus.DENIED
    assert reasons(again) == ["OA-18 95.00"]
    assert again.payer_claim_id != first.decisions[0].payer_claim_id
    assert_balanced(again)


def test_duplicate_within_one_batch() -> None:
    spec = Spec(PPO, (Line("99213", "95.00"),))
    result = Payer().run(spec, replace(spec, claim_id="PCN2"))
    assert [d.status for d in result.decisions] == [ClaimStatus.PAID_PRIMARY, ClaimStatus.DENIED]
    assert len(result.paid) == 1


# --------------------------------------------------------------- rejections, pends


@pytest.mark.parametrize("member", ["XYZ123456789", "MBR12345", "MBR0000000001", ""])
def test_member_not_on_the_roster_is_rejected(member: str) -> None:
    numbers: list[str] = []
    payer = Payer()
    payer.numbers = lambda: numbers.append("x") or "X"  # type: ignore[func-returns-value]
    result = payer.run(Spec(member or "NOBODY", (Line("99213", "95.00"),)))
    decision = result.decisions[0]
    assert decision.outcome == Outcome.REJECTED
    assert decision.status_category == SUBSCRIBER_NOT_FOUND == "A3:33"
    assert decision.payer_claim_id == ""  # never entered the adjudication system
    assert decision.paid == 0 and decision.lines == ()
    assert numbers == []
    assert result.accumulator_updates == ()


def test_pend_and_release() -> None:
    payer = Payer()
    spec = Spec(PPO, (Line("97110", "1200.00", units="30"),))
    result = payer.run(spec)
    (pended,) = result.by_outcome(Outcome.PENDED)
    decision = pended.decision
    assert decision.status_category == "P2:46"
    assert decision.payer_claim_id == "SIM01-0000000001"
    assert result.accumulator_updates == () and result.paid == ()
    # a later cycle releases it: same CLP07, timely filing from the first receipt
    released = payer.release([(inputs(spec)[0], decision)])
    final = released.decisions[0]
    assert final.outcome == Outcome.ADJUDICATED
    assert final.payer_claim_id == decision.payer_claim_id
    assert final.received == RECEIVED
    assert final.status == ClaimStatus.PAID_PRIMARY
    assert released.accumulator_updates[0].key == KEY
    assert_balanced(final)


def test_member_pend_rule_requests_records() -> None:
    decision = Payer().run(Spec(RECORDS, (Line("99213", "95.00"),))).decisions[0]
    assert decision.outcome == Outcome.PENDED
    assert decision.status_category == "P3:297"
    assert decision.status_text == "Medical records requested from the provider"


def test_records_pend_rule_asks_for_a_progress_note() -> None:
    (rule,) = [r for r in Payer().config.pend_rules if r.request]
    assert rule.request == ("11506-3",) and rule.due_days == 30 and rule.status == "P3:297"
    claim = inputs(Spec(RECORDS, (Line("99213", "95.00"),)))[0].claim
    assert pend_rule_for(Payer().config, claim) == rule


def test_unanswered_request_denies_every_line_252_without_accumulators() -> None:
    payer = Payer()
    spec = Spec(RECORDS, (Line("99213", "95.00"), Line("97110", "60.00", units="2")))
    pended = payer.run(spec).decisions[0]
    item = inputs(spec)[0]
    released = payer.release([(item, pended)], unanswered=[item.reference])
    final = released.decisions[0]
    assert final.outcome == Outcome.ADJUDICATED and final.status == ClaimStatus.DENIED
    assert final.payer_claim_id == pended.payer_claim_id and final.paid == 0
    for line in final.lines:
        assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [
            ("CO", "252", line.charge)
        ]
        assert line.remarks == ("M127",)
    assert released.accumulator_updates == () and released.paid == ()
    assert_balanced(final)
    assert CARC["252"].startswith("An attachment/other documentation is required")
    assert RARC["M127"] == "Missing patient medical record for this service"


def test_release_refuses_decisions_that_are_not_pended() -> None:
    payer = Payer()
    spec = Spec(PPO, (Line("99213", "95.00"),))
    decision = payer.run(spec).decisions[0]
    with pytest.raises(ValueError, match="PENDED"):
        payer.release([(inputs(spec)[0], decision)])


# -------------------------------------------------------- corrections and voids


def test_corrected_claim_reverses_the_original_and_pays_the_new_version() -> None:
    payer = Payer()
    original = payer.run(
        Spec(PPO, (Line("97110", "180.00", units="4", control="L1"),), claim_id="A")
    ).decisions[0]
    assert payer.accumulators[KEY] == Accumulator(Decimal("132.00"), Decimal("152.00"))

    corrected = payer.run(
        Spec(
            PPO,
            (Line("97110", "360.00", units="8", control="L1"),),
            claim_id="A2",
            frequency="7",
            original=original.payer_claim_id,
        )
    )
    (claim,) = corrected.claims
    reversal, new = claim.decisions
    assert reversal.status == ClaimStatus.REVERSAL
    assert reversal.claim_id == "A" and reversal.payer_claim_id == original.payer_claim_id
    assert reversal.original_payer_claim_id == original.payer_claim_id
    assert reversal.charge == -original.charge
    assert reversal.paid == -original.paid
    assert reversal.patient_responsibility == -original.patient_responsibility
    assert reasons(reversal) == ["CO-45 -28.00", "PR-1 -132.00", "PR-3 -20.00"]
    assert reversal.lines[0].units == original.lines[0].units
    assert reversal.received == RECEIVED
    assert_balanced(reversal)

    assert new.status == ClaimStatus.PAID_PRIMARY
    assert new.claim_id == "A2"
    assert new.payer_claim_id not in ("", original.payer_claim_id)
    assert new.original_payer_claim_id == original.payer_claim_id
    # the original's deductible was taken back first: 304 allowed, 20 copay, 284 deductible
    assert reasons(new) == ["CO-45 56.00", "PR-1 284.00", "PR-3 20.00"]
    assert_balanced(new)
    (update,) = corrected.accumulator_updates
    assert update.before == Accumulator(Decimal("132.00"), Decimal("152.00"))
    assert update.after == Accumulator(Decimal("284.00"), Decimal("304.00"))
    assert corrected.reversed == (original.payer_claim_id,)
    assert corrected.decisions == [reversal, new]


def test_void_only_reverses() -> None:
    payer = Payer()
    spec = Spec(PPO, (Line("99213", "95.00"),), claim_id="A")
    original = payer.run(spec).decisions[0]
    assert len(payer.history) == 1
    void = payer.run(replace(spec, claim_id="A", frequency="8", original=original.payer_claim_id))
    (reversal,) = void.decisions
    assert reversal.status == ClaimStatus.REVERSAL
    assert reversal.paid == Decimal("-60.00")
    assert void.accumulator_updates[0].after == Accumulator()
    assert void.reversed == (original.payer_claim_id,)
    assert payer.history == {}  # the caller forgets the reversed claim's fingerprint
    # ... so the same claim sent again is no longer a duplicate
    again = payer.run(replace(spec, claim_id="A3")).decisions[0]
    assert again.status == ClaimStatus.PAID_PRIMARY


def test_correction_with_unknown_original_is_rejected() -> None:
    result = Payer().run(Spec(PPO, (Line("99213", "95.00"),), frequency="7", original="SIM01-NOPE"))
    decision = result.decisions[0]
    assert decision.outcome == Outcome.REJECTED
    assert decision.status_category == ORIGINAL_NOT_FOUND == "A7:464"
    assert decision.payer_claim_id == ""


def test_correction_without_ref_f8_is_rejected() -> None:
    decision = Payer().run(Spec(PPO, (Line("99213", "95.00"),), frequency="8")).decisions[0]
    assert decision.status_category == ORIGINAL_NOT_FOUND


def test_a_reversed_original_cannot_be_reversed_again() -> None:
    payer = Payer()
    spec = Spec(PPO, (Line("99213", "95.00"),))
    original = payer.run(spec).decisions[0]
    void = replace(spec, frequency="8", original=original.payer_claim_id)
    twice_in_one_batch = payer.run(void, replace(void, claim_id="PCN2"))
    assert [c.outcome for c in twice_in_one_batch.claims] == [
        Outcome.ADJUDICATED,
        Outcome.REJECTED,
    ]
    assert twice_in_one_batch.claims[1].decision.status_category == ORIGINAL_ALREADY_ADJUSTED
    later = payer.run(void).decisions[0]
    assert later.status_category == ORIGINAL_ALREADY_ADJUSTED == "A7:495"


def test_reverse_of_a_reversal_restores_the_amounts() -> None:
    decision = Payer().run(Spec(PPO, (Line("97110", "180.00", units="4"),))).decisions[0]
    twice = reverse(reverse(decision))
    assert twice.paid == decision.paid
    assert twice.lines == decision.lines


# ---------------------------------------------------------------- determinism


def _generated(claims: int) -> list:  # type: ignore[type-arg]
    sys.path.insert(0, str(ROOT / "scripts"))
    import gen_837

    data = gen_837.render(gen_837.interchange(claims, 7))
    out = []
    for ts in iter_transaction_sets(data):
        out += claim_inputs(ts.segments, extract_claims(ts.segments, ts.delimiters, ts.gs08))
    return out


def test_same_inputs_give_identical_decisions() -> None:
    items = [i for i in _generated(300) if i.claim.payer_id == "SIM01"]

    def run() -> object:
        store: dict[AccumulatorKey, Accumulator] = {}
        return adjudicate(
            items,
            config(),
            store.get,
            received=RECEIVED,
            paid_history=no_history,
            original=no_originals,
            next_claim_number=counter("SIM01-"),
        )

    first, second = run(), run()
    assert first == second
    statuses = {d.status for d in first.decisions}  # type: ignore[attr-defined]
    assert statuses == {ClaimStatus.PAID_PRIMARY, ClaimStatus.DENIED}
    for decision in first.decisions:  # type: ignore[attr-defined]
        assert_balanced(decision)


def test_generated_batch_for_sim02() -> None:
    items = [i for i in _generated(100) if i.claim.payer_id == "SIM02"]
    result = adjudicate(
        items,
        config(SIM02_DIR),
        no_accumulators,
        received=RECEIVED,
        paid_history=no_history,
        original=no_originals,
        next_claim_number=counter("SIM02-"),
    )
    assert len(result.claims) == 50
    assert all(c.outcome == Outcome.ADJUDICATED for c in result.claims)
    for decision in result.decisions:
        assert_balanced(decision)
    assert len(set(claim_fingerprint(i.claim) for i in items)) == 50
