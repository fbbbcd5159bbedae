"""Eligibility answers of the simulated payers (270 → 271): every 271 validates against our
005010X279A1 map; the figures match the plan and the accumulators; the AAA cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from gateway.config import PROJECT_ROOT
from gateway.payers.adjudicate import Accumulator, AccumulatorKey, no_accumulators
from gateway.payers.config import PayerConfig
from gateway.payers.eligibility import answer_eligibility, unknown_payer
from gateway.payers.loader import load_payer
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.eligibility import (
    GUIDE,
    EligibilityAnswer,
    EligibilityRequest,
    Envelope,
    FieldError,
    Person,
    SetAnswers,
    answer_json,
    build_271,
    read_270,
    request_from_json,
)
from gateway.x12.igvalidator import PyX12Validator
from tests.x12files import corpus_file

VALIDATOR = PyX12Validator()
TODAY = date(2026, 6, 1)
ENVELOPE = Envelope("ZZ", "CLEARINGHOUSE", "ZZ", "DEMOBILLING", 42, "T", datetime(2026, 6, 1, 9))


@pytest.fixture(scope="module")
def sim01() -> PayerConfig:
    return load_payer(PROJECT_ROOT / "partners" / "payers" / "sim01")


def request(member: str = "MBR900000002", first: str = "BRUNO", last: str = "MET",
            born: str = "19810702", types: tuple[str, ...] = ("30",), **kw: object
            ) -> EligibilityRequest:  # fmt: skip
    base = EligibilityRequest(
        payer_id="SIM01",
        provider_npi="1234567893",
        provider_name="DEMO FAMILY PRACTICE",
        subscriber=Person(first, last, member, born),
        service_types=types,
        service_date="20260601",
        trace="000000001",
        reference="000000001",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def validate_271(content: bytes) -> list[object]:
    """IG errors of every 271 in ``content`` (the gateway's own validator, X279A1 map)."""
    errors: list[object] = []
    sets = list(iter_transaction_sets(content))
    assert sets
    for ts in sets:
        assert ts.segments[0].elements[:1] == ("271",)
        found, _ = VALIDATOR.validate(list(ts.segments), ts.delimiters, GUIDE)
        errors += found
    return errors


def emit(*answers: EligibilityAnswer) -> bytes:
    content = build_271([SetAnswers("REF1", tuple(answers))], ENVELOPE)
    assert validate_271(content) == []
    return content


def figures(answer: EligibilityAnswer, code: str) -> dict[str, str]:
    found = next(s for s in answer_json(answer)["serviceTypes"] if s["code"] == code)
    return {k: v for k, v in found.items() if k not in ("code", "name")}


def test_active_member_with_deductible_met(sim01: PayerConfig) -> None:
    answer = answer_eligibility(request(types=("30", "98", "PT")), sim01, no_accumulators,
                                today=TODAY)  # fmt: skip
    assert answer.status == "active" and answer.plan_name == "PPO 500"
    assert figures(answer, "30") == {
        "status": "active coverage",
        "deductible": "500.00",
        "deductibleRemaining": "0.00",  # the roster's starting accumulator for 2026
        "coinsurancePercent": "20",
        "outOfPocketMax": "3000.00",
        "outOfPocketRemaining": "2500.00",
    }
    assert figures(answer, "98") == {"status": "active coverage", "copay": "25.00",
                                     "coinsurancePercent": "0"}  # fmt: skip
    assert figures(answer, "PT")["copay"] == "20.00"
    text = emit(answer).decode()
    assert "TRN*2*000000001" in text and "EB*C*IND*30***29*0*****Y~" in text
    assert "DTP*346*D8*20200101~" in text


def test_accumulators_from_the_store_win(sim01: PayerConfig) -> None:
    def stored(key: AccumulatorKey) -> Accumulator | None:
        assert key == AccumulatorKey("SIM01", "MBR123456780", 2026)
        return Accumulator(Decimal("120.00"), Decimal("150.00"))

    answer = answer_eligibility(request("MBR123456780", "ANY", "ONE", "19990101"), sim01,
                                stored, today=TODAY)  # fmt: skip
    assert figures(answer, "30")["deductibleRemaining"] == "380.00"
    assert figures(answer, "30")["outOfPocketRemaining"] == "2850.00"
    emit(answer)


def test_plan_specifics(sim01: PayerConfig) -> None:
    basic = answer_eligibility(request("MBR123456789", types=("PT",)), sim01, no_accumulators,
                               today=TODAY)  # fmt: skip
    assert figures(basic, "PT") == {"status": "non-covered"}
    carla = request("MBR900000003", "CARLA", "PRIORAUTH", "19651123", types=("PT",))
    auth = answer_eligibility(carla, sim01, no_accumulators, today=TODAY)
    assert any(b.authorization_required for b in auth.benefits)
    unknown_type = answer_eligibility(request(types=("MH",)), sim01, no_accumulators,
                                      today=TODAY)  # fmt: skip
    assert figures(unknown_type, "MH") == {"status": "cannot process"}
    emit(basic, auth, unknown_type)


def test_inactive_coverage(sim01: PayerConfig) -> None:
    ended = answer_eligibility(request("MBR900000001", "ALICE", "ENDED", "19700314"), sim01,
                               no_accumulators, today=TODAY)  # fmt: skip
    assert ended.status == "inactive" and ended.plan_end == date(2025, 12, 31)
    assert "EB*6**30**PPO 500~" in emit(ended).decode()
    later = answer_eligibility(request("MBR900000004", "DAVID", "LATER", "19900130"), sim01,
                               no_accumulators, today=TODAY)  # fmt: skip
    assert later.status == "inactive"
    emit(later)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"member": "XYZ123"}, "75"),
        ({"member": ""}, "72"),
        ({"last": "SMITH"}, "73"),
        ({"born": "19810230"}, "58"),
        ({"born": "", "last": "", "first": ""}, "58"),
        ({"born": "19810703"}, "71"),
    ],
)
def test_aaa_errors(sim01: PayerConfig, changes: dict[str, str], code: str) -> None:
    answer = answer_eligibility(request(**changes), sim01, no_accumulators, today=TODAY)  # type: ignore[arg-type]
    assert [(e.code, e.loop) for e in answer.errors] == [(code, "2100C")]
    assert answer_json(answer)["coverageStatus"] == "error"
    assert f"AAA*N**{code}*C~" in emit(answer).decode()


