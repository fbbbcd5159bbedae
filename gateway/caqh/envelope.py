"""CAQH CORE Connectivity vC2.2.0 envelopes: parse, check, answer. PURE.

Two envelopes carry the same fields (CORE's "envelope metadata"):

- **SOAP 1.2** (``application/soap+xml``): ``soapenv:Header/wsse:Security/wsse:UsernameToken``
  (Username, Password of type PasswordText) and in the Body one of
  ``COREEnvelopeRealTimeRequest``, ``COREEnvelopeBatchSubmission``,
  ``COREEnvelopeBatchResultsRetrievalRequest`` (namespace :data:`CORE_NS`, children
  unqualified, as in the CORE XSD); read with defusedxml (no DTDs, no entities: XXE is refused),
  written with lxml.
- **HTTP MIME multipart** (``multipart/form-data``): form fields PayloadType, ProcessingMode,
  PayloadID, TimeStamp, UserName, Password, SenderID, ReceiverID, CORERuleVersion, Payload
  (and for Batch PayloadLength, Checksum); read with the standard library's email parser.

:func:`check_fields` applies CORE's rules in CORE's order and raises :class:`CoreError` with the
CORE error code (``PayloadIDRequired``, ``PayloadIDIllegal``, ``VersionMismatch``,
``ChecksumMismatch``, ``SenderIDIllegal``...). Authentication (``UnAuthorized``) is the edge's
job (the password is one of the partner's API tokens); its answer is built here:
:func:`soap_fault` for SOAP (``wsse:FailedAuthentication``), a MIME answer with ErrorCode
``UnAuthorized`` for MIME.

Checksum is the SHA-1 of the payload as sent, in hex (either case); PayloadLength is its
length in bytes. A RealTime payload is text; a Batch payload is base64 in SOAP (the CORE XSD's
``xs:base64Binary``; MTOM/XOP attachments are not read) and the raw bytes in MIME.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from enum import StrEnum
from typing import Any

import defusedxml.ElementTree as SafeET
from lxml import etree

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
CORE_NS = "http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSS_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = WSS_PROFILE + "#PasswordText"  # the WS-Security type URI
RULE_VERSION = "2.2.0"
REALTIME, BATCH = "RealTime", "Batch"


class Operation(StrEnum):
    REALTIME = "RealTimeTransaction"
    BATCH_SUBMIT = "BatchSubmitTransaction"
    BATCH_RESULTS = "BatchResultsRetrievalTransaction"


REQUEST_ELEMENTS: Mapping[str, Operation] = {
    "COREEnvelopeRealTimeRequest": Operation.REALTIME,
    "COREEnvelopeBatchSubmission": Operation.BATCH_SUBMIT,
    "COREEnvelopeBatchResultsRetrievalRequest": Operation.BATCH_RESULTS,
}
RESPONSE_ELEMENTS: Mapping[Operation, str] = {
    Operation.REALTIME: "COREEnvelopeRealTimeResponse",
    Operation.BATCH_SUBMIT: "COREEnvelopeBatchSubmissionResponse",
    Operation.BATCH_RESULTS: "COREEnvelopeBatchResultsRetrievalResponse",
}

#: The CORE error codes this gateway answers, with plain words.
ERROR_CODES: Mapping[str, str] = {
    "Success": "the envelope was processed",
    "UnAuthorized": "the user name or password is not valid for this sender",
    "PayloadTypeRequired": "PayloadType is required",
    "PayloadTypeIllegal": "PayloadType is not one this endpoint processes",
    "ProcessingModeRequired": "ProcessingMode is required",
    "ProcessingModeIllegal": "ProcessingMode must be RealTime or Batch",
    "PayloadIDRequired": "PayloadID is required",
    "PayloadIDIllegal": "PayloadID must be a UUID (RFC 4122)",
    "TimeStampRequired": "TimeStamp is required",
    "TimeStampIllegal": "TimeStamp must be an xs:dateTime",
    "SenderIDRequired": "SenderID is required",
    "SenderIDIllegal": "SenderID is not this user's",
    "ReceiverIDRequired": "ReceiverID is required",
    "ReceiverIDIllegal": "ReceiverID is not this gateway nor a payer it reaches",
    "CORERuleVersionRequired": "CORERuleVersion is required",
    "VersionMismatch": f"CORERuleVersion must be {RULE_VERSION}",
    "PayloadRequired": "Payload is required",
    "PayloadLengthRequired": "PayloadLength is required for Batch",
    "PayloadLengthIllegal": "PayloadLength does not match the payload",
    "ChecksumRequired": "Checksum (SHA-1) is required for Batch",
    "ChecksumMismatch": "Checksum is not the SHA-1 of the payload",
    "PayloadIDDuplicate": "this PayloadID was received before",
    "Unavailable": "the gateway is busy; retry later",
    "ServerError": "the request could not be processed",
}

FIELDS = (
    "PayloadType",
    "ProcessingMode",
    "PayloadID",
    "PayloadLength",
    "TimeStamp",
    "SenderID",
    "ReceiverID",
    "CORERuleVersion",
    "CheckSum",
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ID = re.compile(r"[A-Za-z0-9 ._\-@:/]{1,80}")
MAX_FIELD = 1024


class CoreError(Exception):
    """A CORE envelope error: :attr:`code` is CORE's ErrorCode."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or ERROR_CODES.get(code, code))
        self.code = code
        self.message = message or ERROR_CODES.get(code, code)


