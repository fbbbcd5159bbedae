"""Requests for additional information and the attachments that answer them. PURE: no I/O,
no clock (``now`` is passed in), no Twisted.

Two transaction sets of issue 9:

- the **277 Request for Additional Information** (``005010X213``): a payer asks the provider
  for documentation of a claim, each document as a LOINC code (STC01-2 under the code list
  qualifier ``LOI``, a LOINC modifier in STC01-3), with a response due date.
  :func:`write_277_rfai` writes one (the gateway acting for an in-house payer);
  :func:`read_277_rfai` reads one from an external payer (to match it to the claim and
  forward it to the provider);
- the **275 Additional Information to Support a Health Care Claim or Encounter**
  (``005010X210``): the provider answers with the document (PDF/TIFF/JPEG...) in a ``BIN``
  segment. :func:`read_275` reads the attachments of a 275 set (the payload bytes exactly as
  sent: the tokenizer reads ``BIN02`` by its declared length); :func:`write_275` builds a
  275 around a file (tests, the demo, the provider-side CLI).

Matching key between the two: the payer claim control number (277 2200D ``REF*1K``, quoted
back by the provider in the 275 1000D ``REF*1K``) and the patient control number (CLM01: 277
2200D ``TRN02``, 275 1000D ``REF*EJ``); the attachment control number (277 2200D ``REF*ZZ``,
275 2000A ``TRN02``), when the payer gives one, identifies the request itself. Where the
public TR3 material left a detail open, the maps (schemas/build_213_210_maps.py lists every
approximation) and this module follow the same convention.

Size: :class:`AttachmentSizeLimit` wraps the engine's validator so that a 275 attachment
over a configured size gets a clear 999 (IK4 785 code 5, the sizes in words).

PHI (patient names, member IDs, dates, attachment contents) lives in the X12 only: nothing
here logs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gateway.x12.eligibility import (
    Envelope,
    _clean,
    _el,
    _money,
    _name_segment,
    _seg,
    build_interchange,
    parse_day,
)
from gateway.x12.results import IgError
from gateway.x12.segments import Delimiters, Segment, SetSession, Validator, begin_session

IMPLEMENTATION_277RFAI = "005010X213"
"""ST03/GS08 of the 277 Request for Additional Information."""
IMPLEMENTATION_275 = "005010X210"
"""ST03/GS08 of the 275 Additional Information to Support a Health Care Claim or Encounter."""


@dataclass(frozen=True)
class RequestedItem:
    """One document asked for: a LOINC code (the attachment type, e.g. ``18842-5`` discharge
    summary) and optionally a LOINC modifier (e.g. a time window)."""

    code: str
    """LOINC code (STC01-2 under code list qualifier ``LOI``), e.g. ``18842-5``."""
    modifier: str = ""
    """LOINC modifier code (STC01-3), optional."""
    text: str = ""
    """Plain-words description for people (NOT written in the X12)."""
    category: str = "R4"
    """STC01-1, the request category (X12 code list 507: ``R4`` documentation, ``R3``
    claim/line, ``R5`` more specific detail...)."""


@dataclass(frozen=True)
class InfoRequest:
    """One claim's request for additional information, in one 277 RFAI (a 2000D/2200D)."""

    payer_claim_number: str
    """2200D ``REF*1K``: the payer claim control number."""
    patient_control_number: str
    """CLM01 of the claim: 2200D ``TRN02`` (TRN01 ``1``)."""
    billed_amount: Decimal
    """CLM02 of the claim: STC04 (total claim charge) of each 2200D STC."""
    service_from: date
    service_to: date
    """2200D ``DTP*472`` (a single day is written D8, a span RD8)."""
    items: tuple[RequestedItem, ...]
    """What is asked for (one STC per item, 2200D)."""
    due: date
    """Response due date (2200D ``DTP*106``, D8)."""
    patient_last: str
    patient_first: str
    member_id: str
    """2100D patient name and member ID (PHI: emitted only in the X12)."""
    provider_npi: str
    provider_name: str
    """2100C: the provider asked (NPI, ``NM1*1P*2`` organisation name)."""
    attachment_control: str = ""
    """An attachment/request control number the provider quotes back in the 275 (277 2200D
    ``REF*ZZ``, 275 2000A ``TRN02``); empty when the payer gives none."""


