"""The clearinghouse's own 277CA (005010X214): the front-end verdict on every claim.

One interchange answers one inbound file: ``ISA``/``GS*HN``, then one ``ST*277`` per
inbound 837 transaction set (an :class:`AckBatch`), each shaped as::

    BHT*0085*08*<ref>*<date>*<time>*TH
    HL 20  information source      NM1*AY (us), TRN*1 (our receipt trace), DTP*050, DTP*009
    HL 21  information receiver    NM1*41 (the 837's submitter), TRN*2 (the 837's BHT03),
                                   STC*A1:19:AY, QTY*90/AA, AMT*YU/YY
    HL 19  billing provider        NM1*85 (NPI, else TIN), TRN*1, STC*A1:19:85, QTY*QA/QC,
                                   AMT*YU/YY (per provider)
    HL PT  patient, one per claim  NM1*QC, TRN*2 (CLM01), STC (A1:20 accepted, or one STC
                                   per rejection code), REF*D9, REF*BLT, DTP*472

Notes on the guide (checked against pyx12's X214 map and the TR3 as stupidedi encodes it):

* 2200C TRN and STC are *situational* in the TR3, but pyx12's map makes them required
  (that is why pyx12 rejects the TR3's own business scenario 1, which has no 2200C).  We
  always send them, so our 277CAs satisfy both.
* 2220D (service line) STC02 is "not used" in the TR3 but required in pyx12's map; we send
  no 2220D loops (line problems are reported at claim level, with the line number in STC12).
* STC10/STC11 may only carry entity codes 36/40/41/AY/PR; each rejection therefore gets its
  own STC (STC01 with its entity) rather than being packed into STC10/STC11.

Values echoed from the 837 are cleaned (printable ASCII, no delimiters, cut to length).
The 277CA carries patient names and member IDs (the guide requires them); logs must not.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Final, Protocol

from gateway.x12.acks import OUTBOUND, SEGMENT_END, BuiltAck, Gateway, clean, format_control
from gateway.x12.claims import ClaimKind, Party, SetHeader
from gateway.x12.edits import CLAIM_ENTITY_CODES, Failure
from gateway.x12.envelope import ISA_QUALIFIERS, USAGE_INDICATORS

IMPLEMENTATION_277CA = "005010X214"
ACCEPTED_STATUS = "A1:20"
"""Claim-level STC01 for an accepted claim: received, accepted for processing."""
RECEIPT_STATUS = "A1:19"
"""Summary STC01 (2200B/2200C): entity acknowledges receipt (+ entity code)."""
MAX_STC_PER_CLAIM = 10
"""Rejection STCs per claim; further codes are summarised in the last one's text."""
MAX_TEXT = 264
"""STC12 maximum length."""
_ZERO = Decimal(0)
_TOO_BIG: Final = Decimal("1e15")
"""A charge this big does not fit the 277CA's amounts (echoed as 0)."""
_MINUS_TOO_BIG: Final = -_TOO_BIG
_E = OUTBOUND.element
_ACCEPTED = ACCEPTED_STATUS.replace(":", OUTBOUND.component)
_TEXT_MAP = str.maketrans({":": ";", "*": " ", "~": " ", "^": " "})
"""Free text keeps its sense when a character is one of our delimiters."""


class AckClaim(Protocol):
    """What the 277CA reads of a claim: a full :class:`~gateway.x12.claims.Claim`, or the
    slim record the pipeline keeps per claim of a big file (``frontend.SlimClaim``)."""

    @property
    def header(self) -> SetHeader: ...
    @property
    def kind(self) -> ClaimKind: ...
    @property
    def claim_id(self) -> str: ...
    @property
    def charge(self) -> Decimal | None: ...
    @property
    def billing_provider(self) -> Party | None: ...
    @property
    def billing_tin(self) -> str: ...
    @property
    def member_id(self) -> str: ...
    @property
    def bill_type(self) -> str: ...
    @property
    def person(self) -> Party | None: ...
    def service_period(self) -> tuple[date, date] | None: ...


