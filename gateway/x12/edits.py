"""Front-end claim edits: what a clearinghouse checks before a claim may go to a payer.

Data-driven: :data:`STANDARD_EDITS` is ONE table of :class:`Edit` rows (stable code, STC
category/status/entity, where it looks, what it means, and a check function).  An
:class:`EditSet` composes tables, so a payer-specific table can be added later::

    edits = DEFAULT_EDIT_SET.extend("sim01", SIM01_EDITS).without("TAXONOMY")

:func:`run_edits` applies an edit set to the claims of a batch; each failing edit rejects
only its claim.  Failure messages are plain words WITHOUT PHI: they name positions, line
numbers and qualifiers, never names, member IDs, dates of birth, diagnosis codes or CLM01.

Duplicate detection (A3:78) is by :func:`claim_fingerprint` — a SHA-256 of the normalised
claim (billing NPI/TIN, payer, member, patient, service dates, codes, units, charges; not
CLM01).  The store is injected as ``EditContext.seen_fingerprints``; the fingerprints of
accepted claims come back in the verdicts for the caller to record.

Pure: no I/O beyond loading the ICD-10-CM code set (simple-icd-10-cm) on first use.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Final, Literal, Protocol

from gateway.x12.claims import (
    Claim,
    DateValue,
    Diagnosis,
    Party,
    Place,
    ServiceLine,
    Taxonomy,
    parse_decimal,
)
from gateway.x12.fastinit import quick_init
from gateway.x12.identifiers import npi_valid

IcdStatus = Literal["billable", "header", "unknown"]
"""``billable``: a leaf code; ``header``: exists but has subdivisions; ``unknown``: no such code."""

ICD10_START: Final = date(2015, 10, 1)
"""ICD-10-CM applies to services (discharges) on or after this date."""

CMS_PLACE_OF_SERVICE: Mapping[str, str] = {
    "01": "Pharmacy",
    "02": "Telehealth provided other than in patient's home",
    "03": "School",
    "04": "Homeless shelter",
    "05": "Indian Health Service free-standing facility",
    "06": "Indian Health Service provider-based facility",
    "07": "Tribal 638 free-standing facility",
    "08": "Tribal 638 provider-based facility",
    "09": "Prison/correctional facility",
    "10": "Telehealth provided in patient's home",
    "11": "Office",
    "12": "Home",
    "13": "Assisted living facility",
    "14": "Group home",
    "15": "Mobile unit",
    "16": "Temporary lodging",
    "17": "Walk-in retail health clinic",
    "18": "Place of employment-worksite",
    "19": "Off campus-outpatient hospital",
    "20": "Urgent care facility",
    "21": "Inpatient hospital",
    "22": "On campus-outpatient hospital",
    "23": "Emergency room - hospital",
    "24": "Ambulatory surgical center",
    "25": "Birthing center",
    "26": "Military treatment facility",
    "27": "Outreach site/street",
    "31": "Skilled nursing facility",
    "32": "Nursing facility",
    "33": "Custodial care facility",
    "34": "Hospice",
    "41": "Ambulance - land",
    "42": "Ambulance - air or water",
    "49": "Independent clinic",
    "50": "Federally qualified health center",
    "51": "Inpatient psychiatric facility",
    "52": "Psychiatric facility-partial hospitalization",
    "53": "Community mental health center",
    "54": "Intermediate care facility/individuals with intellectual disabilities",
    "55": "Residential substance abuse treatment facility",
    "56": "Psychiatric residential treatment center",
    "57": "Non-residential substance abuse treatment facility",
    "58": "Non-residential opioid treatment facility",
    "60": "Mass immunization center",
    "61": "Comprehensive inpatient rehabilitation facility",
    "62": "Comprehensive outpatient rehabilitation facility",
    "65": "End-stage renal disease treatment facility",
    "66": "Programs of All-Inclusive Care for the Elderly (PACE) center",
    "71": "Public health clinic",
    "72": "Rural health clinic",
    "81": "Independent laboratory",
    "99": "Other place of service",
}
"""The CMS Place of Service code set (professional CLM05-1 / SV105, dental CLM05-1 / SV303)."""

CLAIM_FILING_INDICATORS: Mapping[str, str] = {
    "11": "Other non-federal programs",
    "12": "Preferred provider organization (PPO)",
    "13": "Point of service (POS)",
    "14": "Exclusive provider organization (EPO)",
    "15": "Indemnity insurance",
    "16": "Health maintenance organization (HMO) Medicare risk",
    "17": "Dental maintenance organization",
    "AM": "Automobile medical",
    "BL": "Blue Cross/Blue Shield",
    "CH": "CHAMPUS",
    "CI": "Commercial insurance company",
    "DS": "Disability",
    "FI": "Federal employees program",
    "HM": "Health maintenance organization",
    "LM": "Liability medical",
    "MA": "Medicare Part A",
    "MB": "Medicare Part B",
    "MC": "Medicaid",
    "OF": "Other federal program",
    "TV": "Title V",
    "VA": "Veterans Affairs plan",
    "WC": "Workers' compensation health claim",
    "ZZ": "Mutually defined",
}
"""SBR09 code list (X12 1032) as used by the 5010 837 guides."""

FREQUENCY_CODES: Mapping[str, frozenset[str]] = {
    "professional": frozenset({"1", "7", "8"}),
    "dental": frozenset({"1", "7", "8"}),
    "institutional": frozenset({"0", "1", "2", "3", "4", "5", "7", "8", "9"}),
    "unknown": frozenset({"1", "7", "8"}),
}
"""CLM05-3 values accepted per claim kind (institutional adds the NUBC interim codes)."""

PROCEDURE_QUALIFIERS: Mapping[str, frozenset[str]] = {
    "SV1": frozenset({"HC"}),
    "SV2": frozenset({"HC", "HP"}),
    "SV3": frozenset({"AD"}),
}
"""Procedure code qualifiers accepted per service segment (HC = CPT/HCPCS, HP = HIPPS,
AD = CDT)."""

PROCEDURE_FORMS: Mapping[str, re.Pattern[str]] = {
    "HC": re.compile(r"[0-9]{4}[0-9FTMU]|[A-V][0-9]{4}"),
    "HP": re.compile(r"[A-Z0-9]{5}"),
    "AD": re.compile(r"D[0-9]{4}"),
}
"""Code forms per qualifier: CPT (5 digits, or 4 digits + F/T/M/U) or HCPCS level II
(letter + 4 digits); HIPPS (5 alphanumerics); CDT (D + 4 digits)."""

CLAIM_ENTITY_CODES: Final = frozenset(
    {
        "03", "1P", "1Z", "40", "41", "71", "72", "73", "77", "82", "85", "87", "DK", "DN",
        "DQ", "FA", "GB", "HK", "IL", "LI", "MSC", "PR", "PRP", "QB", "QC", "QD", "SEP", "TL",
        "TTP", "TU",
    }
)  # fmt: skip
"""Entity codes a 277CA claim-level STC01-3 may carry (others are dropped from the STC)."""

_ICD10_QUALIFIERS: Final = frozenset({"ABK", "ABF", "ABJ", "APR", "ABN"})
_ICD9_QUALIFIERS: Final = frozenset({"BK", "BF", "BJ", "PR", "BN"})
_ICD_FORM: Final = re.compile(r"[A-Z][0-9][0-9A-Z]{1,5}")
_ICD9_FORM: Final = re.compile(r"[0-9EV][0-9]{2,4}")
_MAX_AGE_YEARS: Final = 150
_MAX_CLAIM_ID: Final = 20
_MAX_POINTER: Final = 12


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Hit:
    """What a check function reports; ``None`` fields take the edit's defaults."""

    message: str
    where: Place | None = None
    entity: str | None = None
    status: str | None = None
    line: str | None = None
    """LX01 of the service line concerned."""


class EditScope(Protocol):
    """What a check function may look at besides the claim."""

    @property
    def context(self) -> EditContext: ...

    def claim_id_count(self, claim_id: str) -> int: ...

    def seen_before(self, claim: Claim) -> bool: ...