@dataclass(frozen=True)
class RfaiReceived:
    """One claim's request read from a 277 X213 of an EXTERNAL payer (for matching/forwarding)."""

    payer_claim_number: str
    patient_control_number: str
    items: tuple[RequestedItem, ...]
    due: date | None
    attachment_control: str = ""
    provider_npi: str = ""
    payer_id: str = ""


@dataclass(frozen=True)
class Attachment:
    """One attachment (one 275 transaction set) as received or to be sent."""

    st02: str
    payer_claim_number: str
    """As quoted by the provider (the matching key)."""
    patient_control_number: str
    attachment_control: str
    """The attachment/request control number, empty when absent."""
    loinc: tuple[str, ...]
    """The LOINC codes the document answers."""
    format: str
    """The document's file type as the TR3 codes it (e.g. ``PDF``, ``TIF``, ``JPG``)."""
    data: bytes
    """The BIN02 payload, exact bytes."""
    payer_id: str
    provider_npi: str
    payer_name: str = ""
    provider_name: str = ""
    patient_last: str = ""
    patient_first: str = ""
    member_id: str = ""
    service_from: date | None = None
    service_to: date | None = None


ATTACHMENT_FORMATS: tuple[str, ...] = ("PDF", "TIF", "JPG", "PNG", "TXT", "XML", "HL", "IA")
"""The 275 CAT02 values the X210 map accepts: a file type, or ``HL`` (an HL7 CDA document, as
the TR3 has it)."""

_FORMAT_ALIASES = {"TIFF": "TIF", "JPEG": "JPG", "HL7": "HL", "CDA": "HL"}
_PAYLOAD = "\x00PAYLOAD\x00"
"""Stands for BIN02 in the ASCII text of a 275 until the bytes are put in its place (the
cleaned values of every other element never hold a NUL)."""


def attachment_format(name: str) -> str:
    """The CAT02 code for a format name or file extension (``pdf``, ``.tiff``, ``JPEG``...);
    ``""`` when the X210 map does not know it."""
    code = name.strip().lstrip(".").upper()
    code = _FORMAT_ALIASES.get(code, code)
    return code if code in ATTACHMENT_FORMATS else ""


def sniff_format(data: bytes) -> str:
    """The CAT02 code of a document by its first bytes (PDF, TIFF, JPEG, PNG, XML), else
    ``TXT`` for printable ASCII, else ``""``."""
    if data.startswith(b"%PDF"):
        return "PDF"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIF"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.lstrip().startswith(b"<"):
        return "XML"
    if data and data.isascii() and all(b >= 0x20 or b in b"\t\r\n" for b in data):
        return "TXT"
    return ""


def _d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def _period(first: date, last: date | None) -> tuple[str, str]:
    if last is None or last == first:
        return "D8", _d8(first)
    return "RD8", f"{_d8(first)}-{_d8(last)}"


def _component(*parts: str) -> str:
    values = list(parts)
    while values and values[-1] == "":
        values.pop()
    return ":".join(values)


def _item(item: RequestedItem) -> str:
    """STC01 (or STC10/STC11) for one requested item: category, LOINC, modifier, ``LOI``."""
    return _component(
        _clean(item.category, 30) or "R4", _clean(item.code, 30), _clean(item.modifier, 30), "LOI"
    )


def _envelope(
    *, sender_id: str, receiver_isa_id: str, control_number: int, now: datetime, usage: str
) -> Envelope:
    return Envelope("ZZ", sender_id, "ZZ", receiver_isa_id, control_number, usage, now)


