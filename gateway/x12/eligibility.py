"""Eligibility (270/271, 005010X279A1): the typed request, the typed answer, the 270 reader
and the 271 writer. PURE: no I/O, no clock (``now`` is passed in), no Twisted.

- :func:`read_270` turns the segments of one 270 set (from the tokenizer) into one
  :class:`EligibilityRequest` per subscriber/dependent loop that carries a TRN;
- a payer (``gateway.payers.eligibility``) turns a request into an :class:`EligibilityAnswer`;
- :func:`build_271` writes the answers as a 271 interchange (one 271 per 270 set, the TRN
  echoed with TRN01 ``2``) and :func:`answer_json` as the readable JSON of the API.

The JSON request of the API uses the field names of the market's eligibility APIs (Change
Healthcare / Stedi): :func:`request_from_json` checks it and names the first bad field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gateway.x12.identifiers import npi_valid
from gateway.x12.segments import Delimiters, Segment

GUIDE = "005010X279A1"
NO_ORIGINATOR = "9000000000"
"""TRN03 (required) when a request has none: ``9`` + an identifier of ours."""

SERVICE_TYPES: Mapping[str, str] = {
    "1": "Medical care",
    "30": "Health benefit plan coverage",
    "33": "Chiropractic",
    "35": "Dental care",
    "47": "Hospital",
    "48": "Hospital - inpatient",
    "50": "Hospital - outpatient",
    "80": "Immunizations",
    "86": "Emergency services",
    "88": "Pharmacy",
    "98": "Professional (physician) visit - office",
    "AE": "Physical medicine",
    "AL": "Vision (optometry)",
    "BZ": "Physician visit - office: well",
    "MH": "Mental health",
    "PT": "Physical therapy",
    "UC": "Urgent care",
}
"""Plain words for the service type codes (X12 element 1365) the gateway names; any other
code of one or two letters/digits is accepted and answered "cannot process"."""

AAA_WORDS: Mapping[str, str] = {
    "15": "Required application data missing",
    "41": "Authorization/access restrictions",
    "42": "Unable to respond at current time",
    "43": "Invalid/missing provider identification",
    "58": "Invalid/missing date of birth",
    "71": "Patient birth date does not match that for the patient on the database",
    "72": "Invalid/missing subscriber/insured ID",
    "73": "Invalid/missing subscriber/insured name",
    "75": "Subscriber/insured not found",
    "79": "Invalid participant identification",
    "T4": "Payer name or identifier missing",
}

EB_WORDS: Mapping[str, str] = {
    "1": "active coverage",
    "6": "inactive",
    "A": "coinsurance",
    "B": "copay",
    "C": "deductible",
    "G": "out-of-pocket (stop loss)",
    "I": "non-covered",
    "V": "cannot process",
}
PERIOD_WORDS: Mapping[str, str] = {
    "23": "calendar year",
    "27": "visit",
    "29": "remaining",
}

_SERVICE_TYPE = re.compile(r"[0-9A-Z]{1,2}")
_NAME_BAD = re.compile(r"[^A-Z0-9 .,'\-]")


# ----------------------------------------------------------------------------- request


@dataclass(frozen=True)
class Person:
    """A subscriber or dependent as the request names them (upper case)."""

    first_name: str = ""
    last_name: str = ""
    member_id: str = ""
    birth_date: str = ""
    """As sent (``CCYYMMDD``); :attr:`birth_day` is it parsed (None: missing or invalid)."""
    gender: str = ""
    """DMG03 as sent (``F``, ``M``, ``U``), '' when not given."""

    @property
    def birth_day(self) -> date | None:
        return parse_day(self.birth_date)


@dataclass(frozen=True)
class EligibilityRequest:
    payer_id: str
    payer_name: str = ""
    provider_npi: str = ""
    provider_name: str = ""
    """Organization name, or a person's last name (see :attr:`provider_first`)."""
    provider_first: str = ""
    """A person provider's first name (NM1*1P*1); empty for an organization (NM1*1P*2)."""
    provider_id_qualifier: str = "XX"
    """NM108 of 2100B (``XX`` NPI; a 270 may send ``SV``, ``PI``...)."""
    subscriber: Person = field(default_factory=Person)
    dependent: Person | None = None
    service_types: tuple[str, ...] = ("30",)
    service_date: str = ""
    """DTP*291 as sent (``CCYYMMDD`` or ``CCYYMMDD-CCYYMMDD``; empty: today)."""
    trace: str = ""
    """TRN02 of the request (echoed in the 271)."""
    trace_originator: str = ""
    """TRN03."""
    reference: str = ""
    """BHT03 of the request's set."""

    @property
    def service_day(self) -> date | None:
        return parse_day(self.service_date[:8]) if self.service_date else None