class AckVerdict(Protocol):
    """A verdict the 277CA answers (``edits.ClaimVerdict`` or ``frontend.SlimVerdict``)."""

    @property
    def claim(self) -> AckClaim: ...
    @property
    def accepted(self) -> bool: ...
    @property
    def failures(self) -> Sequence[Failure]: ...


@dataclass(frozen=True)
class InformationSource:
    """2100A NM1 of the 277CA: who acknowledges (default: the clearinghouse, ``AY``/``46``).
    A payer's own 277CA uses ``PR`` with ``PI`` (payer ID), ``46``, ``FI`` or ``XV``."""

    entity: str
    name: str
    qualifier: str
    id: str


@dataclass(frozen=True)
class ClaimAnswer:
    """Overrides the edits' verdict for one claim (payer 277CAs, see ``payer277``)."""

    accepted: bool
    """Counted as accepted (QTY 90/QA, AMT YU, STC03 ``WQ``) or rejected (AA/QC, YY, ``U``)."""
    statuses: tuple[tuple[str, str], ...]
    """(STC01 as ``A2:20`` / ``A3:33:IL`` / ``P1:...``, STC12 text) per STC, at least one."""
    payer_claim_id: str = ""
    """REF*1K (payer claim control number) when not empty."""


@dataclass(frozen=True)
class AckBatch:
    """The verdicts on one inbound 837 transaction set, with what the 277CA echoes."""

    verdicts: Sequence[AckVerdict]
    """Read twice, by index (totals, then the claims by provider): a lazy sequence over a
    file works (see ``frontend.SpilledVerdicts``)."""
    received: date
    """When the file arrived (DTP*050)."""
    trace: str
    """Our receipt control identifier for this set (2200A TRN02), e.g. file id + ST02."""
    clearinghouse_ids: Sequence[str] | None = None
    """Per verdict, our claim trace number (REF*D9); None = ``<trace>-<n>``."""
    submitter_name: str = ""
    """Fallback for NM1*41 when the 837 has no 1000A (normally taken from the claims)."""
    submitter_id: str = ""
    answers: Sequence[ClaimAnswer] | None = None
    """Per verdict, the statuses to send instead of the verdict's (None = the edits')."""
    plan: AckPlan | None = None
    """The totals and provider groups of ``verdicts``, when the caller already made them
    (:class:`AckPlanner`, e.g. while it read a spill file): the verdicts are then read once,
    not twice. Ignored with ``answers``."""
    rendered: RenderedClaims | None = None
    """The claims' segments, made as the verdicts were (:class:`ClaimRenderer`), with
    ``plan``: the verdicts are then not read at all. The caller vouches that they were made
    with this batch's ``clearinghouse_ids``; they are used only when made for its
    ``received`` and the 277CA's date (else the claims are made from ``verdicts``)."""


@dataclass
class _Totals:
    accepted: int = 0
    rejected: int = 0
    accepted_amount: Decimal = field(default_factory=lambda: _ZERO)
    rejected_amount: Decimal = field(default_factory=lambda: _ZERO)

    def add(self, verdict: AckVerdict, accepted: bool | None = None) -> None:
        self.add_amount(_amount(verdict.claim), verdict.accepted if accepted is None else accepted)

    def add_amount(self, amount: Decimal, accepted: bool) -> None:
        """:meth:`add` of a claim of ``amount`` (its :func:`_amount`)."""
        if accepted:
            self.accepted += 1
            self.accepted_amount += amount
        else:
            self.rejected += 1
            self.rejected_amount += amount

    @property
    def total(self) -> Decimal:
        return self.accepted_amount + self.rejected_amount


_ProviderKey = tuple[str, str, str, str]


@dataclass
class AckPlan:
    """What the 277CA needs before its first claim: the set's totals, and the claims grouped
    by billing provider (in order of first appearance) with each group's totals and first
    claim (for its NM1*85)."""

    totals: _Totals
    groups: dict[_ProviderKey, tuple[list[int], _Totals, AckClaim]]
    count: int


