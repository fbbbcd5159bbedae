"""A typed model of the claims in one 837 transaction set (005010 X222A1 / X223A2 / X224A2).

:func:`extract_claims` reads the segments of ONE transaction set (ST..SE inclusive), follows
the HL hierarchy (20 billing provider → 22 subscriber → 23 patient) and returns one
:class:`Claim` per ``CLM`` with everything the front-end edits and the 277CA need: parties,
identifiers, dates, diagnoses, service lines, and the position/line of every segment used
(so an edit can say *where*).

Pure and forgiving: the 999 validation is assumed to have run, but odd data never raises.
What cannot be read is left ``None``/empty, or noted in :attr:`Claim.problems` (the edits
turn problems into a rejection of that claim only).

The model holds PHI (names, member IDs, dates of birth, diagnoses): it is for the edits and
the 277CA only. Never log it; log :attr:`Claim.claim_id_hash` or positions instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final, Literal, TypeVar

from gateway.x12.fastinit import quick_init
from gateway.x12.segments import Delimiters, Segment
from gateway.x12.tokenizer import IsaHeader, tokenize_stream, windows

if TYPE_CHECKING:
    from _typeshed import IdentityFunction

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # it comes with mypy (a build tool): pure Python runs without it

    def mypyc_attr(*attrs: str, **kwattrs: object) -> IdentityFunction:
        return _unchanged


_T = TypeVar("_T")


def _unchanged(value: _T) -> _T:
    return value


ClaimKind = Literal["professional", "institutional", "dental", "unknown"]

IMPLEMENTATION_KINDS: Final[dict[str, ClaimKind]] = {
    "005010X222": "professional",
    "005010X222A1": "professional",
    "005010X222A2": "professional",
    "005010X223": "institutional",
    "005010X223A1": "institutional",
    "005010X223A2": "institutional",
    "005010X223A3": "institutional",
    "005010X224": "dental",
    "005010X224A1": "dental",
    "005010X224A2": "dental",
}
"""ST03/GS08 → claim kind; when ST03 is unknown the service-line segments decide."""

DIAGNOSIS_QUALIFIERS: Final[dict[str, tuple[str, str]]] = {
    # qualifier: (code set, role)
    "ABK": ("ICD10", "principal"),
    "BK": ("ICD9", "principal"),
    "ABF": ("ICD10", "other"),
    "BF": ("ICD9", "other"),
    "ABJ": ("ICD10", "admitting"),
    "BJ": ("ICD9", "admitting"),
    "APR": ("ICD10", "reason"),
    "PR": ("ICD9", "reason"),
    "ABN": ("ICD10", "external"),
    "BN": ("ICD9", "external"),
}
"""HI composite qualifiers that carry a diagnosis code (others are procedures, occurrences,
values, conditions...). Only principal/other diagnoses get a pointer position (1-based)."""

_POINTED_ROLES: Final = frozenset({"principal", "other"})
_SERVICE_SEGMENTS: Final[dict[str, ClaimKind]] = {
    "SV1": "professional",
    "SV2": "institutional",
    "SV3": "dental",
}
_TAXONOMY_ENTITIES: Final = {"BI": "85", "PE": "82", "AT": "71", "OP": "72", "RF": "DN", "SU": "DQ"}
"""PRV01 → the entity (NM101) whose taxonomy PRV03 is, for STC01-3."""


# ----------------------------------------------------------------------------- model
#
# The records are @mypyc_attr(acyclic=True): compiled, they are not tracked by the cyclic
# garbage collector (a claim is a few dozen of them, and every collection walked them all:
# an eighth to a quarter of the cost of building a claim, more as the heap grows). They
# hold only strings, numbers, dates and other records, in tuples, so they can never be part
# of a reference cycle. A record type that ever holds something mutable must drop the mark.


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class Place:
    """Where a value sits: segment ID, position in the set (ST = 1), file line, element."""

    segment_id: str
    position: int
    line: int
    element: int | None = None
    """1-based element position (XX01 = 1); None = the whole segment."""
    component: int | None = None

    def __init__(
        self,
        segment_id: str,
        position: int,
        line: int,
        element: int | None = None,
        component: int | None = None,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "segment_id", segment_id)
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "element", element)
        object.__setattr__(self, "component", component)

    def at(self, element: int, component: int | None = None) -> Place:
        return Place(self.segment_id, self.position, self.line, element, component)

    def describe(self) -> str:
        """``SV1 (segment 23, line 25) element 7`` — no data values, safe for messages."""
        text = f"{self.segment_id} (segment {self.position}, line {self.line})"
        if self.element is not None:
            text += f" element {self.element}"
            if self.component is not None:
                text += f"-{self.component}"
        return text


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class Party:
    """An NM1: entity code, type, name, identifier."""

    entity: str
    """NM101 (``85`` billing provider, ``IL`` subscriber, ``PR`` payer, ``QC`` patient...)."""
    entity_type: str
    """NM102: ``1`` person, ``2`` non-person."""
    last_or_org: str
    first: str
    middle: str
    suffix: str
    id_qualifier: str
    """NM108 (``XX`` NPI, ``MI`` member ID, ``PI`` payer ID, ``46`` ETIN...)."""
    id: str
    """NM109."""
    where: Place

    def __init__(
        self,
        entity: str,
        entity_type: str,
        last_or_org: str,
        first: str,
        middle: str,
        suffix: str,
        id_qualifier: str,
        id: str,
        where: Place,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "entity", entity)
        object.__setattr__(self, "entity_type", entity_type)
        object.__setattr__(self, "last_or_org", last_or_org)
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "middle", middle)
        object.__setattr__(self, "suffix", suffix)
        object.__setattr__(self, "id_qualifier", id_qualifier)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "where", where)


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class Address:
    """The N4 of a provider or facility loop (2010AA/AB/AC, 2310x, 2420x); people's
    addresses (subscriber, patient) are not kept."""

    entity: str
    """NM101 of its loop (``85`` billing provider, ``77`` service facility...)."""
    postal_code: str
    """N403."""
    country: str
    """N404 (empty: a U.S. address)."""
    line: str | None
    """LX01 of the service line (2420x), None at claim or billing level."""
    where: Place
    street: tuple[str, ...] = ()
    """N301/N302 of the N3 before it in the same loop (billing and claim level)."""
    street_where: Place | None = None

    def __init__(
        self,
        entity: str,
        postal_code: str,
        country: str,
        line: str | None,
        where: Place,
        street: tuple[str, ...] = (),
        street_where: Place | None = None,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "entity", entity)
        object.__setattr__(self, "postal_code", postal_code)
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "street", street)
        object.__setattr__(self, "street_where", street_where)


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class DateValue:
    """A DTP (or DMG02) date: qualifier, format and the parsed range (None when malformed)."""

    qualifier: str
    format: str
    raw: str
    start: date | None
    end: date | None
    where: Place

    def __init__(
        self,
        qualifier: str,
        format: str,
        raw: str,
        start: date | None,
        end: date | None,
        where: Place,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "qualifier", qualifier)
        object.__setattr__(self, "format", format)
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "where", where)

    @property
    def valid(self) -> bool:
        return self.start is not None and self.end is not None


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class Diagnosis:
    qualifier: str
    code: str
    code_set: str
    """``ICD10`` or ``ICD9`` (from the qualifier)."""
    role: str
    """``principal``, ``other``, ``admitting``, ``reason`` or ``external``."""
    pointer: int | None
    """1-based position a service line's diagnosis pointer refers to (principal/other only)."""
    where: Place

    def __init__(
        self, qualifier: str, code: str, code_set: str, role: str, pointer: int | None, where: Place
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "qualifier", qualifier)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "code_set", code_set)
        object.__setattr__(self, "role", role)
        object.__setattr__(self, "pointer", pointer)
        object.__setattr__(self, "where", where)


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class Taxonomy:
    qualifier: str
    """PRV01 (``BI`` billing, ``PE`` performing...)."""
    code: str
    entity: str
    where: Place

    def __init__(
        self,
        qualifier: str,
        code: str,
        entity: str,
        where: Place,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "qualifier", qualifier)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "entity", entity)
        object.__setattr__(self, "where", where)


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class Drug:
    """LIN/CTP of a service line (2410)."""

    qualifier: str
    """LIN02 (``N4`` = NDC 5-4-2)."""
    code: str
    quantity_raw: str
    unit: str
    where: Place

    def __init__(
        self,
        qualifier: str,
        code: str,
        quantity_raw: str,
        unit: str,
        where: Place,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "qualifier", qualifier)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "quantity_raw", quantity_raw)
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "where", where)


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class ServiceLine:
    number: str
    """LX01."""
    segment: str
    """``SV1``, ``SV2``, ``SV3`` or ``""`` when the LX has no service segment."""
    procedure_qualifier: str
    procedure_code: str
    modifiers: tuple[str, ...]
    revenue_code: str
    """SV201 (institutional)."""
    charge_raw: str
    charge: Decimal | None
    unit_basis: str
    units_raw: str
    units: Decimal | None
    place_of_service: str
    """SV105 / SV303 (empty = the claim's)."""
    diagnosis_pointers: tuple[str, ...]
    """SV107 / SV311 components, raw."""
    drugs: tuple[Drug, ...]
    dates: tuple[DateValue, ...]
    control_number: str
    """REF*6R line item control number."""
    providers: tuple[Party, ...]
    """2420x NM1s of the line."""
    taxonomies: tuple[Taxonomy, ...]
    where: Place
    """The service segment (or the LX when there is none)."""
    lx: Place

    def __init__(
        self,
        number: str,
        segment: str,
        procedure_qualifier: str,
        procedure_code: str,
        modifiers: tuple[str, ...],
        revenue_code: str,
        charge_raw: str,
        charge: Decimal | None,
        unit_basis: str,
        units_raw: str,
        units: Decimal | None,
        place_of_service: str,
        diagnosis_pointers: tuple[str, ...],
        drugs: tuple[Drug, ...],
        dates: tuple[DateValue, ...],
        control_number: str,
        providers: tuple[Party, ...],
        taxonomies: tuple[Taxonomy, ...],
        where: Place,
        lx: Place,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "number", number)
        object.__setattr__(self, "segment", segment)
        object.__setattr__(self, "procedure_qualifier", procedure_qualifier)
        object.__setattr__(self, "procedure_code", procedure_code)
        object.__setattr__(self, "modifiers", modifiers)
        object.__setattr__(self, "revenue_code", revenue_code)
        object.__setattr__(self, "charge_raw", charge_raw)
        object.__setattr__(self, "charge", charge)
        object.__setattr__(self, "unit_basis", unit_basis)
        object.__setattr__(self, "units_raw", units_raw)
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "place_of_service", place_of_service)
        object.__setattr__(self, "diagnosis_pointers", diagnosis_pointers)
        object.__setattr__(self, "drugs", drugs)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "control_number", control_number)
        object.__setattr__(self, "providers", providers)
        object.__setattr__(self, "taxonomies", taxonomies)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "lx", lx)

    @property
    def service_dates(self) -> tuple[DateValue, ...]:
        dates = self.dates
        if len(dates) == 1:  # the usual line: one DTP*472 (a hot path of the edits)
            return dates if dates[0].qualifier == "472" else ()
        return tuple(d for d in dates if d.qualifier == "472")


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class SetHeader:
    """What the 277CA echoes from the 837's header (1000A/1000B, ST, BHT)."""

    st02: str
    implementation: str
    """ST03 (or the GS08 given to :func:`extract_claims`)."""
    bht03: str
    """Originator application transaction identifier: the submitter's batch number."""
    bht04: str
    bht06: str
    """``CH`` chargeable, ``RP`` reporting (encounters)."""
    submitter: Party | None
    receiver: Party | None
    segment_count: int

    def __init__(
        self,
        st02: str,
        implementation: str,
        bht03: str,
        bht04: str,
        bht06: str,
        submitter: Party | None,
        receiver: Party | None,
        segment_count: int,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "st02", st02)
        object.__setattr__(self, "implementation", implementation)
        object.__setattr__(self, "bht03", bht03)
        object.__setattr__(self, "bht04", bht04)
        object.__setattr__(self, "bht06", bht06)
        object.__setattr__(self, "submitter", submitter)
        object.__setattr__(self, "receiver", receiver)
        object.__setattr__(self, "segment_count", segment_count)


