"""The CORE envelopes, pure: parse (SOAP and MIME), CORE's rules in order, the answers."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from gateway.caqh.envelope import (
    CoreError,
    CoreRequest,
    Malformed,
    Operation,
    check_fields,
    encode_form,
    parse_mime,
    parse_mime_response,
    parse_soap,
    parse_soap_response,
    response_for,
    soap_fault,
    soap_request,
    soap_response,
)
from gateway.caqh.payloads import by_request, by_results, known_payload_types
from gateway.caqh.wsdl import wsdl

PAYLOAD = b"ISA*00*...~"
TYPES = ["X12_270_Request_005010X279A1"]


def meta(**changes: str) -> list[tuple[str, str]]:
    base = {
        "PayloadType": TYPES[0],
        "ProcessingMode": "RealTime",
        "PayloadID": str(uuid.uuid4()),
        "TimeStamp": "2026-06-01T10:20:34Z",
        "SenderID": "demo-billing",
        "ReceiverID": "CLEARINGHOUSE",
        "CORERuleVersion": "2.2.0",
    }
    base.update(changes)
    return [(k, v) for k, v in base.items() if v]


def check(request: CoreRequest) -> object:
    return check_fields(
        request, payload_types=TYPES, senders={"demo-billing"}, receivers={"CLEARINGHOUSE"}
    )


def soap(operation: Operation = Operation.REALTIME, payload: bytes | None = PAYLOAD,
         **changes: str) -> CoreRequest:  # fmt: skip
    body = soap_request(operation, meta(**changes), payload, username="u", password="p")
    return parse_soap(body)


def test_soap_round_trip_and_credentials() -> None:
    request = soap()
    assert request.username == "u" and request.password == "p"
    assert request.payload == PAYLOAD and request.operation is Operation.REALTIME
    checked = check(request)
    assert checked.payload == PAYLOAD  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"PayloadID": ""}, "PayloadIDRequired"),
        ({"PayloadType": ""}, "PayloadTypeRequired"),
        ({"CORERuleVersion": ""}, "CORERuleVersionRequired"),
        ({"PayloadType": "X12_276_Request_005010X212"}, "PayloadTypeIllegal"),
        ({"ProcessingMode": "Later"}, "ProcessingModeIllegal"),
        ({"PayloadID": "1234"}, "PayloadIDIllegal"),
        ({"TimeStamp": "2026-13-01T00:00:00Z"}, "TimeStampIllegal"),
        ({"SenderID": "other"}, "SenderIDIllegal"),
        ({"ReceiverID": "SOMEONE"}, "ReceiverIDIllegal"),
        ({"CORERuleVersion": "2.1.0"}, "VersionMismatch"),
        ({"CheckSum": "ab" * 20}, "ChecksumMismatch"),
        ({"PayloadLength": "3"}, "PayloadLengthIllegal"),
    ],
)
def test_core_error_codes(changes: dict[str, str], code: str) -> None:
    with pytest.raises(CoreError) as caught:
        check(soap(**changes))
    assert caught.value.code == code and caught.value.message


def test_payload_required_and_batch_rules() -> None:
    with pytest.raises(CoreError, match="Payload is required"):
        check(soap(payload=None))
    digest = hashlib.sha1(PAYLOAD).hexdigest()  # noqa: S324 - CORE's checksum
    batch = soap(Operation.BATCH_SUBMIT, ProcessingMode="Batch",
                 PayloadLength=str(len(PAYLOAD)), CheckSum=digest.upper())  # fmt: skip
    assert check(batch).payload == PAYLOAD  # type: ignore[attr-defined]
    with pytest.raises(CoreError) as caught:
        check(soap(Operation.BATCH_SUBMIT, ProcessingMode="Batch", CheckSum=digest))
    assert caught.value.code == "PayloadLengthRequired"


def test_malformed_and_hostile_xml() -> None:
    for body in (
        b"<x",
        b"<a/>",
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"/>',
    ):
        with pytest.raises(Malformed):
            parse_soap(body)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<l>&b;</l>")  # fmt: skip
    with pytest.raises(Malformed):
        parse_soap(bomb)
    soap11 = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
    )
    with pytest.raises(Malformed) as caught:
        parse_soap(soap11)
    assert caught.value.soap_version


def test_mime_fields_and_answer() -> None:
    parts = [(k, v.encode()) for k, v in meta()] + [
        ("UserName", b"demo-billing"), ("Password", b"tok.en"), ("Payload", PAYLOAD),
    ]  # fmt: skip
    request = parse_mime("multipart/form-data; boundary=B0", encode_form(parts, "B0"))
    assert request.username == "demo-billing" and request.password == "tok.en"
    assert request.payload == PAYLOAD and check(request)
    with pytest.raises(Malformed):
        parse_mime("multipart/form-data; boundary=B0", b"garbage")
    from datetime import UTC, datetime

    response = response_for(request, Operation.REALTIME, gateway_id="CLEARINGHOUSE",
                            now=datetime(2026, 6, 1, tzinfo=UTC), payload_type="X",
                            payload=b"271")  # fmt: skip
    from gateway.caqh.envelope import mime_response

    content_type, body = mime_response(response)
    fields = parse_mime_response(content_type, body)
    assert fields["PayloadID"] == request.get("PayloadID").encode()
    assert fields["ReceiverID"] == b"demo-billing" and fields["Payload"] == b"271"
    parsed = parse_soap_response(soap_response(response))
    assert parsed.fields["ErrorCode"] == "Success" and parsed.payload == b"271"
    fault = parse_soap_response(soap_fault("UnAuthorized: no", core_code="UnAuthorized"))
    assert "UnAuthorized" in fault.fault


def test_registry_and_wsdl() -> None:
    kind = by_request("X12_270_Request_005010X279A1")
    assert kind is not None and kind.st01 == "270" and kind.response.startswith("X12_271")
    assert by_results("X12_005010_Request_Batch_Results_271") is kind
    assert "X12_005010_Request_Batch_Results_271" in known_payload_types()
    text = wsdl("http://h/core")
    assert b'location="http://h/core"' in text and b"BatchSubmitTransaction" in text