class AckPlanner:
    """Builds an :class:`AckPlan` from the verdicts of one batch, given in order."""

    def __init__(self) -> None:
        self._totals = _Totals()
        self._groups: dict[_ProviderKey, tuple[list[int], _Totals, AckClaim]] = {}
        self._count = 0

    def add(self, verdict: AckVerdict, accepted: bool | None = None) -> None:
        index = self._count
        self._count += 1
        claim = verdict.claim
        amount = _amount(claim)
        if accepted is None:
            accepted = verdict.accepted
        self._totals.add_amount(amount, accepted)
        key = _provider_key(claim)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = ([], _Totals(), claim)
        group[0].append(index)
        group[1].add_amount(amount, accepted)

    def plan(self) -> AckPlan:
        return AckPlan(self._totals, self._groups, self._count)


def clearinghouse_id(prefix: str, index: int) -> str:
    """Our trace number of a batch's ``index``-th claim (REF*D9) as the clearinghouse's own
    277CAs make it: ``<prefix>-<index + 1>``, cut to 50."""
    return f"{prefix}-{index + 1}"[:50]


class RenderedClaims:
    """The claims' segments of one 277CA transaction set after each claim's HL (from its
    ``NM1*QC`` to its ``DTP*472``) as :class:`ClaimRenderer` wrote them to ``path``: the n-th
    claim's are the bytes ``offsets[n]..offsets[n + 1]``, ``counts[n]`` segments. Read in
    order, a block at a time (by index out of order: a seek)."""

    def __init__(
        self, path: str, offsets: array[int], counts: array[int], ids: str, day: str,
        received: date,
    ) -> None:  # fmt: skip
        self.path = path
        self.offsets = offsets
        self.counts = counts
        self.ids = ids
        """The clearinghouse IDs' prefix they were made with (``<prefix>-<n>``, REF*D9)."""
        self.day = day
        self.received = received
        self._handle: IO[bytes] | None = None
        self._buffer = b""
        self._base = 0
        """Where ``_buffer`` starts in the file."""

    def made_for(self, day: str, received: date, count: int) -> bool:
        return day == self.day and received == self.received and count == len(self.counts)

    def text(self, index: int) -> str:
        """The ``index``-th claim's segments."""
        start, end = self.offsets[index], self.offsets[index + 1]
        at = start - self._base
        if at < 0 or end - self._base > len(self._buffer):
            handle = self._handle
            if handle is None:
                handle = self._handle = open(self.path, "rb")  # closed by close()
            handle.seek(start)
            self._buffer = handle.read(max(end - start, _READ))
            self._base = start
            at = 0
            if len(self._buffer) < end - start:
                raise EOFError(f"rendered claims {self.path!r} end early")
        return self._buffer[at : end - self._base].decode("ascii")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._buffer = b""


_READ = 1 << 16


class ClaimRenderer:
    """Makes the claims' segments of one 277CA transaction set (:class:`RenderedClaims`) as
    its verdicts come, in order, before the 277CA is written: what the 277CA would make of
    each claim after its HL (whose number depends on where its billing provider's group
    ends up).

    ``ids``: the clearinghouse IDs' prefix (``<ids>-<n>`` for the n-th claim, REF*D9, as the
    batch's ``clearinghouse_ids`` will be); ``day``, ``received``: the 277CA's date (CCYYMMDD)
    and the batch's :attr:`AckBatch.received`. Writes to ``out`` (the file at ``path``,
    standing at ``position``)."""

    def __init__(
        self, path: str, out: IO[bytes], position: int, *, ids: str, day: str, received: date
    ) -> None:
        self.path = path
        self.out = out
        self.ids = ids
        self.day = day
        self.received = received
        self._offsets: array[int] = array("q", [position])
        self._counts: array[int] = array("B")
        self._position = position

    def add(self, verdict: AckVerdict) -> None:
        index = len(self._counts)
        segments = _claim_segments(
            verdict, clearinghouse_id(self.ids, index), index, self.day, self.received
        )
        data = "".join(segments).encode("ascii")
        self.out.write(data)
        self._position += len(data)
        self._offsets.append(self._position)
        self._counts.append(len(segments))

    def result(self) -> RenderedClaims:
        """The set's claims as made (after the last verdict)."""
        return RenderedClaims(
            self.path, self._offsets, self._counts, self.ids, self.day, self.received
        )