def _rfai_claim(request: InfoRequest, hl: int, parent: int, now: datetime) -> list[str]:
    out = [
        _seg("HL", str(hl), str(parent), "PT"),
        _name_segment(
            "QC", "1", request.patient_last, request.patient_first, "MI", request.member_id
        ),
        _seg("TRN", "1", _clean(request.patient_control_number, 50) or "0"),
    ]
    for item in request.items:
        out.append(_seg("STC", _item(item), _d8(now.date()), "", _money(request.billed_amount)))
    out.append(_seg("REF", "1K", _clean(request.payer_claim_number, 50)))
    if request.attachment_control:
        out.append(_seg("REF", "ZZ", _clean(request.attachment_control, 50)))
    qualifier, period = _period(request.service_from, request.service_to)
    out.append(_seg("DTP", "472", qualifier, period))
    out.append(_seg("DTP", "106", "D8", _d8(request.due)))
    return out


def write_277_rfai(
    requests: Sequence[InfoRequest],
    *,
    payer_name: str,
    payer_id: str,
    receiver_name: str,
    receiver_id: str,
    sender_id: str,
    receiver_isa_id: str,
    control_number: int,
    now: datetime,
    usage: str = "P",
) -> bytes:
    """A whole interchange (ISA/GS ``HN``...IEA) holding one 277 X213 with all ``requests``:
    2000A the payer, 2000B the information receiver (the submitter the claims came from),
    2000C one per provider (by NPI, in order of first appearance), 2000D one per claim (the
    patient: NM1 QC, then the 2200D request: TRN02 the patient control number, one STC per
    requested item, REF 1K, REF ZZ the attachment control number when given, DTP 472 the
    service dates, DTP 106 the response due date). A 277 with no 2000D, or a request with no
    item, is not valid X213: ``requests`` must not be empty and every request names at least
    one item (else ValueError)."""
    if not requests:
        raise ValueError("a 277 RFAI needs at least one request")
    if any(not request.items for request in requests):
        raise ValueError("every request of a 277 RFAI names at least one item (a LOINC code)")
    body = [
        _seg(
            "BHT",
            "0010",
            "08",
            f"RFAI{control_number % 1_000_000_000:09d}",
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
        ),
        _seg("HL", "1", "", "20", "1"),
        _name_segment("PR", "2", payer_name, "", "PI", payer_id),
        _seg("HL", "2", "1", "21", "1"),
        _name_segment("41", "2", receiver_name, "", "46", receiver_id),
    ]
    providers: dict[str, list[InfoRequest]] = {}
    for request in requests:
        providers.setdefault(request.provider_npi, []).append(request)
    hl = 2
    for npi, claims in providers.items():
        hl += 1
        provider_hl = hl
        body.append(_seg("HL", str(provider_hl), "2", "19", "1"))
        body.append(_name_segment("1P", "2", claims[0].provider_name, "", "XX", npi))
        for request in claims:
            hl += 1
            body += _rfai_claim(request, hl, provider_hl, now)
    envelope = _envelope(
        sender_id=sender_id,
        receiver_isa_id=receiver_isa_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )
    return build_interchange(envelope, "HN", "277", IMPLEMENTATION_277RFAI, [body])


def _items_of(segment: Segment, component: str) -> Iterator[RequestedItem]:
    """The requested items of one STC: STC01, STC10 and STC11 (when they name a code)."""
    for n in (1, 10, 11):
        parts = _el(segment, n).split(component)
        code = parts[1].strip() if len(parts) > 1 else ""
        if code:
            yield RequestedItem(
                code=code,
                modifier=parts[2].strip() if len(parts) > 2 else "",
                category=parts[0].strip(),
            )


def _dates(segment: Segment) -> tuple[date | None, date | None]:
    value = _el(segment, 3)
    if _el(segment, 2) == "RD8":
        first, _, last = value.partition("-")
        return parse_day(first), parse_day(last)
    day = parse_day(value)
    return day, day