class Malformed(Exception):
    """Not a CORE envelope at all (broken XML or multipart, no CORE body element)."""

    def __init__(self, message: str, *, soap_version: bool = False) -> None:
        super().__init__(message)
        self.soap_version = soap_version
        """A SOAP 1.1 envelope (SOAP fault code VersionMismatch)."""


@dataclass(frozen=True)
class CoreRequest:
    envelope: str
    """``soap`` or ``mime``."""
    operation: Operation
    fields: Mapping[str, str]
    """The metadata as sent (``CheckSum`` also for MIME's ``Checksum``)."""
    payload: bytes | None
    """None: no Payload (empty text counts as none)."""
    username: str = ""
    password: str = ""
    password_type: str = PASSWORD_TEXT

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


def _local(tag: Any) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1] if "}" in text else text


def _ns(tag: Any) -> str:
    text = str(tag)
    return text[1:].split("}", 1)[0] if text.startswith("{") else ""


def parse_soap(body: bytes) -> CoreRequest:
    """The CORE request in a SOAP 1.2 envelope, or :class:`Malformed`."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True)
    except SafeET.ParseError as exc:
        raise Malformed(f"the body is not well-formed XML ({exc})") from exc
    except Exception as exc:  # defusedxml's DTD/entity refusals
        raise Malformed(f"the XML is refused: {type(exc).__name__}") from exc
    if _local(root.tag) != "Envelope":
        raise Malformed("the XML is not a SOAP envelope")
    if _ns(root.tag) == SOAP11_NS:
        raise Malformed("CORE uses SOAP 1.2, not SOAP 1.1", soap_version=True)
    if _ns(root.tag) != SOAP12_NS:
        raise Malformed("the XML is not a SOAP 1.2 envelope")
    header = next((c for c in root if _local(c.tag) == "Header"), None)
    body_el = next((c for c in root if _local(c.tag) == "Body"), None)
    if body_el is None:
        raise Malformed("the SOAP envelope has no Body")
    found = next((c for c in body_el if _local(c.tag) in REQUEST_ELEMENTS), None)
    if found is None:
        names = ", ".join(REQUEST_ELEMENTS)
        raise Malformed(f"the SOAP Body holds none of {names}")
    fields: dict[str, str] = {}
    payload: bytes | None = None
    operation = REQUEST_ELEMENTS[_local(found.tag)]
    for child in found:
        name = _local(child.tag)
        text = (child.text or "").strip() if name != "Payload" else (child.text or "")
        if name == "Payload":
            if len(child):
                raise Malformed("the Payload holds elements (MTOM/XOP attachments are not read)")
            payload = _soap_payload(text, operation) if text.strip() else None
        elif name in FIELDS or name == "Checksum":
            fields["CheckSum" if name == "Checksum" else name] = text[:MAX_FIELD]
    username = password = ""
    password_type = PASSWORD_TEXT
    if header is not None:
        for token in header.iter(f"{{{WSSE_NS}}}UsernameToken"):
            user_el = token.find(f"{{{WSSE_NS}}}Username")
            pass_el = token.find(f"{{{WSSE_NS}}}Password")
            username = (user_el.text or "").strip() if user_el is not None else ""
            if pass_el is not None:
                password = (pass_el.text or "").strip()
                password_type = pass_el.get("Type") or PASSWORD_TEXT
            break
    return CoreRequest("soap", operation, fields, payload, username, password, password_type)


def _soap_payload(text: str, operation: Operation) -> bytes:
    if operation is Operation.BATCH_SUBMIT:
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CoreError("PayloadRequired", "a Batch Payload must be base64") from exc
    return text.encode("utf-8")


def parse_mime(content_type: str, body: bytes) -> CoreRequest:
    """The CORE request in a ``multipart/form-data`` body, or :class:`Malformed`."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.get_content_subtype() != "form-data":
        raise Malformed("the body is not multipart/form-data")
    fields: dict[str, str] = {}
    payload: bytes | None = None
    username = password = ""
    parts = list(message.iter_parts())
    if not parts or message.defects:
        raise Malformed("the multipart body has no parts or is broken")
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        raw = part.get_payload(decode=True)
        value = raw if isinstance(raw, bytes) else b""
        if name == "Payload":
            payload = value or None
            continue
        text = value.decode("utf-8", "replace").strip()[:MAX_FIELD]
        if name == "UserName":
            username = text
        elif name == "Password":
            password = text
        elif name in FIELDS or name == "Checksum":
            fields["CheckSum" if name == "Checksum" else name] = text
    if fields.get("ProcessingMode") == BATCH:
        operation = (
            Operation.BATCH_RESULTS
            if payload is None and fields.get("PayloadType", "").find("Batch_Results") >= 0
            else Operation.BATCH_SUBMIT
        )
    else:
        operation = Operation.REALTIME
    return CoreRequest("mime", operation, fields, payload, username, password)