def _segment(seg_id: str, *elements: str) -> str:
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return OUTBOUND.element.join([seg_id, *values]) + SEGMENT_END


def _amount(claim: AckClaim) -> Decimal:
    charge = claim.charge
    if charge is None or not charge.is_finite() or not _MINUS_TOO_BIG < charge < _TOO_BIG:
        return _ZERO
    return charge


def format_amount(value: Decimal) -> str:
    """An X12 R value: at most 2 decimals, no trailing zeros, no exponent (``125``, ``12.5``)."""
    finite = value.is_finite()
    if finite and value in _AMOUNTS:
        return _AMOUNTS[value]
    text = format(value.quantize(Decimal("0.01")), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = "0" if text in ("", "-0") else text
    if finite:
        if len(_AMOUNTS) >= 4096:
            _AMOUNTS.clear()
        _AMOUNTS[value] = text
    return text


_AMOUNTS: dict[Decimal, str] = {}
"""format_amount's recent answers (claims repeat their charges; equal finite Decimals, such
as 1.5 and 1.50, have the same answer)."""


def _d8(day: date) -> str:
    """``day.strftime("%Y%m%d")``, memoised (claims share their service dates)."""
    text = _D8.get(day)
    if text is None:
        if len(_D8) >= 4096:
            _D8.clear()
        text = _D8[day] = day.strftime("%Y%m%d")
    return text


_D8: dict[date, str] = {}


def _id(value: str, max_len: int, fallback: str) -> str:
    return clean(value, max_len) or fallback


def _name_elements(party: Party | None, person: bool) -> tuple[str, str, str, str]:
    """NM103, NM104, NM105, NM107 (cleaned); first/middle/suffix only for persons."""
    if party is None:
        return "UNKNOWN", "", "", ""
    last = _id(party.last_or_org, 60, "UNKNOWN")
    if not person:
        return last, "", "", ""
    return last, clean(party.first, 35), clean(party.middle, 25), clean(party.suffix, 10)


def _isa(
    gateway: Gateway, receiver: tuple[str, str], usage: str, control: str, now: datetime
) -> str:
    qualifier = receiver[0] if receiver[0] in ISA_QUALIFIERS else "ZZ"
    return _segment(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        clean(gateway.qualifier, 2).ljust(2),
        clean(gateway.id, 15).ljust(15),
        qualifier,
        _id(receiver[1], 15, "UNKNOWN").ljust(15),
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        OUTBOUND.repetition or "^",
        "00501",
        control,
        "0",
        usage if usage in USAGE_INDICATORS else "P",
        OUTBOUND.component,
    )


def _stc(code: str, action: str, amount: Decimal, *, day: str, text: str = "") -> str:
    return _segment(
        "STC",
        code,
        day,
        action,
        format_amount(amount),
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        clean(text.translate(_TEXT_MAP), MAX_TEXT),
    )


def _stc_code(failure: Failure) -> str:
    parts = [clean(failure.category, 2), clean(failure.status, 30)]
    if failure.entity and failure.entity in CLAIM_ENTITY_CODES:
        parts.append(failure.entity)
    return OUTBOUND.component.join(parts)


def _claim_stcs(verdict: AckVerdict, day: str) -> list[str]:
    amount = _amount(verdict.claim)
    if verdict.accepted:  # _stc(A1:20, "WQ", amount): no text, so nothing after STC04
        return [f"STC{_E}{_ACCEPTED}{_E}{day}{_E}WQ{_E}{format_amount(amount)}{SEGMENT_END}"]
    groups: dict[str, list[Failure]] = {}
    for failure in verdict.failures:
        groups.setdefault(_stc_code(failure), []).append(failure)
    if not groups:  # rejected without a reason: should not happen, stay valid anyway
        groups[OUTBOUND.component.join(("A3", "21"))] = []
    out: list[str] = []
    items = list(groups.items())
    for index, (code, failures) in enumerate(items[:MAX_STC_PER_CLAIM]):
        messages = list(dict.fromkeys(f.message for f in failures))
        if index == MAX_STC_PER_CLAIM - 1 and len(items) > MAX_STC_PER_CLAIM:
            messages.append(f"{len(items) - MAX_STC_PER_CLAIM} more problem(s) not listed.")
        text = " ".join(messages)
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 3].rstrip() + "..."
        out.append(_stc(code, "U", amount, day=day, text=text))
    return out