def parse_day(value: str) -> date | None:
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _el(segment: Segment, n: int) -> str:
    return segment.elements[n - 1].strip() if len(segment.elements) >= n else ""


def read_270(segments: Sequence[Segment], delimiters: Delimiters) -> list[EligibilityRequest]:
    """One request per 2000C/2000D loop that has a TRN (in set order)."""
    repetition = delimiters.repetition
    out: list[EligibilityRequest] = []
    reference = payer_id = payer_name = npi = provider_name = provider_first = ""
    qualifier = "XX"
    level = ""
    subscriber = Person()
    current: dict[str, Any] | None = None

    def flush() -> None:
        nonlocal current
        if current is not None and current["trace"]:
            dependent = current["dependent"]
            out.append(
                EligibilityRequest(
                    payer_id=payer_id,
                    payer_name=payer_name,
                    provider_npi=npi,
                    provider_name=provider_name,
                    provider_first=provider_first,
                    provider_id_qualifier=qualifier,
                    subscriber=current["subscriber"],
                    dependent=dependent,
                    service_types=tuple(current["types"]) or ("30",),
                    service_date=current["date"],
                    trace=current["trace"],
                    trace_originator=current["originator"],
                    reference=reference,
                )
            )
        current = None

    for segment in segments:
        sid = segment.id
        if sid == "BHT":
            reference = _el(segment, 3)
        elif sid == "HL":
            level = _el(segment, 3)
            if level in ("22", "23"):
                flush()
                current = {
                    "subscriber": subscriber,
                    "dependent": None,
                    "types": [],
                    "date": "",
                    "trace": "",
                    "originator": "",
                }
        elif sid == "NM1":
            entity = _el(segment, 1)
            if entity == "PR":
                payer_name, payer_id = _el(segment, 3), _el(segment, 9)
            elif entity == "1P":
                provider_name = _el(segment, 3)
                provider_first = _el(segment, 4) if _el(segment, 2) == "1" else ""
                qualifier, npi = _el(segment, 8), _el(segment, 9)
            elif entity == "IL" and current is not None:
                subscriber = Person(_el(segment, 4), _el(segment, 3), _el(segment, 9))
                current["subscriber"] = subscriber
            elif entity == "03" and current is not None:
                current["dependent"] = Person(_el(segment, 4), _el(segment, 3))
        elif sid == "TRN" and current is not None:
            current["trace"], current["originator"] = _el(segment, 2), _el(segment, 3)
        elif sid == "DMG" and current is not None:
            has_dependent = level == "23" and current["dependent"] is not None
            who = "dependent" if has_dependent else "subscriber"
            person: Person = current[who]
            current[who] = Person(
                person.first_name, person.last_name, person.member_id, _el(segment, 2)
            )
            if who == "subscriber":
                subscriber = current[who]
        elif sid == "DTP" and current is not None and _el(segment, 1) == "291":
            current["date"] = _el(segment, 3)
        elif sid == "EQ" and current is not None:
            raw = _el(segment, 1)
            codes = raw.split(repetition) if repetition else [raw]
            current["types"].extend(c for c in codes if c)
    flush()
    return out