CheckFn = Callable[[Claim, EditScope], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Edit:
    """One front-end edit (one row of an edit table)."""

    code: str
    """Stable identifier (``NPI``, ``PAYER_ROUTABLE``...), for audit and for disabling."""
    category: str
    """STC01-1 (``A3`` returned as unprocessable, ``A6`` missing, ``A7`` invalid, ``A8``
    relational field in error)."""
    status: str
    """STC01-2 (X12 508 claim status code)."""
    entity: str | None
    """STC01-3 entity code, when the status code needs one."""
    location: str
    """Where the edit looks (loop/segment/element), for humans."""
    message: str
    """The rule in plain words."""
    check: CheckFn


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed edit for a claim (no PHI in ``message``)."""

    edit: str
    category: str
    status: str
    entity: str | None
    message: str
    location: Place | None
    line: str | None = None

    @property
    def stc_code(self) -> str:
        """``A7:562:85``-style composite, as STC01 carries it."""
        parts = [self.category, self.status]
        if self.entity:
            parts.append(self.entity)
        return ":".join(parts)


@dataclass(frozen=True)
class EditSet:
    """Edit tables composed in order; ``disabled`` codes are skipped."""

    name: str
    tables: tuple[tuple[str, tuple[Edit, ...]], ...]
    disabled: frozenset[str] = frozenset()

    @cached_property
    def edits(self) -> tuple[Edit, ...]:
        """The enabled edits in order (computed once: read for every claim)."""
        return tuple(
            edit for _, table in self.tables for edit in table if edit.code not in self.disabled
        )

    def extend(self, name: str, table: Sequence[Edit]) -> EditSet:
        """This set plus a further table (e.g. a payer's own edits)."""
        return EditSet(f"{self.name}+{name}", (*self.tables, (name, tuple(table))), self.disabled)

    def without(self, *codes: str) -> EditSet:
        return EditSet(self.name, self.tables, self.disabled | frozenset(codes))


def _never_seen(_fingerprint: str) -> bool:
    return False


@dataclass(frozen=True)
class EditContext:
    """What the edits need from outside: the submitter's profile, routable payers, the
    date, the duplicate store and (optionally) an ICD-10-CM lookup."""

    partner_id: str
    npis: frozenset[str]
    """Billing NPIs the submitting partner may bill for (profile ``providers``)."""
    tins: frozenset[str]
    payer_ids: frozenset[str]
    """Payer IDs (2010BB NM109) the gateway can route to (all payer profiles)."""
    today: date
    seen_fingerprints: Callable[[str], bool] = _never_seen
    """True when a claim with this fingerprint was accepted before (store look-up)."""
    icd10: Callable[[str], IcdStatus] | None = None
    """ICD-10-CM look-up; None = the packaged simple-icd-10-cm code set."""


class SubmitterProfile(Protocol):
    """The parts of ``gateway.profiles.Partner`` the edits use."""

    @property
    def id(self) -> str: ...

    @property
    def npis(self) -> tuple[str, ...]: ...

    @property
    def tins(self) -> tuple[str, ...]: ...


def context_for(
    submitter: SubmitterProfile,
    payer_ids: Iterable[str],
    *,
    today: date,
    seen_fingerprints: Callable[[str], bool] = _never_seen,
) -> EditContext:
    """An :class:`EditContext` from a submitter's profile and the routable payer IDs."""
    return EditContext(
        partner_id=submitter.id,
        npis=frozenset(submitter.npis),
        tins=frozenset(submitter.tins),
        payer_ids=frozenset(payer_ids),
        today=today,
        seen_fingerprints=seen_fingerprints,
    )


class _SetControl(Protocol):
    @property
    def st02(self) -> str: ...


class _AuditedClaim(Protocol):
    @property
    def header(self) -> _SetControl: ...
    @property
    def index(self) -> int: ...
    @property
    def claim_id_hash(self) -> str: ...


def verdict_audit(
    claim: _AuditedClaim, accepted: bool, failures: Sequence[Failure]
) -> dict[str, object]:
    """Log-safe details of a verdict: set control, claim index, CLM01 hash, STC and edit
    codes (never PHI)."""
    return {
        "st02": claim.header.st02,
        "claim_index": claim.index,
        "claim_id_hash": claim.claim_id_hash,
        "accepted": accepted,
        "codes": sorted({f.stc_code for f in failures}),
        "edits": sorted({f.edit for f in failures}),
    }


@dataclass(frozen=True)
class ClaimVerdict:
    """The edits' verdict on one claim. ``claim`` holds PHI: log :meth:`audit` instead."""

    claim: Claim
    accepted: bool
    failures: tuple[Failure, ...]
    fingerprint: str

    def __init__(
        self, claim: Claim, accepted: bool, failures: tuple[Failure, ...], fingerprint: str
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "claim", claim)
        object.__setattr__(self, "accepted", accepted)
        object.__setattr__(self, "failures", failures)
        object.__setattr__(self, "fingerprint", fingerprint)

    @property
    def claim_id(self) -> str:
        return self.claim.claim_id

    def audit(self) -> dict[str, object]:
        """Log-safe details: set control, claim index, CLM01 hash, codes, edit codes."""
        return verdict_audit(self.claim, self.accepted, self.failures)


# ------------------------------------------------------------------------ ICD lookup


ICD10_TABLE = Path(__file__).resolve().parent / "data" / "icd10cm.tsv.gz"
"""ICD-10-CM codes (no dot) with B (billable) or H (header), generated from the
simple-icd-10-cm package by ``scripts/make_icd10_table.py``: ~10 MB loaded, where the package
itself costs ~200 MB per worker process."""


@lru_cache(maxsize=1)
def _icd_kinds() -> dict[str, str]:
    """Code -> ``B`` (billable) or ``H`` (header)."""
    text = gzip.decompress(ICD10_TABLE.read_bytes()).decode("ascii")
    while text.startswith("#"):  # the header comment (C-level splits below: start-up time)
        text = text.partition("\n")[2]
    if "\n#" in text:
        text = "\n".join(line for line in text.split("\n") if not line.startswith("#"))
    fields = text.split()
    return dict(zip(fields[0::2], fields[1::2], strict=True))


def _icd_table() -> tuple[frozenset[str], frozenset[str]]:
    """(every code, billable codes)."""
    kinds = _icd_kinds()
    return frozenset(kinds), frozenset(code for code, kind in kinds.items() if kind == "B")


_ICD_STATUS: Final[dict[str, IcdStatus]] = {}
"""Answers of :func:`icd10_status` (claims repeat their codes; bounded)."""


def icd10_status(code: str) -> IcdStatus:
    """``billable``/``header``/``unknown`` for an ICD-10-CM code (without the decimal point)
    in the packaged code set (see :data:`ICD10_TABLE`)."""
    known = _ICD_STATUS.get(code)
    if known is not None:
        return known
    status: IcdStatus
    if not _ICD_FORM.fullmatch(code):
        status = "unknown"
    else:
        kind = _icd_kinds().get(code)
        status = "unknown" if kind is None else "billable" if kind == "B" else "header"
    if len(_ICD_STATUS) >= 8192:
        _ICD_STATUS.clear()
    _ICD_STATUS[code] = status
    return status


# ----------------------------------------------------------------------- fingerprint


def _norm_amount(value: Decimal | None, raw: str) -> str:
    if value is None:
        return "?" + raw.strip()
    known = _NORMALISED.get(raw)
    if known is not None and known.value is value:  # parse_decimal(raw) hands out one Decimal
        return known.text
    text = format(value.normalize(), "f") if value else "0"
    if len(_NORMALISED) >= 4096:
        _NORMALISED.clear()
    _NORMALISED[raw] = _Amount(value, text)
    return text


class _Amount:
    """An amount and its fingerprint text."""

    def __init__(self, value: Decimal, text: str) -> None:
        self.value = value
        self.text = text


_NORMALISED: Final[dict[str, _Amount]] = {}
"""_norm_amount's recent answers, by raw text (with the Decimal they were made from)."""


def claim_fingerprint(claim: Claim) -> str:
    """SHA-256 (hex) of the claim's normalised content, for duplicate detection.

    Covers: claim kind, billing NPI/TIN, payer ID, member ID, patient (name + DOB when the
    patient is not the subscriber), total charge, facility code, diagnosis codes, and per
    line the procedure, modifiers, revenue code, units, charge and service dates.  Not
    CLM01 (a resubmission under a new number is still a duplicate), not the frequency code.
    Stable across processes and releases of this module (prefix ``fp1``).

    The text hashed is the fields joined with RS (``\\x1e``); a person's, and each line's,
    fields joined with ``|``; diagnoses, modifiers and dates joined with ``,``. It is built
    as one list of pieces joined once.
    """
    person = claim.patient
    who = ""
    if person is not None:
        dob = claim.patient_dob
        who = (
            f"{person.last_or_org.strip().upper()}|{person.first.strip().upper()}|"
            f"{dob.raw if dob is not None else ''}"
        )
    out: list[str] = [
        f"fp1\x1e{claim.kind}\x1e{claim.billing_npi}\x1e{claim.billing_tin}\x1e"
        f"{claim.payer_id.strip().upper()}\x1e{claim.member_id.strip().upper()}\x1e{who}\x1e"
        f"{_norm_amount(claim.charge, claim.charge_raw)}\x1e{claim.facility_code}\x1e"
    ]
    comma = ""
    for dx in claim.diagnoses:
        out.append(f"{comma}{dx.qualifier}:{dx.code.strip().upper()}")
        comma = ","
    line_dates = False
    for line in claim.lines:
        modifiers = line.modifiers
        mods = ",".join([m.upper() for m in modifiers]) if modifiers else ""
        spans = line.service_dates
        if len(spans) == 1:
            dates = _span_text(spans[0])
        else:
            dates = ",".join([_span_text(value) for value in spans])
        if spans:
            line_dates = True
        out.append(
            f"\x1e{line.procedure_qualifier}|{line.procedure_code.strip().upper()}|{mods}|"
            f"{line.revenue_code}|{_norm_amount(line.units, line.units_raw)}|"
            f"{_norm_amount(line.charge, line.charge_raw)}|{dates}"
        )
    if not line_dates:
        claim_dates = [d.raw for d in claim.dates if d.qualifier in ("434", "472", "435")]
        out.append("\x1e" + ",".join(claim_dates))
    return _sha256("".join(out).encode("utf-8", "replace")).hexdigest()


_RS: Final = "\x1e"
_sha256: Final = hashlib.sha256


def _span_text(value: DateValue) -> str:
    """A service date in the fingerprint: ``start/end`` (ISO), ``?raw`` when unreadable."""
    start, end = value.start, value.end
    if start is None or end is None:
        return "?" + value.raw
    known = _SPAN_TEXT.get(value.raw)
    if known is not None and known.start is start and known.end is end:
        return known.text  # parse_d8 hands out one date per text
    text = f"{start.isoformat()}/{end.isoformat()}"
    if len(_SPAN_TEXT) >= _MEMO_LIMIT:
        _SPAN_TEXT.clear()
    _SPAN_TEXT[value.raw] = _Span(start, end, text)
    return text


class _Span:
    """A service date range and its fingerprint text."""

    def __init__(self, start: date, end: date, text: str) -> None:
        self.start = start
        self.end = end
        self.text = text


# --------------------------------------------------------------------------- helpers


def _digits(value: str, count: int) -> bool:
    return len(value) == count and value.isascii() and value.isdigit()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _line_label(line: ServiceLine) -> str:
    number = line.number if line.number.isascii() and line.number.isdigit() else "?"
    return f"service line {number}"


_DATE_NAMES: Mapping[str, str] = {
    "431": "onset of current illness",
    "454": "initial treatment",
    "304": "last seen",
    "453": "acute manifestation",
    "439": "accident",
    "484": "last menstrual period",
    "455": "last X-ray",
    "471": "hearing and vision prescription",
    "360": "disability begin",
    "361": "disability end",
    "297": "last worked",
    "296": "authorized return to work",
    "435": "admission",
    "096": "discharge",
    "090": "assumed care",
    "091": "relinquished care",
    "434": "statement period",
    "472": "service",
    "050": "repricer received",
    "444": "first contact",
    "738": "last certification",
    "739": "certification revision",
    "480": "hospitalization start",
    "481": "hospitalization end",
}


def _date_name(value: DateValue) -> str:
    name = _DATE_NAMES.get(value.qualifier, "date")
    return f"{name} date (DTP*{value.qualifier})" if value.qualifier.isalnum() else name


def _date_problem(value: DateValue) -> str | None:
    """Why a DTP's value is not a well-formed date/range, or None."""
    if value.format not in ("D8", "RD8", "DT", "TM"):
        return "has an unsupported date format qualifier (DTP02 must be D8 or RD8)"
    if value.format == "TM":
        raw = value.raw
        ok = (
            len(raw) == 4
            and raw.isascii()
            and raw.isdigit()
            and int(raw[:2]) < 24
            and int(raw[2:]) < 60
        )
        return None if ok else "is not a valid time (HHMM)"
    if value.start is None or value.end is None:
        return {
            "D8": "is not a valid date (CCYYMMDD)",
            "RD8": "is not a valid date range (CCYYMMDD-CCYYMMDD)",
            "DT": "is not a valid date and time (CCYYMMDDHHMM)",
        }[value.format]
    if value.start > value.end:
        return "is a range whose end is before its start"
    return None


def _all_npi_parties(claim: Claim) -> Iterator[tuple[Party, str | None]]:
    for party in claim.providers:
        yield party, None
    for line in claim.lines:
        for party in line.providers:
            yield party, line.number


_ENTITY_NAMES: Mapping[str, str] = {
    "85": "billing provider",
    "87": "pay-to provider",
    "82": "rendering provider",
    "DN": "referring provider",
    "P3": "primary care provider",
    "77": "service facility",
    "DQ": "supervising provider",
    "DK": "ordering provider",
    "71": "attending provider",
    "72": "operating provider",
    "ZZ": "other operating provider",
    "QB": "purchased service provider",
    "PW": "pickup location",
    "45": "drop-off location",
}


def _entity_name(entity: str) -> str:
    return _ENTITY_NAMES.get(entity, "provider")


# ---------------------------------------------------------------------- check functions


def _readable_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for message, where in claim.problems:
        yield Hit(_cap(message), where)


def _claim_id_length_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if len(claim.claim_id) > _MAX_CLAIM_ID:
        yield Hit(
            f"The claim identifier (CLM01) is {len(claim.claim_id)} characters long; "
            f"at most {_MAX_CLAIM_ID} are allowed.",
            claim.where.at(1),
        )


def _claim_id_unique_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    count = scope.claim_id_count(claim.claim_id)
    if claim.claim_id and count > 1:
        yield Hit(
            f"The claim identifier (CLM01) is used by {count} claims in this batch; "
            "each claim needs its own so that responses can be matched.",
            claim.where.at(1),
        )


def _npi_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for party, line in _all_npi_parties(claim):
        if party.id_qualifier != "XX":
            continue
        if not npi_valid(party.id):
            where_text = "" if line is None else f" on service line {line}"
            entity = party.entity if party.entity in CLAIM_ENTITY_CODES else None
            yield Hit(
                f"The {_entity_name(party.entity)} NPI{where_text} is not a valid NPI "
                "(10 digits starting with 1 or 2, with a correct check digit).",
                party.where.at(9),
                entity=entity,
                line=line,
            )


def _submitter_provider_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    ctx = scope.context
    bp = claim.billing_provider
    if bp is None:
        return
    if bp.id_qualifier == "XX" and bp.id and bp.id not in ctx.npis:
        yield Hit(
            "The billing provider NPI is not enrolled for this submitter; the submitter "
            "may not send claims on this provider's behalf.",
            bp.where.at(9),
        )
    if claim.billing_tin and _digits(claim.billing_tin, 9) and claim.billing_tin not in ctx.tins:
        yield Hit(
            "The billing provider tax identification number is not enrolled for this submitter.",
            None,
        )


def _tin_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if claim.billing_provider is None:
        return
    if not claim.billing_tin:
        yield Hit(
            "The billing provider has no tax identification number (2010AA REF*EI or REF*SY).",
            claim.billing_provider.where,
        )
    elif not _digits(claim.billing_tin, 9):
        yield Hit(
            "The billing provider tax identification number must be exactly 9 digits (no dashes).",
            None,
        )


ZIP9_ENTITIES: Mapping[str, str] = {"85": "billing provider", "77": "service facility"}
"""Entities whose U.S. address needs the full nine-digit ZIP code (the 5010 TR3s' notes on
N403 of 2010AA and of the service facility location, 837P 2310C/2420C, 837I 2310E, 837D
2310C/2420D)."""


def _postal_code_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for address in claim.addresses:
        name = ZIP9_ENTITIES.get(address.entity)
        if name is None or address.country:  # N404 present: not a U.S. address
            continue
        if not _digits(address.postal_code, 9):
            where_text = "" if address.line is None else f" on service line {address.line}"
            yield Hit(
                f"The {name} ZIP code (N403){where_text} must be the full nine digits "
                "(ZIP+4, no hyphen) for a U.S. address.",
                address.where.at(3),
                entity=address.entity,
                line=address.line,
            )


_PO_BOX: Final = re.compile(
    r"\b(?:P\s*\.?\s*O\s*\.?\s*BOX|POST\s+OFFICE\s+BOX|POSTAL\s+BOX|LOCK\s*BOX)\b", re.I
)


def _billing_street_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    """TR3 (837P/I/D 2010AA N3): "The Billing Provider Address must be a street address.
    Post Office Box or Lock Box addresses are to be sent in the Pay-To Address Loop"."""
    for address in claim.addresses:
        if address.entity == "85" and any(_PO_BOX.search(line) for line in address.street):
            yield Hit(
                "The billing provider address (2010AA N3) must be a street address; a post "
                "office box or lock box goes in the pay-to address (2010AB).",
                address.street_where or address.where,
            )
            return


INPATIENT_FACILITY_TYPES: Final = frozenset({"11", "12", "18", "21", "22", "28", "41"})
"""CLM05-1 (the first two digits of the NUBC type of bill) of inpatient institutional claims:
hospital and skilled nursing inpatient (Part A ``x1``, Part B ``x2``), swing beds (``x8``),
religious non-medical hospital inpatient (``41``)."""

ADMISSION_TYPES: Final = frozenset({"1", "2", "3", "4", "5", "9"})
"""NUBC priority (type) of admission or visit (CL101): emergency, urgent, elective, newborn,
trauma, information not available."""


def _inpatient(claim: Claim) -> bool:
    return (
        claim.kind == "institutional"
        and claim.facility_qualifier == "A"
        and claim.facility_code in INPATIENT_FACILITY_TYPES
    )


def _admission_date_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    """X223A2 2300 DTP*435: required on inpatient claims (X12 RFI 1520)."""
    if _inpatient(claim) and not any(d.qualifier == "435" for d in claim.dates):
        yield Hit(
            "An inpatient claim (type of bill "
            f"{claim.facility_code}x) needs the admission date (2300 DTP*435).",
            claim.where.at(5, 1),
        )


def _admission_type_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    """X223A2 CL101: required for inpatient admissions (UB-04 FL 14)."""
    if _inpatient(claim) and not claim.admission_type:
        yield Hit(
            f"An inpatient claim (type of bill {claim.facility_code}x) needs the admission "
            "type (CL101).",
            claim.where.at(5, 1),
        )


def _admission_type_code_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if claim.admission_type and claim.admission_type not in ADMISSION_TYPES:
        yield Hit(
            "The admission type (CL101) is not a NUBC code "
            f"({', '.join(sorted(ADMISSION_TYPES))}).",
            claim.where,
        )


def _taxonomy_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    taxonomies: list[tuple[Taxonomy, str | None]] = [(t, None) for t in claim.taxonomies]
    taxonomies += [(t, line.number) for line in claim.lines for t in line.taxonomies]
    for tax, line in taxonomies:
        code = tax.code
        if not (len(code) == 10 and code.isascii() and code.isalnum() and code.endswith("X")):
            entity = tax.entity if tax.entity in CLAIM_ENTITY_CODES else None
            yield Hit(
                f"The {_entity_name(tax.entity)} taxonomy code (PRV03) must be 10 characters "
                "ending in X.",
                tax.where,
                entity=entity,
                line=line,
            )


def _payer_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    payer = claim.payer
    if payer is None or not payer.id:
        yield Hit("The claim has no payer identifier (2010BB NM1*PR NM109).", claim.where)
    elif payer.id.strip() not in scope.context.payer_ids:
        yield Hit(
            "The payer identifier (2010BB NM109) is not a payer this clearinghouse can "
            "route to; check the payer ID list.",
            payer.where.at(9),
        )


def _filing_indicator_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if claim.subscriber is None:
        return
    if claim.filing_indicator not in CLAIM_FILING_INDICATORS:
        yield Hit(
            "The claim filing indicator (SBR09) is missing or not a valid code.",
            claim.filing_where,
        )


def _service_dates_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    today = scope.context.today
    dates = claim.service_dates()
    if not dates and claim.lines:
        yield Hit("The claim has no date of service.", claim.where)
    for value in dates:
        problem = _date_problem(value)
        if problem is None and value.end is not None and value.end > today:
            problem = "is in the future"
        if problem is not None:
            line = _line_of(claim, value.where)
            subject = (
                "the date of service"
                if line is None
                else f"{_line_label(line)}: the date of service"
            )
            yield Hit(
                f"{_cap(subject)} {problem}.",
                value.where.at(3),
                line=line.number if line is not None else None,
            )


def _line_of(claim: Claim, where: Place) -> ServiceLine | None:
    for line in claim.lines:
        if any(d.where.position == where.position for d in line.dates):
            return line
    return None


def _other_dates_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    service = {id(d) for d in claim.service_dates()}
    others = [d for d in claim.dates if id(d) not in service]
    others += [
        d for line in claim.lines for d in line.dates if id(d) not in service and d.qualifier
    ]
    for value in others:
        problem = _date_problem(value)
        if problem is not None:
            yield Hit(f"The {_date_name(value)} {problem}.", value.where.at(3))


def _birth_date_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    dob = claim.person_dob
    if dob is None:
        return
    entity = "QC" if claim.patient is not None else "IL"
    who = "patient" if claim.patient is not None else "subscriber"
    if dob.format != "D8" or dob.start is None:
        yield Hit(f"The {who}'s date of birth is not a valid date (CCYYMMDD).", dob.where, entity)
        return
    born = dob.start
    if born > scope.context.today:
        yield Hit(f"The {who}'s date of birth is in the future.", dob.where, entity)
        return
    period = claim.service_period()
    if period is None:
        return
    first = period[0]
    if born > first:
        yield Hit(f"The {who}'s date of birth is after the date of service.", dob.where, entity)
        return
    age = first.year - born.year - ((first.month, first.day) < (born.month, born.day))
    if age >= _MAX_AGE_YEARS:
        yield Hit(
            f"The {who}'s date of birth gives an age of {_MAX_AGE_YEARS} years or more at the "
            "date of service.",
            dob.where,
            entity,
        )


def _reference_date(claim: Claim, today: date) -> date:
    period = claim.service_period()
    if period is None:
        return today
    return period[1] if claim.kind == "institutional" else period[0]


def _dx_label(dx: Diagnosis) -> str:
    if dx.role == "principal":
        return "the principal diagnosis"
    if dx.pointer is not None:
        return f"diagnosis {dx.pointer}"
    return f"the {dx.role} diagnosis"


def _dx_status(dx: Diagnosis) -> str:
    return "254" if dx.role == "principal" else "255"


def _icd_qualifier_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    icd10 = _reference_date(claim, scope.context.today) >= ICD10_START
    for dx in claim.diagnoses:
        if icd10 and dx.qualifier in _ICD9_QUALIFIERS:
            yield Hit(
                f"{_cap(_dx_label(dx))} uses an ICD-9 qualifier "
                f"({dx.qualifier}); services on or after 2015-10-01 need ICD-10-CM "
                "(ABK principal, ABF other).",
                dx.where.at(dx.where.element or 1, 1),
                status=_dx_status(dx),
            )
        elif not icd10 and dx.qualifier in _ICD10_QUALIFIERS:
            yield Hit(
                f"{_cap(_dx_label(dx))} uses an ICD-10 qualifier "
                f"({dx.qualifier}) but the services are before 2015-10-01 (ICD-9-CM).",
                dx.where.at(dx.where.element or 1, 1),
                status=_dx_status(dx),
            )


def _icd_code_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    lookup = scope.context.icd10 or icd10_status
    for dx in claim.diagnoses:
        code = dx.code
        checked = bool(code) and "." not in code and dx.code_set != "ICD9"
        status = lookup(code.upper()) if checked else ""
        if status == "billable":
            continue  # the usual diagnosis: no label to make
        label = _cap(_dx_label(dx))
        if not code:
            yield Hit(f"{label} has no code.", dx.where, status=_dx_status(dx))
            continue
        if "." in code:
            yield Hit(
                f"{label} contains a decimal point; send diagnosis codes without it.",
                dx.where,
                status=_dx_status(dx),
            )
            continue
        if dx.code_set == "ICD9":
            if not _ICD9_FORM.fullmatch(code):
                yield Hit(f"{label} is not an ICD-9-CM code.", dx.where, status=_dx_status(dx))
            continue
        if status == "unknown":
            yield Hit(f"{label} is not a valid ICD-10-CM code.", dx.where, status=_dx_status(dx))
        elif status == "header":
            yield Hit(
                f"{label} is an ICD-10-CM category, not a billable code; more characters "
                "are needed.",
                dx.where,
                status=_dx_status(dx),
            )


def _diagnosis_duplicates_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    first: dict[str, Diagnosis] = {}
    for dx in claim.diagnoses:
        if dx.role not in ("principal", "other") or not dx.code:
            continue
        key = dx.code.strip().upper().replace(".", "")
        earlier = first.get(key)
        if earlier is None:
            first[key] = dx
            continue
        yield Hit(
            f"{_cap(_dx_label(dx))} repeats {_dx_label(earlier)}; list each diagnosis once.",
            dx.where,
        )


def _principal_diagnosis_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    principal = [dx for dx in claim.diagnoses if dx.role == "principal"]
    if not principal:
        if claim.kind in ("professional", "institutional") and claim.lines:
            yield Hit("The claim has no principal diagnosis (ABK).", claim.where)
        return
    dx = principal[0]
    code = dx.code.strip().upper()
    if dx.code_set != "ICD10" or not code:
        return
    if code[0] in "VWXY":
        yield Hit(
            "The principal diagnosis is an external cause code (V00-Y99); external causes "
            "may only be secondary diagnoses.",
            dx.where,
        )
    elif code[0] in "ST" and len(code) == 7 and code[6] == "S":
        yield Hit(
            "The principal diagnosis is an injury sequela code (7th character S); sequela "
            "codes may not be listed first; code the residual condition first.",
            dx.where,
        )


def _diagnosis_pointers_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    positions = {dx.pointer for dx in claim.diagnoses if dx.pointer is not None}
    for line in claim.lines:
        for index, pointer in enumerate(line.diagnosis_pointers, start=1):
            label = f"{_line_label(line)}, diagnosis pointer {index}"
            element = 7 if line.segment == "SV1" else 11
            where = line.where.at(element, index)
            if not pointer.isascii() or not pointer.isdigit():
                yield Hit(f"{_cap(label)} is not a number.", where, line=line.number)
            elif not 1 <= int(pointer) <= _MAX_POINTER:
                yield Hit(
                    f"{_cap(label)} must be 1 to {_MAX_POINTER}.",
                    where,
                    line=line.number,
                )
            elif int(pointer) not in positions:
                yield Hit(
                    f"{_cap(label)} points to diagnosis {int(pointer)}, "
                    "which the claim does not have.",
                    where,
                    line=line.number,
                )


def _procedure_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for line in claim.lines:
        if not line.segment:
            continue
        label = _cap(_line_label(line))
        qualifier, code = line.procedure_qualifier, line.procedure_code
        status = "454" if line.segment == "SV3" else None
        if line.segment == "SV2" and not qualifier and not code:
            continue  # revenue code only
        element = 2 if line.segment == "SV2" else 1
        allowed = PROCEDURE_QUALIFIERS.get(line.segment, frozenset())
        if qualifier not in allowed:
            yield Hit(
                f"{label}, the procedure code qualifier must be {' or '.join(sorted(allowed))}.",
                line.where.at(element, 1),
                status=status,
                line=line.number,
            )
            continue
        form = PROCEDURE_FORMS.get(qualifier)
        if form is not None and not form.fullmatch(code):
            kind = {"HC": "CPT/HCPCS", "HP": "HIPPS", "AD": "CDT"}.get(qualifier, qualifier)
            yield Hit(
                f"{label}, the procedure code is not in {kind} form.",
                line.where.at(element, 2),
                status=status,
                line=line.number,
            )


def _modifiers_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for line in claim.lines:
        label = _cap(_line_label(line))
        element = 2 if line.segment == "SV2" else 1
        seen: dict[str, int] = {}
        for index, modifier in enumerate(line.modifiers, start=1):
            where = line.where.at(element, index + 2)
            if not (len(modifier) == 2 and modifier.isascii() and modifier.isalnum()):
                yield Hit(
                    f"{label}, procedure modifier {index} must be 2 letters or digits.",
                    where,
                    line=line.number,
                )
            elif modifier.upper() in seen:
                yield Hit(
                    f"{label}, procedure modifier {index} repeats modifier "
                    f"{seen[modifier.upper()]}.",
                    where,
                    line=line.number,
                )
            else:
                seen[modifier.upper()] = index


def _revenue_code_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for line in claim.lines:
        if line.segment == "SV2" and not _digits(line.revenue_code, 4):
            yield Hit(
                f"{_cap(_line_label(line))}, the revenue code must be 4 digits.",
                line.where.at(1),
                line=line.number,
            )


def _place_of_service_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if claim.kind == "institutional":
        if claim.facility_qualifier != "A":
            yield Hit(
                "The facility code qualifier (CLM05-2) must be A on an institutional claim.",
                claim.where.at(5, 2),
            )
        return
    if claim.facility_qualifier != "B":
        yield Hit(
            "The facility code qualifier (CLM05-2) must be B (place of service).",
            claim.where.at(5, 2),
        )
    if claim.facility_code not in CMS_PLACE_OF_SERVICE:
        yield Hit(
            "The claim's place of service (CLM05-1) is not a CMS place of service code.",
            claim.where.at(5, 1),
        )
    for line in claim.lines:
        pos = line.place_of_service
        if pos and pos not in CMS_PLACE_OF_SERVICE:
            element = 5 if line.segment == "SV1" else 3
            yield Hit(
                f"{_cap(_line_label(line))}, the place of service is not a CMS place "
                "of service code.",
                line.where.at(element),
                line=line.number,
            )


def _units_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for line in claim.lines:
        if not line.segment:
            continue
        if line.segment == "SV3" and not line.units_raw:
            continue
        element = {"SV1": 4, "SV2": 5, "SV3": 6}[line.segment]
        if line.units is None or line.units <= 0:
            yield Hit(
                f"{_cap(_line_label(line))}, the units of service must be a number "
                "greater than zero.",
                line.where.at(element),
                line=line.number,
            )


def _ndc_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for line in claim.lines:
        for drug in line.drugs:
            if drug.qualifier == "N4" and not _digits(drug.code, 11):
                yield Hit(
                    f"{_cap(_line_label(line))}, the National Drug Code must be 11 "
                    "digits (5-4-2, no dashes).",
                    drug.where.at(3),
                    line=line.number,
                )
            if drug.quantity_raw:
                quantity = parse_decimal(drug.quantity_raw)
                if quantity is None or quantity <= 0:
                    yield Hit(
                        f"{_cap(_line_label(line))}, the drug quantity (CTP04) must "
                        "be greater than zero.",
                        None,
                        line=line.number,
                    )


def _claim_charge_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if claim.charge is None:
        yield Hit("The total claim charge (CLM02) is missing or not a number.", claim.where.at(2))
    elif claim.charge <= 0:
        yield Hit("The total claim charge (CLM02) must be greater than zero.", claim.where.at(2))


def _line_charges_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    for line in claim.lines:
        if not line.segment:
            continue
        element = 3 if line.segment == "SV2" else 2
        if line.charge is None:
            yield Hit(
                f"{_cap(_line_label(line))}, the line charge is missing or not a number.",
                line.where.at(element),
                line=line.number,
            )
        elif line.charge < 0:
            yield Hit(
                f"{_cap(_line_label(line))}, the line charge must not be negative.",
                line.where.at(element),
                line=line.number,
            )


def _balance_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if claim.charge is None or not claim.lines:
        return
    charges = [line.charge for line in claim.lines]
    if any(c is None for c in charges):
        return
    total = sum((c for c in charges if c is not None), Decimal(0))
    if total != claim.charge:
        yield Hit(
            "The total claim charge (CLM02) does not equal the sum of the service line "
            f"charges (difference {abs(total - claim.charge)}).",
            claim.where.at(2),
        )


def _frequency_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    allowed = FREQUENCY_CODES.get(claim.kind, FREQUENCY_CODES["unknown"])
    if claim.frequency_code not in allowed:
        yield Hit(
            "The claim frequency code (CLM05-3) must be "
            f"{', '.join(sorted(allowed))} (1 = original, 7 = replacement, 8 = void).",
            claim.where.at(5, 3),
        )


def _original_reference_hits(claim: Claim, scope: EditScope) -> Iterator[Hit]:
    if claim.frequency_code in ("7", "8") and not claim.original_reference.strip():
        kind = "replacement" if claim.frequency_code == "7" else "void"
        yield Hit(
            f"A {kind} claim (frequency {claim.frequency_code}) must carry the payer's "
            "original claim number (REF*F8).",
            claim.where.at(5, 3),
        )


def duplicate_applies(frequency_code: str) -> bool:
    """Replacements (7) and voids (8) repeat a claim on purpose."""
    return frequency_code not in ("7", "8")


def duplicate_hit(where: Place) -> Hit:
    """The DUPLICATE edit's finding (also for the slim claims the store's re-check reads)."""
    return Hit(
        "This claim duplicates a claim already accepted (same billing provider, member, "
        "dates of service, codes and charges). Send a replacement (frequency 7) to "
        "correct a claim.",
        where,
    )


# ------------------------------------------------------------------- clean-claim fast paths
#
# Most claims pass every edit, so each edit is split in two: ``_<edit>_ok``, a cheap test
# that only says True when the edit certainly finds nothing, and ``_<edit>_hits``, the full
# check above, run only when the test says False (and finding then what it always found).
# The tests never build messages or places, read values the claim already holds, and keep
# small memos of answers that repeat from claim to claim (NPIs, TINs, codes...).
# ``check_<edit>`` (the :class:`Edit` row's check) puts the two together; run_edits calls
# the pairs directly for the standard table (:func:`_standard_failures`).

_NO_HITS: Final[tuple[Hit, ...]] = ()
_MEMO_LIMIT: Final = 4096
_ZERO: Final = Decimal(0)
_POS_CODES: Final = frozenset(CMS_PLACE_OF_SERVICE)
_FILING_CODES: Final = frozenset(CLAIM_FILING_INDICATORS)
_ZIP9_CODES: Final = frozenset(ZIP9_ENTITIES)
_FREQUENCIES: Final[dict[str, frozenset[str]]] = dict(FREQUENCY_CODES)
_UNKNOWN_FREQUENCIES: Final = FREQUENCY_CODES["unknown"]
_QUALIFIERS: Final[dict[str, frozenset[str]]] = dict(PROCEDURE_QUALIFIERS)
_FORMS: Final[dict[str, re.Pattern[str]]] = dict(PROCEDURE_FORMS)
_UNITS_SEGMENTS: Final = frozenset({"SV1", "SV2", "SV3"})
_POINTER_VALUES: Final[dict[str, int]] = {str(n): n for n in range(1, _MAX_POINTER + 1)}
"""The pointers that are plainly valid numbers (``1``..``12``); anything else (``01``...)
goes to the full check."""
_MAX_MASK_POINTER: Final = 60
"""Diagnosis positions kept in a bit mask (a larger one sends the claim to the full check)."""

_NPI_OK: Final[dict[str, bool]] = {}
_NINE_DIGITS: Final[dict[str, bool]] = {}
_STREET_OK: Final[dict[str, bool]] = {}
_TAXONOMY_OK: Final[dict[str, bool]] = {}
_FORM_OK: Final[dict[str, dict[str, bool]]] = {qualifier: {} for qualifier in PROCEDURE_FORMS}
_DX_KEYS: Final[dict[str, str]] = {}
_PRINCIPAL_OK: Final[dict[str, bool]] = {}
_SPAN_TEXT: Final[dict[str, _Span]] = {}


def _remember(memo: dict[str, bool], key: str, value: bool) -> bool:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def _npi_ok(npi: str) -> bool:
    known = _NPI_OK.get(npi)
    return known if known is not None else _remember(_NPI_OK, npi, npi_valid(npi))


def _nine_digits(value: str) -> bool:
    known = _NINE_DIGITS.get(value)
    return known if known is not None else _remember(_NINE_DIGITS, value, _digits(value, 9))


def _readable_ok(claim: Claim) -> bool:
    return not claim.problems


def _claim_id_length_ok(claim: Claim) -> bool:
    return len(claim.claim_id) <= _MAX_CLAIM_ID


def _claim_id_unique_ok(claim: Claim, count: int) -> bool:
    return count <= 1 or not claim.claim_id


def _npi_parties_ok(parties: tuple[Party, ...]) -> bool:
    for party in parties:
        if party.id_qualifier == "XX" and not _npi_ok(party.id):
            return False
    return True


def _npi_all_ok(claim: Claim) -> bool:
    if not _npi_parties_ok(claim.providers):
        return False
    for line in claim.lines:
        if line.providers and not _npi_parties_ok(line.providers):
            return False
    return True


def _submitter_provider_ok(claim: Claim, ctx: EditContext) -> bool:
    bp = claim.billing_provider
    if bp is None:
        return True
    if bp.id_qualifier == "XX" and bp.id and bp.id not in ctx.npis:
        return False
    tin = claim.billing_tin
    return not tin or tin in ctx.tins or not _nine_digits(tin)


def _tin_ok(claim: Claim) -> bool:
    return claim.billing_provider is None or (
        bool(claim.billing_tin) and _nine_digits(claim.billing_tin)
    )


def _postal_code_ok(claim: Claim) -> bool:
    for address in claim.addresses:
        if (
            address.entity in _ZIP9_CODES
            and not address.country
            and not _nine_digits(address.postal_code)
        ):
            return False
    return True


def _street_ok(line: str) -> bool:
    known = _STREET_OK.get(line)
    if known is None:
        known = _remember(_STREET_OK, line, _PO_BOX.search(line) is None)
    return known


def _billing_street_ok(claim: Claim) -> bool:
    for address in claim.addresses:
        if address.entity == "85":
            for line in address.street:
                if not _street_ok(line):
                    return False
    return True


def _admission_date_ok(claim: Claim) -> bool:
    return claim.kind != "institutional" or not _inpatient(claim)


def _admission_type_code_ok(claim: Claim) -> bool:
    return not claim.admission_type or claim.admission_type in ADMISSION_TYPES


def _taxonomy_code_ok(code: str) -> bool:
    known = _TAXONOMY_OK.get(code)
    if known is None:
        ok = len(code) == 10 and code.isascii() and code.isalnum() and code.endswith("X")
        known = _remember(_TAXONOMY_OK, code, ok)
    return known


def _taxonomies_ok(taxonomies: tuple[Taxonomy, ...]) -> bool:
    for tax in taxonomies:
        if not _taxonomy_code_ok(tax.code):
            return False
    return True


def _taxonomy_ok(claim: Claim) -> bool:
    if not _taxonomies_ok(claim.taxonomies):
        return False
    for line in claim.lines:
        if line.taxonomies and not _taxonomies_ok(line.taxonomies):
            return False
    return True


def _payer_ok(claim: Claim, ctx: EditContext) -> bool:
    payer = claim.payer
    return payer is not None and bool(payer.id) and payer.id.strip() in ctx.payer_ids


def _filing_indicator_ok(claim: Claim) -> bool:
    return claim.subscriber is None or claim.filing_indicator in _FILING_CODES


def _date_ok(value: DateValue) -> bool:
    """``_date_problem(value) is None``, without building the answer."""
    start, end = value.start, value.end
    fmt = value.format
    if start is None or end is None or (fmt != "D8" and fmt != "RD8" and fmt != "DT"):
        return _date_problem(value) is None
    return start is end or start <= end


def _service_dates_ok(claim: Claim, dates: list[DateValue], today: date) -> bool:
    if not dates and claim.lines:
        return False
    for value in dates:
        if not _date_ok(value):
            return False
        end = value.end
        if end is not None and end > today:
            return False
    return True


def _other_dates_ok(claim: Claim) -> bool:
    """Every date of the claim well formed (the other dates are some of them)."""
    for value in claim.dates:
        if not _date_ok(value):
            return False
    for line in claim.lines:
        for value in line.dates:
            if not _date_ok(value):
                return False
    return True


def _service_period(dates: list[DateValue]) -> tuple[date | None, date | None]:
    """``Claim.service_period()`` from the claim's service dates: (earliest start, latest
    end) over the readable ones, (None, None) when there is none."""
    first: date | None = None
    last: date | None = None
    for value in dates:
        start, end = value.start, value.end
        if start is None or end is None:
            continue
        if first is None or (start is not first and start < first):
            first = start
        if last is None or (end is not last and end > last):
            last = end
    return first, last


def _birth_date_ok(claim: Claim, today: date, first: date | None) -> bool:
    dob = claim.person_dob
    if dob is None:
        return True
    born = dob.start
    if dob.format != "D8" or born is None or born > today:
        return False
    if first is None:
        return True
    # the age is at most the difference of the years
    return not born > first and first.year - born.year < _MAX_AGE_YEARS


def _icd_qualifier_ok(claim: Claim, reference: date) -> bool:
    wrong = _ICD9_QUALIFIERS if reference >= ICD10_START else _ICD10_QUALIFIERS
    for dx in claim.diagnoses:
        if dx.qualifier in wrong:
            return False
    return True


def _icd_code_ok(claim: Claim, ctx: EditContext) -> bool:
    lookup = ctx.icd10 if ctx.icd10 else None  # as ``ctx.icd10 or icd10_status``
    for dx in claim.diagnoses:
        code = dx.code
        if dx.code_set == "ICD9":
            return False  # the full check reads ICD-9 codes
        if lookup is None:
            # a billable code is upper case without a point: its own key
            if _ICD_STATUS.get(code) == "billable":
                continue
            if not code or "." in code or icd10_status(code.upper()) != "billable":
                return False
        elif not code or "." in code or lookup(code.upper()) != "billable":
            return False
    return True


def _dx_key(code: str) -> str:
    key = _DX_KEYS.get(code)
    if key is None:
        key = code.strip().upper().replace(".", "")
        if len(_DX_KEYS) >= _MEMO_LIMIT:
            _DX_KEYS.clear()
        _DX_KEYS[code] = key
    return key


def _diagnosis_duplicates_ok(claim: Claim) -> bool:
    diagnoses = claim.diagnoses
    if len(diagnoses) < 2:
        return True
    keys: list[str] = []
    for dx in diagnoses:
        role = dx.role
        if (role != "principal" and role != "other") or not dx.code:
            continue
        keys.append(_dx_key(dx.code))
    if len(keys) > 16:
        return len(set(keys)) == len(keys)
    for index in range(1, len(keys)):
        key = keys[index]
        for other in range(index):
            if keys[other] == key:
                return False
    return True


def _principal_code_ok(raw: str) -> bool:
    known = _PRINCIPAL_OK.get(raw)
    if known is None:
        code = raw.strip().upper()
        ok = not code or (
            code[0] not in "VWXY" and not (code[0] in "ST" and len(code) == 7 and code[6] == "S")
        )
        known = _remember(_PRINCIPAL_OK, raw, ok)
    return known


def _principal_diagnosis_ok(claim: Claim) -> bool:
    for dx in claim.diagnoses:
        if dx.role == "principal":
            return dx.code_set != "ICD10" or _principal_code_ok(dx.code)
    return not claim.lines or (claim.kind != "professional" and claim.kind != "institutional")


def _diagnosis_pointers_ok(claim: Claim) -> bool:
    mask = 0
    for dx in claim.diagnoses:
        position = dx.pointer
        if position is not None:
            if position < 1 or position > _MAX_MASK_POINTER:
                return False
            mask |= 1 << position
    for line in claim.lines:
        for pointer in line.diagnosis_pointers:
            value = _POINTER_VALUES.get(pointer, 0)
            if value == 0 or not (mask >> value) & 1:
                return False
    return True


_HC_CODES: Final[set[str]] = set()
"""Codes of SV1 lines found to be well formed (HC qualifier, CPT/HCPCS form)."""
if PROCEDURE_QUALIFIERS["SV1"] != {"HC"}:
    raise AssertionError("_procedure_ok's SV1 fast path expects the HC qualifier")


def _form_ok(qualifier: str, code: str) -> bool:
    """The code has the form of its qualifier (True for a qualifier without a form)."""
    memo = _FORM_OK.get(qualifier)
    if memo is None:
        return True
    known = memo.get(code)
    if known is None:
        known = _remember(memo, code, _FORMS[qualifier].fullmatch(code) is not None)
    return known


def _procedure_ok(claim: Claim) -> bool:
    for line in claim.lines:
        segment = line.segment
        if not segment:
            continue
        qualifier, code = line.procedure_qualifier, line.procedure_code
        if segment == "SV1" and qualifier == "HC" and code in _HC_CODES:
            continue  # the usual professional line, its code seen before
        if segment == "SV2" and not qualifier and not code:
            continue
        allowed = _QUALIFIERS.get(segment)
        if allowed is None or qualifier not in allowed or not _form_ok(qualifier, code):
            return False
        if segment == "SV1" and qualifier == "HC":
            if len(_HC_CODES) >= _MEMO_LIMIT:
                _HC_CODES.clear()
            _HC_CODES.add(code)
    return True


def _modifiers_ok(claim: Claim) -> bool:
    for line in claim.lines:
        modifiers = line.modifiers
        if not modifiers:
            continue
        for modifier in modifiers:
            if not (len(modifier) == 2 and modifier.isascii() and modifier.isalnum()):
                return False
        if len(modifiers) > 1 and len({m.upper() for m in modifiers}) != len(modifiers):
            return False
    return True


def _revenue_code_ok(claim: Claim) -> bool:
    for line in claim.lines:
        if line.segment == "SV2" and not _digits(line.revenue_code, 4):
            return False
    return True


def _place_of_service_ok(claim: Claim) -> bool:
    if claim.kind == "institutional":
        return claim.facility_qualifier == "A"
    if claim.facility_qualifier != "B" or claim.facility_code not in _POS_CODES:
        return False
    for line in claim.lines:
        pos = line.place_of_service
        if pos and pos not in _POS_CODES:
            return False
    return True


def _units_ok(claim: Claim) -> bool:
    for line in claim.lines:
        segment = line.segment
        if not segment:
            continue
        if segment not in _UNITS_SEGMENTS:
            return False  # the full check's answer (it has no element for it)
        if segment == "SV3" and not line.units_raw:
            continue
        units = line.units
        if units is None or units <= _ZERO:
            return False
    return True


def _ndc_ok(claim: Claim) -> bool:
    for line in claim.lines:
        for drug in line.drugs:
            if drug.qualifier == "N4" and not _digits(drug.code, 11):
                return False
            if drug.quantity_raw:
                quantity = parse_decimal(drug.quantity_raw)
                if quantity is None or quantity <= _ZERO:
                    return False
    return True


def _claim_charge_ok(claim: Claim) -> bool:
    charge = claim.charge
    return charge is not None and not charge <= _ZERO


def _line_charges_ok(claim: Claim) -> bool:
    for line in claim.lines:
        if line.segment:
            charge = line.charge
            if charge is None or charge < _ZERO:
                return False
    return True


def _balance_ok(claim: Claim) -> bool:
    charge = claim.charge
    if charge is None or not claim.lines:
        return True
    for line in claim.lines:
        if line.charge is None:
            return True
    total = _ZERO  # Decimal(0), as the full check starts its sum()
    for line in claim.lines:
        line_charge = line.charge
        if line_charge is not None:
            total = total + line_charge  # as sum() adds: same rounding
    return not total != charge


def _frequency_ok(claim: Claim) -> bool:
    return claim.frequency_code in _FREQUENCIES.get(claim.kind, _UNKNOWN_FREQUENCIES)


def _original_reference_ok(claim: Claim) -> bool:
    code = claim.frequency_code
    return (code != "7" and code != "8") or bool(claim.original_reference.strip())


def _hits(found: Iterator[Hit]) -> tuple[Hit, ...]:
    return tuple(found)


def check_readable(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _readable_ok(claim) else _hits(_readable_hits(claim, scope))


def check_claim_id_length(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _claim_id_length_ok(claim):
        return _NO_HITS
    return _hits(_claim_id_length_hits(claim, scope))


def check_claim_id_unique(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _claim_id_unique_ok(claim, scope.claim_id_count(claim.claim_id)):
        return _NO_HITS
    return _hits(_claim_id_unique_hits(claim, scope))


def check_npi(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _npi_all_ok(claim) else _hits(_npi_hits(claim, scope))


def check_submitter_provider(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _submitter_provider_ok(claim, scope.context):
        return _NO_HITS
    return _hits(_submitter_provider_hits(claim, scope))


def check_tin(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _tin_ok(claim) else _hits(_tin_hits(claim, scope))


def check_postal_code(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _postal_code_ok(claim) else _hits(_postal_code_hits(claim, scope))


def check_billing_street(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    """TR3 (837P/I/D 2010AA N3): "The Billing Provider Address must be a street address.
    Post Office Box or Lock Box addresses are to be sent in the Pay-To Address Loop"."""
    if _billing_street_ok(claim):
        return _NO_HITS
    return _hits(_billing_street_hits(claim, scope))


def check_admission_date(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    """X223A2 2300 DTP*435: required on inpatient claims (X12 RFI 1520)."""
    if _admission_date_ok(claim):
        return _NO_HITS
    return _hits(_admission_date_hits(claim, scope))


def check_admission_type(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    """X223A2 CL101: required for inpatient admissions (UB-04 FL 14)."""
    if _admission_date_ok(claim):  # the same test: not an inpatient claim
        return _NO_HITS
    return _hits(_admission_type_hits(claim, scope))


def check_admission_type_code(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _admission_type_code_ok(claim):
        return _NO_HITS
    return _hits(_admission_type_code_hits(claim, scope))


def check_taxonomy(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _taxonomy_ok(claim) else _hits(_taxonomy_hits(claim, scope))


def check_payer(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _payer_ok(claim, scope.context) else _hits(_payer_hits(claim, scope))


def check_filing_indicator(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _filing_indicator_ok(claim):
        return _NO_HITS
    return _hits(_filing_indicator_hits(claim, scope))


def check_service_dates(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _service_dates_ok(claim, claim.service_dates(), scope.context.today):
        return _NO_HITS
    return _hits(_service_dates_hits(claim, scope))


def check_other_dates(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _other_dates_ok(claim) else _hits(_other_dates_hits(claim, scope))


def check_birth_date(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    first, _ = _service_period(claim.service_dates())
    if _birth_date_ok(claim, scope.context.today, first):
        return _NO_HITS
    return _hits(_birth_date_hits(claim, scope))


def check_icd_qualifier(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _icd_qualifier_ok(claim, _reference_date(claim, scope.context.today)):
        return _NO_HITS
    return _hits(_icd_qualifier_hits(claim, scope))


def check_icd_code(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _icd_code_ok(claim, scope.context):
        return _NO_HITS
    return _hits(_icd_code_hits(claim, scope))


def check_diagnosis_duplicates(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _diagnosis_duplicates_ok(claim):
        return _NO_HITS
    return _hits(_diagnosis_duplicates_hits(claim, scope))


def check_principal_diagnosis(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _principal_diagnosis_ok(claim):
        return _NO_HITS
    return _hits(_principal_diagnosis_hits(claim, scope))


def check_diagnosis_pointers(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _diagnosis_pointers_ok(claim):
        return _NO_HITS
    return _hits(_diagnosis_pointers_hits(claim, scope))


def check_procedure(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _procedure_ok(claim) else _hits(_procedure_hits(claim, scope))


def check_modifiers(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _modifiers_ok(claim) else _hits(_modifiers_hits(claim, scope))


def check_revenue_code(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _revenue_code_ok(claim) else _hits(_revenue_code_hits(claim, scope))


def check_place_of_service(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _place_of_service_ok(claim):
        return _NO_HITS
    return _hits(_place_of_service_hits(claim, scope))


def check_units(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _units_ok(claim) else _hits(_units_hits(claim, scope))


def check_ndc(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _ndc_ok(claim) else _hits(_ndc_hits(claim, scope))


def check_claim_charge(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _claim_charge_ok(claim) else _hits(_claim_charge_hits(claim, scope))


def check_line_charges(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _line_charges_ok(claim) else _hits(_line_charges_hits(claim, scope))


def check_balance(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _balance_ok(claim) else _hits(_balance_hits(claim, scope))


def check_frequency(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    return _NO_HITS if _frequency_ok(claim) else _hits(_frequency_hits(claim, scope))


def check_original_reference(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if _original_reference_ok(claim):
        return _NO_HITS
    return _hits(_original_reference_hits(claim, scope))


def check_duplicate(claim: Claim, scope: EditScope) -> Sequence[Hit]:
    if duplicate_applies(claim.frequency_code) and scope.seen_before(claim):
        return (duplicate_hit(claim.where),)
    return _NO_HITS


def failure_from(edit: Edit, hit: Hit) -> Failure:
    """The failure ``edit`` reports for ``hit`` (the hit's status and entity when it names
    them, else the edit's)."""
    return Failure(
        edit=edit.code,
        category=edit.category,
        status=hit.status or edit.status,
        entity=hit.entity if hit.entity is not None else edit.entity,
        message=hit.message,
        location=hit.where,
        line=hit.line,
    )


def _add(failures: list[Failure], edit: Edit, found: Iterator[Hit]) -> None:
    for hit in found:
        failures.append(failure_from(edit, hit))


# ---------------------------------------------------------------------------- the table


def _edit(
    code: str,
    stc: str,
    location: str,
    message: str,
    check: CheckFn,
) -> Edit:
    parts = stc.split(":")
    entity = parts[2] if len(parts) > 2 else None
    return Edit(code, parts[0], parts[1], entity, location, message, check)


STANDARD_EDITS: Final[tuple[Edit, ...]] = (
    _edit("READABLE", "A7:21", "HL/CLM/LX structure", "the claim can be read", check_readable),
    _edit("CLAIM_ID_LENGTH", "A7:478", "2300 CLM01", "at most 20 characters",
          check_claim_id_length),
    _edit("CLAIM_ID_UNIQUE", "A7:478", "2300 CLM01", "unique in the batch", check_claim_id_unique),
    _edit("NPI", "A7:562:85", "NM109 where NM108=XX", "valid NPI (Luhn, 80840)", check_npi),
    _edit("SUBMITTER_PROVIDER", "A8:496:85", "2010AA NM109, REF*EI",
          "billing NPI/TIN enrolled for the submitting partner", check_submitter_provider),
    _edit("TIN", "A7:128:85", "2010AA REF*EI/SY", "TIN is 9 digits", check_tin),
    _edit("POSTAL_CODE", "A7:500:85", "N403 of 2010AA, 2310C/2420C (P, D), 2310E (I)",
          "billing provider and service facility: nine-digit ZIP for a U.S. address",
          check_postal_code),
    _edit("BILLING_STREET", "A7:503:85", "2010AA N301/N302",
          "billing provider address is a street address (no PO box, lock box)",
          check_billing_street),
    _edit("ADMISSION_DATE", "A6:189", "2300 DTP*435 (837I)",
          "inpatient bill types (11x 12x 18x 21x 22x 28x 41x) carry the admission date",
          check_admission_date),
    _edit("ADMISSION_TYPE", "A6:231", "2300 CL101 (837I)",
          "inpatient bill types carry the admission type", check_admission_type),
    _edit("ADMISSION_TYPE_CODE", "A7:231", "2300 CL101 (837I)",
          "admission type is a NUBC code (1-5, 9)", check_admission_type_code),
    _edit("TAXONOMY", "A7:145:85", "PRV03", "taxonomy 10 characters ending in X", check_taxonomy),
    _edit("PAYER_ROUTABLE", "A3:116:PR", "2010BB NM109", "payer ID routable", check_payer),
    _edit("FILING_INDICATOR", "A7:480:IL", "2000B SBR09", "valid claim filing indicator",
          check_filing_indicator),
    _edit("SERVICE_DATES", "A7:187", "DTP*472 (2400), DTP*434/472 (2300)",
          "dates of service well formed, ordered, not in the future", check_service_dates),
    _edit("OTHER_DATES", "A7:21", "other DTPs (2300/2400)", "dates well formed and ordered",
          check_other_dates),
    _edit("BIRTH_DATE", "A7:158:QC", "DMG02 (2010BA/2010CA)",
          "birth date valid, not after the service, age under 150", check_birth_date),
    _edit("ICD_QUALIFIER", "A7:255", "HI01-1..HI12-1",
          "ICD-10 qualifiers (ABK/ABF...) on or after 2015-10-01, ICD-9 before",
          check_icd_qualifier),
    _edit("ICD_CODE", "A7:255", "HI01-2..HI12-2", "diagnosis exists and is billable",
          check_icd_code),
    _edit("DIAGNOSIS_DUPLICATE", "A7:255", "HI", "no diagnosis listed twice",
          check_diagnosis_duplicates),
    _edit("PRINCIPAL_DIAGNOSIS", "A7:254", "HI01 (ABK)",
          "principal diagnosis present, not external cause nor sequela",
          check_principal_diagnosis),
    _edit("DIAGNOSIS_POINTER", "A7:477", "SV107 / SV311",
          "pointers point at existing diagnoses", check_diagnosis_pointers),
    _edit("PROCEDURE_CODE", "A7:507", "SV101 / SV202 / SV301",
          "HC qualifier and CPT/HCPCS form", check_procedure),
    _edit("MODIFIERS", "A7:453", "SV101-3..6", "modifiers 2 characters, no repeats",
          check_modifiers),
    _edit("REVENUE_CODE", "A7:455", "SV201", "revenue code 4 digits", check_revenue_code),
    _edit("PLACE_OF_SERVICE", "A7:249", "CLM05-1/2, SV105, SV303",
          "valid CMS place of service code", check_place_of_service),
    _edit("UNITS", "A7:476", "SV104 / SV205 / SV306", "units greater than zero", check_units),
    _edit("NDC", "A7:218", "2410 LIN03 (N4), CTP04", "NDC 11 digits", check_ndc),
    _edit("CLAIM_CHARGE", "A7:178", "CLM02", "total charge present and > 0", check_claim_charge),
    _edit("LINE_CHARGE", "A7:178", "SV102 / SV203 / SV302", "line charges >= 0",
          check_line_charges),
    _edit("BALANCE", "A7:400", "CLM02 vs line charges", "CLM02 equals the sum of the lines",
          check_balance),
    _edit("FREQUENCY_CODE", "A7:535", "CLM05-3", "frequency 1, 7 or 8", check_frequency),
    _edit("ORIGINAL_REFERENCE", "A6:464", "2300 REF*F8",
          "replacement/void claims carry the original claim number", check_original_reference),
    _edit("DUPLICATE", "A3:78", "whole claim (fingerprint)",
          "not a duplicate of a claim already accepted", check_duplicate),
)  # fmt: skip
"""The clearinghouse's own front-end edits, in the order they are reported."""

DEFAULT_EDIT_SET = EditSet("standard", (("standard", STANDARD_EDITS),))

INTERNAL_ERROR_CODE: Final = "INTERNAL"
"""Edit code of the failure recorded when a check function itself fails (a bug)."""


# ------------------------------------------------------------------------------ running


_COUNTER: Final = Counter


class _Scope:
    """The :class:`EditScope` of one :func:`run_edits` call; ``claim`` is the claim being
    edited, ``fingerprint`` its fingerprint."""

    def __init__(self, context: EditContext, claim_ids: Counter[str], accepted: set[str]) -> None:
        self.context = context
        self.claim_ids = claim_ids
        self.accepted = accepted
        self.claim: Claim | None = None
        self.fingerprint = ""

    def claim_id_count(self, claim_id: str) -> int:
        ids = self.claim_ids
        if type(ids) is _COUNTER:
            return ids.get(claim_id, 0)  # without Counter.__missing__ (Python code)
        return ids[claim_id]

    def seen_before(self, claim: Claim) -> bool:
        fingerprint = self.fingerprint if claim is self.claim else claim_fingerprint(claim)
        return fingerprint in self.accepted or bool(self.context.seen_fingerprints(fingerprint))


def _standard_failures(claim: Claim, scope: _Scope) -> list[Failure] | None:
    """The failures of :data:`STANDARD_EDITS` for ``claim``, in table order: what running the
    rows one by one gives, with the checks' shared work done once and each clean-claim test
    called directly. None when something raised (the caller then runs the rows one by one,
    each failing check becoming its claim's INTERNAL failure)."""
    std = STANDARD_EDITS
    failures: list[Failure] = []
    try:
        ctx = scope.context
        today = ctx.today
        if not _readable_ok(claim):
            _add(failures, std[0], _readable_hits(claim, scope))
        if not _claim_id_length_ok(claim):
            _add(failures, std[1], _claim_id_length_hits(claim, scope))
        if not _claim_id_unique_ok(claim, scope.claim_id_count(claim.claim_id)):
            _add(failures, std[2], _claim_id_unique_hits(claim, scope))
        if not _npi_all_ok(claim):
            _add(failures, std[3], _npi_hits(claim, scope))
        if not _submitter_provider_ok(claim, ctx):
            _add(failures, std[4], _submitter_provider_hits(claim, scope))
        if not _tin_ok(claim):
            _add(failures, std[5], _tin_hits(claim, scope))
        if not _postal_code_ok(claim):
            _add(failures, std[6], _postal_code_hits(claim, scope))
        if not _billing_street_ok(claim):
            _add(failures, std[7], _billing_street_hits(claim, scope))
        if not _admission_date_ok(claim):  # an inpatient claim
            _add(failures, std[8], _admission_date_hits(claim, scope))
            _add(failures, std[9], _admission_type_hits(claim, scope))
        if not _admission_type_code_ok(claim):
            _add(failures, std[10], _admission_type_code_hits(claim, scope))
        if not _taxonomy_ok(claim):
            _add(failures, std[11], _taxonomy_hits(claim, scope))
        if not _payer_ok(claim, ctx):
            _add(failures, std[12], _payer_hits(claim, scope))
        if not _filing_indicator_ok(claim):
            _add(failures, std[13], _filing_indicator_hits(claim, scope))
        dates = claim.service_dates()
        if not _service_dates_ok(claim, dates, today):
            _add(failures, std[14], _service_dates_hits(claim, scope))
        if not _other_dates_ok(claim):
            _add(failures, std[15], _other_dates_hits(claim, scope))
        first, last = _service_period(dates)
        if not _birth_date_ok(claim, today, first):
            _add(failures, std[16], _birth_date_hits(claim, scope))
        if first is None or last is None:
            reference = today
        else:
            reference = last if claim.kind == "institutional" else first
        if not _icd_qualifier_ok(claim, reference):
            _add(failures, std[17], _icd_qualifier_hits(claim, scope))
        if not _icd_code_ok(claim, ctx):
            _add(failures, std[18], _icd_code_hits(claim, scope))
        if not _diagnosis_duplicates_ok(claim):
            _add(failures, std[19], _diagnosis_duplicates_hits(claim, scope))
        if not _principal_diagnosis_ok(claim):
            _add(failures, std[20], _principal_diagnosis_hits(claim, scope))
        if not _diagnosis_pointers_ok(claim):
            _add(failures, std[21], _diagnosis_pointers_hits(claim, scope))
        if not _procedure_ok(claim):
            _add(failures, std[22], _procedure_hits(claim, scope))
        if not _modifiers_ok(claim):
            _add(failures, std[23], _modifiers_hits(claim, scope))
        if not _revenue_code_ok(claim):
            _add(failures, std[24], _revenue_code_hits(claim, scope))
        if not _place_of_service_ok(claim):
            _add(failures, std[25], _place_of_service_hits(claim, scope))
        if not _units_ok(claim):
            _add(failures, std[26], _units_hits(claim, scope))
        if not _ndc_ok(claim):
            _add(failures, std[27], _ndc_hits(claim, scope))
        if not _claim_charge_ok(claim):
            _add(failures, std[28], _claim_charge_hits(claim, scope))
        if not _line_charges_ok(claim):
            _add(failures, std[29], _line_charges_hits(claim, scope))
        if not _balance_ok(claim):
            _add(failures, std[30], _balance_hits(claim, scope))
        if not _frequency_ok(claim):
            _add(failures, std[31], _frequency_hits(claim, scope))
        if not _original_reference_ok(claim):
            _add(failures, std[32], _original_reference_hits(claim, scope))
        if duplicate_applies(claim.frequency_code) and scope.seen_before(claim):
            failures.append(failure_from(std[33], duplicate_hit(claim.where)))
    except Exception:
        return None
    return failures


_STANDARD_CHECKS: Final[tuple[CheckFn, ...]] = (
    check_readable,
    check_claim_id_length,
    check_claim_id_unique,
    check_npi,
    check_submitter_provider,
    check_tin,
    check_postal_code,
    check_billing_street,
    check_admission_date,
    check_admission_type,
    check_admission_type_code,
    check_taxonomy,
    check_payer,
    check_filing_indicator,
    check_service_dates,
    check_other_dates,
    check_birth_date,
    check_icd_qualifier,
    check_icd_code,
    check_diagnosis_duplicates,
    check_principal_diagnosis,
    check_diagnosis_pointers,
    check_procedure,
    check_modifiers,
    check_revenue_code,
    check_place_of_service,
    check_units,
    check_ndc,
    check_claim_charge,
    check_line_charges,
    check_balance,
    check_frequency,
    check_original_reference,
    check_duplicate,
)
"""The checks :func:`_standard_failures` runs, in its order (checked against the table)."""

if tuple(edit.check for edit in STANDARD_EDITS) != _STANDARD_CHECKS:
    raise AssertionError("_standard_failures no longer follows STANDARD_EDITS")


def _run_rows(claim: Claim, scope: _Scope, rows: tuple[Edit, ...], failures: list[Failure]) -> None:
    """Apply edit rows one by one (any edit set's, any check function)."""
    for edit in rows:
        try:
            found = edit.check(claim, scope)
            hits = found if isinstance(found, tuple) else tuple(found)
        except Exception:  # a bug in a check: reject the claim, never the batch
            failures.append(
                Failure(
                    INTERNAL_ERROR_CODE,
                    "A7",
                    "21",
                    None,
                    f"The claim could not be checked ({edit.code} edit failed).",
                    claim.where,
                )
            )
            continue
        for hit in hits:
            failures.append(failure_from(edit, hit))


class _Plan:
    """How an edit set runs: the standard table first through :func:`_standard_failures`
    (when the set starts with it, all enabled), then the remaining rows one by one."""

    def __init__(self, edits: EditSet) -> None:
        table = edits.edits
        count = len(STANDARD_EDITS)
        self.edits = edits
        self.fused = len(table) >= count and all(
            row is standard for row, standard in zip(table, STANDARD_EDITS, strict=False)
        )
        self.rows: tuple[Edit, ...] = table[count:] if self.fused else table


_PLANS: Final[list[_Plan | None]] = [None]
"""The last edit set's plan (``edits.edits`` is recomputed on each read when compiled, and
spill_edits edits one claim per call)."""


def _plan(edits: EditSet) -> _Plan:
    plan = _PLANS[0]
    if plan is None or plan.edits is not edits:
        plan = _Plan(edits)
        _PLANS[0] = plan
    return plan


def run_edits(
    claims: Sequence[Claim],
    context: EditContext,
    edits: EditSet = DEFAULT_EDIT_SET,
    *,
    claim_ids: Counter[str] | None = None,
    accepted_fingerprints: set[str] | None = None,
) -> list[ClaimVerdict]:
    """Apply ``edits`` to every claim of a batch (one file / interchange); one verdict per
    claim, in order.  Never raises on bad data: a failing check becomes a failure of its
    claim (edit code :data:`INTERNAL_ERROR_CODE`).

    A claim that duplicates a claim accepted earlier in the same batch is rejected too.

    A batch too big to hold may be edited a few claims at a time (``frontend.spill_edits``):
    ``claim_ids`` then gives the CLM01 counts of the whole batch, and ``accepted_fingerprints``
    is the
    batch's set of accepted fingerprints, shared (and updated) across the calls.
    """
    plan = _plan(edits)
    scope = _Scope(
        context,
        claim_ids if claim_ids is not None else Counter(c.claim_id for c in claims),
        accepted_fingerprints if accepted_fingerprints is not None else set(),
    )
    verdicts: list[ClaimVerdict] = []
    for claim in claims:
        fingerprint = claim_fingerprint(claim)
        scope.claim = claim
        scope.fingerprint = fingerprint
        failures: list[Failure] | None = None
        if plan.fused:
            failures = _standard_failures(claim, scope)
            if failures is None:
                failures = []
                _run_rows(claim, scope, STANDARD_EDITS, failures)
        else:
            failures = []
        if plan.rows:
            _run_rows(claim, scope, plan.rows, failures)
        accepted = not failures
        if accepted:
            scope.accepted.add(fingerprint)
        verdicts.append(ClaimVerdict(claim, accepted, tuple(failures), fingerprint))
    scope.claim = None
    return verdicts


# after the classes, not as their decorator: mypyc compiles a class with only @dataclass
# as a native class (gateway/_native.py)
for _record in (
    Hit,
    Failure,
):
    quick_init(_record)