def _answer_stcs(answer: ClaimAnswer, amount: Decimal, day: str) -> list[str]:
    out: list[str] = []
    action = "WQ" if answer.accepted else "U"
    statuses = answer.statuses or ((ACCEPTED_STATUS if answer.accepted else "A3:21", ""),)
    for code, text in statuses[:MAX_STC_PER_CLAIM]:
        parts = [clean(part, 30) for part in code.split(":")]
        if len(parts) > 2 and parts[2] not in CLAIM_ENTITY_CODES:
            parts = parts[:2]
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 3].rstrip() + "..."
        out.append(_stc(OUTBOUND.component.join(parts), action, amount, day=day, text=text))
    return out


def _service_dtp(claim: AckClaim, fallback: date) -> str:
    """``DTP*472`` (what _segment makes of it: DTP03 is never empty)."""
    period = claim.service_period()
    if period is None:
        return f"DTP{_E}472{_E}D8{_E}{_d8(fallback)}{SEGMENT_END}"
    start, end = period
    if start == end:
        return f"DTP{_E}472{_E}D8{_E}{_d8(start)}{SEGMENT_END}"
    return f"DTP{_E}472{_E}RD8{_E}{_d8(start)}-{_d8(end)}{SEGMENT_END}"


def _provider_key(claim: AckClaim) -> tuple[str, str, str, str]:
    bp = claim.billing_provider
    if bp is None:
        return ("", "", "", claim.billing_tin)
    return (bp.id_qualifier, bp.id, bp.last_or_org.upper(), claim.billing_tin)


def _provider_nm1(claim: AckClaim) -> str:
    bp = claim.billing_provider
    person = bp is not None and bp.entity_type == "1"
    last, first, middle, suffix = _name_elements(bp, person)
    if bp is not None and bp.id_qualifier == "XX" and clean(bp.id, 80):
        qualifier, ident = "XX", clean(bp.id, 80)
    elif clean(claim.billing_tin, 80):
        qualifier, ident = "FI", clean(claim.billing_tin, 80)
    else:
        qualifier, ident = "FI", "000000000"
    return _segment(
        "NM1", "85", "1" if person else "2", last, first, middle, "", suffix, qualifier, ident
    )


def _patient_nm1(claim: AckClaim) -> str:
    last, first, middle, suffix = _name_elements(claim.person, True)
    member = _id(claim.member_id, 80, "UNKNOWN")
    # _segment's answer (NM109 is never empty: nothing to drop at the end)
    return (
        f"NM1{_E}QC{_E}1{_E}{last}{_E}{first}{_E}{middle}{_E}{_E}{suffix}{_E}MI{_E}{member}"
        f"{SEGMENT_END}"
    )