class FieldError(ValueError):
    """A JSON request field is missing or wrong: :attr:`field` names it (dotted path)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool, max_len: int) -> str:
    value = obj.get(key)
    name = f"{where}.{key}" if where else key
    if value is None or value == "":
        if required:
            raise FieldError(name, "is required")
        return ""
    if not isinstance(value, str):
        raise FieldError(name, "must be a string")
    value = value.strip().upper()
    if len(value) > max_len or _NAME_BAD.search(value):
        raise FieldError(name, f"must be at most {max_len} letters, digits, spaces or .,'-")
    return value


def _object(obj: Mapping[str, Any], key: str, *, required: bool) -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        if required:
            raise FieldError(key, "is required")
        return {}
    if not isinstance(value, dict):
        raise FieldError(key, "must be an object")
    return value


def _birth(obj: Mapping[str, Any], where: str, *, required: bool) -> str:
    value = obj.get("dateOfBirth")
    if value is None or value == "":
        if required:
            raise FieldError(f"{where}.dateOfBirth", "is required (YYYYMMDD)")
        return ""
    if not isinstance(value, str) or parse_day(value) is None:
        raise FieldError(f"{where}.dateOfBirth", "must be a date YYYYMMDD")
    return value


def request_from_json(obj: Any) -> EligibilityRequest:
    """The request in a JSON body (Change Healthcare / Stedi field names), or
    :class:`FieldError` naming the first field that is missing or wrong."""
    if not isinstance(obj, dict):
        raise FieldError("(body)", "must be a JSON object")
    payer_id = _text(obj, "tradingPartnerServiceId", "", required=True, max_len=80)
    provider = _object(obj, "provider", required=True)
    npi = provider.get("npi")
    if not isinstance(npi, str) or not npi:
        raise FieldError("provider.npi", "is required")
    if not npi_valid(npi):
        raise FieldError("provider.npi", "is not a valid NPI (10 digits, Luhn check digit)")
    organization = _text(provider, "organizationName", "provider", required=False, max_len=60)
    last = _text(provider, "lastName", "provider", required=False, max_len=60)
    first = _text(provider, "firstName", "provider", required=False, max_len=35)
    if not organization and not last:
        raise FieldError("provider.organizationName", "is required (or provider.lastName)")
    subscriber_obj = _object(obj, "subscriber", required=True)
    subscriber = Person(
        _text(subscriber_obj, "firstName", "subscriber", required=False, max_len=35),
        _text(subscriber_obj, "lastName", "subscriber", required=False, max_len=60),
        _text(subscriber_obj, "memberId", "subscriber", required=True, max_len=80),
        _birth(subscriber_obj, "subscriber", required=False),
    )
    dependent: Person | None = None
    dependents = obj.get("dependents")
    if dependents is not None:
        if not isinstance(dependents, list) or len(dependents) > 1:
            raise FieldError("dependents", "must be a list of at most one dependent")
        if dependents:
            item = dependents[0]
            if not isinstance(item, dict):
                raise FieldError("dependents[0]", "must be an object")
            dependent = Person(
                _text(item, "firstName", "dependents[0]", required=True, max_len=35),
                _text(item, "lastName", "dependents[0]", required=True, max_len=60),
                "",
                _birth(item, "dependents[0]", required=True),
            )
    encounter = _object(obj, "encounter", required=False)
    types_raw = encounter.get("serviceTypeCodes", ["30"])
    if not isinstance(types_raw, list) or not types_raw or len(types_raw) > 99:
        raise FieldError("encounter.serviceTypeCodes", "must be a list of 1 to 99 codes")
    types: list[str] = []
    for code in types_raw:
        if not isinstance(code, str) or not _SERVICE_TYPE.fullmatch(code.strip().upper()):
            raise FieldError("encounter.serviceTypeCodes", f"{code!r} is not a service type code")
        types.append(code.strip().upper())
    day = encounter.get("dateOfService", "")
    if day and (not isinstance(day, str) or parse_day(day) is None):
        raise FieldError("encounter.dateOfService", "must be a date YYYYMMDD")
    return EligibilityRequest(
        payer_id=payer_id,
        provider_npi=npi,
        provider_name=organization or last,
        provider_first="" if organization else first,
        subscriber=subscriber,
        dependent=dependent,
        service_types=tuple(dict.fromkeys(types)),
        service_date=day or "",
    )


# ------------------------------------------------------------------------------ answer


@dataclass(frozen=True)
class Aaa:
    """A request validation (AAA) error: ``loop`` is where the 271 puts it."""

    code: str
    loop: str
    """``2100A`` (payer), ``2100B`` (provider), ``2100C`` (subscriber), ``2100D``."""
    follow_up: str = "C"
    """AAA04: ``C`` correct and resubmit, ``R`` resubmission allowed, ``N`` not allowed."""
    valid_request: bool = False
    """AAA01: Y when the request itself was fine (e.g. 42 unable to respond)."""

    @property
    def words(self) -> str:
        return AAA_WORDS.get(self.code, self.code)


@dataclass(frozen=True)
class Benefit:
    """One EB segment (2110C/2110D), with the MSG lines that follow it."""

    info: str
    """EB01: ``1`` active, ``6`` inactive, ``A`` coinsurance, ``B`` copay, ``C`` deductible,
    ``G`` out of pocket, ``I`` non-covered, ``V`` cannot process."""
    service_types: tuple[str, ...]
    coverage_level: str = ""
    """EB02: ``IND`` individual, ``FAM`` family (empty for EB01 1/6/I/V)."""
    plan_name: str = ""
    """EB05 (on the active/inactive line)."""
    period: str = ""
    """EB06: ``23`` calendar year, ``27`` visit, ``29`` remaining."""
    amount: Decimal | None = None
    """EB07."""
    percent: Decimal | None = None
    """EB08 as a fraction (``0.20`` = 20 %)."""
    authorization_required: bool = False
    """EB11 ``Y``."""
    in_network: str = ""
    """EB12: ``Y`` in network, ``N`` out of network, ``W`` not applicable."""
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class EligibilityAnswer:
    request: EligibilityRequest
    payer_name: str = ""
    errors: tuple[Aaa, ...] = ()
    active: bool = False
    plan_id: str = ""
    plan_name: str = ""
    group_number: str = ""
    plan_begin: date | None = None
    plan_end: date | None = None
    first_name: str = ""
    """Names and date of birth as the payer has them (else as the request gave them)."""
    last_name: str = ""
    birth_date: str = ""
    benefits: tuple[Benefit, ...] = ()

    @property
    def status(self) -> str:
        """``active``, ``inactive`` or ``error`` (an AAA answer)."""
        if self.errors:
            return "error"
        return "active" if self.active else "inactive"

    def errors_at(self, loop: str) -> list[Aaa]:
        return [e for e in self.errors if e.loop == loop]


# ---------------------------------------------------------------------- 271 interchange

_UNSAFE = re.compile(r"[^A-Za-z0-9 .,'\-/#&()@!?+=:;]")  # never a delimiter of ours (*~^:)
ELEMENT, SEGMENT_END, COMPONENT, REPETITION = "*", "~", ":", "^"


def _clean(value: str, max_len: int) -> str:
    return _UNSAFE.sub("", value).replace(":", "").strip()[:max_len]


def _seg(seg_id: str, *elements: str) -> str:
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join([seg_id, *values]) + SEGMENT_END


def _money(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(value: Decimal) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True)
class Envelope:
    """Who sends the 271 interchange (the gateway) to whom, and its control numbers."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    control: int
    """ISA13 / GS06 (the 271s of the interchange are ST02 0001, 0002...)."""
    usage: str = "P"
    now: datetime = datetime(2000, 1, 1)
    gs_sender: str = ""
    gs_receiver: str = ""