@mypyc_attr(acyclic=True)
@dataclass(frozen=True, slots=True)
class Claim:
    """One CLM with its hierarchy. Holds PHI: never log it (see the module docstring)."""

    header: SetHeader
    index: int
    """0-based index of the claim in its transaction set."""
    kind: ClaimKind
    claim_id: str
    """CLM01 (the submitter's patient control number)."""
    charge_raw: str
    charge: Decimal | None
    facility_code: str
    """CLM05-1: place of service (professional/dental) or facility type (institutional)."""
    facility_qualifier: str
    """CLM05-2: ``B`` place of service, ``A`` UB facility type."""
    frequency_code: str
    """CLM05-3: ``1`` original, ``7`` replacement, ``8`` void..."""
    billing_provider: Party | None
    billing_tin: str
    """2010AA REF*EI (or REF*SY) value."""
    billing_tin_qualifier: str
    subscriber: Party | None
    subscriber_dob: DateValue | None
    patient: Party | None
    """2010CA (only when the patient is not the subscriber)."""
    patient_dob: DateValue | None
    payer: Party | None
    """2010BB NM1*PR."""
    filing_indicator: str
    """SBR09 of the subscriber (2000B)."""
    filing_where: Place | None
    original_reference: str
    """2300 REF*F8: the payer's claim control number being replaced/voided."""
    dates: tuple[DateValue, ...]
    """2300 DTPs (onset 431, initial treatment 454, statement 434, admission 435...)."""
    diagnoses: tuple[Diagnosis, ...]
    lines: tuple[ServiceLine, ...]
    providers: tuple[Party, ...]
    """Every NM1 with an identifier that applies to this claim: billing/pay-to (2010AA/AB),
    claim-level providers (2310x) — not the line-level ones (see :attr:`ServiceLine.providers`)."""
    taxonomies: tuple[Taxonomy, ...]
    """PRVs of the billing level and the claim (line PRVs are on the lines)."""
    where: Place
    """The CLM segment."""
    end_position: int
    """Position of the claim's last segment."""
    problems: tuple[tuple[str, Place | None], ...] = ()
    """Structure that could not be read (message without PHI, where)."""
    addresses: tuple[Address, ...] = ()
    """N4s of the billing level's, the claim's and its lines' provider/facility loops."""
    admission_type: str = ""
    """CL101 (institutional): NUBC priority (type) of admission or visit."""

    # -------------------------------------------------------------- derived values

    def __init__(
        self,
        header: SetHeader,
        index: int,
        kind: ClaimKind,
        claim_id: str,
        charge_raw: str,
        charge: Decimal | None,
        facility_code: str,
        facility_qualifier: str,
        frequency_code: str,
        billing_provider: Party | None,
        billing_tin: str,
        billing_tin_qualifier: str,
        subscriber: Party | None,
        subscriber_dob: DateValue | None,
        patient: Party | None,
        patient_dob: DateValue | None,
        payer: Party | None,
        filing_indicator: str,
        filing_where: Place | None,
        original_reference: str,
        dates: tuple[DateValue, ...],
        diagnoses: tuple[Diagnosis, ...],
        lines: tuple[ServiceLine, ...],
        providers: tuple[Party, ...],
        taxonomies: tuple[Taxonomy, ...],
        where: Place,
        end_position: int,
        problems: tuple[tuple[str, Place | None], ...] = (),
        addresses: tuple[Address, ...] = (),
        admission_type: str = "",
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "claim_id", claim_id)
        object.__setattr__(self, "charge_raw", charge_raw)
        object.__setattr__(self, "charge", charge)
        object.__setattr__(self, "facility_code", facility_code)
        object.__setattr__(self, "facility_qualifier", facility_qualifier)
        object.__setattr__(self, "frequency_code", frequency_code)
        object.__setattr__(self, "billing_provider", billing_provider)
        object.__setattr__(self, "billing_tin", billing_tin)
        object.__setattr__(self, "billing_tin_qualifier", billing_tin_qualifier)
        object.__setattr__(self, "subscriber", subscriber)
        object.__setattr__(self, "subscriber_dob", subscriber_dob)
        object.__setattr__(self, "patient", patient)
        object.__setattr__(self, "patient_dob", patient_dob)
        object.__setattr__(self, "payer", payer)
        object.__setattr__(self, "filing_indicator", filing_indicator)
        object.__setattr__(self, "filing_where", filing_where)
        object.__setattr__(self, "original_reference", original_reference)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "diagnoses", diagnoses)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "providers", providers)
        object.__setattr__(self, "taxonomies", taxonomies)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "end_position", end_position)
        object.__setattr__(self, "problems", problems)
        object.__setattr__(self, "addresses", addresses)
        object.__setattr__(self, "admission_type", admission_type)

    @property
    def claim_id_hash(self) -> str:
        """A log-safe handle for CLM01 (first 16 hex digits of its SHA-256)."""
        return hashlib.sha256(self.claim_id.encode("utf-8", "replace")).hexdigest()[:16]

    @property
    def member_id(self) -> str:
        return self.subscriber.id if self.subscriber is not None else ""

    @property
    def payer_id(self) -> str:
        return self.payer.id if self.payer is not None else ""

    @property
    def billing_npi(self) -> str:
        bp = self.billing_provider
        return bp.id if bp is not None and bp.id_qualifier == "XX" else ""

    @property
    def bill_type(self) -> str:
        """Institutional type of bill without the leading 0 (CLM05-1 + CLM05-3), else ''."""
        if self.facility_qualifier != "A":
            return ""
        return self.facility_code + self.frequency_code

    @property
    def person(self) -> Party | None:
        """Who the services were for: the patient (2010CA) or else the subscriber."""
        return self.patient if self.patient is not None else self.subscriber

    @property
    def person_dob(self) -> DateValue | None:
        return self.patient_dob if self.patient is not None else self.subscriber_dob

    def service_dates(self) -> list[DateValue]:
        """Line DTP*472s, or the claim's 472/434 when no line has one."""
        line_dates = [d for line in self.lines for d in line.service_dates]
        if line_dates:
            return line_dates
        return [d for d in self.dates if d.qualifier in ("472", "434")]

    def service_period(self) -> tuple[date, date] | None:
        """Earliest start and latest end over the readable service dates, in one pass."""
        first: date | None = None
        last: date | None = None
        for value in self.service_dates():
            start, end = value.start, value.end
            if start is not None and end is not None:
                if first is None or start < first:
                    first = start
                if last is None or end > last:
                    last = end
        if first is None or last is None:
            return None
        return first, last