def _transaction(
    batch: AckBatch,
    st02: str,
    *,
    clearinghouse_name: str,
    gateway: Gateway,
    now: datetime,
    source: InformationSource | None = None,
) -> tuple[Iterator[str], _Totals, list[int]]:
    """The body of one ST*277 (ST and SE excluded) as a lazy stream of segments, the set's
    totals (computed first, in one pass over the verdicts), and a one-item list that holds,
    once the stream is consumed, how many segments it carried besides one per item (the
    claims of :attr:`AckBatch.rendered` come as text of many segments). The claims'
    segments are produced as the stream is consumed, reading each verdict once more (or
    the rendered text)."""
    day = now.strftime("%Y%m%d")
    verdicts = batch.verdicts
    answers = batch.answers
    if answers is not None and len(answers) != len(verdicts):
        raise ValueError("AckBatch.answers must have one answer per verdict")

    def accepted(index: int) -> bool | None:
        return answers[index].accepted if answers is not None else None

    plan = batch.plan if answers is None else None
    if plan is not None and plan.count != len(verdicts):
        raise ValueError("AckBatch.plan must be the plan of its verdicts")
    if plan is None:
        # one pass: overall totals, the provider groups (in order of first appearance) and
        # their totals, and the first claim of each group (for its NM1*85)
        planner = AckPlanner()
        for index in range(len(verdicts)):
            planner.add(verdicts[index], accepted(index))
        plan = planner.plan()
    totals, groups = plan.totals, plan.groups
    rendered = batch.rendered if batch.plan is plan else None
    if rendered is not None and not rendered.made_for(day, batch.received, plan.count):
        rendered = None
    header = next(iter(groups.values()))[2].header if groups else None
    if source is None:
        source = InformationSource(
            "AY",
            _id(clearinghouse_name, 60, "CLEARINGHOUSE"),
            "46",
            _id(gateway.id, 80, "CLEARINGHOUSE"),
        )
    extra = [0]
    body = _body(batch, st02, day, now, source, header, totals, groups, rendered, extra)
    return body, totals, extra