@dataclass(frozen=True)
class SetAnswers:
    """The answers to one 270 set: one 271."""

    reference: str
    """BHT03 of the 270 (echoed in the 271's BHT03)."""
    answers: tuple[EligibilityAnswer, ...]


def _name_segment(
    entity: str, person_type: str, last: str, first: str, qualifier: str = "", ident: str = ""
) -> str:
    return _seg(
        "NM1",
        entity,
        person_type,
        _clean(last, 60),
        _clean(first, 35) if person_type == "1" else "",
        "",
        "",
        "",
        qualifier if ident else "",
        _clean(ident, 80),
    )


def _aaa(error: Aaa) -> str:
    return _seg("AAA", "Y" if error.valid_request else "N", "", error.code, error.follow_up)


def _eb(benefit: Benefit, repetition: str) -> list[str]:
    types = repetition.join(benefit.service_types)
    out = [
        _seg(
            "EB",
            benefit.info,
            benefit.coverage_level,
            types,
            "",
            _clean(benefit.plan_name, 50),
            benefit.period,
            _money(benefit.amount) if benefit.amount is not None else "",
            _percent(benefit.percent) if benefit.percent is not None else "",
            "",
            "",
            "Y" if benefit.authorization_required else "",
            benefit.in_network,
        )
    ]
    out += [_seg("MSG", _clean(m, 264)) for m in benefit.messages]
    return out


