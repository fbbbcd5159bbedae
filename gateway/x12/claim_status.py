"""Claim status (276/277, 005010X212): the typed request, the typed answer, the 276 reader,
the 277 writer and the readable JSON. PURE: no I/O, no clock (``now`` is passed in).

- :func:`read_276` turns one 276 set into one :class:`StatusRequest` per 2200D/2200E claim
  (the loop with the TRN);
- a payer (``gateway.payers.claim_status``) turns a request and what the store knows of the
  claim into a :class:`StatusAnswer`;
- :func:`build_277` writes the answers as a 277 interchange (one 277 per 276 set, the TRN
  echoed with TRN01 ``2``) and :func:`answer_json` as the readable JSON of the API;
- :func:`request_from_json` reads the JSON request of ``POST /api/v1/claim-status`` (the
  Change Healthcare / Stedi claim-status field names where they have one);
- forwarding a JSON request to an external payer: :func:`build_276` writes it as a 276,
  :func:`read_277` reads the payer's 277 X212 back into a :class:`StatusAnswer`.

Status codes (STC01): category (X12 code list 507) and status (508) with the plain words of
:data:`CATEGORY_WORDS` / :data:`STATUS_WORDS` (a small table: the codes the gateway answers
with, wording shortened; https://x12.org/codes/claim-status-category-codes and
https://x12.org/codes/claim-status-codes). X212 allows only ``RX`` (NCPDP) as STC01-4, so a
CARC is never an STC code itself: :data:`CARC_STATUS` maps the CARCs the payers use to the
claim status code that says the same, and the JSON answer lists the CARCs in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.payers.carc import carc_words
from gateway.x12.eligibility import (
    Envelope,
    FieldError,
    Person,
    _clean,
    _el,
    _money,
    _name_segment,
    _object,
    _seg,
    _text,
    build_interchange,
    parse_day,
)
from gateway.x12.identifiers import npi_valid
from gateway.x12.segments import Delimiters, Segment

GUIDE = "005010X212"

CATEGORY_WORDS: Mapping[str, str] = {
    "A1": "Acknowledgement: received",
    "A2": "Acknowledgement: accepted into the adjudication system",
    "A3": "Acknowledgement: returned as unprocessable claim",
    "A4": "Acknowledgement: not found",
    "A6": "Acknowledgement: rejected for missing information",
    "A7": "Acknowledgement: rejected for invalid information",
    "A8": "Acknowledgement: rejected for relational field in error",
    "D0": "Data search unsuccessful",
    "E0": "Response not possible: error on submitted request data",
    "E1": "Response not possible: system status",
    "F0": "Finalized",
    "F1": "Finalized: payment (the claim/line has been paid)",
    "F2": "Finalized: denial (the claim/line has been denied)",
    "F3": "Finalized: revised (adjudication information has been changed)",
    "F4": "Finalized: adjudication complete, no payment forthcoming",
    "P0": "Pending: adjudication/details",
    "P1": "Pending: in process",
    "P2": "Pending: payer review",
    "P3": "Pending: provider requested information",
    "P4": "Pending: patient requested information",
}
"""Plain words for the claim status category codes (X12 507) the gateway uses or forwards."""

STATUS_WORDS: Mapping[str, str] = {
    "0": "Cannot provide further status electronically",
    "1": "For more detailed information, see the remittance advice",
    "3": "Claim has been adjudicated and is awaiting the payment cycle",
    "6": "Balance due from the subscriber",
    "15": "Requested information was not provided or was insufficient/incomplete",
    "20": "Accepted for processing",
    "21": "Missing or invalid information",
    "33": "Subscriber and subscriber ID not found",
    "35": "Claim/encounter not found",
    "46": "Internal review/audit",
    "54": "Duplicate of a previously processed claim/line",
    "65": "Claim/line has been paid",
    "88": "Entity not eligible for benefits for the submitted dates of service",
    "101": "Claim was processed as an adjustment to a previous claim",
    "104": "Processed according to plan provisions",
    "107": "Processed according to contract/provider agreement",
    "116": "Claim submitted to incorrect payer",
    "294": "Supporting documentation",
    "297": "Medical notes/report",
}
"""Plain words for the claim status codes (X12 508) the gateway uses; another code reads as
``status <code>``."""

CARC_STATUS: Mapping[str, str] = {
    "18": "54",
    "26": "88",
    "27": "88",
    "31": "33",
    "16": "21",
    "252": "15",
    "1": "104",
    "2": "104",
    "3": "104",
    "45": "107",
    "96": "104",
    "204": "104",
}
"""The claim status code (508) that says what a CARC says, for the 277's STC (the CARC itself
is in the 835 and the JSON)."""

_AMOUNT = re.compile(r"-?\d{1,10}(\.\d{1,2})?")


# ----------------------------------------------------------------------------- request


@dataclass(frozen=True)
class LineRequest:
    """A 2210D/E service line of the request (SVC, REF*FJ, DTP*472)."""

    qualifier: str = "HC"
    procedure: str = ""
    modifiers: tuple[str, ...] = ()
    charge: Decimal | None = None
    revenue_code: str = ""
    units: str = ""
    control_number: str = ""
    service_date: str = ""


@dataclass(frozen=True)
class StatusRequest:
    payer_id: str
    payer_name: str = ""
    receiver_name: str = ""
    """2100B information receiver (NM1*41): who asks (name and ETIN, NM108 46)."""
    receiver_id: str = ""
    provider_npi: str = ""
    provider_name: str = ""
    provider_first: str = ""
    provider_id_qualifier: str = "XX"
    subscriber: Person = field(default_factory=Person)
    dependent: Person | None = None
    trace: str = ""
    """TRN02 (echoed in the 277)."""
    claim_id: str = ""
    """REF*EJ: the patient control number (the 837's CLM01)."""
    payer_claim_id: str = ""
    """REF*1K: the payer claim control number (the 835's CLP07)."""
    bill_type: str = ""
    charge: Decimal | None = None
    """AMT*T3: the claim's total charge (the 837's CLM02)."""
    service_date: str = ""
    """DTP*472 as sent: ``CCYYMMDD`` or ``CCYYMMDD-CCYYMMDD``."""
    lines: tuple[LineRequest, ...] = ()
    reference: str = ""
    """BHT03 of the request's set."""

    @property
    def service_days(self) -> tuple[date | None, date | None]:
        first, _, last = self.service_date.partition("-")
        return parse_day(first), parse_day(last or first)


def _amount(value: str) -> Decimal | None:
    if not _AMOUNT.fullmatch(value.strip()):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern keeps it a number
        return None


def _line(segment: Segment, component: str) -> LineRequest:
    parts = _el(segment, 1).split(component)
    return LineRequest(
        qualifier=parts[0],
        procedure=parts[1] if len(parts) > 1 else "",
        modifiers=tuple(p for p in parts[2:6] if p),
        charge=_amount(_el(segment, 2)),
        revenue_code=_el(segment, 4),
        units=_el(segment, 7),
    )


def read_276(segments: Sequence[Segment], delimiters: Delimiters) -> list[StatusRequest]:
    """One request per 2200D/2200E loop (the claims asked about), in set order."""
    out: list[StatusRequest] = []
    head: dict[str, Any] = {
        "reference": "",
        "payer_id": "",
        "payer_name": "",
        "receiver_name": "",
        "receiver_id": "",
        "npi": "",
        "name": "",
        "first": "",
        "qualifier": "XX",
    }
    subscriber = Person()
    dependent: Person | None = None
    level = ""
    claim: dict[str, Any] | None = None
    lines: list[LineRequest] = []

    def flush() -> None:
        nonlocal claim, lines
        if claim is not None:
            out.append(
                StatusRequest(
                    payer_id=head["payer_id"],
                    payer_name=head["payer_name"],
                    receiver_name=head["receiver_name"],
                    receiver_id=head["receiver_id"],
                    provider_npi=head["npi"],
                    provider_name=head["name"],
                    provider_first=head["first"],
                    provider_id_qualifier=head["qualifier"],
                    subscriber=subscriber,
                    dependent=dependent if level == "23" else None,
                    lines=tuple(lines),
                    reference=head["reference"],
                    **claim,
                )
            )
        claim, lines = None, []

    for segment in segments:
        sid = segment.id
        if sid == "BHT":
            head["reference"] = _el(segment, 3)
        elif sid == "HL":
            flush()
            level = _el(segment, 3)
            if level == "22":
                subscriber, dependent = Person(), None
        elif sid == "DMG":
            if level == "23":
                dependent = Person(birth_date=_el(segment, 2), gender=_el(segment, 3))
            elif level == "22":
                subscriber = Person(birth_date=_el(segment, 2), gender=_el(segment, 3))
        elif sid == "NM1":
            entity = _el(segment, 1)
            if entity == "PR":
                head["payer_name"], head["payer_id"] = _el(segment, 3), _el(segment, 9)
            elif entity == "41":
                head["receiver_name"], head["receiver_id"] = _el(segment, 3), _el(segment, 9)
            elif entity == "1P":
                head["name"] = _el(segment, 3)
                head["first"] = _el(segment, 4) if _el(segment, 2) == "1" else ""
                head["qualifier"], head["npi"] = _el(segment, 8) or "XX", _el(segment, 9)
            elif entity == "IL":
                subscriber = Person(
                    _el(segment, 4),
                    _el(segment, 3),
                    _el(segment, 9),
                    subscriber.birth_date,
                    subscriber.gender,
                )
            elif entity == "QC":
                birth = dependent.birth_date if dependent else ""
                gender = dependent.gender if dependent else ""
                dependent = Person(_el(segment, 4), _el(segment, 3), "", birth, gender)
        elif sid == "TRN":
            flush()
            claim = {"trace": _el(segment, 2)}
        elif claim is None:
            continue
        elif sid == "REF":
            qualifier, value = _el(segment, 1), _el(segment, 2)
            if qualifier == "FJ" and lines:
                lines[-1] = LineRequest(**{**lines[-1].__dict__, "control_number": value})
            else:
                key = {"EJ": "claim_id", "1K": "payer_claim_id", "BLT": "bill_type"}.get(qualifier)
                if key:
                    claim[key] = value
        elif sid == "AMT" and _el(segment, 1) == "T3":
            claim["charge"] = _amount(_el(segment, 2))
        elif sid == "SVC":
            lines.append(_line(segment, delimiters.component))
        elif sid == "DTP" and _el(segment, 1) == "472":
            value = _el(segment, 3)
            if lines:
                lines[-1] = LineRequest(**{**lines[-1].__dict__, "service_date": value})
            else:
                claim["service_date"] = value
    flush()
    return out


def _day_text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or parse_day(value) is None:
        raise FieldError(f"encounter.{key}", "must be a date YYYYMMDD")
    return value


def request_from_json(obj: Any) -> StatusRequest:
    """The request in a JSON body, or :class:`FieldError` naming the first bad field:
    ``tradingPartnerServiceId``; ``providers`` (a list; the one with an ``npi`` is the
    billing provider); ``subscriber`` (``memberId``, names, ``dateOfBirth``); ``encounter``
    (``beginningDateOfService``, ``endDateOfService``, ``trackingNumber``); and the claim:
    ``patientControlNumber`` (the 837's CLM01) or ``payerClaimControlNumber`` (the 835's
    CLP07), optional ``submittedAmount``."""
    if not isinstance(obj, dict):
        raise FieldError("(body)", "must be a JSON object")
    payer_id = _text(obj, "tradingPartnerServiceId", "", required=True, max_len=80)
    providers = obj.get("providers")
    if not isinstance(providers, list) or not providers:
        raise FieldError("providers", "is required (a list with the billing provider's npi)")
    billing = next((p for p in providers if isinstance(p, dict) and p.get("npi")), None)
    if billing is None:
        raise FieldError("providers[].npi", "is required")
    npi = billing["npi"]
    if not isinstance(npi, str) or not npi_valid(npi):
        raise FieldError("providers[].npi", "is not a valid NPI (10 digits, Luhn check digit)")
    organization = _text(billing, "organizationName", "providers[]", required=False, max_len=60)
    last = _text(billing, "lastName", "providers[]", required=False, max_len=60)
    first = _text(billing, "firstName", "providers[]", required=False, max_len=35)
    sub = _object(obj, "subscriber", required=True)
    birth = sub.get("dateOfBirth") or ""
    if birth and (not isinstance(birth, str) or parse_day(birth) is None):
        raise FieldError("subscriber.dateOfBirth", "must be a date YYYYMMDD")
    gender = sub.get("gender") or ""
    if gender not in ("", "F", "M", "U"):
        raise FieldError("subscriber.gender", "must be F, M or U")
    subscriber = Person(
        _text(sub, "firstName", "subscriber", required=False, max_len=35),
        _text(sub, "lastName", "subscriber", required=True, max_len=60),
        _text(sub, "memberId", "subscriber", required=True, max_len=80),
        birth,
        gender,
    )
    encounter = _object(obj, "encounter", required=False)
    begin = _day_text(encounter, "beginningDateOfService")
    end = _day_text(encounter, "endDateOfService")
    if end and not begin:
        raise FieldError("encounter.beginningDateOfService", "is required with endDateOfService")
    if begin and end and end < begin:
        raise FieldError("encounter.endDateOfService", "is before beginningDateOfService")
    tracking = _text(encounter, "trackingNumber", "encounter", required=False, max_len=50)
    claim_id = _text(obj, "patientControlNumber", "", required=False, max_len=38)
    payer_claim_id = _text(obj, "payerClaimControlNumber", "", required=False, max_len=50)
    if not claim_id and not payer_claim_id:
        raise FieldError("patientControlNumber", "is required (or payerClaimControlNumber)")
    charge: Decimal | None = None
    amount = encounter.get("submittedAmount", obj.get("submittedAmount"))
    if amount not in (None, ""):
        charge = _amount(str(amount)) if isinstance(amount, (str, int, float)) else None
        if charge is None or charge < 0:
            raise FieldError("encounter.submittedAmount", "must be an amount like 150.00")
    service = f"{begin}-{end}" if begin and end and end != begin else begin
    return StatusRequest(
        payer_id=payer_id,
        provider_npi=npi,
        provider_name=organization or last,
        provider_first="" if organization else first,
        subscriber=subscriber,
        trace=tracking,
        claim_id=claim_id,
        payer_claim_id=payer_claim_id,
        charge=charge,
        service_date=service,
    )


# ------------------------------------------------------------------------------ answer


@dataclass(frozen=True)
class Status:
    """One status (STC01, STC10 or STC11): category, status code, entity."""

    category: str
    code: str
    entity: str = ""

    @property
    def words(self) -> str:
        category = CATEGORY_WORDS.get(self.category, f"category {self.category}")
        return f"{category}: {STATUS_WORDS.get(self.code, f'status {self.code}')}"

    def composite(self, component: str) -> str:
        parts = [self.category, self.code] + ([self.entity] if self.entity else [])
        return component.join(parts)


@dataclass(frozen=True)
class LineStatus:
    """A service line of the answer (2220D/E) as the payer knows it."""

    qualifier: str
    procedure: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    units: Decimal
    statuses: tuple[Status, ...]
    revenue_code: str = ""
    control_number: str = ""
    service_date: date | None = None
    service_date_end: date | None = None
    carcs: tuple[tuple[str, str, Decimal], ...] = ()
    """(group, CARC, amount) of the line's adjustments (JSON only)."""


@dataclass(frozen=True)
class StatusAnswer:
    request: StatusRequest
    statuses: tuple[Status, ...]
    """The claim's STC01 (then STC10, STC11); one STC segment per three."""
    effective: date
    """STC02."""
    source: str = "payer"
    """``payer`` (the payer's adjudication system) or ``clearinghouse`` (never reached it)."""
    payer_name: str = ""
    charge: Decimal | None = None
    paid: Decimal | None = None
    finalized: date | None = None
    """STC06 adjudication finalized date."""
    payment_date: date | None = None
    """STC08 remittance date."""
    payment_trace: str = ""
    """STC09 check or EFT trace number (the 835's TRN02)."""
    payment_method: str = ""
    """The 835's BPR04 (``CHK``, ``ACH``, ``NON``), JSON only."""
    payer_claim_id: str = ""
    claim_id: str = ""
    bill_type: str = ""
    service_date: date | None = None
    service_date_end: date | None = None
    lines: tuple[LineStatus, ...] = ()
    carcs: tuple[tuple[str, str, Decimal], ...] = ()
    """(group, CARC, amount) of the claim's adjustments (JSON only; the 835 has them)."""
    remarks: tuple[str, ...] = ()
    """RARCs (JSON only)."""
    message: str = ""
    """Plain words for the JSON (STC12 is not used in X212): the pend reason, the edit, the
    requested item."""
    requested: str = ""
    """What the payer is waiting for (P3), in words."""
    due: date | None = None
    """When the requested information is due."""

    @property
    def category(self) -> str:
        return self.statuses[0].category if self.statuses else ""


@dataclass(frozen=True)
class SetAnswers:
    """The answers to one 276 set: one 277."""

    reference: str
    answers: tuple[StatusAnswer, ...]


def _d8(day: date | None) -> str:
    return day.strftime("%Y%m%d") if day is not None else ""


def _stcs(
    statuses: Sequence[Status], effective: date, amounts: Sequence[str], component: str
) -> list[str]:
    """STC segments, three statuses each (STC01, STC10, STC11); ``amounts`` (STC04..STC09)
    only on the first."""
    out: list[str] = []
    for n in range(0, max(len(statuses), 1), 3):
        chunk = list(statuses[n : n + 3]) or [Status("E0", "0")]
        extra = [s.composite(component) for s in chunk[1:]]
        values = list(amounts) if n == 0 else []
        values += [""] * (6 - len(values))
        out.append(_seg("STC", chunk[0].composite(component), _d8(effective), "", *values, *extra))
    return out


def _period(first: date | None, last: date | None, raw: str) -> str:
    if first is None:
        return _seg("DTP", "472", "RD8" if "-" in raw else "D8", raw) if raw else ""
    if last is not None and last != first:
        return _seg("DTP", "472", "RD8", f"{_d8(first)}-{_d8(last)}")
    return _seg("DTP", "472", "D8", _d8(first))


def _claim_segments(answer: StatusAnswer, component: str) -> list[str]:
    """TRN, STC, REF, DTP and the service lines of one claim (2200D/E, 2220D/E)."""
    req = answer.request
    out = [_seg("TRN", "2", _clean(req.trace, 50) or "0")]
    charge = answer.charge if answer.charge is not None else req.charge
    amounts = [
        _money(charge) if charge is not None else "",
        _money(answer.paid) if answer.paid is not None else "",
        _d8(answer.finalized),
        "",
        _d8(answer.payment_date),
        _clean(answer.payment_trace, 16),
    ]
    if not amounts[0] and any(amounts[1:]):
        amounts[0] = "0"
    out += _stcs(answer.statuses, answer.effective, amounts, component)
    payer_claim = answer.payer_claim_id or req.payer_claim_id
    if payer_claim:
        out.append(_seg("REF", "1K", _clean(payer_claim, 50)))
    if answer.bill_type or req.bill_type:
        out.append(_seg("REF", "BLT", _clean(answer.bill_type or req.bill_type, 3)))
    if answer.claim_id or req.claim_id:
        out.append(_seg("REF", "EJ", _clean(answer.claim_id or req.claim_id, 50)))
    dtp = _period(answer.service_date, answer.service_date_end, req.service_date)
    if dtp:
        out.append(dtp)
    for line in answer.lines:
        procedure = component.join([line.qualifier, line.procedure, *line.modifiers[:4]])
        out.append(
            _seg(
                "SVC",
                procedure,
                _money(line.charge),
                _money(line.paid),
                _clean(line.revenue_code, 48),
                "",
                "",
                _money(line.units),
            )
        )
        out += _stcs(line.statuses, answer.effective, (), component)
        if line.control_number:
            out.append(_seg("REF", "FJ", _clean(line.control_number, 50)))
        first = line.service_date or answer.service_date
        last = line.service_date_end if line.service_date else answer.service_date_end
        out.append(
            _period(first, last, req.service_date)
            or _seg("DTP", "472", "D8", _d8(answer.effective))
        )
    return out


def build_277(sets: Sequence[SetAnswers], envelope: Envelope) -> bytes:
    """One interchange (one GS HN group) with one 277 X212 per :class:`SetAnswers`. Answers
    are grouped under one payer / receiver / provider / subscriber HL while they share them."""
    now = envelope.now
    component = ":"
    bodies: list[list[str]] = []
    for answer_set in sets:
        body = [
            _seg(
                "BHT",
                "0010",
                "08",
                _clean(answer_set.reference, 50) or "0",
                now.strftime("%Y%m%d"),
                now.strftime("%H%M"),
                "DG",
            )
        ]
        hl = 0
        keys: list[tuple[object, ...]] = [(), (), (), ()]
        ids = [0, 0, 0, 0]
        for answer in answer_set.answers:
            req = answer.request
            levels = (
                (req.payer_id, req.payer_name, answer.payer_name),
                (req.receiver_id, req.receiver_name),
                (req.provider_npi, req.provider_name, req.provider_first),
                (req.subscriber,),
            )
            depth = 0
            while depth < 4 and ids[depth] and levels[depth] == keys[depth]:
                depth += 1
            if req.dependent is not None:
                depth = min(depth, 3)  # a dependent's claim: its own subscriber HL
            for n in range(depth, 4):
                hl += 1
                ids[n], keys[n] = hl, levels[n]
                parent = str(ids[n - 1]) if n else ""
                child = "0" if n == 3 and req.dependent is None else "1"
                body.append(_seg("HL", str(hl), parent, ("20", "21", "19", "22")[n], child))
                body += _level_name(answer, n)
            if req.dependent is not None:
                hl += 1
                body.append(_seg("HL", str(hl), str(ids[3]), "23"))
                dep = req.dependent
                body.append(_name_segment("QC", "1", dep.last_name or "UNKNOWN", dep.first_name))
                keys[3] = ()  # the next claim starts a new subscriber HL
            body += _claim_segments(answer, component)
        bodies.append(body)
    return build_interchange(envelope, "HN", "277", GUIDE, bodies)


def _level_name(answer: StatusAnswer, level: int) -> list[str]:
    req = answer.request
    if level == 0:
        name = answer.payer_name or req.payer_name or req.payer_id or "UNKNOWN"
        return [_name_segment("PR", "2", name, "", "PI", req.payer_id or "UNKNOWN")]
    if level == 1:
        return [
            _name_segment(
                "41", "2", req.receiver_name or "SUBMITTER", "", "46", req.receiver_id or "UNKNOWN"
            )
        ]
    if level == 2:
        kind = "1" if req.provider_first else "2"
        return [
            _name_segment(
                "1P",
                kind,
                req.provider_name or "PROVIDER",
                req.provider_first,
                req.provider_id_qualifier or "XX",
                req.provider_npi,
            )
        ]
    sub = req.subscriber
    return [
        _name_segment(
            "IL", "1", sub.last_name or "UNKNOWN", sub.first_name, "MI", sub.member_id or "UNKNOWN"
        )
    ]


# -------------------------------------------------- forwarding: 276 out, 277 back in


def _gender(person: Person) -> str:
    return person.gender if person.gender in ("F", "M") else "U"


def build_276(requests: Sequence[StatusRequest], envelope: Envelope) -> bytes:
    """One 276 X212 set asking about ``requests`` (the gateway asks an external payer on
    behalf of a JSON request): payer, receiver, provider and subscriber levels as the
    requests give them, one 2200D/E claim (TRN*1) each."""
    now = envelope.now
    reference = next((r.reference for r in requests if r.reference), "") or "0"
    body = [_seg("BHT", "0010", "13", _clean(reference, 50), now.strftime("%Y%m%d"),
                 now.strftime("%H%M"))]  # fmt: skip
    hl = 0
    for request in requests:
        levels: list[tuple[str, list[str]]] = [
            ("20", [_name_segment("PR", "2", request.payer_name or request.payer_id or "PAYER",
                                  "", "PI", request.payer_id)]),
            ("21", [_name_segment("41", "2", request.receiver_name or "SUBMITTER", "", "46",
                                  request.receiver_id or "UNKNOWN")]),
            ("19", [_name_segment("1P", "1" if request.provider_first else "2",
                                  request.provider_name or "PROVIDER", request.provider_first,
                                  request.provider_id_qualifier or "XX",
                                  request.provider_npi)]),
        ]  # fmt: skip
        parent = ""
        for code, names in levels:
            hl += 1
            body.append(_seg("HL", str(hl), parent, code, "1"))
            body += names
            parent = str(hl)
        sub, dep = request.subscriber, request.dependent
        hl += 1
        body.append(_seg("HL", str(hl), parent, "22", "1" if dep is not None else "0"))
        if dep is None and sub.birth_day is not None:
            body.append(_seg("DMG", "D8", sub.birth_date, _gender(sub)))
        body.append(_name_segment("IL", "1", sub.last_name or "UNKNOWN", sub.first_name, "MI",
                                  sub.member_id or "UNKNOWN"))  # fmt: skip
        if dep is not None:
            hl += 1
            body.append(_seg("HL", str(hl), str(hl - 1), "23"))
            if dep.birth_day is not None:  # required by X212: a JSON request has no dependent
                body.append(_seg("DMG", "D8", dep.birth_date, _gender(dep)))
            body.append(_name_segment("QC", "1", dep.last_name or "UNKNOWN", dep.first_name))
        body.append(_seg("TRN", "1", _clean(request.trace, 50) or "0"))
        if request.payer_claim_id:
            body.append(_seg("REF", "1K", _clean(request.payer_claim_id, 50)))
        if request.bill_type:
            body.append(_seg("REF", "BLT", _clean(request.bill_type, 3)))
        if request.claim_id:
            body.append(_seg("REF", "EJ", _clean(request.claim_id, 50)))
        if request.charge is not None:
            body.append(_seg("AMT", "T3", _money(request.charge)))
        if request.service_date:
            qualifier = "RD8" if "-" in request.service_date else "D8"
            body.append(_seg("DTP", "472", qualifier, request.service_date))
    return build_interchange(envelope, "HR", "276", GUIDE, [body])


def _decimal(text: str) -> Decimal | None:
    return _amount(text) if text else None


def _statuses_of(segment: Segment, component: str) -> list[Status]:
    out = []
    for number in (1, 10, 11):
        parts = _el(segment, number).split(component)
        if parts[0]:
            code = parts[1] if len(parts) > 1 else ""
            out.append(Status(parts[0], code, parts[2] if len(parts) > 2 else ""))
    return out


def _period_of(value: str) -> tuple[date | None, date | None]:
    first, _, last = value.partition("-")
    return parse_day(first), parse_day(last) if last else None


def read_277(
    segments: Sequence[Segment], delimiters: Delimiters, request: StatusRequest
) -> StatusAnswer | None:
    """The payer's answer to ``request`` in one 277 X212 set (the 2200D/E loop whose TRN02
    echoes the request's trace number), or None when the set does not answer it."""
    component = delimiters.component
    payer_name = ""
    found: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = []
    for segment in segments:
        sid = segment.id
        if sid == "NM1" and _el(segment, 1) == "PR":
            payer_name = _el(segment, 3)
        elif sid == "HL":
            if found is not None:
                break
        elif sid == "TRN":
            if found is not None:
                break
            if _el(segment, 2) == request.trace:
                found = {"statuses": []}
        elif found is None:
            continue
        elif sid == "STC":
            target = lines[-1] if lines else found
            target.setdefault("statuses", []).extend(_statuses_of(segment, component))
            if "effective" not in target:
                target["effective"] = parse_day(_el(segment, 2))
                target["charge"], target["paid"] = (
                    _decimal(_el(segment, 4)),
                    _decimal(_el(segment, 5)),
                )
                target["finalized"] = parse_day(_el(segment, 6))
                target["payment_date"] = parse_day(_el(segment, 8))
                target["payment_trace"] = _el(segment, 9)
        elif sid == "REF":
            key = {"1K": "payer_claim_id", "EJ": "claim_id", "BLT": "bill_type",
                   "FJ": "control_number"}.get(_el(segment, 1))  # fmt: skip
            if key == "control_number" and lines:
                lines[-1][key] = _el(segment, 2)
            elif key and key != "control_number" and not lines:
                found[key] = _el(segment, 2)
        elif sid == "DTP" and _el(segment, 1) == "472":
            first, last = _period_of(_el(segment, 3))
            target = lines[-1] if lines else found
            target["service_date"], target["service_date_end"] = first, last
        elif sid == "SVC":
            parts = _el(segment, 1).split(component)
            lines.append({
                "qualifier": parts[0], "procedure": parts[1] if len(parts) > 1 else "",
                "modifiers": tuple(m for m in parts[2:6] if m),
                "charge": _decimal(_el(segment, 2)) or Decimal("0"),
                "paid": _decimal(_el(segment, 3)) or Decimal("0"),
                "revenue_code": _el(segment, 4), "units": _decimal(_el(segment, 7)) or Decimal("0"),
            })  # fmt: skip
    if found is None:
        return None
    bht = next((s for s in segments if s.id == "BHT"), None)
    effective = found.get("effective") or (parse_day(_el(bht, 4)) if bht is not None else None)
    return StatusAnswer(
        request=request,
        statuses=tuple(found["statuses"]),
        effective=effective or date(1900, 1, 1),
        source="payer",
        payer_name=payer_name,
        charge=found.get("charge"),
        paid=found.get("paid"),
        finalized=found.get("finalized"),
        payment_date=found.get("payment_date"),
        payment_trace=found.get("payment_trace", ""),
        payer_claim_id=found.get("payer_claim_id", ""),
        claim_id=found.get("claim_id", ""),
        bill_type=found.get("bill_type", ""),
        service_date=found.get("service_date"),
        service_date_end=found.get("service_date_end"),
        lines=tuple(
            LineStatus(
                qualifier=line["qualifier"],
                procedure=line["procedure"],
                modifiers=line["modifiers"],
                charge=line["charge"],
                paid=line["paid"],
                units=line["units"],
                statuses=tuple(line.get("statuses", ())),
                revenue_code=line["revenue_code"],
                control_number=line.get("control_number", ""),
                service_date=line.get("service_date"),
                service_date_end=line.get("service_date_end"),
            )
            for line in lines
        ),
    )


# ------------------------------------------------------------------------------- JSON


def _status_json(status: Status) -> dict[str, str]:
    out = {
        "statusCategoryCode": status.category,
        "statusCategoryCodeValue": CATEGORY_WORDS.get(status.category, status.category),
        "statusCode": status.code,
        "statusCodeValue": STATUS_WORDS.get(status.code, f"status {status.code}"),
    }
    if status.entity:
        out["entityCode"] = status.entity
    return out


def _carcs_json(carcs: Sequence[tuple[str, str, Decimal]]) -> list[dict[str, str]]:
    return [
        {"groupCode": g, "reasonCode": c, "reason": carc_words(c), "amount": f"{a:.2f}"}
        for g, c, a in carcs
    ]


def _money_json(value: Decimal | None) -> str | None:
    return f"{value:.2f}" if value is not None else None


def answer_json(answer: StatusAnswer) -> dict[str, Any]:
    """The readable JSON answer of ``POST /api/v1/claim-status`` for one claim."""
    req = answer.request
    charge = answer.charge if answer.charge is not None else req.charge
    body: dict[str, Any] = {
        "tradingPartnerServiceId": req.payer_id,
        "payer": {"payerId": req.payer_id, "name": answer.payer_name or req.payer_name},
        "provider": {"npi": req.provider_npi},
        "trackingNumber": req.trace,
        "source": answer.source,
        "status": [_status_json(s) for s in answer.statuses],
        "summary": answer.statuses[0].words if answer.statuses else "",
        "effectiveDate": answer.effective.isoformat(),
        "patientControlNumber": answer.claim_id or req.claim_id,
        "payerClaimControlNumber": answer.payer_claim_id or req.payer_claim_id or None,
        "submittedAmount": _money_json(charge),
        "amountPaid": _money_json(answer.paid),
    }
    if answer.service_date is not None:
        body["serviceDate"] = {
            "begin": answer.service_date.isoformat(),
            "end": (answer.service_date_end or answer.service_date).isoformat(),
        }
    if answer.finalized is not None:
        body["adjudicatedDate"] = answer.finalized.isoformat()
    if answer.payment_trace:
        body["payment"] = {
            "traceNumber": answer.payment_trace,
            "date": answer.payment_date.isoformat() if answer.payment_date else None,
            "method": {"CHK": "check", "ACH": "EFT", "NON": "no payment"}.get(
                answer.payment_method, answer.payment_method
            ),
        }
    if answer.message:
        body["message"] = answer.message
    if answer.requested:
        body["requestedInformation"] = {
            "item": answer.requested,
            "dueDate": answer.due.isoformat() if answer.due else None,
        }
    if answer.carcs:
        body["adjustments"] = _carcs_json(answer.carcs)
    if answer.remarks:
        body["remarkCodes"] = list(answer.remarks)
    if answer.lines:
        body["serviceLines"] = [
            {
                "procedureCode": line.procedure,
                "modifiers": list(line.modifiers),
                "submittedAmount": _money_json(line.charge),
                "amountPaid": _money_json(line.paid),
                "units": f"{line.units:g}",
                "serviceDate": line.service_date.isoformat() if line.service_date else None,
                "lineItemControlNumber": line.control_number or None,
                "status": [_status_json(s) for s in line.statuses],
                **({"adjustments": _carcs_json(line.carcs)} if line.carcs else {}),
            }
            for line in answer.lines
        ]
    return body


def statuses_of(answer: StatusAnswer) -> str:
    """``F1:65`` style codes of the claim (audit, metrics, tables)."""
    return ",".join(f"{s.category}:{s.code}" for s in answer.statuses)


def envelope_for(
    sender: tuple[str, str],
    receiver: tuple[str, str],
    control: int,
    now: datetime,
    usage: str = "P",
) -> Envelope:
    """The envelope of a 277 from the gateway (``sender``) to ``receiver``."""
    return Envelope(sender[0], sender[1], receiver[0], receiver[1], control, usage, now)


def status_table(answer: StatusAnswer) -> str:
    """The answer as a plain-text table (``gateway claim-status``)."""
    body = answer_json(answer)
    rows: list[tuple[str, str]] = [
        ("Claim", body["patientControlNumber"] or "-"),
        ("Payer", f"{answer.request.payer_id} {body['payer']['name']}".strip()),
        ("Tracking number", answer.request.trace or "-"),
        ("Answered by", answer.source),
    ]
    for status in answer.statuses:
        rows.append(("Status", f"{status.category}:{status.code}  {status.words}"))
    rows.append(("Effective date", body["effectiveDate"]))
    if body["payerClaimControlNumber"]:
        rows.append(("Payer claim number", body["payerClaimControlNumber"]))
    for key, label in (("submittedAmount", "Charge"), ("amountPaid", "Paid")):
        if body.get(key) is not None:
            rows.append((label, body[key]))
    if "adjudicatedDate" in body:
        rows.append(("Adjudicated", body["adjudicatedDate"]))
    if "payment" in body:
        payment = body["payment"]
        rows.append(("Payment", f"{payment['method']} {payment['traceNumber']} on "
                                f"{payment['date']}"))  # fmt: skip
    if answer.requested:
        due = f" (due {answer.due.isoformat()})" if answer.due else ""
        rows.append(("Requested", answer.requested + due))
    if answer.message and answer.message != answer.requested:
        rows.append(("Note", answer.message))
    for adjustment in body.get("adjustments", []):
        rows.append(("Adjustment", f"{adjustment['groupCode']}-{adjustment['reasonCode']} "
                                   f"{adjustment['amount']}  {adjustment['reason']}"))  # fmt: skip
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if answer.lines:
        lines.append("")
        lines.append(f"{'Line':<5}{'Procedure':<14}{'Charge':>10}{'Paid':>10}  Status")
        for n, line in enumerate(answer.lines, start=1):
            code = ":".join([line.procedure, *line.modifiers])
            statuses = ", ".join(f"{s.category}:{s.code}" for s in line.statuses)
            lines.append(f"{n:<5}{code:<14}{line.charge:>10.2f}{line.paid:>10.2f}  {statuses}")
    return "\n".join(lines) + "\n"
