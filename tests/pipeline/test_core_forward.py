"""Real-time 270s for an external payer with a CORE endpoint: forwarded in a CORE SOAP
envelope to a small CORE payer endpoint stood up here; a slow or failing endpoint → AAA 42
within the (short, for the test) budget."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.web import resource, server

from gateway.caqh.envelope import (
    Operation,
    parse_soap,
    response_for,
    soap_fault,
    soap_response,
)
from gateway.config import PROJECT_ROOT
from gateway.profiles import CoreEndpoint, PartnerSet, load_partners
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.eligibility import (
    Benefit,
    EligibilityAnswer,
    Envelope,
    SetAnswers,
    build_271,
    read_270,
)
from tests.api.conftest import MakeApi, bearer, make_api  # noqa: F401 (fixture)
from tests.api.test_eligibility import no_phi
from tests.payers.test_eligibility import validate_271
from tests.pipeline.test_inquiries import file_270, one_set


class PayerEndpoint(resource.Resource):
    """A CORE payer: answers each 270 with an active 271; ``mode`` slow/fault/error."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.seen: list[Any] = []

    def render_POST(self, request: Any) -> Any:
        parsed = parse_soap(request.content.read())
        self.seen.append(parsed)
        request.setHeader(b"content-type", b"application/soap+xml")
        if self.mode == "slow":
            return server.NOT_DONE_YET  # never answers
        if self.mode == "fault":
            request.setResponseCode(400)
            return soap_fault("UnAuthorized: no", core_code="UnAuthorized")
        payload = parsed.payload or b""
        sets = []
        for ts in iter_transaction_sets(payload):
            answers = tuple(
                EligibilityAnswer(r, payer_name="EXTERNAL PAYER", active=True,
                                  plan_name="EXT GOLD", benefits=(Benefit("1", ("30",)),))
                for r in read_270(ts.segments, ts.delimiters)
            )  # fmt: skip
            sets.append(SetAnswers(answers[0].request.reference, answers))
        now = datetime(2026, 6, 1, tzinfo=UTC)
        x12 = build_271(sets, Envelope("ZZ", "EXT01PAYER", "ZZ", "CLEARINGHOUSE", 77, "T", now))
        answer = response_for(parsed, Operation.REALTIME, gateway_id="EXT01",
                              now=now, payload_type="X12_271_Response_005010X279A1",
                              payload=x12)  # fmt: skip
        return soap_response(answer)


async def setup(
    make: MakeApi, timeout: float, endpoint: Any = None
) -> tuple[Any, PayerEndpoint, Any]:
    """The API with ext01 given a CORE endpoint: ``endpoint`` (a 270 payer by default)."""
    endpoint = endpoint or PayerEndpoint()
    port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(server.Site(endpoint))
    partners = load_partners(PROJECT_ROOT / "partners")
    url = f"http://127.0.0.1:{port.getHost().port}/core"
    ext = dataclasses.replace(
        partners.partners["ext01"], core=CoreEndpoint(url, "CLEARINGHOUSE", "", timeout)
    )
    api = await make(partners=PartnerSet({**partners.partners, "ext01": ext}))
    return api, endpoint, port


def ext_270(control: int) -> bytes:
    return file_270(one_set("0001", "FWD-1", "MBR123456780", payer="EXT01"), control=control)


@pytest_twisted.ensureDeferred
async def test_forwarded_to_the_payers_core_endpoint(make_api: MakeApi) -> None:  # noqa: F811
    api, endpoint, port = await setup(make_api, timeout=5.0)
    try:
        answer = await api.call("POST", "/api/v1/x12", ext_270(6601), bearer())
        assert answer.status == 200, answer.body
        assert validate_271(answer.body) == []
        assert b"EXTERNAL PAYER" in answer.body and b"TRN*2*FWD-1*" in answer.body
        assert b"*ZZ*CLEARINGHOUSE  *ZZ*DEMOBILLING    *" in answer.body
        (seen,) = endpoint.seen
        assert seen.get("ReceiverID") == "EXT01" and seen.username == "CLEARINGHOUSE"
        assert b"*ZZ*EXT01PAYER     *" in (seen.payload or b"")
        assert b"GS*HS*CLEARINGHOUSE*EXT01PAYER*" in (seen.payload or b"")
        (event,) = api.named("eligibility.answered")
        assert event["outcome"] == "forwarded" and event["trn02"] == "FWD-1"
        no_phi(api.events)
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_timeout_and_faults_answer_aaa_42(make_api: MakeApi) -> None:  # noqa: F811
    api, endpoint, port = await setup(make_api, timeout=0.3)
    try:
        for n, mode in enumerate(("slow", "fault")):
            endpoint.mode = mode
            answer = await api.call("POST", "/api/v1/x12", ext_270(6610 + n), bearer())
            assert answer.status == 200, answer.body
            assert validate_271(answer.body) == []
            assert b"AAA*Y**42*" in answer.body or b"AAA*N**42*" in answer.body
        reasons = [e["reason"] for e in api.named("eligibility.forward.failed")]
        assert reasons[0] == "no answer within 0.3 s" and reasons[1].startswith("SOAP fault")
        assert [e["outcome"] for e in api.named("eligibility.answered")] == ["aaa:42"] * 2
    finally:
        await port.stopListening()