def _answer_segments(answer: EligibilityAnswer, hl: int) -> tuple[list[str], int]:
    """The 2000A..2000D loops of one answer; returns them and the next HL number."""
    req = answer.request
    out: list[str] = []
    payer_hl = hl
    out.append(_seg("HL", str(payer_hl), "", "20", "1"))
    payer_name = answer.payer_name or req.payer_name or req.payer_id or "UNKNOWN"
    out.append(_name_segment("PR", "2", payer_name, "", "PI", req.payer_id or "UNKNOWN"))
    out += [_aaa(e) for e in answer.errors_at("2100A")]
    provider_hl = payer_hl + 1
    out.append(_seg("HL", str(provider_hl), str(payer_hl), "21", "1"))
    qualifier = req.provider_id_qualifier or "XX"
    provider_type = "1" if req.provider_first else "2"
    out.append(
        _name_segment(
            "1P",
            provider_type,
            req.provider_name or "PROVIDER",
            req.provider_first,
            qualifier,
            req.provider_npi,
        )
    )
    out += [_aaa(e) for e in answer.errors_at("2100B")]
    subscriber_hl = provider_hl + 1
    dependent = req.dependent
    out.append(_seg("HL", str(subscriber_hl), str(provider_hl), "22", "1" if dependent else "0"))
    trn = _seg(
        "TRN", "2", _clean(req.trace, 50) or "0", _clean(req.trace_originator, 10) or NO_ORIGINATOR
    )
    if dependent is None:
        out.append(trn)
    sub = req.subscriber
    out.append(
        _name_segment(
            "IL",
            "1",
            answer.last_name or sub.last_name,
            answer.first_name or sub.first_name,
            "MI",
            sub.member_id,
        )
    )
    if dependent is None:
        out += _person(answer, "2100C", answer.birth_date or sub.birth_date, benefits=True)
    else:
        out += _person(answer, "2100C", answer.birth_date or sub.birth_date, benefits=False)
        out.append(_seg("HL", str(subscriber_hl + 1), str(subscriber_hl), "23", "0"))
        out.append(trn)
        out.append(_name_segment("03", "1", dependent.last_name, dependent.first_name))
        out += _person(answer, "2100D", dependent.birth_date, benefits=True)
    next_hl = subscriber_hl + (2 if dependent is not None else 1)
    return out, next_hl


def _person(answer: EligibilityAnswer, loop: str, birth: str, *, benefits: bool) -> list[str]:
    """The rest of 2100C/2100D after NM1 (REF, AAA, DMG, DTP) and, with ``benefits``, its
    2110 EB loops (none when the answer has errors)."""
    out: list[str] = []
    if not answer.errors and benefits:
        if answer.plan_id:
            out.append(_seg("REF", "18", _clean(answer.plan_id, 50)))
        if answer.group_number:
            out.append(
                _seg("REF", "6P", _clean(answer.group_number, 50), _clean(answer.plan_name, 60))
            )
    out += [_aaa(e) for e in answer.errors_at(loop)]
    if parse_day(birth) is not None:
        out.append(_seg("DMG", "D8", birth))
    if answer.errors or not benefits:
        return out
    if answer.plan_begin is not None:
        out.append(_seg("DTP", "346", "D8", answer.plan_begin.strftime("%Y%m%d")))
    if answer.plan_end is not None:
        out.append(_seg("DTP", "347", "D8", answer.plan_end.strftime("%Y%m%d")))
    for benefit in answer.benefits:
        out += _eb(benefit, REPETITION)
    return out