def read_277_rfai(segments: Sequence[Segment], delimiters: Delimiters) -> list[RfaiReceived]:
    """The claims' requests of one 277 X213 set (ST..SE), in set order: one
    :class:`RfaiReceived` per 2200D (TRN), with the items of its STCs (claim and service
    line level alike), REF 1K, REF ZZ and DTP 106. Never raises on odd input: what is
    missing reads as empty."""
    out: list[RfaiReceived] = []
    payer_id = npi = ""
    claim: dict[str, Any] | None = None

    def flush() -> None:
        nonlocal claim
        if claim is not None:
            out.append(
                RfaiReceived(
                    payer_claim_number=claim["payer_claim"],
                    patient_control_number=claim["pcn"],
                    items=tuple(claim["items"]),
                    due=claim["due"],
                    attachment_control=claim["control"],
                    provider_npi=npi,
                    payer_id=payer_id,
                )
            )
        claim = None

    for segment in segments:
        sid = segment.id
        if sid == "HL":
            flush()
        elif sid == "NM1":
            entity = _el(segment, 1)
            if entity == "PR":
                payer_id = _el(segment, 9)
            elif entity == "1P":
                npi = _el(segment, 9)
        elif sid == "TRN":
            flush()
            claim = {
                "pcn": _el(segment, 2),
                "payer_claim": "",
                "control": "",
                "items": [],
                "due": None,
            }
        elif claim is None:
            continue
        elif sid == "STC":
            claim["items"] += _items_of(segment, delimiters.component)
        elif sid == "REF":
            qualifier = _el(segment, 1)
            if qualifier == "1K":
                claim["payer_claim"] = _el(segment, 2)
            elif qualifier == "ZZ":
                claim["control"] = _el(segment, 2)
        elif sid == "DTP" and _el(segment, 1) == "106":
            claim["due"] = parse_day(_el(segment, 3))
    flush()
    return out


@dataclass
class _Reading:
    """What a 275 said so far (1000A-D), and the attachment of the current 2000A."""

    st02: str = ""
    payer_id: str = ""
    payer_name: str = ""
    npi: str = ""
    provider_name: str = ""
    last: str = ""
    first: str = ""
    member: str = ""
    pcn: str = ""
    payer_claim: str = ""
    service: tuple[date | None, date | None] = (None, None)
    control: str = ""
    loinc: list[str] = field(default_factory=list)
    format: str = ""
    data: bytes | None = None

    def attachment(self) -> Attachment:
        return Attachment(
            st02=self.st02,
            payer_claim_number=self.payer_claim,
            patient_control_number=self.pcn,
            attachment_control=self.control,
            loinc=tuple(self.loinc),
            format=self.format,
            data=self.data or b"",
            payer_id=self.payer_id,
            provider_npi=self.npi,
            payer_name=self.payer_name,
            provider_name=self.provider_name,
            patient_last=self.last,
            patient_first=self.first,
            member_id=self.member,
            service_from=self.service[0],
            service_to=self.service[1],
        )


def read_275(segments: Sequence[Segment], delimiters: Delimiters) -> list[Attachment]:
    """The attachment(s) of one 275 X210 set (ST..SE): one :class:`Attachment` per 2000A
    (LX) that carries a BIN; ``data`` is BIN02 as bytes (the tokenizer's latin-1 text encoded
    back: exactly the bytes of the file). Never raises on odd input."""
    out: list[Attachment] = []
    seen = _Reading()
    in_lx = False

    def flush() -> None:
        if in_lx and seen.data is not None:
            out.append(seen.attachment())

    for segment in segments:
        sid = segment.id
        if sid == "ST":
            seen.st02 = _el(segment, 2)
        elif sid == "NM1":
            entity = _el(segment, 1)
            if entity == "PR":
                seen.payer_name, seen.payer_id = _el(segment, 3), _el(segment, 9)
            elif entity == "1P":
                seen.provider_name, seen.npi = _el(segment, 3), _el(segment, 9)
            elif entity == "QC":
                seen.last, seen.first = _el(segment, 3), _el(segment, 4)
                seen.member = _el(segment, 9)
        elif sid == "REF" and not in_lx:
            qualifier = _el(segment, 1)
            if qualifier == "EJ":
                seen.pcn = _el(segment, 2)
            elif qualifier == "1K":
                seen.payer_claim = _el(segment, 2)
        elif sid == "DTP" and _el(segment, 1) == "472" and not in_lx:
            seen.service = _dates(segment)
        elif sid == "LX":
            flush()
            in_lx = True
            seen.control, seen.loinc, seen.format, seen.data = "", [], "", None
        elif not in_lx:
            continue
        elif sid == "TRN":
            seen.control = _el(segment, 2)
        elif sid == "STC":
            seen.loinc += [item.code for item in _items_of(segment, delimiters.component)]
        elif sid == "CAT":
            seen.format = _el(segment, 2)
        elif sid == "BIN":
            payload = segment.elements[1] if len(segment.elements) > 1 else ""
            seen.data = payload.encode("latin-1", errors="replace")
    flush()
    return out


