"""Envelope checks: ISA/IEA (TA1 codes), GS/GE (AK9 codes), ST/SE (IK5 codes).

:func:`read_interchanges` walks the token stream of :mod:`gateway.x12.tokenizer` once,
streams every transaction set (ST..SE) into a validation session of the
:class:`~gateway.x12.segments.Validator` as it goes (nothing of a set is kept but its ST and
its counts), and returns one :class:`~gateway.x12.results.InterchangeResult` per ISA.
IK502 ``5``/``I5`` come from the session's error counters, so errors beyond the stored
:data:`MAX_STORED_ERRORS` still count. Pure: no I/O.

Codes follow X12 005010: TA105 (element I18), AK905 (716), IK502 (618).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter

from gateway.x12.results import (
    EnvelopeParty,
    GroupResult,
    IgError,
    InterchangeResult,
    PartnerDirectory,
    TransactionResult,
)
from gateway.x12.segments import Segment, SetSession, Validator, begin_session
from gateway.x12.tokenizer import ISA_ELEMENT_WIDTHS, IsaHeader, Stray, Token

SUPPORTED_ISA_VERSION = "00501"
ISA_QUALIFIERS = frozenset({"01", "14", "20", "27", "28", "29", "30", "33", "ZZ"})
"""ISA05/ISA07 code list (I05) for 00501."""
USAGE_INDICATORS = frozenset({"I", "P", "T"})
HIPAA_FUNCTIONAL_IDS = frozenset({"BE", "HB", "HC", "HI", "HN", "HP", "HR", "HS", "PI", "RA"})
"""GS01 values a 999 can acknowledge (AK101): the 005010X231A1 list, plus ``PI`` (the 275
X210 attachment's group, which that list predates)."""
ACK_FUNCTIONAL_ID = "FA"
"""GS01 of functional acknowledgments (999): accepted (a payer sends them back) and checked,
but never themselves acknowledged with a 999. Any other GS01 → TA1 024."""
HIPAA_SET_IDS = frozenset({"270", "271", "275", "276", "277", "278", "820", "834", "835", "837"})
"""ST01 values a 999 can acknowledge (AK201): the 005010X231A1 list, plus ``275`` (X210)."""
ACK_SET_IDS = frozenset({"999"})
"""ST01 allowed in an FA group. Any other ST01 → TA1 024."""
MAX_STORED_ERRORS = 1000
"""IG errors kept per transaction set (the set is rejected either way)."""

TA1_NOTES: Mapping[str, str] = {
    "000": "No error",
    "001": "The interchange control number in the ISA (ISA13) and the IEA (IEA02) do not match",
    "003": "This version of the interchange control segments (ISA12) is not supported",
    "004": "The segment terminator is invalid",
    "005": "Invalid interchange ID qualifier for the sender (ISA05)",
    "006": "Invalid or unknown interchange sender ID (ISA05/ISA06)",
    "007": "Invalid interchange ID qualifier for the receiver (ISA07)",
    "008": "Invalid interchange receiver ID (ISA07/ISA08): it must be this gateway",
    "010": "Invalid authorization information qualifier (ISA01)",
    "011": "Invalid authorization information value (ISA02)",
    "012": "Invalid security information qualifier (ISA03)",
    "013": "Invalid security information value (ISA04)",
    "014": "Invalid interchange date (ISA09)",
    "015": "Invalid interchange time (ISA10)",
    "016": "Invalid repetition separator / standards identifier (ISA11)",
    "017": "Invalid interchange version ID (ISA12)",
    "018": "Invalid interchange control number (ISA13)",
    "019": "Invalid acknowledgment requested value (ISA14)",
    "020": "Invalid or not allowed usage indicator (ISA15)",
    "021": "Invalid number of included groups (IEA01)",
    "022": "Invalid control structure (e.g. a new ISA before the IEA)",
    "023": "Improper (premature) end of file: the IEA is missing",
    "024": "Invalid interchange content (e.g. a segment outside a functional group, a bad GS)",
    "025": "Duplicate interchange control number (ISA13) from this sender",
    "026": "Invalid data element separator",
    "027": "Invalid component element separator (ISA16)",
}
GROUP_NOTES: Mapping[str, str] = {
    "1": "Functional group not supported",
    "2": "Functional group version (GS08) not supported",
    "3": "Functional group trailer (GE) missing",
    "4": "Group control number in GS06 and GE02 do not agree",
    "5": "Number of included transaction sets (GE01) does not match the actual count",
    "6": "Group control number (GS06) violates syntax",
    "19": "Functional group control number not unique within the interchange",
}
SET_NOTES: Mapping[str, str] = {
    "1": "Transaction set not supported",
    "2": "Transaction set trailer (SE) missing",
    "3": "Transaction set control number in ST02 and SE02 do not match",
    "4": "Number of included segments (SE01) does not match the actual count",
    "5": "One or more segments in error",
    "6": "Missing or invalid transaction set identifier (ST01)",
    "7": "Missing or invalid transaction set control number (ST02)",
    "23": "Transaction set control number not unique within the functional group",
    "I5": "Implementation: one or more segments in error",
    "I6": "Implementation convention (ST03/GS08) not supported",
}

# Which TA1 code wins when several apply (earlier = reported).
_TA1_PRIORITY = (
    "004",
    "026",
    "027",
    "010",
    "011",
    "012",
    "013",
    "005",
    "006",
    "007",
    "008",
    "014",
    "015",
    "003",
    "017",
    "016",
    "018",
    "019",
    "020",
    "022",
    "023",
    "001",
    "021",
    "024",
    "025",
)

IMPLEMENTATION_ALIASES: Mapping[str, str] = {"005010X222A2": "005010X222A1"}
"""Policy: LinuxForHealth's ``005010X222A2`` is validated as HIPAA's ``005010X222A1``."""


def normalize_implementation(implementation: str) -> str:
    """The guide an implementation reference (GS08/ST03) is validated against."""
    value = implementation.strip()
    return IMPLEMENTATION_ALIASES.get(value, value)


ST03_NOT_USED: frozenset[str] = frozenset({"835"})
"""Transaction sets whose TR3 marks ST03 "not used" (835, 005010X221A1): GS08 picks the guide."""


def set_implementation(st01: str, st03: str, gs08: str) -> str:
    """The guide a transaction set is validated against: ST03 when present, else GS08.

    For the sets in :data:`ST03_NOT_USED` GS08 always decides, so an ST03 that a translator
    adds anyway is only tolerated when it agrees with GS08 (the guide's map allows that one
    value; any other ST03 is reported on the element, see schemas/835.5010.X221.A1.xml).
    """
    if st01 in ST03_NOT_USED:
        return normalize_implementation(gs08)
    return normalize_implementation(st03 or gs08)


def _el(segment: Segment, index: int) -> str:
    """Element ``index`` (0 = XX01), '' when absent."""
    return segment.elements[index] if index < len(segment.elements) else ""


# --------------------------------------------------------------------------- ISA checks


def isa_syntax_codes(header: IsaHeader) -> list[str]:
    """TA1 codes for ISA elements that violate X12 syntax (any order; see priority)."""
    d = header.delimiters
    if not header.usable:
        if d.segment.isalnum() or d.segment in (d.element, d.component):
            return ["004"]
        return ["027"]
    e = header.segment.elements
    codes: list[str] = []
    width_codes = (
        "010",
        "011",
        "012",
        "013",
        "005",
        "006",
        "007",
        "008",
        "014",
        "015",
        "016",
        "017",
        "018",
        "019",
        "020",
        "027",
    )
    for value, width, code in zip(e, ISA_ELEMENT_WIDTHS, width_codes, strict=True):
        if len(value) != width:
            codes.append(code)
    checks = (
        (e[0] in ("00", "03"), "010"),
        (e[2] in ("00", "01"), "012"),
        (e[4] in ISA_QUALIFIERS, "005"),
        (bool(e[5].strip()), "006"),
        (e[6] in ISA_QUALIFIERS, "007"),
        (bool(e[7].strip()), "008"),
        (_valid_date(e[8]), "014"),
        (_valid_time(e[9]), "015"),
        (e[12].isdigit() and e[12].isascii(), "018"),
        (e[13] in ("0", "1"), "019"),
        (e[14] in USAGE_INDICATORS, "020"),
        (not e[15].isalnum() and e[15] != " ", "027"),
    )
    codes.extend(code for ok, code in checks if not ok)
    if e[11] != SUPPORTED_ISA_VERSION:
        codes.append("003" if e[11].isascii() and e[11].isdigit() and len(e[11]) == 5 else "017")
    if not header.fixed_width and not codes:
        codes.append("022")
    return codes


def _valid_date(value: str) -> bool:
    if len(value) != 6 or not value.isdigit() or not value.isascii():
        return False
    try:
        datetime.strptime(value, "%y%m%d")  # a calendar check only
    except ValueError:
        return False
    return True


def _valid_time(value: str) -> bool:
    if len(value) != 4 or not value.isdigit() or not value.isascii():
        return False
    return int(value[:2]) < 24 and int(value[2:]) < 60


def partner_codes(
    header: IsaHeader, directory: PartnerDirectory, uploader: str
) -> tuple[list[str], EnvelopeParty | None]:
    """TA1 codes for sender/receiver/usage against the partner directory, and the sender."""
    e = header.segment.elements
    party = directory.parties.get((e[4].strip(), e[5].strip()))
    codes: list[str] = []
    if party is None or party.partner_id != uploader:
        codes.append("006")
    if (e[6].strip(), e[7].strip()) != (directory.gateway_qualifier, directory.gateway_id):
        codes.append("008")
    if party is not None and e[14] not in party.usage_indicators:
        codes.append("020")
    return codes, party


def first_ta1_code(codes: Iterable[str]) -> str | None:
    """The single TA105 to report among ``codes`` (None when empty)."""
    found = set(codes)
    for code in _TA1_PRIORITY:
        if code in found:
            return code
    return min(found) if found else None


# ------------------------------------------------------------------------ set / group

_CONTROL_IDS = frozenset({"IEA", "GS", "GE", "ST", "SE"})
"""Segments the walker itself acts on; every other one goes straight to the open set."""


_ID = attrgetter("id")
_consume = deque
"""``deque(iterator, 0)`` runs an iterator to its end in C."""


def _ignore(segment: Segment) -> None:
    """``feed`` of a set no validator session follows (unsupported guide)."""


class _OpenSet:
    """The set being read: its ST, its segment count so far and its validation session."""

    __slots__ = ("count", "feed", "session", "st", "supported")

    def __init__(self, st: Segment, supported: bool, session: SetSession | None) -> None:
        self.st = st
        self.count = 1
        self.supported = supported
        self.session = session
        self.feed = session.feed if session is not None else _ignore


@dataclass
class _OpenGroup:
    gs: Segment
    sets: list[TransactionResult] = field(default_factory=list)
    supported_sets: int = 0
    st02_seen: set[str] = field(default_factory=set)


@dataclass
class _OpenInterchange:
    header: IsaHeader
    groups: list[GroupResult] = field(default_factory=list)
    gs06_seen: set[str] = field(default_factory=set)
    open_group: _OpenGroup | None = None
    codes: list[str] = field(default_factory=list)
    """Structural TA1 codes found while walking (022, 023, 001, 021, 024)."""
    closed: bool = False
    ta1_segments: int = 0
    """TA1 segments right after the ISA (an interchange acknowledgment, no groups needed)."""


class _Walker:
    """Consumes tokens; streams each open set's segments into a validator session, so memory
    does not grow with the file (the session keeps only what the guide needs)."""

    def __init__(self, validator: Validator, collect_claim_ids: bool = False) -> None:
        self.validator = validator
        self.collect_claim_ids = collect_claim_ids
        self.claim_ids: list[tuple[TransactionResult, list[str] | None]] = []
        """The CLM01s of each clean set (see :func:`read_interchanges`)."""
        self.done: list[_OpenInterchange] = []
        self.current: _OpenInterchange | None = None
        self.open_set: _OpenSet | None = None
        """The set being read (always in ``current.open_group``)."""
        self.stray_pending = False

    # -- token dispatch
    def feed(self, token: Token | list[Segment]) -> None:
        if isinstance(token, list):
            self.segments(token)
        elif isinstance(token, IsaHeader):
            self._open_interchange(token)
        elif isinstance(token, Stray):
            self.stray_pending = True
        else:
            self.segments((token,))

    def segments(self, run: Sequence[Segment]) -> None:
        """The hot path: a set's data segments go to its session with no call in between
        (and a run without envelope segments, the usual case, with no Python loop)."""
        ich = self.current
        if ich is None:  # pragma: no cover - the tokenizer yields segments after an ISA only
            return
        open_set = self.open_set
        control = _CONTROL_IDS
        if open_set is not None and control.isdisjoint(map(_ID, run)):
            open_set.count += len(run)
            _consume(map(open_set.feed, run), 0)
            return
        feed = open_set.feed if open_set is not None else _ignore
        count = 0
        for seg in run:
            if open_set is None or seg.id in control:
                if open_set is not None:
                    open_set.count += count
                    count = 0
                self._segment(ich, seg)
                open_set = self.open_set
                feed = open_set.feed if open_set is not None else _ignore
                continue
            count += 1
            feed(seg)
        if open_set is not None:
            open_set.count += count

    def finish(self) -> list[_OpenInterchange]:
        if self.current is not None and not self.current.closed:
            self._close_interchange(self.current, "023")
        if self.stray_pending and self.done:
            self.done[-1].codes.append("024")
        return self.done

    def _open_interchange(self, header: IsaHeader) -> None:
        if self.current is not None and not self.current.closed:
            self._close_interchange(self.current, "022")
        self.current = _OpenInterchange(header)
        if self.stray_pending:
            self.current.codes.append("024")
            self.stray_pending = False
        self.done.append(self.current)

    def _segment(self, ich: _OpenInterchange, seg: Segment) -> None:
        group = ich.open_group
        if seg.id == "IEA":
            self._close_interchange(ich, None, seg)
        elif seg.id == "GS":
            if group is not None:
                self._close_group(ich, group, None)
            self._open_group(ich, seg)
        elif group is None and seg.id == "TA1" and not ich.groups:
            ich.ta1_segments += 1  # an interchange acknowledgment: TA1s before any GS
        elif group is None:
            ich.codes.append("024")  # ST, GE or data outside a functional group
        elif seg.id == "GE":
            self._close_group(ich, group, seg)
        elif seg.id == "ST":
            if self.open_set is not None:
                self._close_set(ich, group, trailer=None)
            allowed = ACK_SET_IDS if _el(group.gs, 0) == ACK_FUNCTIONAL_ID else HIPAA_SET_IDS
            if _el(seg, 0) not in allowed:
                ich.codes.append("024")  # a set no 999 can answer
            self._open_set(ich, group, seg)
        elif self.open_set is None:
            ich.codes.append("024")  # data between sets
        else:
            self.open_set.count += 1
            self.open_set.feed(seg)
            if seg.id == "SE":
                self._close_set(ich, group, trailer=seg)

    # -- interchange
    def _close_interchange(
        self, ich: _OpenInterchange, missing_code: str | None, iea: Segment | None = None
    ) -> None:
        if ich.open_group is not None:
            self._close_group(ich, ich.open_group, None)
        if iea is None:
            ich.codes.append(missing_code or "023")
        else:
            if _el(iea, 1) != ich.header.segment.elements[12]:
                ich.codes.append("001")
            if not _count_matches(_el(iea, 0), len(ich.groups)):
                ich.codes.append("021")
        if not ich.groups and not ich.ta1_segments:
            ich.codes.append("024")
        ich.closed = True

    # -- group
    def _open_group(self, ich: _OpenInterchange, gs: Segment) -> None:
        functional_id = _el(gs, 0)
        known = functional_id in HIPAA_FUNCTIONAL_IDS or functional_id == ACK_FUNCTIONAL_ID
        if len(gs.elements) < 8 or not _el(gs, 7) or not known:
            ich.codes.append("024")  # an invalid GS segment, or a group no 999 can answer
        ich.open_group = _OpenGroup(gs)

    def _close_group(self, ich: _OpenInterchange, group: _OpenGroup, ge: Segment | None) -> None:
        if self.open_set is not None:
            self._close_set(ich, group, trailer=None)
        gs06 = _el(group.gs, 5)
        codes: list[str] = []
        if not group.sets or group.supported_sets == 0:
            if not self.validator.supports(normalize_implementation(_el(group.gs, 7))):
                codes.append("2")
        if ge is None:
            codes.append("3")
        else:
            if _el(ge, 1) != gs06:
                codes.append("4")
            if not _count_matches(_el(ge, 0), len(group.sets)):
                codes.append("5")
        if not (gs06.isdigit() and gs06.isascii() and len(gs06) <= 9):
            codes.append("6")
        elif gs06 in ich.gs06_seen:
            codes.append("19")
        ich.gs06_seen.add(gs06)
        ich.groups.append(
            GroupResult(
                gs01=_el(group.gs, 0),
                gs02=_el(group.gs, 1),
                gs03=_el(group.gs, 2),
                gs06=gs06,
                gs08=_el(group.gs, 7),
                transactions=tuple(group.sets),
                group_error_codes=tuple(codes),
            )
        )
        ich.open_group = None

    # -- transaction set
    def _open_set(self, ich: _OpenInterchange, group: _OpenGroup, st: Segment) -> None:
        implementation = set_implementation(_el(st, 0), _el(st, 2), _el(group.gs, 7))
        session: SetSession | None = None
        supported = self.validator.supports(implementation)
        if supported:
            session = begin_session(
                self.validator, ich.header.delimiters, implementation, MAX_STORED_ERRORS
            )
            if self.collect_claim_ids and hasattr(session, "claim_ids"):
                from gateway.x12.kinds import carries_claims  # kinds imports this module

                if carries_claims(_el(st, 0)):
                    session.claim_ids = []  # the igvalidator's sessions collect CLM01s
            session.feed(st)
        self.open_set = _OpenSet(st, supported, session)

    def _close_set(self, ich: _OpenInterchange, group: _OpenGroup, trailer: Segment | None) -> None:
        open_set = self.open_set
        assert open_set is not None
        self.open_set = None
        st = open_set.st
        st02 = _el(st, 1)
        codes = _set_codes(st, trailer, open_set.count, st02 in group.st02_seen)
        group.st02_seen.add(st02)
        st03 = _el(st, 2) or None
        errors: list[IgError] = []
        claims = 0
        if not open_set.supported:
            codes.append("I6" if st03 else "1")
        else:
            group.supported_sets += 1
            session = open_set.session
            if trailer is not None and session is not None:
                errors, claims = session.finish()
                if session.error_total > session.implementation_errors:
                    codes.append("5")  # X12 syntax errors
                if session.implementation_errors:
                    codes.append("I5")  # implementation-guide errors
            st03_error = _st03_not_used_error(st, group.gs)
            if st03_error is not None:
                errors.insert(0, st03_error)
                codes.append("I5")
        result = TransactionResult(
            st01=_el(st, 0),
            st02=st02,
            st03=st03,
            errors=tuple(errors[:MAX_STORED_ERRORS]),
            set_error_codes=tuple(dict.fromkeys(codes)),
            claim_count=claims,
            segment_count=open_set.count,
        )
        group.sets.append(result)
        if result.accepted:
            self.claim_ids.append((result, getattr(open_set.session, "claim_ids", None)))


def _st03_not_used_error(st: Segment, gs: Segment) -> IgError | None:
    """An ST03 in a set whose TR3 does not use it (835) is tolerated only when it names the
    guide GS08 names (some translators add it); any other value is an invalid code."""
    st03 = _el(st, 2)
    if _el(st, 0) not in ST03_NOT_USED or not st03:
        return None
    if normalize_implementation(st03) == normalize_implementation(_el(gs, 7)):
        return None
    return IgError(
        segment_id="ST",
        segment_position=1,
        loop_id=None,
        segment_error="8",
        element_position=3,
        element_reference="1705",
        element_error="7",
        bad_value=st03[:35],
        line=st.line,
        message="ST03 (Implementation Convention Reference) is not used in this transaction "
        "set; when sent it must equal GS08",
    )


def _set_codes(st: Segment, se: Segment | None, count: int, duplicate: bool) -> list[str]:
    codes: list[str] = []
    st01, st02 = _el(st, 0), _el(st, 1)
    if not (len(st01) == 3 and st01.isascii() and st01.isdigit()):
        codes.append("6")
    if not 4 <= len(st02) <= 9:
        codes.append("7")
    elif duplicate:
        codes.append("23")
    if se is None:
        codes.append("2")
        return codes
    if not _count_matches(_el(se, 0), count):
        codes.append("4")
    if _el(se, 1) != st02:
        codes.append("3")
    return codes


def _count_matches(value: str, actual: int) -> bool:
    value = value.strip()
    return value.isdigit() and value.isascii() and int(value) == actual


# ------------------------------------------------------------------------------ public


def read_interchanges(
    tokens: Iterable[Token | list[Segment]],
    *,
    directory: PartnerDirectory,
    uploader: str,
    validator: Validator,
    claim_ids: list[tuple[TransactionResult, list[str] | None]] | None = None,
) -> list[InterchangeResult]:
    """Every interchange in ``tokens`` with its envelope verdict and set/group results.

    ``tokens`` come from :func:`~gateway.x12.tokenizer.tokenize` or, faster, as runs from
    :func:`~gateway.x12.tokenizer.tokenize_runs`. ``claim_ids`` receives, for every set
    without errors of its own, the set's result and its CLM01s in order (None: the
    validator's session does not collect them); whether the set is accepted depends on its
    group and interchange too."""
    walker = _Walker(validator, collect_claim_ids=claim_ids is not None)
    for token in tokens:
        walker.feed(token)
    if claim_ids is not None:
        claim_ids.extend(walker.claim_ids)
    results: list[InterchangeResult] = []
    seen: set[tuple[str, str, str]] = set()
    for ich in walker.finish():
        result = _interchange_result(ich, directory, uploader)
        key = (result.sender_qualifier, result.sender_id, result.control_number)
        if key in seen and result.ta1_code is None:
            result = replace(result, ta1_code="025")
        seen.add(key)
        results.append(result)
    return results


def _interchange_result(
    ich: _OpenInterchange, directory: PartnerDirectory, uploader: str
) -> InterchangeResult:
    header = ich.header
    e = header.segment.elements
    syntax = isa_syntax_codes(header)
    partner, party = partner_codes(header, directory, uploader)
    code = first_ta1_code([*syntax, *partner, *ich.codes])
    return InterchangeResult(
        sender_qualifier=e[4].strip(),
        sender_id=e[5].strip(),
        receiver_qualifier=e[6].strip(),
        receiver_id=e[7].strip(),
        control_number=e[12].strip(),
        date=e[8].strip(),
        time=e[9].strip(),
        usage_indicator=e[14].strip(),
        ack_requested=e[13].strip() == "1",
        version=e[11].strip(),
        ta1_code=code,
        partner_id=party.partner_id if party is not None else None,
        groups=tuple(ich.groups) if header.usable else (),
        first_line=header.segment.line,
    )


def set_accepted(group: GroupResult, transaction: TransactionResult) -> bool:
    """Whether a set may go on down the pipeline: it is clean and so is its group."""
    return transaction.accepted and not group.group_error_codes


def group_accepted_count(group: GroupResult) -> int:
    """Sets of ``group`` that may go on (AK904)."""
    if group.group_error_codes:
        return 0
    return sum(1 for t in group.transactions if t.accepted)
