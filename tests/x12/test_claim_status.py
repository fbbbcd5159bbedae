"""Claim status (276/277 X212): the 276 reader on the corpus, the 277 writer against our
005010X212 map, the JSON request's field checks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from gateway.x12.claim_status import (
    GUIDE,
    LineStatus,
    SetAnswers,
    Status,
    StatusAnswer,
    StatusRequest,
    answer_json,
    build_277,
    envelope_for,
    read_276,
    request_from_json,
)
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.eligibility import FieldError, Person
from gateway.x12.igvalidator import PyX12Validator
from tests.x12.conftest import CORPUS

VALIDATOR = PyX12Validator()
NOW = datetime(2026, 11, 24, 9, 30)
ENVELOPE = envelope_for(("ZZ", "CLEARINGHOUSE"), ("ZZ", "DEMOBILLING"), 42, NOW, "T")


def validate_277(content: bytes) -> list[object]:
    """IG errors of every 277 in ``content`` (the gateway's validator, our X212 map)."""
    errors: list[object] = []
    sets = list(iter_transaction_sets(content))
    assert sets
    for ts in sets:
        assert ts.segments[0].elements[:3] == ("277", ts.segments[0].elements[1], GUIDE)
        found, _ = VALIDATOR.validate(list(ts.segments), ts.delimiters, GUIDE)
        errors += found
    return errors


def requests_of(name: str) -> list[StatusRequest]:
    data = (CORPUS / "276" / name).read_bytes()
    return [r for ts in iter_transaction_sets(data) for r in read_276(ts.segments, ts.delimiters)]


def test_read_276_claim_level() -> None:
    found = requests_of("claim-level-status.276")
    assert [r.trace for r in found] == ["ABCXYZ1", "ABCXYZ2", "ABCXYZ3"]
    first = found[0]
    assert (first.payer_id, first.receiver_id, first.provider_npi) == (
        "12345",
        "X67E",
        "1666666661",
    )
    assert first.subscriber == Person("FRED", "SMITH", "123456789A", "19301210", "M")
    assert (first.claim_id, first.bill_type, first.charge) == (
        "SM123456",
        "111",
        Decimal("8513.88"),
    )
    assert first.service_days == (date(2005, 8, 31), date(2005, 9, 6))
    third = found[2]
    assert third.dependent == Person("JOSEPH", "MANN", "", "19951101", "M")
    assert third.subscriber.member_id == "345678901"
    assert len(third.lines) == 1 and third.lines[0].procedure == "99203"
    assert third.lines[0].service_date == "20050501"


@pytest.mark.parametrize("path", sorted((CORPUS / "276").iterdir()), ids=lambda p: p.name)
def test_every_corpus_276_reads_and_its_echo_validates(path: object) -> None:
    """Every corpus 276 reads; a 277 answering each of its claims validates."""
    found = requests_of(path.name)  # type: ignore[attr-defined]
    assert found
    answers = tuple(StatusAnswer(r, (Status("A4", "35"),), date(2026, 11, 24)) for r in found)
    assert validate_277(build_277([SetAnswers("REF", answers)], ENVELOPE)) == []


def _request(**kw: object) -> StatusRequest:
    base = StatusRequest(
        payer_id="SIM01", provider_npi="1234567893", provider_name="DEMO FAMILY PRACTICE",
        receiver_name="DEMO BILLING", receiver_id="DEMOBILLING",
        subscriber=Person("ANA", "PAID", "MBR900000001", ""), trace="T1", claim_id="PCN1",
        charge=Decimal("150.00"), service_date="20261110",
    )  # fmt: skip
    return StatusRequest(**{**base.__dict__, **kw})  # type: ignore[arg-type]


def test_277_finalized_with_lines_and_several_statuses_validates() -> None:
    line = LineStatus("HC", "99213", ("25",), Decimal("150"), Decimal("80"), Decimal("1"),
                      (Status("F1", "65"),), control_number="L1",
                      service_date=date(2026, 11, 10))  # fmt: skip
    paid = StatusAnswer(
        _request(), (Status("F1", "65"), Status("F1", "104"), Status("F3", "101"),
                     Status("F1", "107")),
        date(2026, 11, 20), charge=Decimal("150"), paid=Decimal("80"),
        finalized=date(2026, 11, 20), payment_date=date(2026, 11, 20),
        payment_trace="SIM01000000001",
        payer_claim_id="SIM010000000001", service_date=date(2026, 11, 10), lines=(line,),
    )  # fmt: skip
    dependent = StatusAnswer(
        _request(dependent=Person("KID", "PAID", "", "20100101"), trace="T2"),
        (Status("P3", "297"),), date(2026, 11, 20),
    )  # fmt: skip
    other = StatusAnswer(_request(trace="T3", provider_npi="1993999998"), (Status("A4", "35"),),
                         date(2026, 11, 20))  # fmt: skip
    content = build_277([SetAnswers("R1", (paid, dependent, other)),
                         SetAnswers("R2", (paid,))], ENVELOPE)  # fmt: skip
    assert validate_277(content) == []
    text = content.decode()
    assert "STC*F1:65*20261120**150*80*20261120**20261120*SIM01000000001*F1:104*F3:101~" in text
    assert "STC*F1:107*20261120~" in text
    # set 1: payer, receiver, provider, subscriber; the dependent: subscriber + dependent; the
    # other provider: provider + subscriber. Set 2: four.
    assert text.count("HL*") == 4 + 2 + 2 + 4


def test_answer_json_is_readable() -> None:
    answer = StatusAnswer(
        _request(), (Status("F1", "65"),), date(2026, 11, 20), charge=Decimal("150"),
        paid=Decimal("80"), payment_trace="SIM01000000001", payment_date=date(2026, 11, 20),
        payment_method="CHK", carcs=(("PR", "1", Decimal("70")),),
    )  # fmt: skip
    body = answer_json(answer)
    assert body["status"][0]["statusCategoryCodeValue"].startswith("Finalized: payment")
    assert body["status"][0]["statusCodeValue"] == "Claim/line has been paid"
    assert body["payment"] == {"traceNumber": "SIM01000000001", "date": "2026-11-20",
                               "method": "check"}  # fmt: skip
    assert body["adjustments"][0]["reason"] == "Deductible amount"
    assert (body["submittedAmount"], body["amountPaid"]) == ("150.00", "80.00")


GOOD = {
    "tradingPartnerServiceId": "SIM01",
    "providers": [{"organizationName": "Demo Family Practice", "npi": "1234567893"}],
    "subscriber": {"memberId": "MBR900000001", "firstName": "Ana", "lastName": "Paid"},
    "encounter": {"beginningDateOfService": "20261110", "endDateOfService": "20261111",
                  "trackingNumber": "abc-1", "submittedAmount": "150.00"},
    "patientControlNumber": "PCN1",
}  # fmt: skip


def test_request_from_json() -> None:
    found = request_from_json(GOOD)
    assert (found.payer_id, found.provider_npi, found.claim_id) == ("SIM01", "1234567893", "PCN1")
    assert found.service_date == "20261110-20261111" and found.trace == "ABC-1"
    assert found.charge == Decimal("150.00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tradingPartnerServiceId": None}, "tradingPartnerServiceId"),
        ({"providers": []}, "providers"),
        ({"providers": [{"npi": "1234567890"}]}, "providers[].npi"),
        ({"subscriber": {"lastName": "X"}}, "subscriber.memberId"),
        ({"patientControlNumber": None}, "patientControlNumber"),
        ({"encounter": {"beginningDateOfService": "2026-11-10"}},
         "encounter.beginningDateOfService"),
        ({"encounter": {"submittedAmount": "lots"}}, "encounter.submittedAmount"),
    ],
)  # fmt: skip
def test_request_from_json_names_the_bad_field(change: dict[str, object], field: str) -> None:
    body = {**GOOD, **change}
    with pytest.raises(FieldError) as caught:
        request_from_json({k: v for k, v in body.items() if v is not None})
    assert caught.value.field == field