def build_interchange(
    envelope: Envelope, functional_id: str, st01: str, guide: str, bodies: Sequence[list[str]]
) -> bytes:
    """One interchange of one GS group (``functional_id``, e.g. ``HB``) with one ``st01`` set
    per body: the envelope writer of the real-time sets (270, 271, 277). A body is the set's
    segments after ST and before SE; sets are ST02 0001, 0002..."""
    now = envelope.now
    control = f"{envelope.control % 1_000_000_000:09d}"
    gs06 = str(envelope.control % 1_000_000_000 or 1)
    lines = [
        _seg(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            _clean(envelope.sender_qualifier, 2).ljust(2),
            _clean(envelope.sender_id, 15).ljust(15),
            _clean(envelope.receiver_qualifier, 2).ljust(2) or "ZZ",
            (_clean(envelope.receiver_id, 15) or "UNKNOWN").ljust(15),
            now.strftime("%y%m%d"),
            now.strftime("%H%M"),
            REPETITION,
            "00501",
            control,
            "0",
            envelope.usage if envelope.usage in ("P", "T", "I") else "P",
            COMPONENT,
        ),
        _seg(
            "GS",
            functional_id,
            _clean(envelope.gs_sender or envelope.sender_id, 15),
            _clean(envelope.gs_receiver or envelope.receiver_id, 15) or "UNKNOWN",
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            gs06,
            "X",
            guide,
        ),
    ]
    for index, segments in enumerate(bodies, start=1):
        st02 = f"{index:04d}"
        body = [_seg("ST", st01, st02, guide), *segments]
        body.append(_seg("SE", str(len(body) + 1), st02))
        lines += body
    lines.append(_seg("GE", str(len(bodies)), gs06))
    lines.append(_seg("IEA", "1", control))
    return "".join(lines).encode("ascii")


def build_271(sets: Sequence[SetAnswers], envelope: Envelope) -> bytes:
    """One interchange (one GS HB group) with one 271 per :class:`SetAnswers`."""
    now = envelope.now
    bodies: list[list[str]] = []
    for answer_set in sets:
        body = [
            _seg(
                "BHT",
                "0022",
                "11",
                _clean(answer_set.reference, 50),
                now.strftime("%Y%m%d"),
                now.strftime("%H%M"),
            )
        ]
        hl = 1
        for answer in answer_set.answers:
            segments, hl = _answer_segments(answer, hl)
            body += segments
        bodies.append(body)
    return build_interchange(envelope, "HB", "271", GUIDE, bodies)