@dataclass(frozen=True)
class Checked:
    """A request whose envelope passed :func:`check_fields`."""

    payload_type: str
    processing_mode: str
    payload_id: str
    timestamp: datetime
    sender_id: str
    receiver_id: str
    payload: bytes


def check_fields(
    request: CoreRequest,
    *,
    payload_types: Collection[str],
    senders: Collection[str],
    receivers: Collection[str],
) -> Checked:
    """CORE's envelope rules, in CORE's order (required, then legal, then version, then the
    payload's length and checksum); :class:`CoreError` names the first one broken."""
    get = request.get
    for name in ("PayloadType", "ProcessingMode", "PayloadID", "TimeStamp", "SenderID",
                 "ReceiverID", "CORERuleVersion"):  # fmt: skip
        if not get(name):
            raise CoreError(f"{name}Required")
    if get("PayloadType") not in payload_types:
        raise CoreError(
            "PayloadTypeIllegal",
            f"PayloadType {get('PayloadType')[:80]!r} is not one this endpoint processes "
            f"({', '.join(payload_types)})",
        )
    expected_mode = REALTIME if request.operation is Operation.REALTIME else BATCH
    if get("ProcessingMode") != expected_mode:
        raise CoreError(
            "ProcessingModeIllegal",
            f"ProcessingMode must be {expected_mode} for {request.operation.value}",
        )
    if not _UUID.fullmatch(get("PayloadID")):
        raise CoreError("PayloadIDIllegal")
    timestamp = parse_timestamp(get("TimeStamp"))
    if timestamp is None:
        raise CoreError("TimeStampIllegal")
    if not _ID.fullmatch(get("SenderID")) or get("SenderID") not in senders:
        raise CoreError("SenderIDIllegal", f"SenderID {get('SenderID')[:80]!r} is not this user's")
    if not _ID.fullmatch(get("ReceiverID")) or get("ReceiverID") not in receivers:
        raise CoreError(
            "ReceiverIDIllegal",
            f"ReceiverID {get('ReceiverID')[:80]!r} is not this gateway nor a payer it reaches",
        )
    if get("CORERuleVersion") != RULE_VERSION:
        raise CoreError(
            "VersionMismatch",
            f"CORERuleVersion {get('CORERuleVersion')[:20]!r}: this endpoint speaks {RULE_VERSION}",
        )
    payload = request.payload
    needs_payload = request.operation is not Operation.BATCH_RESULTS
    if needs_payload and payload is None:
        raise CoreError("PayloadRequired")
    data = payload or b""
    if request.operation is Operation.BATCH_SUBMIT:
        if not get("PayloadLength"):
            raise CoreError("PayloadLengthRequired")
        if not get("CheckSum"):
            raise CoreError("ChecksumRequired")
    if get("PayloadLength") and get("PayloadLength") != str(len(data)):
        raise CoreError(
            "PayloadLengthIllegal",
            f"PayloadLength {get('PayloadLength')[:20]!r}, the payload has {len(data)} bytes",
        )
    if get("CheckSum") and get("CheckSum").lower() != hashlib.sha1(data).hexdigest():  # noqa: S324 - CORE's checksum
        raise CoreError("ChecksumMismatch")
    return Checked(
        get("PayloadType"),
        get("ProcessingMode"),
        get("PayloadID"),
        timestamp,
        get("SenderID"),
        get("ReceiverID"),
        data,
    )


