"""Real-time eligibility over the HTTP API (real site on port 0, real core, simulated payers):
POST /api/v1/eligibility (JSON) and POST /api/v1/x12 (raw 270 → raw 271)."""

from __future__ import annotations

import json
from typing import Any

import pytest_twisted

from tests.api.conftest import DEMO_TOKEN, MakeApi, bearer
from tests.api.test_resources import conforms, metric_samples
from tests.payers.test_eligibility import validate_271
from tests.x12files import corpus_file, readdress

REQUEST: dict[str, Any] = {
    "tradingPartnerServiceId": "SIM01",
    "provider": {"npi": "1234567893", "organizationName": "Demo Family Practice"},
    "subscriber": {
        "memberId": "MBR900000002",
        "firstName": "Bruno",
        "lastName": "Met",
        "dateOfBirth": "19810702",
    },
    "encounter": {"serviceTypeCodes": ["30", "98"], "dateOfService": "20260601"},
}
JSON = {"Content-Type": "application/json"}
FORBIDDEN = ("MBR900000002", "BRUNO", "MET", "19810702", "MBR123456780")


def body(**changes: Any) -> bytes:
    return json.dumps({**REQUEST, **changes}).encode()


def no_phi(events: list[tuple[str, dict[str, Any]]]) -> None:
    text = json.dumps([[e, {k: str(v) for k, v in f.items()}] for e, f in events])
    for value in FORBIDDEN:
        assert value not in text, value


def x12_270(member: bytes = b"MBR123456780", payer: bytes = b"SIM01", control: int = 7001) -> bytes:
    data = corpus_file("270-271/subscriber-health-benefit-check.270")
    data = data.replace(b"842610001", payer).replace(b"11122333301", member)
    data = data.replace(b"DTP*291*D8*20060501", b"DTP*291*D8*20260501")
    return readdress(data, control=control)


@pytest_twisted.ensureDeferred
async def test_json_eligibility_answer(make_api: MakeApi) -> None:
    api = await make_api()
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    answer = await api.call("POST", "/api/v1/eligibility?include=x12", body(), {**bearer(), **JSON})
    assert answer.status == 200, answer.body
    conforms(document, "POST", "/api/v1/eligibility", answer)
    found = answer.json()
    assert found["coverageStatus"] == "active"
    assert found["plan"]["name"] == "PPO 500" and found["plan"]["groupNumber"] == "GRPSIM0102"
    generic = next(s for s in found["serviceTypes"] if s["code"] == "30")
    assert generic["deductibleRemaining"] == "0.00" and generic["outOfPocketMax"] == "3000.00"
    office = next(s for s in found["serviceTypes"] if s["code"] == "98")
    assert office["copay"] == "25.00"
    assert validate_271(found["x12"].encode()) == []
    (event,) = api.named("eligibility.answered")
    assert event["payer"] == "SIM01" and event["outcome"] == "active"
    assert event["channel"] == "api-json" and "elapsed_ms" in event
    no_phi(api.events)


@pytest_twisted.ensureDeferred
async def test_json_aaa_answers(make_api: MakeApi) -> None:
    api = await make_api()
    cases = [
        (body(subscriber={**REQUEST["subscriber"], "memberId": "NOPE1"}), "75"),
        (body(subscriber={**REQUEST["subscriber"], "lastName": "Other"}), "73"),
        (body(subscriber={**REQUEST["subscriber"], "dateOfBirth": "19810703"}), "71"),
        (body(tradingPartnerServiceId="UNKNOWN9"), "79"),
        (body(tradingPartnerServiceId="EXT01"), "42"),
    ]
    for data, code in cases:
        answer = await api.call("POST", "/api/v1/eligibility", data, {**bearer(), **JSON})
        assert answer.status == 200
        found = answer.json()
        assert found["coverageStatus"] == "error"
        assert [e["code"] for e in found["errors"]] == [code]
        assert found["errors"][0]["description"]
    outcomes = [e["outcome"] for e in api.named("eligibility.answered")]
    assert outcomes == ["aaa:75", "aaa:73", "aaa:71", "aaa:79", "aaa:42"]
    no_phi(api.events)


@pytest_twisted.ensureDeferred
async def test_json_bad_requests_name_the_field(make_api: MakeApi) -> None:
    api = await make_api()
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    cases = [
        (b"{not json", "bad_json", ""),
        (body(provider={"npi": "1234567890", "organizationName": "X"}), "invalid_field",
         "provider.npi"),
        (json.dumps({**REQUEST, "subscriber": {"firstName": "A"}}).encode(), "invalid_field",
         "subscriber.memberId"),
        (body(encounter={"dateOfService": "2026-06-01"}), "invalid_field",
         "encounter.dateOfService"),
    ]  # fmt: skip
    for data, code, field in cases:
        answer = await api.call("POST", "/api/v1/eligibility", data, {**bearer(), **JSON})
        assert answer.status == 400, answer.body
        conforms(document, "POST", "/api/v1/eligibility", answer)
        assert answer.json()["error"] == code
        assert answer.json()["message"].startswith(field)
    unauthorized = await api.call("POST", "/api/v1/eligibility", body(), JSON)
    assert unauthorized.status == 401
    wrong = await api.call("POST", "/api/v1/eligibility", body(),
                           {**bearer(DEMO_TOKEN[:-2] + "zz"), **JSON})  # fmt: skip
    assert wrong.status == 401


