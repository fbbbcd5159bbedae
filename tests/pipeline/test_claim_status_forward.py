"""A real-time 276 for an external payer with a CORE endpoint is forwarded there (CORE SOAP,
PayloadType X12_276_Request_005010X212) and its 277 comes back re-enveloped; an endpoint
that does not answer in time: the gateway answers from what it saw of the claim."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest_twisted
from twisted.web import resource

from gateway.caqh.envelope import Operation, parse_soap, response_for, soap_response
from gateway.x12.claim_status import (
    GUIDE,
    SetAnswers,
    Status,
    StatusAnswer,
    build_277,
    envelope_for,
    read_276,
)
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.igvalidator import PyX12Validator
from tests.api.conftest import MakeApi, bearer, make_api  # noqa: F401 (fixture)
from tests.pipeline.test_core_forward import setup
from tests.x12.test_claim_status import validate_277
from tests.x12files import claim_status_276

VALIDATOR = PyX12Validator()


class StatusPayer(resource.Resource):
    """A CORE payer answering each claim of a 276 with F1:65; ``mode`` slow: no answer."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.seen: list[Any] = []

    def render_POST(self, request: Any) -> Any:
        from twisted.web import server

        parsed = parse_soap(request.content.read())
        self.seen.append(parsed)
        request.setHeader(b"content-type", b"application/soap+xml")
        if self.mode == "slow":
            return server.NOT_DONE_YET
        now = datetime(2026, 11, 24, tzinfo=UTC)
        sets = []
        for ts in iter_transaction_sets(parsed.payload or b""):
            answers = tuple(
                StatusAnswer(r, (Status("F1", "65"),), now.date(), payer_name="EXTERNAL PAYER")
                for r in read_276(ts.segments, ts.delimiters)
            )
            sets.append(SetAnswers(answers[0].request.reference, answers))
        x12 = build_277(sets, envelope_for(("ZZ", "EXT01PAYER"), ("ZZ", "CLEARINGHOUSE"), 78,
                                           now, "T"))  # fmt: skip
        answer = response_for(parsed, Operation.REALTIME, gateway_id="EXT01", now=now,
                              payload_type="X12_277_Response_005010X212", payload=x12)  # fmt: skip
        return soap_response(answer)


def ext_276(control: int) -> bytes:
    return claim_status_276("EXT01", "1234567893", [("C77X1", "10.00", "MBR1", "DOE")],
                            control=control)  # fmt: skip


@pytest_twisted.ensureDeferred
async def test_a_276_for_an_external_payer_is_forwarded(make_api: MakeApi) -> None:  # noqa: F811
    endpoint = StatusPayer()
    api, _, port = await setup(make_api, 5.0, endpoint)
    try:
        answer = await api.call("POST", "/api/v1/x12", ext_276(6701), bearer())
        assert answer.status == 200, answer.body
        assert validate_277(answer.body) == []
        assert b"EXTERNAL PAYER" in answer.body and b"TRN*2*TRK1~STC*F1:65*" in answer.body
        assert b"*ZZ*CLEARINGHOUSE  *ZZ*DEMOBILLING    *" in answer.body
        (seen,) = endpoint.seen
        assert seen.get("PayloadType") == "X12_276_Request_005010X212"
        assert b"GS*HR*CLEARINGHOUSE*EXT01PAYER*" in (seen.payload or b"")
        (event,) = api.named("claim_status.answered")
        assert event["outcome"] == "forwarded" and event["trn02"] == "TRK1"
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_no_answer_in_time_is_answered_here(make_api: MakeApi) -> None:  # noqa: F811
    endpoint = StatusPayer()
    endpoint.mode = "slow"
    api, _, port = await setup(make_api, 0.3, endpoint)
    try:
        answer = await api.call("POST", "/api/v1/x12", ext_276(6702), bearer())
        assert answer.status == 200, answer.body
        assert validate_277(answer.body) == [] and b"STC*A4:35*" in answer.body
        (failed,) = api.named("eligibility.forward.failed")
        assert failed["reason"] == "no answer within 0.3 s"
    finally:
        await port.stopListening()


def ext_json(**changes: Any) -> bytes:
    body = {
        "tradingPartnerServiceId": "EXT01",
        "providers": [{"organizationName": "Demo Family Practice", "npi": "1234567893"}],
        "subscriber": {"memberId": "MBR1", "lastName": "DOE", "gender": "F",
                       "dateOfBirth": "19800101"},
        "encounter": {"beginningDateOfService": "20261101", "submittedAmount": "10.00"},
        "patientControlNumber": "C77X1",
    }  # fmt: skip
    return json.dumps({**body, **changes}).encode()


@pytest_twisted.ensureDeferred
async def test_a_json_request_for_an_external_payer_is_asked_of_it_as_a_276(
    make_api: MakeApi,  # noqa: F811
) -> None:
    """The payer's own answer (its 277 read back), not the clearinghouse's view."""
    endpoint = StatusPayer()
    api, _, port = await setup(make_api, 5.0, endpoint)
    try:
        answer = await api.call("POST", "/api/v1/claim-status?include=x12", ext_json(),
                                {**bearer(), "Content-Type": "application/json"})  # fmt: skip
        assert answer.status == 200, answer.body
        (claim,) = answer.json()["claims"]
        assert claim["status"][0]["statusCategoryCode"] == "F1" and claim["source"] == "payer"
        assert validate_277(answer.json()["x12"].encode()) == []
        (seen,) = endpoint.seen
        assert seen.get("PayloadType") == "X12_276_Request_005010X212"
        (ts,) = list(iter_transaction_sets(seen.payload or b""))
        errors, _ = VALIDATOR.validate(list(ts.segments), ts.delimiters, GUIDE)
        assert errors == []  # what we sent the payer is a valid 276
        (asked,) = read_276(ts.segments, ts.delimiters)
        assert (asked.claim_id, asked.subscriber.member_id, asked.subscriber.gender) == (
            "C77X1", "MBR1", "F",
        )  # fmt: skip
        (event,) = api.named("claim_status.answered")
        assert event["forwarded"] is True and event["source"] == "payer"
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_a_json_request_the_payer_does_not_answer_is_answered_here_saying_so(
    make_api: MakeApi,  # noqa: F811
) -> None:
    endpoint = StatusPayer()
    endpoint.mode = "slow"
    api, _, port = await setup(make_api, 0.3, endpoint)
    try:
        answer = await api.call("POST", "/api/v1/claim-status", ext_json(),
                                {**bearer(), "Content-Type": "application/json"})  # fmt: skip
        assert answer.status == 200, answer.body
        (claim,) = answer.json()["claims"]
        assert claim["status"][0]["statusCategoryCode"] == "A4"
        assert claim["message"].startswith("The payer did not answer")
        (failed,) = api.named("claim_status.forward.failed")
        assert failed["reason"] == "no answer within 0.3 s"
        (event,) = api.named("claim_status.answered")
        assert event["forwarded"] is False
    finally:
        await port.stopListening()