def write_275(
    attachment: Attachment,
    *,
    sender_id: str,
    receiver_isa_id: str,
    control_number: int,
    now: datetime,
    usage: str = "P",
    sender_name: str = "",
    purpose: str = "11",
) -> bytes:
    """A whole interchange (ISA/GS ``PI``...IEA) holding one 275 X210 carrying
    ``attachment`` (its payload in one BIN, any bytes). ``attachment.st02`` is ST02/SE02 and
    BGN02 when it is 4-9 letters/digits (else ST02 ``0001``). ``purpose`` is BGN01: ``11``
    answers a 277 request, ``02`` is unsolicited. ``attachment.format`` is a CAT02 code (see
    :func:`attachment_format`; empty: sniffed from the bytes, else ``PDF``)."""
    fmt = attachment_format(attachment.format) or sniff_format(attachment.data) or "PDF"
    body = [
        _seg(
            "BGN",
            purpose if purpose in ("02", "11") else "11",
            _clean(attachment.st02, 50) or f"{control_number % 1_000_000_000:09d}",
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
        ),
        _name_segment(
            "PR", "2", attachment.payer_name or attachment.payer_id, "", "PI", attachment.payer_id
        ),
        _name_segment(
            "41", "2", sender_name or attachment.provider_name or sender_id, "", "46", sender_id
        ),
        _name_segment("1P", "2", attachment.provider_name, "", "XX", attachment.provider_npi),
        _name_segment(
            "QC", "1", attachment.patient_last, attachment.patient_first, "MI", attachment.member_id
        ),
    ]
    if attachment.patient_control_number:
        body.append(_seg("REF", "EJ", _clean(attachment.patient_control_number, 50)))
    if attachment.payer_claim_number:
        body.append(_seg("REF", "1K", _clean(attachment.payer_claim_number, 50)))
    if attachment.service_from is not None:
        qualifier, period = _period(attachment.service_from, attachment.service_to)
        body.append(_seg("DTP", "472", qualifier, period))
    body.append(_seg("LX", "1"))
    if attachment.attachment_control:
        body.append(_seg("TRN", "2", _clean(attachment.attachment_control, 50)))
    for code in attachment.loinc:
        body.append(_seg("STC", _item(RequestedItem(code=code))))
    body.append(_seg("CAT", "AE", fmt))
    body.append(_seg("EFI", "05"))
    body.append(f"BIN*{len(attachment.data)}*{_PAYLOAD}~")
    envelope = _envelope(
        sender_id=sender_id,
        receiver_isa_id=receiver_isa_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )
    text = build_interchange(envelope, "PI", "275", IMPLEMENTATION_275, [body])
    st02 = _clean(attachment.st02, 9)
    if 4 <= len(st02) and st02.isalnum() and st02 != "0001":
        # ST02/SE02 are the attachment's (the payload is not in ``text`` yet: no false match)
        text = text.replace(b"ST*275*0001*", b"ST*275*" + st02.encode() + b"*", 1)
        se = text.rindex(b"*0001~GE*")
        text = text[:se] + b"*" + st02.encode() + text[se + 5 :]
    return text.replace(_PAYLOAD.encode("ascii"), attachment.data, 1)