# ----------------------------------------------- forwarding: build_276 / read_277


def test_build_276_validates_and_reads_back_as_asked() -> None:
    """What the gateway asks an external payer for a JSON request: valid X212, and the
    payer's reader (ours: read_276) sees the same requests, the corpus ones included."""
    from gateway.x12.claim_status import build_276

    asked = requests_of("claim-level-status.276")
    data = build_276(asked, ENVELOPE)
    sets = list(iter_transaction_sets(data))
    assert len(sets) == 1 and sets[0].segments[0].elements[:3] == ("276", "0001", GUIDE)
    errors, _ = VALIDATOR.validate(list(sets[0].segments), sets[0].delimiters, GUIDE)
    assert errors == []
    again = read_276(sets[0].segments, sets[0].delimiters)
    assert [(r.trace, r.claim_id, r.charge, r.service_date, r.subscriber, r.dependent)
            for r in again] == [
        (r.trace, r.claim_id, r.charge, r.service_date, r.subscriber,
         r.dependent) for r in asked
    ]  # fmt: skip


def test_read_277_reads_the_corpus_answers() -> None:
    from gateway.x12.claim_status import read_277

    asked = requests_of("claim-level-status.276")
    data = (CORPUS / "277" / "claim-level-status.277").read_bytes()
    (ts,) = list(iter_transaction_sets(data))
    first = read_277(ts.segments, ts.delimiters, asked[0])
    assert first is not None
    assert [s.composite(":") for s in first.statuses] == ["P3:317"]
    assert (first.effective, first.charge, first.payer_claim_id, first.claim_id) == (
        date(2005, 9, 13), Decimal("8513.88"), "05347006051", "SM123456",
    )  # fmt: skip
    assert first.payer_name == "ABC INSURANCE"
    second = read_277(ts.segments, ts.delimiters, asked[1])
    assert second is not None and second.paid == Decimal("7599.00")
    assert [s.composite(":") for s in second.statuses] == ["F0:3"]
    # the third answer's TRN02 is ABCXYC3 (a typo in the sample): not an answer to ABCXYZ3
    assert read_277(ts.segments, ts.delimiters, asked[2]) is None