def _body(
    batch: AckBatch,
    st02: str,
    day: str,
    now: datetime,
    source: InformationSource,
    header: SetHeader | None,
    totals: _Totals,
    groups: dict[tuple[str, str, str, str], tuple[list[int], _Totals, AckClaim]],
    rendered: RenderedClaims | None,
    extra: list[int],
) -> Iterator[str]:
    verdicts = batch.verdicts
    answers = batch.answers
    yield from [
        _segment(
            "BHT", "0085", "08", _id(batch.trace, 30, st02), day, now.strftime("%H%M"), "TH"
        ),
        _segment("HL", "1", "", "20", "1"),
        _segment(
            "NM1", clean(source.entity, 3) or "AY", "2", _id(source.name, 60, "UNKNOWN"), "", "",
            "", "", clean(source.qualifier, 2) or "46", _id(source.id, 80, "UNKNOWN"),
        ),
        _segment("TRN", "1", _id(batch.trace, 50, st02)),
        _segment("DTP", "050", "D8", batch.received.strftime("%Y%m%d")),
        _segment("DTP", "009", "D8", day),
    ]  # fmt: skip
    submitter = header.submitter if header is not None else None
    sub_person = submitter is not None and submitter.entity_type == "1"
    if submitter is not None:
        last, first, middle, _ = _name_elements(submitter, sub_person)
        sub_id = _id(submitter.id, 80, _id(batch.submitter_id, 80, "UNKNOWN"))
    else:
        last, first, middle = _id(batch.submitter_name, 60, "UNKNOWN"), "", ""
        sub_id = _id(batch.submitter_id, 80, "UNKNOWN")
    batch_number = _id(
        header.bht03 if header else "", 50, _id(header.st02 if header else "", 50, "0")
    )
    yield from [
        _segment("HL", "2", "1", "21", "1" if len(verdicts) else "0"),
        _segment(
            "NM1", "41", "1" if sub_person else "2", last, first, middle, "", "", "46", sub_id
        ),
        _segment("TRN", "2", batch_number),
        _summary_stc(RECEIPT_STATUS, source.entity, totals, day=day, with_date=True),
        *_counts(totals, "90", "AA"),
    ]  # fmt: skip
    hl = 2
    for number, (indexes, provider_totals, first_claim) in enumerate(groups.values(), start=1):
        hl += 1
        provider_hl = hl
        yield from [
            _segment("HL", str(provider_hl), "2", "19", "1"),
            _provider_nm1(first_claim),
            _segment("TRN", "1", _id(f"{batch.trace}-P{number}", 50, f"P{number}")),
            _summary_stc(RECEIPT_STATUS, "85", provider_totals, day=day, with_date=False),
            *_counts(provider_totals, "QA", "QC"),
        ]
        if rendered is not None:  # the claims' segments as made, after their HLs
            counts = rendered.counts
            for index in indexes:
                hl += 1
                yield f"HL{_E}{hl}{_E}{provider_hl}{_E}PT{SEGMENT_END}"
                yield rendered.text(index)
                extra[0] += counts[index] - 1  # (the caller counts one)
            continue
        for index in indexes:
            verdict = verdicts[index]
            claim = verdict.claim
            hl += 1
            ch_id = (
                batch.clearinghouse_ids[index]
                if batch.clearinghouse_ids is not None and index < len(batch.clearinghouse_ids)
                else f"{batch.trace}-{index + 1}"
            )
            # what _segment makes of these (no element is empty), without its list work
            yield f"HL{_E}{hl}{_E}{provider_hl}{_E}PT{SEGMENT_END}"
            if answers is None:
                yield from _claim_segments(verdict, ch_id, index, day, batch.received)
                continue
            yield _patient_nm1(claim)
            yield f"TRN{_E}2{_E}{_id(claim.claim_id, 50, '0')}{SEGMENT_END}"
            answer = answers[index]
            yield from _answer_stcs(answer, _amount(claim), day)
            if clean(answer.payer_claim_id, 50):
                yield _segment("REF", "1K", clean(answer.payer_claim_id, 50))
            yield f"REF{_E}D9{_E}{_id(ch_id, 50, str(index + 1))}{SEGMENT_END}"
            if claim.kind == "institutional" and clean(claim.bill_type, 50):
                yield _segment("REF", "BLT", clean(claim.bill_type, 50))
            yield _service_dtp(claim, batch.received)


def _claim_segments(
    verdict: AckVerdict, ch_id: str, index: int, day: str, received: date
) -> list[str]:
    """A claim's segments after its HL (edits' verdict): NM1*QC, TRN*2, STC..., REF*D9,
    REF*BLT, DTP*472."""
    claim = verdict.claim
    out = [
        _patient_nm1(claim),
        f"TRN{_E}2{_E}{_id(claim.claim_id, 50, '0')}{SEGMENT_END}",
        *_claim_stcs(verdict, day),
        f"REF{_E}D9{_E}{_id(ch_id, 50, str(index + 1))}{SEGMENT_END}",
    ]
    if claim.kind == "institutional" and clean(claim.bill_type, 50):
        out.append(_segment("REF", "BLT", clean(claim.bill_type, 50)))
    out.append(_service_dtp(claim, received))
    return out


def _summary_stc(status: str, entity: str, totals: _Totals, *, day: str, with_date: bool) -> str:
    code = OUTBOUND.component.join([*status.split(":"), entity])
    action = "WQ" if totals.accepted else "U"
    return _segment("STC", code, day if with_date else "", action, format_amount(totals.total))


def _counts(totals: _Totals, accepted_qty: str, rejected_qty: str) -> list[str]:
    out: list[str] = []
    if totals.accepted:
        out.append(_segment("QTY", accepted_qty, str(totals.accepted)))
    if totals.rejected:
        out.append(_segment("QTY", rejected_qty, str(totals.rejected)))
    if totals.accepted:
        out.append(_segment("AMT", "YU", format_amount(totals.accepted_amount)))
    if totals.rejected:
        out.append(_segment("AMT", "YY", format_amount(totals.rejected_amount)))
    return out