# --------------------------------------------------------------------------- parsing


def parse_decimal(value: str) -> Decimal | None:
    """An X12 R/N value as a Decimal (None when empty or not a finite number); memoised
    (charges and units repeat from claim to claim; a Decimal is immutable)."""
    found = _DECIMAL_MEMO.get(value)
    if found is not None or value in _DECIMAL_MEMO:  # one look-up for a number seen before
        return found
    parsed = _parse_decimal(value)
    if len(_DECIMAL_MEMO) >= _D8_MEMO_LIMIT:
        _DECIMAL_MEMO.clear()
    _DECIMAL_MEMO[value] = parsed
    return parsed


_DECIMAL_MEMO: Final[dict[str, Decimal | None]] = {}


def _parse_decimal(value: str) -> Decimal | None:
    text = value.strip()
    if not text or len(text) > 32:
        return None
    if any(c not in "0123456789.-+" for c in text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_D8_MEMO: Final[dict[str, date | None]] = {}
_D8_MEMO_LIMIT: Final = 65536


def parse_d8(value: str) -> date | None:
    """CCYYMMDD as a date (None when it is not a calendar date). The same answers as
    ``datetime.strptime(value, "%Y%m%d")`` for the eight ASCII digits accepted here, without
    its regex machinery (a hot path: every DTP of every claim); memoised, claims share dates."""
    found = _D8_MEMO.get(value)
    if found is not None or value in _D8_MEMO:  # one look-up for a date seen before
        return found
    parsed: date | None = None
    if len(value) == 8 and value.isascii() and value.isdigit():
        try:
            parsed = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            parsed = None
    if len(_D8_MEMO) >= _D8_MEMO_LIMIT:
        _D8_MEMO.clear()
    _D8_MEMO[value] = parsed
    return parsed


def parse_date_value(qualifier: str, fmt: str, raw: str, where: Place) -> DateValue:
    """DTP02/DTP03 → a :class:`DateValue` (D8, RD8 and DT are read; other formats are not
    dates and stay unparsed)."""
    start: date | None = None
    end: date | None = None
    if fmt == "D8":
        start = end = parse_d8(raw)
    elif fmt == "RD8":
        parts = raw.split("-")
        if len(parts) == 2:
            start, end = parse_d8(parts[0]), parse_d8(parts[1])
            if start is None or end is None:
                start = end = None
    elif fmt == "DT":
        start = end = (
            parse_d8(raw[:8]) if len(raw) == 12 and raw.isascii() and raw.isdigit() else None
        )
    return DateValue(qualifier, fmt, raw, start, end, where)


def _el(segment: Segment, index: int) -> str:
    """Element ``index`` (1 = XX01), '' when absent."""
    elements = segment.elements
    return elements[index - 1] if 0 < index <= len(elements) else ""


def _components(value: str, delimiters: Delimiters) -> list[str]:
    return value.split(delimiters.component)


_BLANKS: Final = ("",) * 16


def _padded(segment: Segment, count: int) -> tuple[str, ...]:
    """The segment's elements, with at least ``count`` (<= 16) of them (missing ones ``""``,
    as :func:`_el` reads them): one length check instead of one per element."""
    elements = segment.elements
    if len(elements) >= count:
        return elements
    return elements + _BLANKS[: count - len(elements)]


def _party(segment: Segment, where: Place) -> Party:
    e = _padded(segment, 9)
    return Party(e[0], e[1], e[2], e[3], e[4], e[6], e[7], e[8], where)


def _place(segment: Segment, position: int, where: Place | None) -> Place:
    """``where`` (the segment's place, when the caller made it already) or a new one: the
    builders make a segment's :class:`Place` only when they keep it."""
    return where if where is not None else Place(segment.id, position, segment.line)


def _pointers(text: str, component: str) -> tuple[str, ...]:
    """The non-empty components of a diagnosis pointer composite (SV107 / SV311)."""
    if not text:
        return ()
    if component not in text:  # the usual single pointer
        return (text,)
    return tuple([p for p in text.split(component) if p])


# The builders below are plain classes, not dataclasses: mypyc compiles a plain class's
# __init__, while a dataclass's generated __init__ stays interpreted Python (a few of them
# per claim cost more than the rest of the claim's building). Their collections are tuples
# grown by concatenation: most stay empty (no allocation) or get one or two items. Like the
# records, they are "acyclic" (see the model): nothing they hold refers back to them.


@mypyc_attr(acyclic=True)
class _Level:
    """One HL level and what was read in it."""

    def __init__(self, hl_id: str, parent: str, code: str, where: Place | None = None) -> None:
        self.hl_id = hl_id
        self.parent = parent
        self.code = code
        self.where = where
        """Not read (the HL of a level is never reported): :class:`ClaimStream` leaves it None."""
        self.parties: tuple[Party, ...] = ()
        self.billing: Party | None = None
        self.tin = ""
        self.tin_qualifier = ""
        self.taxonomies: tuple[Taxonomy, ...] = ()
        self.subscriber: Party | None = None
        self.payer: Party | None = None
        self.patient: Party | None = None
        self.dob: DateValue | None = None
        self.filing_indicator = ""
        self.filing_where: Place | None = None
        self.last_entity = ""
        self.addresses: tuple[Address, ...] = ()
        self.street: tuple[str, ...] = ()
        """N301/N302 of the last N3 (billing level), and where it is."""
        self.street_where: Place | None = None


@mypyc_attr(acyclic=True)
class _LineBuilder:
    def __init__(self, number: str, lx: Place) -> None:
        self.number = number
        self.lx = lx
        self.segment = ""
        self.where: Place | None = None
        self.procedure_qualifier = ""
        self.procedure_code = ""
        self.modifiers: tuple[str, ...] = ()
        self.revenue_code = ""
        self.charge_raw = ""
        self.unit_basis = ""
        self.units_raw = ""
        self.place_of_service = ""
        self.pointers: tuple[str, ...] = ()
        self.drugs: tuple[Drug, ...] = ()
        self.dates: tuple[DateValue, ...] = ()
        self.control_number = ""
        self.providers: tuple[Party, ...] = ()
        self.taxonomies: tuple[Taxonomy, ...] = ()
        self.in_adjudication = False
        """Inside 2430 (SVD/CAS/DTP*573): ignore its dates."""

    def build(self) -> ServiceLine:
        return ServiceLine(
            number=self.number,
            segment=self.segment,
            procedure_qualifier=self.procedure_qualifier,
            procedure_code=self.procedure_code,
            modifiers=self.modifiers,
            revenue_code=self.revenue_code,
            charge_raw=self.charge_raw,
            charge=parse_decimal(self.charge_raw),
            unit_basis=self.unit_basis,
            units_raw=self.units_raw,
            units=parse_decimal(self.units_raw),
            place_of_service=self.place_of_service,
            diagnosis_pointers=self.pointers,
            drugs=self.drugs,
            dates=self.dates,
            control_number=self.control_number,
            providers=self.providers,
            taxonomies=self.taxonomies,
            where=self.where or self.lx,
            lx=self.lx,
        )


@mypyc_attr(acyclic=True)
class _ClaimBuilder:
    def __init__(
        self,
        index: int,
        clm: Segment,
        where: Place,
        level: _Level | None,
        chain: list[_Level],
        delimiters: Delimiters,
        kind: ClaimKind,
    ) -> None:
        self.index = index
        self.clm = clm
        self.where = where
        self.level = level
        self.chain = chain
        """Not changed by the builder (a claim may share it with the next one)."""
        self.delimiters = delimiters
        self.component = delimiters.component
        self.kind: ClaimKind = kind
        self.dates: tuple[DateValue, ...] = ()
        self.diagnoses: tuple[Diagnosis, ...] = ()
        self.providers: tuple[Party, ...] = ()
        self.taxonomies: tuple[Taxonomy, ...] = ()
        self.lines: list[_LineBuilder] = []
        self.line: _LineBuilder | None = None
        """The last of :attr:`lines` (None before the first LX)."""
        self.original_reference = ""
        self.in_cob = False
        """Inside 2320/2330 (other subscriber): its NM1/DTP/REF are not this claim's."""
        self.end_position = 0
        self.problems: list[tuple[str, Place | None]] = []
        self.pointer_count = 0
        self.addresses: tuple[Address, ...] = ()
        self.street: tuple[str, ...] = ()
        self.street_where: Place | None = None
        self.admission_type = ""

    def feed_at(self, segment: Segment, position: int, where: Place | None) -> None:
        """A segment of the claim (after its CLM) at ``position`` in the set (``where``: its
        Place if made already, else None)."""
        """:meth:`feed` by position (``where``: its Place if made already, else None)."""
        self.end_position = position
        sid = segment.id
        if sid == "LX":
            new_line = _LineBuilder(_el(segment, 1), _place(segment, position, where))
            self.lines.append(new_line)
            self.line = new_line
            self.in_cob = False
            return
        line = self.line
        if line is not None:
            self._feed_line(line, segment, position, where)
            return
        if sid == "SBR":
            self.in_cob = True
            return
        if self.in_cob:
            return
        if sid == "HI":
            self._feed_hi(segment, position)
        elif sid == "DTP":
            e = _padded(segment, 3)
            where = _place(segment, position, where)
            self.dates += (parse_date_value(e[0], e[1], e[2], where),)
        elif sid == "REF":
            if _el(segment, 1) == "F8":
                self.original_reference = _el(segment, 2)
        elif sid == "NM1":
            self.providers += (_party(segment, _place(segment, position, where)),)
        elif sid == "PRV":
            self.taxonomies += (_taxonomy(segment, position),)
        elif sid == "N3":
            self.street = segment.elements[:2]
            self.street_where = _place(segment, position, where)
        elif sid == "N4":
            if self.providers:
                entity = self.providers[-1].entity
                where = _place(segment, position, where)
                address = _address(entity, segment, where, None, self.street, self.street_where)
                self.addresses += (address,)
        elif sid == "CL1":
            self.admission_type = _el(segment, 1)

    def _feed_hi(self, segment: Segment, position: int) -> None:
        component = self.component
        element = 0
        for value in segment.elements:
            element += 1
            # value.split(component)[0] and [1], without the list
            cut = value.find(component)
            qualifier = value if cut < 0 else value[:cut]
            known = DIAGNOSIS_QUALIFIERS.get(qualifier)
            if known is None:
                continue
            if cut < 0:
                code = ""
            else:
                end = value.find(component, cut + 1)
                code = value[cut + 1 :] if end < 0 else value[cut + 1 : end]
            code_set, role = known
            pointer: int | None = None
            if role == "principal" or role == "other":  # _POINTED_ROLES
                self.pointer_count += 1
                pointer = self.pointer_count
            diagnosis = Diagnosis(
                qualifier=qualifier,
                code=code,
                code_set=code_set,
                role=role,
                pointer=pointer,
                where=Place(segment.id, position, segment.line, element, 2),
            )
            self.diagnoses += (diagnosis,)

    def _feed_line(
        self, line: _LineBuilder, segment: Segment, position: int, where: Place | None
    ) -> None:
        sid = segment.id
        if sid == "DTP":
            if not line.in_adjudication:
                e = _padded(segment, 3)
                where = _place(segment, position, where)
                line.dates += (parse_date_value(e[0], e[1], e[2], where),)
        elif sid == "SV1" or sid == "SV2" or sid == "SV3":  # _SERVICE_SEGMENTS
            self._service(line, segment, _place(segment, position, where))
        elif sid == "REF":
            if not line.in_adjudication and _el(segment, 1) == "6R":
                line.control_number = _el(segment, 2)
        elif sid == "NM1":
            line.providers += (_party(segment, _place(segment, position, where)),)
        elif sid == "PRV":
            line.taxonomies += (_taxonomy(segment, position),)
        elif sid == "N4":
            if line.providers and not line.in_adjudication:
                entity = line.providers[-1].entity
                where = _place(segment, position, where)
                self.addresses += (_address(entity, segment, where, line.number, (), None),)
        elif sid == "SVD" or sid == "CAS":
            line.in_adjudication = True
        elif sid == "LIN":
            where = _place(segment, position, where)
            line.drugs += (Drug(_el(segment, 2), _el(segment, 3), "", "", where),)
        elif sid == "CTP":
            if line.drugs:
                last = line.drugs[-1]
                unit = _components(_el(segment, 5), self.delimiters)[0]
                drug = Drug(last.qualifier, last.code, _el(segment, 4), unit, last.where)
                line.drugs = (*line.drugs[:-1], drug)

    def _service(self, line: _LineBuilder, segment: Segment, where: Place) -> None:
        sid = segment.id
        if line.segment:
            self.problems.append(("service line has two service segments", where))
            return
        line.segment = sid
        line.where = where
        component = self.component
        if sid == "SV1":
            e = _padded(segment, 7)
            procedure = e[0]
            line.charge_raw = e[1]
            line.unit_basis = e[2]
            line.units_raw = e[3]
            line.place_of_service = e[4]
            line.pointers = _pointers(e[6], component)
        elif sid == "SV2":
            e = _padded(segment, 5)
            line.revenue_code = e[0]
            procedure = e[1]
            line.charge_raw = e[2]
            line.unit_basis = e[3]
            line.units_raw = e[4]
        else:  # SV3
            e = _padded(segment, 11)
            procedure = e[0]
            line.charge_raw = e[1]
            line.place_of_service = e[2]
            line.units_raw = e[5]
            line.pointers = _pointers(e[10], component)
        proc = procedure.split(component)
        if len(proc) == 2:  # the usual HC:99213 (no modifiers)
            if proc[0] or proc[1]:
                line.procedure_qualifier = proc[0]
                line.procedure_code = proc[1]
        elif any(proc):
            line.procedure_qualifier = proc[0]
            line.procedure_code = proc[1] if len(proc) > 1 else ""
            modifiers = proc[2:6]
            while modifiers and not modifiers[-1]:
                modifiers.pop()
            line.modifiers = tuple(modifiers)

    def build(self, header: SetHeader) -> Claim:
        clm = self.clm
        e = _padded(clm, 5)
        claim_id = e[0]
        charge_raw = e[1]
        composite = e[4].split(self.component)
        count = len(composite)
        billing_level: _Level | None = None
        subscriber_level: _Level | None = None
        patient_level: _Level | None = None
        for lv in self.chain:  # the first of each code, nearest first
            code = lv.code
            if code == "20":
                if billing_level is None:
                    billing_level = lv
            elif code == "22":
                if subscriber_level is None:
                    subscriber_level = lv
            elif code == "23" and patient_level is None:
                patient_level = lv
        no_billing = billing_level is None or billing_level.billing is None
        no_subscriber = subscriber_level is None or subscriber_level.subscriber is None
        if no_billing or no_subscriber or not claim_id or not self.lines:
            found = list(self.problems)
            if no_billing:
                found.append(("the claim has no billing provider (2010AA)", self.where))
            if no_subscriber:
                found.append(("the claim has no subscriber (2010BA)", self.where))
            if not claim_id:
                found.append(("the claim has no claim identifier (CLM01)", self.where.at(1)))
            if not self.lines:
                found.append(("the claim has no service lines", self.where))
            problems = tuple(found)
        else:
            problems = tuple(self.problems)
        kind = self.kind
        if kind == "unknown":
            kinds = {_SERVICE_SEGMENTS[ln.segment] for ln in self.lines if ln.segment}
            if len(kinds) == 1:
                kind = kinds.pop()
        providers = self.providers
        taxonomies = self.taxonomies
        addresses = self.addresses
        billing: Party | None = None
        billing_tin = billing_tin_qualifier = ""
        if billing_level is not None:
            providers = billing_level.parties + providers
            taxonomies = billing_level.taxonomies + taxonomies
            addresses = billing_level.addresses + addresses
            billing = billing_level.billing
            billing_tin = billing_level.tin
            billing_tin_qualifier = billing_level.tin_qualifier
        return Claim(
            header=header,
            index=self.index,
            kind=kind,
            claim_id=claim_id,
            charge_raw=charge_raw,
            charge=parse_decimal(charge_raw),
            facility_code=composite[0],
            facility_qualifier=composite[1] if count > 1 else "",
            frequency_code=composite[2] if count > 2 else "",
            billing_provider=billing,
            billing_tin=billing_tin,
            billing_tin_qualifier=billing_tin_qualifier,
            subscriber=subscriber_level.subscriber if subscriber_level else None,
            subscriber_dob=subscriber_level.dob if subscriber_level else None,
            patient=patient_level.patient if patient_level else None,
            patient_dob=patient_level.dob if patient_level else None,
            payer=subscriber_level.payer if subscriber_level else None,
            filing_indicator=subscriber_level.filing_indicator if subscriber_level else "",
            filing_where=subscriber_level.filing_where if subscriber_level else None,
            original_reference=self.original_reference,
            dates=self.dates,
            diagnoses=self.diagnoses,
            lines=tuple(line.build() for line in self.lines),
            providers=providers,
            taxonomies=taxonomies,
            where=self.where,
            end_position=self.end_position or self.where.position,
            problems=problems,
            addresses=addresses,
            admission_type=self.admission_type,
        )


def _address(
    entity: str,
    segment: Segment,
    where: Place,
    line: str | None,
    street: tuple[str, ...],
    street_where: Place | None,
) -> Address:
    return Address(entity, _el(segment, 3), _el(segment, 4), line, where, street, street_where)


def _taxonomy(segment: Segment, position: int) -> Taxonomy:
    qualifier = _el(segment, 1)
    return Taxonomy(
        qualifier=qualifier,
        code=_el(segment, 3),
        entity=_TAXONOMY_ENTITIES.get(qualifier, ""),
        where=Place(segment.id, position, segment.line, 3),
    )


def _feed_level_at(level: _Level, segment: Segment, position: int, where: Place | None) -> None:
    """A segment of an HL level before its first CLM, at ``position`` in the set (``where``:
    its Place if made already, else None)."""
    sid = segment.id
    code = level.code
    if sid == "NM1":
        party = _party(segment, _place(segment, position, where))
        entity = party.entity
        level.last_entity = entity
        if code == "20":
            level.parties += (party,)
            if entity == "85" and level.billing is None:
                level.billing = party
        elif code == "22":
            if entity == "IL":
                if level.subscriber is None:
                    level.subscriber = party
            elif entity == "PR" and level.payer is None:
                level.payer = party
        elif code == "23" and entity == "QC" and level.patient is None:
            level.patient = party
    elif sid == "N4":
        if code == "20" and level.last_entity:
            where = _place(segment, position, where)
            address = _address(
                level.last_entity, segment, where, None, level.street, level.street_where
            )
            level.addresses += (address,)
    elif sid == "N3":
        if code == "20":
            level.street = segment.elements[:2]
            level.street_where = _place(segment, position, where)
    elif sid == "DMG":
        if level.dob is None and (level.last_entity == "IL" or level.last_entity == "QC"):
            e = _padded(segment, 2)
            where = Place(sid, position, segment.line, 2)
            level.dob = parse_date_value("DOB", e[0], e[1], where)
    elif sid == "SBR":
        if code == "22":
            level.filing_indicator = _el(segment, 9)
            level.filing_where = Place(sid, position, segment.line, 9)
    elif sid == "REF":
        if code == "20" and level.last_entity == "85":
            qualifier = _el(segment, 1)
            if (qualifier == "EI" or qualifier == "SY") and not level.tin:
                level.tin = _el(segment, 2)
                level.tin_qualifier = qualifier
    elif sid == "PRV" and code == "20":
        level.taxonomies += (_taxonomy(segment, position),)


def _chain(level: _Level, levels: dict[str, _Level]) -> list[_Level]:
    """``level`` and its ancestors (by HL02), nearest first; stops on loops/unknown parents."""
    out = [level]
    seen: set[int] | None = None
    current = level
    while current.parent:
        parent = levels.get(current.parent)
        if parent is None:
            break
        if seen is None:
            if len(out) < 8:  # a short chain (the usual 2 or 3): look in it
                if any(lv is parent for lv in out):
                    break
            else:
                seen = {id(lv) for lv in out}
        if seen is not None:
            if id(parent) in seen:
                break
            seen.add(id(parent))
        out.append(parent)
        current = parent
    return out


def read_header(segments: Sequence[Segment], implementation: str = "") -> SetHeader:
    """The set's ST/BHT/1000A/1000B (the first HL ends the header)."""
    return _read_header(segments, implementation, len(segments))


def _read_header(segments: Sequence[Segment], implementation: str, count: int) -> SetHeader:
    st02 = st03 = bht03 = bht04 = bht06 = ""
    submitter: Party | None = None
    receiver: Party | None = None
    position = 0
    for segment in segments:
        position += 1
        sid = segment.id
        if sid == "HL":
            break
        if sid == "ST":
            st02, st03 = _el(segment, 2), _el(segment, 3)
        elif sid == "BHT":
            bht03, bht04, bht06 = _el(segment, 3), _el(segment, 4), _el(segment, 6)
        elif sid == "NM1":
            party = _party(segment, Place(sid, position, segment.line))
            if party.entity == "41" and submitter is None:
                submitter = party
            elif party.entity == "40" and receiver is None:
                receiver = party
    return SetHeader(
        st02=st02,
        implementation=st03 or implementation,
        bht03=bht03,
        bht04=bht04,
        bht06=bht06,
        submitter=submitter,
        receiver=receiver,
        segment_count=count,
    )


KEEP_LEVELS: Final = 4096
"""HL levels (other than billing providers, HL 20) a :class:`ClaimStream` keeps for parent
look-ups: children follow their parents closely in an 837, so this is exact for every sane
file and bounds memory for sets with hundreds of thousands of subscribers."""

_SKIP: Final = 0
_HL: Final = 1
_CLM: Final = 2
_FEED: Final = 3
_STEP: Final[dict[str, int]] = {
    "SE": _SKIP,
    "ST": _SKIP,
    "GE": _SKIP,
    "IEA": _SKIP,
    "GS": _SKIP,
    "HL": _HL,
    "CLM": _CLM,
}
"""What :meth:`ClaimStream.step` does with a segment ID (one dict look-up, not seven
comparisons): skip it (envelope), open a level, open a claim; any other is fed (_FEED)."""


class ClaimStream:
    """The claims of one transaction set fed one segment at a time, ST first: the claims
    :func:`extract_claims` finds, without holding the set (except that ``header.
    segment_count`` is 0: the set's length is unknown while streaming). The segments before
    the first HL are buffered to read the header first.

    ``keep_levels``: HL levels other than billing providers kept for parent look-ups (see
    :data:`KEEP_LEVELS`); 0 keeps them all."""

    def __init__(
        self, delimiters: Delimiters, implementation: str, keep_levels: int = KEEP_LEVELS
    ) -> None:
        self.delimiters = delimiters
        self.implementation = implementation
        self.keep_levels = keep_levels
        self.pending: list[Segment] | None = []
        """The segments before the first HL; None once the header is read."""
        self.header: SetHeader | None = None
        self.kind: ClaimKind = "unknown"
        self.position = 0
        self.levels: dict[str, _Level] = {}
        self.recent: list[_Level] = []
        self.level: _Level | None = None
        self.chain: list[_Level] = []
        self.claim: _ClaimBuilder | None = None
        self.count = 0

    def feed(self, segment: Segment) -> list[Claim] | None:
        """The claims that ``segment`` ends (None when it ends none, the usual case)."""
        pending = self.pending
        if pending is not None:
            if segment.id != "HL":
                pending.append(segment)
                return None
            out = self._start()
            done = self.step(segment)
            if done is not None:
                out.append(done)
            return out if out else None
        done = self.step(segment)
        return None if done is None else [done]

    def finish(self) -> list[Claim]:
        """The claims still open at the end of the set."""
        out = self._start() if self.pending is not None else []
        if self.claim is not None:
            out.append(self._build(self.claim))
            self.claim = None
        return out

    def begin(self, header: SetHeader) -> None:
        """Start with a known header (the segments then go to :meth:`step`, ST included)."""
        self.pending = None
        self.header = header
        self.kind = IMPLEMENTATION_KINDS.get(header.implementation.strip(), "unknown")

    def _start(self) -> list[Claim]:
        pending = self.pending or []
        self.begin(_read_header(pending, self.implementation, 0))
        out: list[Claim] = []
        for segment in pending:
            done = self.step(segment)
            if done is not None:
                out.append(done)
        return out

    def _build(self, claim: _ClaimBuilder) -> Claim:
        header = self.header
        assert header is not None
        self.count += 1
        return claim.build(header)

    def _remember(self, level: _Level) -> None:
        self.levels[level.hl_id] = level  # a repeated HL01 means the latest one
        keep = self.keep_levels
        if level.code == "20" or keep <= 0:
            return
        recent = self.recent
        recent.append(level)
        if len(recent) > 2 * keep:
            levels = self.levels
            for old in recent[:keep]:
                if levels.get(old.hl_id) is old:
                    del levels[old.hl_id]
            del recent[:keep]

    def step(self, segment: Segment) -> Claim | None:
        """One segment after the header is known: the claim it ends, if any."""
        self.position += 1
        what = _STEP.get(segment.id, _FEED)
        if what == _FEED:
            claim = self.claim
            if claim is not None:
                claim.feed_at(segment, self.position, None)
            else:
                level = self.level
                if level is not None:
                    _feed_level_at(level, segment, self.position, None)
            return None
        if what == _SKIP:
            return None
        done: Claim | None = None
        if self.claim is not None:
            done = self._build(self.claim)
            self.claim = None
        if what == _HL:
            e = _padded(segment, 3)
            level = _Level(e[0], e[1], e[2])
            if level.hl_id:
                self._remember(level)
            self.level = level
            self.chain = _chain(level, self.levels)
            return done
        where = Place(segment.id, self.position, segment.line)
        claim = _ClaimBuilder(
            self.count, segment, where, self.level, self.chain, self.delimiters, self.kind
        )
        if self.level is None or self.level.code not in ("22", "23"):
            claim.problems.append(
                ("the claim is not under a subscriber or patient level (HL 22/23)", where)
            )
        self.claim = claim
        return done


def extract_claims(
    segments: Sequence[Segment], delimiters: Delimiters, implementation: str = ""
) -> list[Claim]:
    """The claims of one transaction set (``segments`` = ST..SE inclusive, ST = position 1).

    ``implementation`` (GS08) is used when ST03 is missing. Never raises on odd data.
    """
    stream = ClaimStream(delimiters, implementation, keep_levels=0)
    stream.begin(read_header(segments, implementation))
    claims: list[Claim] = []
    for segment in segments:
        done = stream.step(segment)
        if done is not None:
            claims.append(done)
    claims += stream.finish()
    return claims


# ------------------------------------------------------------------ file convenience


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """One ST..SE of a file, with where it sits in the envelopes (indexes are 0-based and
    match ``FileAnalysis.interchanges[i].groups[j].transactions[k]``)."""

    interchange_index: int
    group_index: int
    set_index: int
    isa13: str
    gs06: str
    gs08: str
    delimiters: Delimiters
    segments: tuple[Segment, ...]


def iter_transaction_sets(data: bytes | str) -> Iterator[TransactionSet]:
    """Every ST..SE (SE included when present) of ``data``, in file order.

    For the pipeline: pick the sets the 999 accepted, then :func:`extract_claims` each.
    A set cut short by a new ST/GS/ISA is yielded as it is (extraction copes).
    """
    return iter_transaction_sets_stream(windows(data))


def iter_transaction_sets_stream(chunks: Iterable[bytes | str]) -> Iterator[TransactionSet]:
    """:func:`iter_transaction_sets` over a file read in chunks (see
    :func:`gateway.x12.tokenizer.read_chunks`): one set's segments in memory at a time."""
    interchange = group = set_index = -1
    header: IsaHeader | None = None
    gs06 = gs08 = ""
    current: list[Segment] | None = None

    def flush() -> TransactionSet | None:
        if current is None or header is None:
            return None
        return TransactionSet(
            interchange_index=interchange,
            group_index=max(group, 0),
            set_index=set_index,
            isa13=header.segment.elements[12].strip(),
            gs06=gs06,
            gs08=gs08,
            delimiters=header.delimiters,
            segments=tuple(current),
        )

    for token in tokenize_stream(chunks):
        if isinstance(token, IsaHeader):
            done = flush()
            if done is not None:
                yield done
            current = None
            header = token
            interchange += 1
            group = set_index = -1
            continue
        if not isinstance(token, Segment):
            continue
        sid = token.id
        if sid == "GS":
            done = flush()
            if done is not None:
                yield done
            current = None
            group += 1
            set_index = -1
            gs06, gs08 = _el(token, 6), _el(token, 8)
        elif sid == "ST":
            done = flush()
            if done is not None:
                yield done
            set_index += 1
            current = [token]
        elif current is not None:
            if sid in ("GE", "IEA"):
                done = flush()
                if done is not None:
                    yield done
                current = None
                continue
            current.append(token)
            if sid == "SE":
                done = flush()
                if done is not None:
                    yield done
                current = None
    done = flush()
    if done is not None:
        yield done


# after the classes, not as their decorator: mypyc compiles a class with only @dataclass
# as a native class (gateway/_native.py)
for _record in (
    Place,
    Party,
    Address,
    DateValue,
    Diagnosis,
    Taxonomy,
    Drug,
    ServiceLine,
    SetHeader,
    Claim,
    TransactionSet,
):
    quick_init(_record)