def test_read_277_reads_back_what_build_277_wrote() -> None:
    from gateway.x12.claim_status import read_277

    request = StatusRequest(payer_id="SIM01", trace="T1", claim_id="C1", provider_npi="1234567893")
    answer = StatusAnswer(
        request, (Status("F1", "65"), Status("F1", "104")), date(2026, 11, 20),
        charge=Decimal("150.00"), paid=Decimal("120.00"), finalized=date(2026, 11, 20),
        payment_date=date(2026, 11, 21), payment_trace="EFT123", payer_claim_id="SIM0001",
        claim_id="C1", service_date=date(2026, 11, 1),
        lines=(LineStatus("HC", "99213", ("25",), Decimal("150.00"), Decimal("120.00"),
                          Decimal("1"), (Status("F1", "65"),), service_date=date(2026, 11, 1)),),
    )  # fmt: skip
    (ts,) = list(iter_transaction_sets(build_277([SetAnswers("R1", (answer,))], ENVELOPE)))
    back = read_277(ts.segments, ts.delimiters, request)
    assert back is not None
    assert (back.statuses, back.paid, back.payment_trace, back.payment_date, back.finalized) == (
        answer.statuses, answer.paid, "EFT123", answer.payment_date, answer.finalized,
    )  # fmt: skip
    assert back.lines[0].procedure == "99213" and back.lines[0].modifiers == ("25",)
    assert back.lines[0].statuses == (Status("F1", "65"),)