def test_rule_members_match_any_name(sim01: PayerConfig) -> None:
    answer = answer_eligibility(request("MBR000000016", "JANE", "DOE", "20000101"), sim01,
                                no_accumulators, today=TODAY)  # fmt: skip
    assert answer.status == "active" and answer.plan_id == "HDHP2000"


def test_payer_not_known() -> None:
    unknown = unknown_payer(request(payer_id="NOPE"))
    external = unknown_payer(request(payer_id="EXT01"), external=True)
    missing = unknown_payer(request(payer_id=""))
    assert [e.code for e in unknown.errors + external.errors + missing.errors] == ["79", "42", "T4"]
    text = emit(unknown, external).decode()
    assert "AAA*N**79*C~" in text and "AAA*Y**42*R~" in text


@pytest.mark.parametrize(
    "name", ["subscriber-health-benefit-check.270", "dependent-health-benefit-check.270"]
)
def test_corpus_270s_get_answers(sim01: PayerConfig, name: str) -> None:
    data = corpus_file(f"270-271/{name}")
    for payer in (b"842610001", b"SIM01"):
        content = data.replace(b"842610001", payer).replace(b"11122333301", b"MBR123456780")
        # the corpus asks about 2006-05-01, before the demo coverage (2020-01-01)
        content = content.replace(b"DTP*291*D8*20060501", b"DTP*291*D8*20260501")
        sets = []
        for ts in iter_transaction_sets(content):
            requests = read_270(ts.segments, ts.delimiters)
            assert len(requests) == 1 and requests[0].trace == "93175-012547"
            answers = tuple(
                answer_eligibility(r, sim01, no_accumulators, today=TODAY)
                if r.payer_id == "SIM01"
                else unknown_payer(r)
                for r in requests
            )
            sets.append(SetAnswers(requests[0].reference, answers))
        out = build_271(sets, ENVELOPE)
        assert validate_271(out) == []
        text = out.decode()
        assert "TRN*2*93175-012547*9877281234~" in text
        if name.startswith("dependent"):  # a person provider, echoed as one
            assert "NM1*1P*1*JONES*MARCUS****SV*2000034~" in text
            assert "NM1*03*1*SMITH*MARY~" in text
        if payer == b"SIM01":
            assert "EB*1**30**PPO 500~" in text and "EB*C*IND*30***29*500*****Y~" in text
        else:
            assert "AAA*N**79*C~" in text