def build_270(requests: Sequence[EligibilityRequest], envelope: Envelope) -> bytes:
    """One interchange (GS HS) with one 270 per request (the gateway asking a payer)."""
    now = envelope.now
    bodies: list[list[str]] = []
    for req in requests:
        dependent = req.dependent
        body = [
            _seg("BHT", "0022", "13", _clean(req.reference or req.trace, 50),
                 now.strftime("%Y%m%d"), now.strftime("%H%M")),
            _seg("HL", "1", "", "20", "1"),
            _name_segment("PR", "2", req.payer_name or req.payer_id, "", "PI", req.payer_id),
            _seg("HL", "2", "1", "21", "1"),
            _name_segment("1P", "1" if req.provider_first else "2", req.provider_name,
                          req.provider_first, req.provider_id_qualifier or "XX",
                          req.provider_npi),
            _seg("HL", "3", "2", "22", "1" if dependent else "0"),
        ]  # fmt: skip
        trn = _seg(
            "TRN", "1", _clean(req.trace, 50) or "0",
            _clean(req.trace_originator, 10) or NO_ORIGINATOR,
        )  # fmt: skip
        enquiry = [_seg("EQ", REPETITION.join(req.service_types or ("30",)))]
        service = [_seg("DTP", "291", "D8", req.service_date[:8])] if req.service_day else []
        sub = req.subscriber
        person = [_name_segment("IL", "1", sub.last_name, sub.first_name, "MI", sub.member_id)]
        if parse_day(sub.birth_date) is not None:
            person.append(_seg("DMG", "D8", sub.birth_date))
        if dependent is None:
            body += [trn, *person, *service, *enquiry]
        else:
            body += person
            patient = _name_segment("03", "1", dependent.last_name, dependent.first_name)
            body += [_seg("HL", "4", "3", "23", "0"), trn, patient]
            if parse_day(dependent.birth_date) is not None:
                body.append(_seg("DMG", "D8", dependent.birth_date))
            body += [*service, *enquiry]
        bodies.append(body)
    return build_interchange(envelope, "HS", "270", GUIDE, bodies)


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except ArithmeticError:
        return None


def read_271(
    segments: Sequence[Segment], delimiters: Delimiters, request: EligibilityRequest
) -> EligibilityAnswer:
    """The answer in one 271 set (a payer's, to one ``request``): payer name, AAA errors by
    loop, names and date of birth, plan (REF 18/6P, DTP 346/347), every EB with its MSGs."""
    repetition = delimiters.repetition or REPETITION
    loop = ""
    payer_name = first = last = birth = plan_id = plan_name = group = ""
    begin: date | None = None
    end: date | None = None
    errors: list[Aaa] = []
    benefits: list[Benefit] = []
    for segment in segments:
        sid = segment.id
        if sid == "NM1":
            entity = _el(segment, 1)
            loop = {"PR": "2100A", "1P": "2100B", "IL": "2100C", "03": "2100D"}.get(entity, loop)
            if entity == "PR":
                payer_name = _el(segment, 3)
            elif entity == "IL":
                last, first = _el(segment, 3), _el(segment, 4)
        elif sid == "AAA" and loop:
            errors.append(Aaa(_el(segment, 3), loop, _el(segment, 4) or "C",
                              _el(segment, 1) == "Y"))  # fmt: skip
        elif sid == "DMG" and loop == "2100C":
            birth = _el(segment, 2)
        elif sid == "REF" and _el(segment, 1) == "18":
            plan_id = _el(segment, 2)
        elif sid == "REF" and _el(segment, 1) == "6P":
            group, plan_name = _el(segment, 2), _el(segment, 3) or plan_name
        elif sid == "DTP" and _el(segment, 1) in ("346", "347"):
            day = parse_day(_el(segment, 3)[:8])
            begin, end = (day, end) if _el(segment, 1) == "346" else (begin, day)
        elif sid == "EB":
            percent = _decimal(_el(segment, 8))
            benefits.append(
                Benefit(
                    _el(segment, 1),
                    tuple(c for c in _el(segment, 3).split(repetition) if c),
                    _el(segment, 2),
                    _el(segment, 5),
                    _el(segment, 6),
                    _decimal(_el(segment, 7)),
                    percent,
                    _el(segment, 11) == "Y",
                    _el(segment, 12),
                )
            )
            plan_name = plan_name or _el(segment, 5)
        elif sid == "MSG" and benefits:
            last_benefit = benefits[-1]
            benefits[-1] = replace(last_benefit, messages=(*last_benefit.messages, _el(segment, 1)))
    active = any(b.info == "1" for b in benefits)
    return EligibilityAnswer(
        request, payer_name=payer_name, errors=tuple(errors), active=active, plan_id=plan_id,
        plan_name=plan_name, group_number=group, plan_begin=begin, plan_end=end,
        first_name=first, last_name=last, birth_date=birth, benefits=tuple(benefits),
    )  # fmt: skip


# ------------------------------------------------------------------------------- JSON