def build_277ca(
    batches: Sequence[AckBatch],
    *,
    gateway: Gateway,
    receiver: tuple[str, str],
    usage: str,
    next_control: Callable[[], int],
    now: datetime,
    clearinghouse_name: str = "CLEARINGHOUSE",
    receiver_application: str = "",
    information_source: InformationSource | None = None,
    functional_sender: str = "",
) -> BuiltAck:
    """One 277CA interchange to ``receiver`` (ISA qualifier, id): a ``ST*277`` per batch.

    Control numbers: ISA13, GS06, then each ST02, from ``next_control()`` (as the 999).
    ``receiver_application`` is GS03 (default: the receiver's ISA id).  ``usage`` is ISA15
    (echo the inbound file's).  Returns the content and counts (``sets_*`` = transaction
    sets, ``claims_*`` = claims; a set counts as accepted when any claim in it is).
    ``information_source`` replaces the clearinghouse (NM1*AY) as 2100A (a payer's 277CA:
    NM1*PR); ``functional_sender`` is GS02 (default: ``gateway.id``).
    """
    out: list[str] = []
    built = write_277ca(
        batches,
        out.append,
        gateway=gateway,
        receiver=receiver,
        usage=usage,
        next_control=next_control,
        now=now,
        clearinghouse_name=clearinghouse_name,
        receiver_application=receiver_application,
        information_source=information_source,
        functional_sender=functional_sender,
    )
    return BuiltAck(
        content="".join(out).encode("ascii"),
        control_number=built.control_number,
        sets_received=built.sets_received,
        sets_accepted=built.sets_accepted,
        claims_received=built.claims_received,
        claims_accepted=built.claims_accepted,
    )


def write_277ca(
    batches: Sequence[AckBatch],
    write: Callable[[str], object],
    *,
    gateway: Gateway,
    receiver: tuple[str, str],
    usage: str,
    next_control: Callable[[], int],
    now: datetime,
    clearinghouse_name: str = "CLEARINGHOUSE",
    receiver_application: str = "",
    information_source: InformationSource | None = None,
    functional_sender: str = "",
) -> BuiltAck:
    """:func:`build_277ca`, streamed: every segment (ASCII text, terminator included) goes
    to ``write`` as it is made, so a 277CA for hundreds of thousands of claims never sits in
    memory (e.g. ``write=text_file.write``). The returned ``BuiltAck`` has empty ``content``;
    the bytes written are exactly those :func:`build_277ca` returns."""
    isa13 = format_control(next_control(), 9)
    gs06 = str(next_control() % 1_000_000_000)
    write(_isa(gateway, receiver, usage, isa13, now))
    gs03 = clean(receiver_application, 15) or _id(receiver[1], 15, "UNKNOWN")
    write(
        _segment(
            "GS",
            "HN",
            _id(functional_sender or gateway.id, 15, "CLEARINGHOUSE").ljust(2, "0"),
            gs03.ljust(2, "0"),
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            gs06,
            "X",
            IMPLEMENTATION_277CA,
        )
    )
    received = accepted = sets_accepted = 0
    for batch in batches:
        st02 = format_control(next_control(), 4)
        body, totals, extra = _transaction(
            batch,
            st02,
            clearinghouse_name=clearinghouse_name,
            gateway=gateway,
            now=now,
            source=information_source,
        )
        write(_segment("ST", "277", st02, IMPLEMENTATION_277CA))
        count = 0
        for segment in body:
            write(segment)
            count += 1
        write(_segment("SE", str(count + extra[0] + 2), st02))
        received += totals.accepted + totals.rejected
        accepted += totals.accepted
        sets_accepted += 1 if totals.accepted else 0
    write(_segment("GE", str(len(batches)), gs06))
    write(_segment("IEA", "1", isa13))
    return BuiltAck(
        content=b"",
        control_number=isa13,
        sets_received=len(batches),
        sets_accepted=sets_accepted,
        claims_received=received,
        claims_accepted=accepted,
    )
