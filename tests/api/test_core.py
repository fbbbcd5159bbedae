"""CAQH CORE at /core over the real site (port 0, real core, simulated payers): zeep (an
independent SOAP 1.2 client with WS-Security) and MIME form posts; the CORE error codes."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest_twisted
import zeep
from twisted.internet import threads
from zeep.wsse.username import UsernameToken

from gateway.caqh.envelope import encode_form, parse_mime_response
from tests.api.conftest import DEMO_TOKEN, EXT01_TOKEN, Api, MakeApi
from tests.api.test_eligibility import no_phi, x12_270
from tests.caqh.test_envelope import meta
from tests.payers.test_eligibility import validate_271


def fields(**changes: str) -> dict[str, str]:
    return dict(meta(**changes))


def soap_client(api: Api, user: str = "demo-billing", password: str = DEMO_TOKEN) -> Any:
    return zeep.Client(
        f"http://127.0.0.1:{api.number}/core?wsdl", wsse=UsernameToken(user, password)
    )


def soap_call(api: Api, payload: str, user: str = "demo-billing", password: str = DEMO_TOKEN,
              **changes: str) -> Any:  # fmt: skip
    client = soap_client(api, user, password)
    return client.service.RealTimeTransaction(**fields(**changes), Payload=payload)


def mime_post(
    api: Api, payload: bytes | None, user: str = "demo-billing", password: str = DEMO_TOKEN,
    **changes: str,
) -> tuple[int, dict[str, bytes]]:  # fmt: skip
    import http.client

    parts = [(k, v.encode()) for k, v in fields(**changes).items()]
    parts += [("UserName", user.encode()), ("Password", password.encode())]
    if payload is not None:
        parts.append(("Payload", payload))
    body = encode_form(parts, "XbOuNdArY")
    conn = http.client.HTTPConnection("127.0.0.1", api.number, timeout=10)
    try:
        conn.request("POST", "/core", body,
                     {"Content-Type": "multipart/form-data; boundary=XbOuNdArY"})  # fmt: skip
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, parse_mime_response(answer.getheader("content-type", ""), data)
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_zeep_real_time_270_gets_a_271(make_api: MakeApi) -> None:
    api = await make_api()
    payload_id = str(uuid.uuid4())
    answer = await threads.deferToThread(soap_call, api, x12_270().decode(), PayloadID=payload_id)
    assert answer.ErrorCode == "Success", answer.ErrorMessage
    assert answer.PayloadType == "X12_271_Response_005010X279A1"
    assert answer.PayloadID == payload_id and answer.ProcessingMode == "RealTime"
    assert answer.SenderID == "CLEARINGHOUSE" and answer.ReceiverID == "demo-billing"
    assert answer.CORERuleVersion == "2.2.0"
    assert validate_271(answer.Payload.encode()) == []
    assert b"TRN*2*" in answer.Payload.encode()
    (event,) = api.named("eligibility.answered")
    assert event["channel"] == "core-soap" and event["payload_id"] == payload_id
    for key in ("isa06", "isa08", "isa13", "gs02", "gs03", "gs06", "st02", "trn02", "bht03"):
        assert event[key], key
    no_phi(api.events)


@pytest_twisted.ensureDeferred
async def test_zeep_core_errors(make_api: MakeApi) -> None:
    api = await make_api()
    payload = x12_270().decode()
    cases = [
        ({"PayloadType": "X12_999_Nonsense"}, "PayloadTypeIllegal"),
        ({"PayloadID": "not-a-uuid"}, "PayloadIDIllegal"),
        ({"SenderID": "someone-else"}, "SenderIDIllegal"),
        ({"ReceiverID": "NOBODY"}, "ReceiverIDIllegal"),
        ({"CORERuleVersion": "2.1.0"}, "VersionMismatch"),
        ({"TimeStamp": "yesterday"}, "TimeStampIllegal"),
        ({"ProcessingMode": "Batch"}, "ProcessingModeIllegal"),
    ]
    for changes, code in cases:
        answer = await threads.deferToThread(soap_call, api, payload, **changes)
        assert answer.ErrorCode == code, (changes, answer.ErrorMessage)
        assert answer.ErrorMessage and answer.Payload is None
    wrong = await threads.deferToThread(soap_call, api, "ISA*this is no 270~")
    assert wrong.ErrorCode == "PayloadTypeIllegal"
    try:
        await threads.deferToThread(soap_call, api, payload, password=EXT01_TOKEN)
    except zeep.exceptions.Fault as fault:
        assert "UnAuthorized" in fault.message
    else:
        raise AssertionError("a partner's token for another user name must fail")
    assert [f["reason"] for f in api.named("core.auth.failed")] == ["user_mismatch"]
    assert {e["error"] for e in api.named("core.rejected")} >= {"PayloadIDIllegal"}
    text = api.metrics.render().decode()
    assert 'gateway_core_errors_total{channel="core-soap",error="PayloadIDIllegal"} 1.0' in text
    assert 'gateway_core_errors_total{channel="core-soap",error="UnAuthorized"} 1.0' in text


@pytest_twisted.ensureDeferred
async def test_mime_real_time_and_errors(make_api: MakeApi) -> None:
    api = await make_api()
    payload = x12_270()
    status, answer = await threads.deferToThread(
        mime_post,
        api,
        payload,
        Checksum=hashlib.sha1(payload).hexdigest(),  # noqa: S324 - CORE
    )
    assert status == 200 and answer["ErrorCode"] == b"Success", answer
    assert answer["PayloadType"] == b"X12_271_Response_005010X279A1"
    assert validate_271(answer["Payload"]) == []
    status, answer = await threads.deferToThread(mime_post, api, payload, Checksum="00" * 20)
    assert status == 200 and answer["ErrorCode"] == b"ChecksumMismatch"
    status, answer = await threads.deferToThread(mime_post, api, payload, PayloadID="")
    assert answer["ErrorCode"] == b"PayloadIDRequired"
    status, answer = await threads.deferToThread(mime_post, api, None)
    assert answer["ErrorCode"] == b"PayloadRequired"
    status, answer = await threads.deferToThread(mime_post, api, payload, password="x.y")
    assert status == 401 and answer["ErrorCode"] == b"UnAuthorized"
    status, answer = await threads.deferToThread(
        mime_post, api, payload, user="nobody", password=DEMO_TOKEN
    )
    assert status == 401 and answer["ErrorCode"] == b"UnAuthorized"
    events = [e["channel"] for e in api.named("eligibility.answered")]
    assert events == ["core-mime"]
    no_phi(api.events)


@pytest_twisted.ensureDeferred
async def test_wsdl_and_broken_envelopes(make_api: MakeApi) -> None:
    api = await make_api()
    wsdl = await api.call("GET", "/core?wsdl")
    assert wsdl.status == 200 and b"RealTimeTransaction" in wsdl.body
    assert f"127.0.0.1:{api.number}/core".encode() in wsdl.body
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&e;</e:Body>'
        b"</e:Envelope>"
    )
    soap = {"Content-Type": "application/soap+xml; charset=utf-8"}
    for body in (xxe, b"<not xml", b"<a/>"):
        answer = await api.call("POST", "/core", body, soap)
        assert answer.status == 400 and b"Fault" in answer.body
        assert b"root:" not in answer.body
    answer = await api.call("POST", "/core", b"x", {"Content-Type": "text/plain"})
    assert answer.status == 415
    answer = await api.call("PUT", "/core", b"x", soap)
    assert answer.status == 405