# ---------------------------------------------------------------------- attachment size limit


def oversized_attachments(
    segments: Sequence[Segment], max_bytes: int, *, first_position: int = 1
) -> list[IgError]:
    """One IK3/IK4 error (IK403 ``5``, data element too long) per BIN whose payload is longer
    than ``max_bytes``; ``segments`` is a set from ST (position 1, or ``first_position`` for
    the first segment given). The message gives sizes only, never contents."""
    out: list[IgError] = []
    for index, segment in enumerate(segments):
        if segment.id != "BIN" or len(segment.elements) < 2:
            continue
        size = len(segment.elements[1])
        if size > max_bytes:
            out.append(_size_error(first_position + index, segment.line, size, max_bytes))
    return out


def _size_error(position: int, line: int, size: int, max_bytes: int) -> IgError:
    return IgError(
        segment_id="BIN",
        segment_position=position,
        loop_id="2100A",
        segment_error="8",
        element_position=2,
        element_reference="785",
        element_error="5",
        line=line,
        message=(
            f"BIN02 (Binary Data, element 785) is {size} bytes: this gateway accepts "
            f"attachments of at most {max_bytes} bytes"
        ),
    )


def _merge(errors: list[IgError], extra: list[IgError]) -> list[IgError]:
    """``errors`` plus the size errors of BINs not already reported on BIN02."""
    taken = {(e.segment_position, e.element_position) for e in errors}
    merged = errors + [e for e in extra if (e.segment_position, 2) not in taken]
    return sorted(merged, key=lambda e: e.segment_position)


class AttachmentSizeLimit:
    """A validator (the engine's :class:`~gateway.x12.segments.Validator`, streaming too)
    that adds to ``inner``'s errors a BIN02 "too long" (999 IK3 BIN / IK4 785 code ``5``)
    for every 275 attachment over ``max_bytes``: give it to ``engine.analyze*`` as
    ``validator=`` to reject oversized attachments with a clear 999. Only 005010X210 sets
    are measured; everything else is ``inner``'s alone."""

    def __init__(self, inner: Validator, max_bytes: int) -> None:
        self.inner = inner
        self.max_bytes = max_bytes

    def supports(self, implementation: str) -> bool:
        return self.inner.supports(implementation)

    def validate(
        self, segments: Sequence[Segment], delimiters: Delimiters, implementation: str
    ) -> tuple[list[IgError], int]:
        errors, claims = self.inner.validate(segments, delimiters, implementation)
        if implementation != IMPLEMENTATION_275:
            return errors, claims
        return _merge(errors, oversized_attachments(segments, self.max_bytes)), claims

    def begin(
        self, delimiters: Delimiters, implementation: str, *, max_errors: int | None = None
    ) -> SetSession:
        session = begin_session(self.inner, delimiters, implementation, max_errors)
        if implementation != IMPLEMENTATION_275:
            return session
        return _SizeSession(session, self.max_bytes)


class _SizeSession:
    """The inner session, plus the size of every BIN fed (the payload itself is not kept)."""

    def __init__(self, inner: SetSession, max_bytes: int) -> None:
        self.inner = inner
        self.max_bytes = max_bytes
        self.position = 0
        self.extra: list[IgError] = []

    @property
    def error_total(self) -> int:
        return self.inner.error_total + len(self.extra)

    @error_total.setter
    def error_total(self, value: int) -> None:
        self.inner.error_total = value - len(self.extra)

    @property
    def implementation_errors(self) -> int:
        return self.inner.implementation_errors

    @implementation_errors.setter
    def implementation_errors(self, value: int) -> None:
        self.inner.implementation_errors = value

    def feed(self, segment: Segment) -> None:
        self.position += 1
        if segment.id == "BIN":
            self.extra += oversized_attachments(
                (segment,), self.max_bytes, first_position=self.position
            )
        self.inner.feed(segment)

    def finish(self) -> tuple[list[IgError], int]:
        errors, claims = self.inner.finish()
        return _merge(errors, self.extra), claims