@pytest_twisted.ensureDeferred
async def test_raw_x12_270_gets_a_271(make_api: MakeApi) -> None:
    api = await make_api()
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    answer = await api.call("POST", "/api/v1/x12", x12_270(), bearer())
    assert answer.status == 200, answer.body
    conforms(document, "POST", "/api/v1/x12", answer)
    assert answer.headers["content-type"] == "application/edi-x12"
    assert validate_271(answer.body) == []
    text = answer.body.decode()
    assert "*ZZ*DEMOBILLING    *" in text  # back to the sender
    assert "TRN*2*93175-012547*9877281234~" in text and "EB*1**30**PPO 500~" in text
    (event,) = api.named("eligibility.answered")
    assert event["trn02"] == "93175-012547" and event["isa13"] == "000007001"
    assert event["st02"] == "1234" and event["bht03"] == "10001234" and event["gs06"] == "1"
    # an unknown member, a payer nobody answers for: AAA answers, still guide-valid
    unknown = await api.call("POST", "/api/v1/x12", x12_270(b"NOPE", control=7002), bearer())
    assert unknown.status == 200 and "AAA*N**75*C~" in unknown.body.decode()
    assert validate_271(unknown.body) == []
    payer = await api.call("POST", "/api/v1/x12", x12_270(payer=b"OTHER", control=7003),
                           bearer())  # fmt: skip
    assert payer.status == 200 and "AAA*N**79*C~" in payer.body.decode()
    no_phi(api.events)


@pytest_twisted.ensureDeferred
async def test_raw_x12_failing_the_guide_gets_a_999(make_api: MakeApi) -> None:
    api = await make_api()
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    broken = x12_270().replace(b"EQ*30~", b"EQ*!!~")
    answer = await api.call("POST", "/api/v1/x12", broken, bearer())
    assert answer.status == 422, answer.body
    conforms(document, "POST", "/api/v1/x12", answer)
    assert b"ST*999*" in answer.body and b"IK5*R" in answer.body
    assert api.named("eligibility.answered") == []
    # not X12, a claim file, nothing: 400 naming the problem
    for data, code in [
        (b"hello", "not_a_270"),
        (readdress(corpus_file("837p/uhin-837.edi"), control=7010), "not_a_270"),
        (b"", "empty_body"),
    ]:
        refused = await api.call("POST", "/api/v1/x12", data, bearer())
        assert refused.status == 400, refused.body
        conforms(document, "POST", "/api/v1/x12", refused)
        assert refused.json()["error"] == code


@pytest_twisted.ensureDeferred
async def test_every_corpus_270_gets_an_answer(make_api: MakeApi) -> None:
    """The third-party 270s, readdressed to the demo partners: as they are (their payer is not
    ours: AAA 79), for SIM01 (a full answer), and the 4010 one (TA1: 5010 only)."""
    api = await make_api()
    control = 7100
    for name in ("subscriber-health-benefit-check.270", "dependent-health-benefit-check.270"):
        original = corpus_file(f"270-271/{name}")
        ours = original.replace(b"842610001", b"SIM01").replace(b"11122333301", b"MBR123456780")
        for data, expected in ((original, "AAA*N**79*C~"), (ours, "EB*1**30**PPO 500~")):
            control += 1
            data = data.replace(b"DTP*291*D8*20060501", b"DTP*291*D8*20260501")
            answer = await api.call("POST", "/api/v1/x12", readdress(data, control=control),
                                    bearer())  # fmt: skip
            assert answer.status == 200, (name, answer.body)
            assert validate_271(answer.body) == []
            assert expected in answer.body.decode()
    old = readdress(corpus_file("270-271/x270.txt"), control=7200)
    answer = await api.call("POST", "/api/v1/x12", old, bearer())
    assert answer.status == 422 and answer.body.startswith(b"ISA") and b"TA1*" in answer.body


@pytest_twisted.ensureDeferred
async def test_eligibility_metrics(make_api: MakeApi) -> None:
    api = await make_api()
    await api.call("POST", "/api/v1/eligibility", body(), {**bearer(), **JSON})
    await api.call("POST", "/api/v1/eligibility", body(tradingPartnerServiceId="RANDOM1"),
                   {**bearer(), **JSON})  # fmt: skip
    await api.call("POST", "/api/v1/x12", x12_270(), bearer())
    text = (await api.call("GET", "/metrics")).body.decode()
    samples = metric_samples(text)
    counted = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "gateway_eligibility_requests_total"
    }
    assert counted == {
        (("channel", "api-json"), ("outcome", "active"), ("payer", "SIM01")): 1,
        (("channel", "api-json"), ("outcome", "aaa:79"), ("payer", "unknown")): 1,
        (("channel", "api-x12"), ("outcome", "active"), ("payer", "SIM01")): 1,
    }
    assert samples[("gateway_eligibility_latency_seconds_count", (("channel", "api-json"),))] == 2
    assert "RANDOM1" not in text
