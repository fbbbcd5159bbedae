"""Real-time claim status over the HTTP API (real site on port 0, real core, simulated
payers): a claim uploaded over the API, then POST /api/v1/claim-status (JSON) and
POST /api/v1/x12 (raw 276 → raw 277) while it waits for the payer and once it is paid."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest_twisted
from twisted.internet import threads

from tests.api.conftest import DEMO_TOKEN, EXT01_TOKEN, Api, MakeApi, bearer
from tests.api.test_core import mime_post, soap_call
from tests.api.test_eligibility import x12_270
from tests.api.test_resources import conforms, metric_samples, sleep
from tests.pipeline.test_routing import _one_claim
from tests.x12.test_claim_status import validate_277
from tests.x12files import claim_status_276, segments

JSON = {"Content-Type": "application/json"}


async def until_routed(api: Api, file_id: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        answer = await api.call("GET", f"/api/v1/files/{file_id}", headers=bearer())
        if answer.json()["state"] in ("routed", "rejected", "failed"):
            assert answer.json()["state"] == "routed", answer.json()
            return
        assert time.monotonic() < deadline
        await sleep(0.05)


def claim_facts(data: bytes) -> dict[str, str]:
    segs = segments(data)
    clm = next(s for s in segs if s[0] == "CLM")
    member = next(s for s in segs if s[0] == "NM1" and s[1] == "IL")
    return {
        "clm01": clm[1],
        "charge": clm[2],
        "npi": next(s for s in segs if s[0] == "NM1" and s[1] == "85")[9],
        "member": member[9],
        "last": member[3],
        "date": next(s for s in segs if s[0] == "DTP" and s[1] == "472")[3],
    }


def status_body(facts: dict[str, str], **changes: Any) -> bytes:
    body = {
        "tradingPartnerServiceId": "SIM01",
        "providers": [{"organizationName": "Demo Family Practice", "npi": facts["npi"]}],
        "subscriber": {"memberId": facts["member"], "lastName": facts["last"]},
        "encounter": {"beginningDateOfService": facts["date"], "submittedAmount": facts["charge"]},
        "patientControlNumber": facts["clm01"],
    }
    return json.dumps({**body, **changes}).encode()


@pytest_twisted.ensureDeferred
async def test_claim_status_json_and_x12_through_the_lifecycle(make_api: MakeApi) -> None:
    api = await make_api()
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    data = _one_claim(8501)
    facts = claim_facts(data)
    submitted = await api.call("POST", "/api/v1/files?filename=c.837", data, bearer())
    await until_routed(api, submitted.json()["file_id"])

    pending = await api.call("POST", "/api/v1/claim-status?include=x12", status_body(facts),
                             {**bearer(), **JSON})  # fmt: skip
    assert pending.status == 200, pending.body
    conforms(document, "POST", "/api/v1/claim-status", pending)
    (claim,) = pending.json()["claims"]
    assert claim["status"][0]["statusCategoryCode"] == "P1" and claim["source"] == "payer"
    assert validate_277(pending.json()["x12"].encode()) == []

    await api.core.run_payer_cycles()
    paid = await api.call("POST", "/api/v1/claim-status", status_body(facts), {**bearer(), **JSON})
    (claim,) = paid.json()["claims"]
    assert claim["status"][0]["statusCategoryCode"] == "F1", claim
    assert claim["payment"]["traceNumber"].startswith("SIM01")
    remits = (await api.call("GET", "/api/v1/remittances", headers=bearer())).json()
    (remit,) = remits["remittances"]
    assert claim["payment"]["traceNumber"] == remit["trace_number"]
    assert claim["amountPaid"] == remit["claims"][0]["paid"]

    raw = claim_status_276("SIM01", facts["npi"],
                           [(facts["clm01"], facts["charge"], facts["member"], facts["last"]),
                            ("NOSUCHCLAIM", "10.00", facts["member"], facts["last"])],
                           control=8601, date=facts["date"])  # fmt: skip
    answer = await api.call("POST", "/api/v1/x12", raw, bearer())
    assert answer.status == 200, answer.body
    conforms(document, "POST", "/api/v1/x12", answer)
    assert validate_277(answer.body) == []
    text = answer.body.decode()
    assert "STC*F1:65*" in text and f"*{remit['trace_number']}" in text
    assert "TRN*2*TRK2~STC*A4:35*" in text
    events = api.named("claim_status.answered")
    assert [e["outcome"] for e in events] == ["P1", "F1", "F1", "A4"]
    assert {e["channel"] for e in events} == {"api-json", "api-x12"}
    logged = json.dumps(api.events)
    for secret in (facts["clm01"], facts["member"], facts["last"]):
        assert secret not in logged  # identifiers only in the audit
    samples = metric_samples(api.metrics.render().decode())
    key = ("gateway_claim_status_requests_total",
           (("channel", "api-x12"), ("outcome", "A4"), ("source", "payer")))  # fmt: skip
    assert samples[key] == 1


@pytest_twisted.ensureDeferred
async def test_claim_status_never_answers_for_another_partner(make_api: MakeApi) -> None:
    api = await make_api()
    data = _one_claim(8502)
    facts = claim_facts(data)
    submitted = await api.call("POST", "/api/v1/files?filename=c.837", data, bearer())
    await until_routed(api, submitted.json()["file_id"])
    other = await api.call("POST", "/api/v1/claim-status", status_body(facts),
                           {**bearer(EXT01_TOKEN), **JSON})  # fmt: skip
    assert other.status == 200
    (claim,) = other.json()["claims"]
    assert claim["status"][0]["statusCategoryCode"] == "A4"
    assert "payment" not in claim and claim["amountPaid"] is None
    bad = await api.call("POST", "/api/v1/claim-status", status_body(facts, providers=[]),
                         {**bearer(DEMO_TOKEN), **JSON})  # fmt: skip
    assert bad.status == 400 and bad.json()["error"] == "invalid_field"
    assert "providers" in bad.json()["message"]


@pytest_twisted.ensureDeferred
async def test_a_276_failing_the_guide_gets_a_999_never_a_277(make_api: MakeApi) -> None:
    api = await make_api()
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    good = claim_status_276("SIM01", "1234567893", [("C1", "10.00", "MBR1", "DOE")],
                            control=8701)  # fmt: skip
    broken = good.replace(b"TRN*1*TRK1", b"TRN*9*TRK1")  # TRN01 must be 1
    answer = await api.call("POST", "/api/v1/x12", broken, bearer())
    assert answer.status == 422, answer.body
    conforms(document, "POST", "/api/v1/x12", answer)
    assert b"ST*999*" in answer.body and b"IK5*R" in answer.body and b"ST*277*" not in answer.body
    assert api.named("claim_status.answered") == []
    # a 270 and a 276 in one interchange: refused, naming why
    text = good.decode()
    eligibility = x12_270(control=8702).decode()
    group_270 = eligibility[eligibility.index("GS*") : eligibility.index("IEA*")]
    mixed = text.replace("IEA*1*", group_270 + "IEA*2*")
    refused = await api.call("POST", "/api/v1/x12", mixed.encode(), bearer())
    assert refused.status == 400, refused.body
    assert "one kind of inquiry" in refused.json()["message"]


@pytest_twisted.ensureDeferred
async def test_core_real_time_276_gets_a_277(make_api: MakeApi) -> None:
    """CAQH CORE: PayloadType X12_276_Request_005010X212 over SOAP (zeep) and MIME."""
    api = await make_api()
    data = _one_claim(8503)
    facts = claim_facts(data)
    submitted = await api.call("POST", "/api/v1/files?filename=c.837", data, bearer())
    await until_routed(api, submitted.json()["file_id"])
    raw = claim_status_276("SIM01", facts["npi"],
                           [(facts["clm01"], facts["charge"], facts["member"], facts["last"])],
                           control=8801, date=facts["date"])  # fmt: skip
    answer = await threads.deferToThread(
        soap_call, api, raw.decode(), PayloadType="X12_276_Request_005010X212"
    )
    assert answer.ErrorCode == "Success", answer.ErrorMessage
    assert answer.PayloadType == "X12_277_Response_005010X212"
    assert validate_277(answer.Payload.encode()) == [] and "STC*P1:20*" in answer.Payload
    status, parts = await threads.deferToThread(
        mime_post, api, claim_status_276("SIM01", facts["npi"],
                                         [("NOSUCH", "1.00", facts["member"], facts["last"])],
                                         control=8802),
        PayloadType="X12_276_Request_005010X212",
    )  # fmt: skip
    assert status == 200 and parts["PayloadType"] == b"X12_277_Response_005010X212"
    assert validate_277(parts["Payload"]) == [] and b"STC*A4:35*" in parts["Payload"]
    # a 276 under the 270's PayloadType is refused
    wrong = await threads.deferToThread(
        soap_call, api, raw.decode(), PayloadType="X12_270_Request_005010X279A1"
    )
    assert wrong.ErrorCode == "PayloadTypeIllegal"
    events = api.named("claim_status.answered")
    assert [e["channel"] for e in events] == ["core-soap", "core-mime"]
    assert all(e["payload_id"] for e in events)
