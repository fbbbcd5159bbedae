"""What the 277 says for each place in a claim's lifecycle (pure, synthetic lifecycles): every
answer builds a 277 that validates against our 005010X212 map."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from gateway.payers.claim_status import ClaimLifecycle, Payment, answer_status
from gateway.payers.model import (
    Adjustment,
    ClaimDecision,
    ClaimStatus,
    LineDecision,
    Outcome,
)
from gateway.x12.claim_status import (
    SetAnswers,
    StatusAnswer,
    StatusRequest,
    answer_json,
    build_277,
    envelope_for,
    status_table,
    statuses_of,
)
from gateway.x12.eligibility import Person
from tests.x12.test_claim_status import validate_277

TODAY = date(2026, 11, 24)
D = Decimal
REQUEST = StatusRequest(
    payer_id="SIM01", provider_npi="1234567893", provider_name="DEMO FAMILY PRACTICE",
    subscriber=Person("ANA", "DOE", "MBR000000001"), trace="T1", claim_id="C1X1",
    charge=D("100.00"), service_date="20261001",
)  # fmt: skip


def decision(outcome: Outcome = Outcome.ADJUDICATED, status: ClaimStatus = ClaimStatus.PAID_PRIMARY,
             paid: str = "80.00", adjustments: tuple[Adjustment, ...] = (),
             line_adjustments: tuple[Adjustment, ...] = (Adjustment("CO", "45", D("20.00")),),
             category: str = "", text: str = "") -> ClaimDecision:  # fmt: skip
    line = LineDecision(1, "HC", "99213", ("25",), D("100.00"), D(paid), D("1"),
                        adjustments=line_adjustments, control_number="L1",
                        service_date=date(2026, 10, 1))  # fmt: skip
    return ClaimDecision(
        "C1X1", "SIM010000000007", outcome, status, D("100.00"), D(paid), D("0.00"), "CI", "11",
        "1", lines=(line,) if outcome is Outcome.ADJUDICATED else (), adjustments=adjustments,
        status_category=category, status_text=text, service_date=date(2026, 10, 1),
    )  # fmt: skip


def life(**kw: object) -> ClaimLifecycle:
    base: dict[str, object] = {
        "clm01": "C1X1", "charge": D("100.00"), "received": date(2026, 11, 20), "accepted": True,
        "route_state": "adjudicated", "updated": date(2026, 11, 21),
    }  # fmt: skip
    return ClaimLifecycle(**{**base, **kw})  # type: ignore[arg-type]


def emit(answer: StatusAnswer) -> str:
    envelope = envelope_for(("ZZ", "CLEARINGHOUSE"), ("ZZ", "DEMOBILLING"), 9,
                            datetime(2026, 11, 24, 9), "T")  # fmt: skip
    content = build_277([SetAnswers("R", (answer,))], envelope)
    assert validate_277(content) == []
    answer_json(answer)  # readable too
    assert status_table(answer)
    return content.decode()


CASES = [
    ("not found", None, "A4:35"),
    ("rejected by our edits", life(accepted=False, edit_codes=("A7:400", "A7:562:85")),
     "A7:400,A7:562"),
    ("at the clearinghouse", life(route_state=None), "A1:20"),
    ("at the payer", life(route_state="routed"), "P1:20"),
    ("external payer accepted", life(route_state="payer_accepted"), "P1:20"),
    ("payer front end rejected",
     life(route_state="payer_rejected",
          decision=decision(Outcome.REJECTED, ClaimStatus.DENIED, "0", category="A3:33",
                            text="Subscriber not found")), "A3:33"),
    ("in review", life(route_state="pended",
                       decision=decision(Outcome.PENDED, ClaimStatus.DENIED, "0",
                                         category="P2:46", text="Under review")), "P2:46"),
    ("paid", life(decision=decision(), payment=Payment("SIM01000000003", date(2026, 11, 21))),
     "F1:65"),
    ("partly paid, deductible",
     life(decision=decision(paid="30.00", line_adjustments=(Adjustment("CO", "45", D("20")),
                                                            Adjustment("PR", "1", D("50"))))),
     "F1:65,F1:104"),
    ("all to the deductible", life(decision=decision(paid="0.00", line_adjustments=(
        Adjustment("CO", "45", D("20")), Adjustment("PR", "1", D("80")))), ), "F4:104"),
    ("denied duplicate", life(decision=decision(
        status=ClaimStatus.DENIED, paid="0.00", line_adjustments=(),
        adjustments=(Adjustment("CO", "18", D("100")),))), "F2:54"),
    ("denied, reason unmapped", life(decision=decision(
        status=ClaimStatus.DENIED, paid="0.00", line_adjustments=(),
        adjustments=(Adjustment("CO", "999", D("100")),))), "F2:1"),
    ("corrected", life(decision=decision(), corrected=True), "F1:65,F3:101"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "lifecycle", "expected"), CASES, ids=[c[0] for c in CASES])
def test_status_per_lifecycle(name: str, lifecycle: ClaimLifecycle | None, expected: str) -> None:
    answer = answer_status(REQUEST, lifecycle, payer_name="SIM PAYER", today=TODAY)
    assert statuses_of(answer) == expected
    emit(answer)


def test_paid_answer_carries_the_835s_trace_and_lines() -> None:
    payment = Payment("SIM01000000003", date(2026, 11, 21), "ACH")
    answer = answer_status(REQUEST, life(decision=decision(), payment=payment), today=TODAY)
    text = emit(answer)
    assert "STC*F1:65*20261121**100*80*20261121**20261121*SIM01000000003~" in text
    assert "SVC*HC:99213:25*100*80****1~STC*F1:65*20261121~REF*FJ*L1~DTP*472*D8*20261001~" in text
    body = answer_json(answer)
    assert body["payment"] == {"traceNumber": "SIM01000000003", "date": "2026-11-21",
                               "method": "EFT"}  # fmt: skip
    assert body["serviceLines"][0]["adjustments"][0]["reasonCode"] == "45"


def test_search_data_that_differ_is_d0() -> None:
    found = life(decision=decision(), service_date=date(2026, 10, 1))
    other_day = StatusRequest(**{**REQUEST.__dict__, "service_date": "20260901"})
    assert statuses_of(answer_status(other_day, found, today=TODAY)) == "D0:35"
    span = StatusRequest(**{**REQUEST.__dict__, "service_date": "20260930-20261002"})
    assert statuses_of(answer_status(span, found, today=TODAY)) == "F1:65"
    other_charge = StatusRequest(**{**REQUEST.__dict__, "charge": D("99.99")})
    assert statuses_of(answer_status(other_charge, found, today=TODAY)) == "D0:35"


def test_waiting_for_information_says_what_and_when() -> None:
    pended = decision(Outcome.PENDED, ClaimStatus.DENIED, "0", category="P3:297",
                      text="Medical records requested from the provider")  # fmt: skip
    answer = answer_status(REQUEST, life(route_state="pended", decision=pended,
                                         due=date(2026, 12, 24)), today=TODAY)  # fmt: skip
    body = answer_json(answer)
    assert body["requestedInformation"] == {
        "item": "Medical records requested from the provider", "dueDate": "2026-12-24"}  # fmt: skip
    assert "Requested" in status_table(answer)
    emit(answer)