def _benefit_json(benefit: Benefit) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": benefit.info,
        "name": EB_WORDS.get(benefit.info, benefit.info),
        "serviceTypeCodes": list(benefit.service_types),
        "serviceTypes": [SERVICE_TYPES.get(c, c) for c in benefit.service_types],
    }
    if benefit.coverage_level:
        out["coverageLevel"] = {"IND": "individual", "FAM": "family"}.get(
            benefit.coverage_level, benefit.coverage_level
        )
    if benefit.period:
        out["timePeriod"] = PERIOD_WORDS.get(benefit.period, benefit.period)
    if benefit.amount is not None:
        out["amount"] = f"{benefit.amount:.2f}"
    if benefit.percent is not None:
        out["percent"] = _percent(benefit.percent * 100)
    if benefit.in_network:
        out["inNetwork"] = {"Y": "yes", "N": "no", "W": "not applicable"}[benefit.in_network]
    if benefit.authorization_required:
        out["authorizationRequired"] = True
    if benefit.plan_name:
        out["planName"] = benefit.plan_name
    if benefit.messages:
        out["messages"] = list(benefit.messages)
    return out


def _summary(benefits: Iterable[Benefit], service_type: str) -> dict[str, str]:
    """Plain words per service type: the figures a front desk asks for."""
    out: dict[str, str] = {}
    for b in benefits:
        if service_type not in b.service_types:
            continue
        amount = f"{b.amount:.2f}" if b.amount is not None else None
        if b.info in ("1", "6", "I", "V"):
            out["status"] = EB_WORDS[b.info]
        elif b.info == "B" and amount is not None:
            out["copay"] = amount
        elif b.info == "A" and b.percent is not None:
            out["coinsurancePercent"] = _percent(b.percent * 100)
        elif b.info == "C" and amount is not None:
            out["deductibleRemaining" if b.period == "29" else "deductible"] = amount
        elif b.info == "G" and amount is not None:
            out["outOfPocketRemaining" if b.period == "29" else "outOfPocketMax"] = amount
    return out


def answer_json(answer: EligibilityAnswer) -> dict[str, Any]:
    """The readable JSON answer of ``POST /api/v1/eligibility``."""
    req = answer.request
    body: dict[str, Any] = {
        "tradingPartnerServiceId": req.payer_id,
        "payer": {"payerId": req.payer_id, "name": answer.payer_name or req.payer_name},
        "provider": {
            "npi": req.provider_npi,
            "name": " ".join(p for p in (req.provider_first, req.provider_name) if p),
        },
        "subscriber": {
            "memberId": req.subscriber.member_id,
            "firstName": answer.first_name or req.subscriber.first_name,
            "lastName": answer.last_name or req.subscriber.last_name,
            "dateOfBirth": answer.birth_date or req.subscriber.birth_date,
        },
        "controlNumber": req.trace,
        "coverageStatus": answer.status,
        "errors": [
            {
                "code": e.code,
                "description": e.words,
                "loop": e.loop,
                "followupAction": {
                    "C": "correct and resubmit",
                    "R": "resubmission allowed",
                    "N": "resubmission not allowed",
                }.get(e.follow_up, e.follow_up),
            }
            for e in answer.errors
        ],
    }
    if req.dependent is not None:
        body["dependent"] = {
            "firstName": req.dependent.first_name,
            "lastName": req.dependent.last_name,
            "dateOfBirth": req.dependent.birth_date,
        }
    if answer.errors:
        return body
    body["plan"] = {
        "id": answer.plan_id,
        "name": answer.plan_name,
        "groupNumber": answer.group_number,
        "begin": answer.plan_begin.isoformat() if answer.plan_begin else None,
        "end": answer.plan_end.isoformat() if answer.plan_end else None,
    }
    codes = list(dict.fromkeys(c for b in answer.benefits for c in b.service_types))
    body["serviceTypes"] = [
        {"code": c, "name": SERVICE_TYPES.get(c, c), **_summary(answer.benefits, c)} for c in codes
    ]
    body["benefits"] = [_benefit_json(b) for b in answer.benefits]
    return body