def test_read_270_dependent() -> None:
    ts = next(iter_transaction_sets(corpus_file("270-271/dependent-health-benefit-check.270")))
    (req,) = read_270(ts.segments, ts.delimiters)
    assert req.dependent == Person("MARY", "SMITH", "", "19781014")
    assert req.subscriber.member_id == "11122333301" and req.service_types == ("30",)
    assert req.service_date == "20060501" and req.payer_id == "842610001"


def test_json_request_fields() -> None:
    good = {
        "tradingPartnerServiceId": "SIM01",
        "provider": {"npi": "1234567893", "organizationName": "Demo Family Practice"},
        "subscriber": {"memberId": "MBR900000002", "firstName": "Bruno", "lastName": "Met",
                       "dateOfBirth": "19810702"},
        "encounter": {"serviceTypeCodes": ["30", "98"], "dateOfService": "20260601"},
    }  # fmt: skip
    parsed = request_from_json(good)
    assert parsed.subscriber == Person("BRUNO", "MET", "MBR900000002", "19810702")
    assert parsed.service_types == ("30", "98")
    bad = [
        ({"tradingPartnerServiceId": None}, "tradingPartnerServiceId"),
        ({"provider": {"npi": "1234567890", "organizationName": "X"}}, "provider.npi"),
        ({"provider": {"npi": "1234567893"}}, "provider.organizationName"),
        ({"subscriber": {"firstName": "A"}}, "subscriber.memberId"),
        ({"subscriber": {"memberId": "M1", "dateOfBirth": "1981-07-02"}}, "subscriber.dateOfBirth"),
        ({"encounter": {"serviceTypeCodes": ["30", "!!"]}}, "encounter.serviceTypeCodes"),
        ({"encounter": {"dateOfService": "20261345"}}, "encounter.dateOfService"),
        ({"dependents": [{"firstName": "A"}]}, "dependents[0].lastName"),
    ]
    for change, field in bad:
        with pytest.raises(FieldError) as caught:
            request_from_json({**good, **change})
        assert caught.value.field == field
    with pytest.raises(FieldError):
        request_from_json([1])


def test_270_writer_and_271_reader_round_trip(sim01: PayerConfig) -> None:
    """The gateway asking an external payer: its 270 validates; a 271 reads back as the
    same answer (what the JSON API shows for a forwarded request)."""
    from gateway.x12.eligibility import build_270, read_271

    asks = [
        request(types=("30", "98"), trace="T1", trace_originator="9CLEARINGH"),
        request(dependent=Person("KID", "MET", "", "20150101"), trace="T2"),
    ]
    content = build_270(asks, ENVELOPE)
    sets = list(iter_transaction_sets(content))
    assert len(sets) == 2
    for ts in sets:
        assert ts.segments[0].elements[:1] == ("270",)
        found, _ = VALIDATOR.validate(list(ts.segments), ts.delimiters, GUIDE)
        assert found == []
    again = [r for ts in sets for r in read_270(ts.segments, ts.delimiters)]
    assert [r.trace for r in again] == ["T1", "T2"]
    assert again[0].service_types == ("30", "98") and again[1].dependent is not None
    answer = answer_eligibility(asks[0], sim01, no_accumulators, today=TODAY)
    (ts,) = iter_transaction_sets(emit(answer))
    back = read_271(ts.segments, ts.delimiters, asks[0])
    assert answer_json(back)["serviceTypes"] == answer_json(answer)["serviceTypes"]
    assert back.plan_id == answer.plan_id and back.group_number == answer.group_number
    error = read_271(
        next(iter(iter_transaction_sets(emit(unknown_payer(asks[0], external=True))))).segments,
        ts.delimiters, asks[0],
    )  # fmt: skip
    assert [(e.code, e.loop) for e in error.errors] == [("42", "2100A")]
