"""Decisions from the simulated payer go through the 835 builder unchanged: one payment per
payee, balanced at every level, read back by remit_read and valid for pyx12 (corrected map)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date

from gateway.payers.adjudicate import Accumulator, AccumulatorKey, adjudicate
from gateway.payers.model import ClaimDecision, ClaimStatus, Outcome, Payment, reversal_of
from gateway.x12.remit835 import check_payment
from gateway.x12.remit_read import read_835
from tests.payers.builders import Line, Payer, Spec
from tests.payers.test_adjudicate import _generated
from tests.x12.test_remit835 import assert_valid_835, build, corrected_maps  # noqa: F401


def _payments(decisions: list[ClaimDecision]) -> list[Payment]:
    by_payee: dict[tuple[str, str], list[ClaimDecision]] = defaultdict(list)
    for decision in decisions:
        if decision.outcome == Outcome.ADJUDICATED:
            by_payee[(decision.billing_npi, decision.billing_tin)].append(decision)
    return [
        Payment(
            payer_id="SIM01",
            payer_name="SIMULATED PAYER 1",
            payee_npi=npi,
            payee_tin=tin,
            payee_name="DEMO PROVIDER",
            method="CHK",
            trace_number=f"CHK{index:06d}",
            payment_date=date(2026, 11, 21),
            production_date=date(2026, 11, 21),
            claims=tuple(claims),
        )
        for index, ((npi, tin), claims) in enumerate(sorted(by_payee.items()), start=1)
    ]


def test_generated_batch_remits_balanced_and_valid(corrected_maps: str) -> None:  # noqa: F811
    payer = Payer()
    items = [i for i in _generated(120) if i.claim.payer_id == "SIM01"]
    result = adjudicate(
        items,
        payer.config,
        payer.accumulators.get,
        received=date(2026, 11, 20),
        paid_history=payer.history.get,
        original=payer.decisions.get,
        next_claim_number=payer.numbers,
    )
    payments = _payments(result.decisions)
    assert len(payments) == 1  # gen_837 puts the first 1000 claims on one provider
    for payment in payments:
        check_payment(payment)
        content = build(payment)
        (read,) = read_835(content)
        assert read.ok, read.errors
        assert read.total == payment.total
        assert_valid_835(content, corrected_maps)


def test_reversal_and_correction_in_one_835(corrected_maps: str) -> None:  # noqa: F811
    payer = Payer()
    first = payer.run(
        Spec("MBR000000010", (Line("97110", "180.00", units="4", control="L1"),), claim_id="A"),
        Spec("MBR000000020", (Line("99213", "95.00", control="L2"),), claim_id="B"),
    )
    original = first.decisions[0]
    corrected = payer.run(
        Spec(
            "MBR000000010",
            (Line("97110", "360.00", units="8", control="L1"), Line("99213", "95.00")),
            claim_id="A2",
            frequency="7",
            original=original.payer_claim_id,
        ),
        Spec(
            "MBR000000020",
            (Line("99213", "95.00", control="L2"),),
            claim_id="B",
            frequency="8",
            original=first.decisions[1].payer_claim_id,
        ),
    )
    reversal, new, void = corrected.decisions
    # our reversal is the 835 builder's own reversal of the original
    assert replace(reversal, received=original.received) == reversal_of(original)
    assert void.status == ClaimStatus.REVERSAL
    (payment,) = _payments([*first.decisions, reversal, new])
    content = build(payment)
    (read,) = read_835(content)
    assert read.ok, read.errors
    statuses = [c.status_code for c in read.claims]
    assert statuses == ["1", "1", "22", "1"]
    assert read.claims[3].decision.original_payer_claim_id == original.payer_claim_id
    assert_valid_835(content, corrected_maps)
    assert payer.accumulators[AccumulatorKey("SIM01", "MBR000000020", 2026)] == Accumulator()