def parse_timestamp(value: str) -> datetime | None:
    """An xs:dateTime (``2026-06-01T10:20:34Z``, offsets allowed; no zone: UTC)."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


def new_payload_id() -> str:
    return str(uuid.uuid4())


def timestamp_text(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class CoreResponse:
    operation: Operation
    payload_type: str
    processing_mode: str
    payload_id: str
    timestamp: str
    sender_id: str
    receiver_id: str
    payload: bytes | None = None
    error_code: str = "Success"
    error_message: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    """More fields before Payload (PayloadLength, CheckSum of a batch answer)."""

    def ordered(self) -> list[tuple[str, str]]:
        out = [
            ("PayloadType", self.payload_type),
            ("ProcessingMode", self.processing_mode),
            ("PayloadID", self.payload_id),
        ]
        if "PayloadLength" in self.extra:
            out.append(("PayloadLength", self.extra["PayloadLength"]))
        out += [
            ("TimeStamp", self.timestamp),
            ("SenderID", self.sender_id),
            ("ReceiverID", self.receiver_id),
            ("CORERuleVersion", RULE_VERSION),
        ]
        if "CheckSum" in self.extra:
            out.append(("CheckSum", self.extra["CheckSum"]))
        return out


def response_for(
    request: CoreRequest | None,
    operation: Operation,
    *,
    gateway_id: str,
    now: datetime,
    payload_type: str = "",
    payload: bytes | None = None,
    error: CoreError | None = None,
    extra: Mapping[str, str] | None = None,
) -> CoreResponse:
    """The answer to ``request`` (echoing its PayloadID; sender and receiver swapped)."""
    get = request.get if request is not None else (lambda name: "")
    payload_id = get("PayloadID") if is_uuid(get("PayloadID")) else new_payload_id()
    mode = REALTIME if operation is Operation.REALTIME else BATCH
    return CoreResponse(
        operation,
        payload_type or get("PayloadType")[:80],
        mode,
        payload_id,
        timestamp_text(now),
        gateway_id,
        get("SenderID")[:80],
        payload,
        error.code if error is not None else "Success",
        error.message if error is not None else "",
        dict(extra or {}),
    )


def _binary_payload(response: CoreResponse) -> bool:
    return response.operation is not Operation.REALTIME


def soap_response(response: CoreResponse) -> bytes:
    """The SOAP 1.2 envelope of ``response``."""
    nsmap = {"soapenv": SOAP12_NS, "cor": CORE_NS}
    envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap=nsmap)
    etree.SubElement(envelope, f"{{{SOAP12_NS}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body")
    answer = etree.SubElement(body, f"{{{CORE_NS}}}{RESPONSE_ELEMENTS[response.operation]}")
    for name, value in response.ordered():
        etree.SubElement(answer, name).text = value
    if response.payload is not None:
        element = etree.SubElement(answer, "Payload")
        if _binary_payload(response):
            element.text = base64.b64encode(response.payload).decode("ascii")
        else:
            element.text = response.payload.decode("utf-8", "replace")
    etree.SubElement(answer, "ErrorCode").text = response.error_code
    etree.SubElement(answer, "ErrorMessage").text = response.error_message
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def soap_fault(
    reason: str, *, code: str = "Sender", subcode: tuple[str, str] | None = None,
    core_code: str = "",
) -> bytes:  # fmt: skip
    """A SOAP 1.2 Fault (``code``: Sender, Receiver, VersionMismatch); ``subcode`` is a
    (namespace, local name) pair such as WS-Security's FailedAuthentication; ``core_code``
    goes into the Detail as a CORE ErrorCode."""
    nsmap = {"soapenv": SOAP12_NS, "wsse": WSSE_NS, "cor": CORE_NS}
    envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP12_NS}}}Fault")
    code_el = etree.SubElement(fault, f"{{{SOAP12_NS}}}Code")
    etree.SubElement(code_el, f"{{{SOAP12_NS}}}Value").text = f"soapenv:{code}"
    if subcode is not None:
        sub = etree.SubElement(code_el, f"{{{SOAP12_NS}}}Subcode")
        prefix = "wsse" if subcode[0] == WSSE_NS else "cor"
        etree.SubElement(sub, f"{{{SOAP12_NS}}}Value").text = f"{prefix}:{subcode[1]}"
    reason_el = etree.SubElement(fault, f"{{{SOAP12_NS}}}Reason")
    text = etree.SubElement(reason_el, f"{{{SOAP12_NS}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    if core_code:
        detail = etree.SubElement(fault, f"{{{SOAP12_NS}}}Detail")
        etree.SubElement(detail, f"{{{CORE_NS}}}ErrorCode").text = core_code
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def mime_response(response: CoreResponse) -> tuple[str, bytes]:
    """``(content type, body)`` of ``response`` as multipart/form-data."""
    boundary = "core-" + secrets.token_hex(12)
    parts: list[tuple[str, bytes]] = [(k, v.encode("utf-8")) for k, v in response.ordered()]
    if response.payload is not None:
        parts.append(("Payload", response.payload))
    parts += [
        ("ErrorCode", response.error_code.encode()),
        ("ErrorMessage", response.error_message.encode("utf-8")),
    ]
    return f"multipart/form-data; boundary={boundary}", encode_form(parts, boundary)


def encode_form(parts: Sequence[tuple[str, bytes]], boundary: str) -> bytes:
    out = bytearray()
    for name, value in parts:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def parse_mime_response(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a MIME answer (clients and tests)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    out: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        raw = part.get_payload(decode=True)
        if isinstance(name, str):
            out[name] = raw if isinstance(raw, bytes) else b""
    return out


def soap_request(
    operation: Operation,
    fields: Sequence[tuple[str, str]],
    payload: bytes | None,
    *,
    username: str,
    password: str,
) -> bytes:
    """A SOAP 1.2 CORE request (the gateway as a client of an external payer's endpoint)."""
    nsmap = {"soapenv": SOAP12_NS, "cor": CORE_NS, "wsse": WSSE_NS}
    envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Header")
    security = etree.SubElement(header, f"{{{WSSE_NS}}}Security")
    security.set(f"{{{SOAP12_NS}}}mustUnderstand", "true")
    token = etree.SubElement(security, f"{{{WSSE_NS}}}UsernameToken")
    etree.SubElement(token, f"{{{WSSE_NS}}}Username").text = username
    password_el = etree.SubElement(token, f"{{{WSSE_NS}}}Password")
    password_el.set("Type", PASSWORD_TEXT)
    password_el.text = password
    body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body")
    name = next(k for k, v in REQUEST_ELEMENTS.items() if v is operation)
    request = etree.SubElement(body, f"{{{CORE_NS}}}{name}")
    for key, value in fields:
        etree.SubElement(request, key).text = value
    if payload is not None:
        element = etree.SubElement(request, "Payload")
        if operation is Operation.BATCH_SUBMIT:
            element.text = base64.b64encode(payload).decode("ascii")
        else:
            element.text = payload.decode("utf-8", "replace")
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


@dataclass(frozen=True)
class ParsedResponse:
    fields: Mapping[str, str]
    payload: bytes | None
    fault: str = ""


def parse_soap_response(body: bytes) -> ParsedResponse:
    """A CORE SOAP answer (of an external payer), or :class:`Malformed`."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True)
    except Exception as exc:
        raise Malformed(f"the answer is not well-formed XML ({type(exc).__name__})") from exc
    body_el = next((c for c in root if _local(c.tag) == "Body"), None)
    if _local(root.tag) != "Envelope" or body_el is None:
        raise Malformed("the answer is not a SOAP envelope")
    for child in body_el:
        if _local(child.tag) == "Fault":
            reason = " ".join(t.strip() for t in child.itertext() if t.strip())
            return ParsedResponse({}, None, fault=reason[:300] or "SOAP fault")
        if _local(child.tag) in RESPONSE_ELEMENTS.values():
            fields: dict[str, str] = {}
            payload: bytes | None = None
            for item in child:
                name = _local(item.tag)
                if name == "Payload":
                    payload = (item.text or "").encode("utf-8") or None
                else:
                    fields[name] = (item.text or "").strip()
            return ParsedResponse(fields, payload)
    raise Malformed("the answer holds no CORE response")
