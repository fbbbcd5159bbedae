"""Split accepted 837 claims by payer and re-envelope them: one interchange per payer.

PURE. Input: the accepted claims (:class:`SourceClaim` = the source file id, its
:class:`~gateway.x12.claims.TransactionSet` and the extracted
:class:`~gateway.x12.claims.Claim`); output: per payer the bytes of one 837 interchange and a
:class:`ClaimRoute` per claim mapping the outbound claim back to its source.

Re-enveloping policy
--------------------
* **Envelope**: ISA from the gateway (ISA05/06) to the payer's interchange id (ISA07/08), new
  ISA13, then GS06 and every ST02 from ``next_control()`` (the caller owns durable counters
  per partner). ISA14 = 0, ISA15 = ``usage`` (never mix test and production claims in one
  call). Our delimiters ``* : ^ ~`` whatever the source used: elements are translated
  (source component/repetition separators → ours); a data character that is one of our
  delimiters becomes a space and a warning names the claim (never silently).
* **One GS per implementation guide** (837P ``005010X222A1``, 837I ``005010X223A2``, 837D
  ``005010X224A2``, from the claim kind), one ST per (guide, BHT06) with at most
  ``max_claims_per_set`` claims (the TR3's 5000 recommendation).
* **1000A submitter = the gateway** (NM1*41 with our ETIN, PER*IC our EDI desk). The payer's
  trading partner is the clearinghouse: it issued the submitter ID to us, answers
  (999/277CA) come back to us, and one ST may hold claims of many billing companies — whose
  own 1000A could not all stand in one header. The provider's identity travels in the
  claims (2010AA billing provider, unchanged); the submitter of each claim is kept in the
  route map. **1000B receiver = the payer** (NM1*40, payer name, its receiver id).
* **BHT regenerated**: ``BHT*0019*00*<ISA13>-<ST02>*<date>*<time>*<BHT06 of the sources>``.
* **HL rebuilt**: per ST, one HL 20 per distinct billing-provider loop (same segments after
  translation = same provider), under it one HL 22 per distinct subscriber loop, under
  that the subscriber's own claims, then one HL 23 per distinct patient loop with its
  claims. HL01 renumbered from 1, HL02 to the new parent, HL04 = 1 exactly when the level
  has children. The level's own segments (2000A/2010AA/AB/AC, 2000B/SBR/2010BA/BB,
  2000C/PAT/2010CA) and every claim (CLM through the segment before the next HL/CLM,
  i.e. :attr:`Claim.where` .. :attr:`Claim.end_position`) are copied verbatim.
* **SE01** counted, GE01/IEA01 counted. CLM01 is not changed (payers echo it in 277CA TRN*2
  and 835 CLP01); a CLM01 that occurs twice in one outbound interchange gets a warning
  because only (payer, CLM01, billing NPI, amounts) can tell such claims apart in an 835.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gateway.x12.acks import OUTBOUND, SEGMENT_END, Gateway, clean, format_control
from gateway.x12.claims import Claim, TransactionSet, extract_claims, iter_transaction_sets
from gateway.x12.envelope import normalize_implementation
from gateway.x12.remit835 import gs_segment, isa_segment, segment
from gateway.x12.segments import Delimiters, Segment

GUIDES = {
    "professional": "005010X222A1",
    "institutional": "005010X223A2",
    "dental": "005010X224A2",
}
MAX_CLAIMS_PER_SET = 5000


class ReenvelopeError(ValueError):
    """A claim whose hierarchy cannot be rebuilt (its set should not have been accepted)."""


@dataclass(frozen=True)
class SourceClaim:
    file_id: str
    transaction: TransactionSet
    claim: Claim


@dataclass(frozen=True)
class Submitter:
    """1000A of the outbound 837s: the gateway as the payer knows it."""

    name: str
    id: str
    """NM109 (ETIN, qualifier 46): the submitter ID the payer issued to the gateway."""
    contact_name: str = "EDI DESK"
    phone: str = "0000000000"


@dataclass(frozen=True)
class PayerEndpoint:
    payer_id: str
    """2010BB NM109: the routing key."""
    name: str
    """1000B NM103."""
    interchange: tuple[str, str]
    """ISA07/ISA08 of the payer."""
    receiver_id: str = ""
    """1000B NM109 (default: ``payer_id``)."""
    application: str = ""
    """GS03 (default: the payer's ISA id)."""


@dataclass(frozen=True)
class ClaimRoute:
    """Where one outbound claim came from (all indexes 0-based)."""

    payer_id: str
    outbound_isa13: str
    outbound_gs06: str
    outbound_st02: str
    outbound_index: int
    """Index of the claim in its outbound transaction set."""
    claim_id: str
    """CLM01 (identical in source and outbound)."""
    file_id: str
    source_isa13: str
    source_gs06: str
    source_st02: str
    source_index: int
    """:attr:`Claim.index` in the source transaction set."""
    source_submitter_id: str = ""
    """1000A NM109 of the source set (who to answer)."""

    @property
    def outbound_key(self) -> tuple[str, str, int, str]:
        return (self.outbound_isa13, self.outbound_st02, self.outbound_index, self.claim_id)

    @property
    def source_key(self) -> tuple[str, str, str, int, str]:
        return (self.file_id, self.source_isa13, self.source_st02, self.source_index, self.claim_id)


@dataclass(frozen=True)
class Reenveloped:
    payer_id: str
    content: bytes
    control_number: str
    """Outbound ISA13."""
    routes: tuple[ClaimRoute, ...]
    """In outbound order."""
    sets: int
    warnings: tuple[str, ...] = ()
    """Plain words, no PHI (claims named by source file id, ST02 and index)."""


def source_claims(
    file_id: str, data: bytes, accept: Callable[[TransactionSet], bool] | None = None
) -> list[SourceClaim]:
    """Every claim of ``data`` (optionally only of the sets ``accept`` keeps) as sources."""
    out: list[SourceClaim] = []
    for ts in iter_transaction_sets(data):
        if accept is not None and not accept(ts):
            continue
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08):
            out.append(SourceClaim(file_id, ts, claim))
    return out


# ----------------------------------------------------------------- source structure


@dataclass(frozen=True)
class _Level:
    hl_id: str
    parent: str
    code: str
    position: int
    """Position of the HL (ST = 1)."""
    end: int
    """Position of the level's last own segment (before its first CLM or the next HL)."""
    parent_level: _Level | None
    """The HL that HL02 named when this HL was read (as :func:`extract_claims` resolves it)."""


@dataclass
class _SetIndex:
    levels: dict[str, _Level]
    starts: list[int]
    by_start: list[_Level]

    def enclosing(self, position: int) -> _Level | None:
        i = bisect.bisect_left(self.starts, position) - 1
        return self.by_start[i] if i >= 0 else None


def _index(segments: Sequence[Segment]) -> _SetIndex:
    levels: dict[str, _Level] = {}
    order: list[_Level] = []
    open_hl: tuple[str, str, str, int] | None = None

    def close(end: int) -> None:
        if open_hl is not None:
            hl_id, parent, code, position = open_hl
            level = _Level(
                hl_id, parent, code, position, end, levels.get(parent) if parent else None
            )
            levels[level.hl_id] = level
            order.append(level)

    for position, seg in enumerate(segments, start=1):
        if seg.id == "HL":
            close(position - 1)
            el = seg.elements
            open_hl = (
                el[0] if el else "",
                el[1] if len(el) > 1 else "",
                el[2] if len(el) > 2 else "",
                position,
            )
        elif seg.id in ("CLM", "SE") and open_hl is not None:
            close(position - 1)
            open_hl = None
    close(len(segments))
    return _SetIndex(levels, [lv.position for lv in order], order)


# ------------------------------------------------------------------------ rendering


@dataclass
class _Translator:
    source: Delimiters
    table: dict[int, str] | None = None
    changed: bool = False
    """A data character was one of our delimiters (set by :meth:`render`, reset by callers)."""

    def __post_init__(self) -> None:
        src = self.source
        ours = OUTBOUND
        same = (
            src.element == ours.element
            and src.component == ours.component
            and src.repetition == ours.repetition
            and src.segment == ours.segment
        )
        if same:
            return
        table: dict[int, str] = {}
        for char in (ours.element, ours.segment, ours.component, ours.repetition or "^"):
            table[ord(char)] = " "
        table[ord(src.component)] = ours.component
        if src.repetition is not None:
            table[ord(src.repetition)] = ours.repetition or "^"
        self.table = table

    def render(self, seg: Segment) -> str:
        elements = seg.elements
        if self.table is not None:
            translated = tuple(e.translate(self.table) for e in elements)
            for before, after in zip(elements, translated, strict=True):
                if after.count(" ") != before.count(" "):
                    self.changed = True
            elements = translated
        values = list(elements)
        while values and values[-1] == "":
            values.pop()
        return OUTBOUND.element.join([seg.id, *values]) + SEGMENT_END


@dataclass
class _PatientNode:
    body: tuple[str, ...]
    claims: list[tuple[SourceClaim, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class _SubscriberNode:
    body: tuple[str, ...]
    claims: list[tuple[SourceClaim, tuple[str, ...]]] = field(default_factory=list)
    patients: dict[tuple[str, ...], _PatientNode] = field(default_factory=dict)


@dataclass
class _ProviderNode:
    body: tuple[str, ...]
    subscribers: dict[tuple[str, ...], _SubscriberNode] = field(default_factory=dict)


@dataclass
class _SetPlan:
    guide: str
    bht06: str
    providers: dict[tuple[str, ...], _ProviderNode] = field(default_factory=dict)
    count: int = 0


def _describe(source: SourceClaim) -> str:
    return (
        f"file {source.file_id} ISA13 {source.transaction.isa13} "
        f"ST02 {source.claim.header.st02} claim index {source.claim.index}"
    )


def _slice(segments: Sequence[Segment], first: int, last: int) -> Sequence[Segment]:
    """Positions ``first``..``last`` inclusive (ST = 1)."""
    return segments[first - 1 : last]


class _Planner:
    def __init__(self, max_claims: int) -> None:
        self.max_claims = max_claims
        self.plans: list[_SetPlan] = []
        self.open: dict[tuple[str, str], _SetPlan] = {}
        self.indexes: dict[int, _SetIndex] = {}
        self.translators: dict[Delimiters, _Translator] = {}
        self.warnings: list[str] = []

    def _plan_for(self, guide: str, bht06: str) -> _SetPlan:
        key = (guide, bht06)
        plan = self.open.get(key)
        if plan is None or plan.count >= self.max_claims:
            plan = _SetPlan(guide, bht06)
            self.open[key] = plan
            self.plans.append(plan)
        return plan

    def add(self, source: SourceClaim) -> None:
        ts, claim = source.transaction, source.claim
        segments = ts.segments
        index = self.indexes.get(id(ts))
        if index is None:
            index = self.indexes[id(ts)] = _index(segments)
        translator = self.translators.get(ts.delimiters)
        if translator is None:
            translator = self.translators[ts.delimiters] = _Translator(ts.delimiters)
        level = index.enclosing(claim.where.position)
        chain: list[_Level] = []
        while level is not None and len(chain) < 3 and level not in chain:
            chain.append(level)
            level = level.parent_level
        codes = [lv.code for lv in chain]
        if codes not in (["22", "20"], ["23", "22", "20"]):
            raise ReenvelopeError(
                f"{_describe(source)}: hierarchy {'/'.join(reversed(codes)) or 'none'} "
                "is not billing provider (20) / subscriber (22) [/ patient (23)]"
            )
        translator.changed = False

        def body(lv: _Level) -> tuple[str, ...]:
            return tuple(translator.render(s) for s in _slice(segments, lv.position + 1, lv.end))

        claim_text = tuple(
            translator.render(s) for s in _slice(segments, claim.where.position, claim.end_position)
        )
        provider_body = body(chain[-1])
        subscriber_body = body(chain[-2])
        patient_body = body(chain[0]) if len(chain) == 3 else None
        if translator.changed:
            self.warnings.append(
                f"{_describe(source)}: a data value contained one of the outbound delimiters "
                "and was changed to a space"
            )
        kind = claim.kind
        guide = GUIDES.get(kind) or normalize_implementation(claim.header.implementation)
        plan = self._plan_for(guide, claim.header.bht06 or "CH")
        provider = plan.providers.setdefault(provider_body, _ProviderNode(provider_body))
        subscriber = provider.subscribers.setdefault(
            subscriber_body, _SubscriberNode(subscriber_body)
        )
        if patient_body is not None:
            patient = subscriber.patients.setdefault(patient_body, _PatientNode(patient_body))
            patient.claims.append((source, claim_text))
        else:
            subscriber.claims.append((source, claim_text))
        plan.count += 1


def _write_set(
    plan: _SetPlan,
    *,
    st02: str,
    isa13: str,
    gs06: str,
    payer: PayerEndpoint,
    submitter: Submitter,
    now: datetime,
    routes: list[ClaimRoute],
) -> list[str]:
    body: list[str] = [
        segment(
            "BHT", "0019", "00", f"{isa13}-{st02}", now.strftime("%Y%m%d"), now.strftime("%H%M"),
            clean(plan.bht06, 2) or "CH",
        ),
        segment("NM1", "41", "2", clean(submitter.name, 60) or "CLEARINGHOUSE", "", "", "", "",
                "46", clean(submitter.id, 80) or "CLEARINGHOUSE"),
        segment("PER", "IC", clean(submitter.contact_name, 60), "TE",
                "".join(c for c in submitter.phone if c.isdigit()) or "0000000000"),
        segment("NM1", "40", "2", clean(payer.name, 60) or "PAYER", "", "", "", "", "46",
                clean(payer.receiver_id or payer.payer_id, 80) or "PAYER"),
    ]  # fmt: skip
    hl = 0
    claim_index = 0

    def claims(items: list[tuple[SourceClaim, tuple[str, ...]]]) -> None:
        nonlocal claim_index
        for source, text in items:
            body.extend(text)
            ts = source.transaction
            routes.append(
                ClaimRoute(
                    payer_id=payer.payer_id,
                    outbound_isa13=isa13,
                    outbound_gs06=gs06,
                    outbound_st02=st02,
                    outbound_index=claim_index,
                    claim_id=source.claim.claim_id,
                    file_id=source.file_id,
                    source_isa13=ts.isa13,
                    source_gs06=ts.gs06,
                    source_st02=source.claim.header.st02,
                    source_index=source.claim.index,
                    source_submitter_id=(
                        source.claim.header.submitter.id if source.claim.header.submitter else ""
                    ),
                )
            )
            claim_index += 1

    for provider in plan.providers.values():
        hl += 1
        provider_hl = hl
        body.append(segment("HL", str(provider_hl), "", "20", "1"))
        body.extend(provider.body)
        for subscriber in provider.subscribers.values():
            hl += 1
            subscriber_hl = hl
            children = "1" if subscriber.patients else "0"
            body.append(segment("HL", str(subscriber_hl), str(provider_hl), "22", children))
            body.extend(subscriber.body)
            claims(subscriber.claims)
            for patient in subscriber.patients.values():
                hl += 1
                body.append(segment("HL", str(hl), str(subscriber_hl), "23", "0"))
                body.extend(patient.body)
                claims(patient.claims)
    return [
        segment("ST", "837", st02, plan.guide),
        *body,
        segment("SE", str(len(body) + 2), st02),
    ]


def reenvelope(
    claims: Sequence[SourceClaim],
    *,
    payer: PayerEndpoint,
    gateway: Gateway,
    submitter: Submitter,
    usage: str,
    next_control: Callable[[], int],
    now: datetime,
    max_claims_per_set: int = MAX_CLAIMS_PER_SET,
) -> Reenveloped:
    """One 837 interchange to ``payer`` holding ``claims`` (see the module docstring).

    Control numbers: ISA13, then per GS its GS06 followed by its STs' ST02s, each from
    ``next_control()``. Raises :class:`ReenvelopeError` when ``claims`` is empty or a
    claim's HL chain is not 20/22[/23].
    """
    if not claims:
        raise ReenvelopeError(f"no claims for payer {payer.payer_id}")
    planner = _Planner(max(1, max_claims_per_set))
    for source in claims:
        planner.add(source)
    isa13 = format_control(next_control(), 9)
    out = [isa_segment(gateway_pair(gateway), payer.interchange, usage=usage, control=isa13,
                       now=now)]  # fmt: skip
    routes: list[ClaimRoute] = []
    guides: dict[str, list[_SetPlan]] = {}
    for plan in planner.plans:
        guides.setdefault(plan.guide, []).append(plan)
    for guide, plans in guides.items():
        gs06 = str(next_control() % 1_000_000_000)
        out.append(
            gs_segment(
                "HC", gateway.id, payer.application or payer.interchange[1], gs06, guide, now
            )
        )
        for plan in plans:
            st02 = format_control(next_control(), 4)
            out += _write_set(
                plan, st02=st02, isa13=isa13, gs06=gs06, payer=payer, submitter=submitter,
                now=now, routes=routes,
            )  # fmt: skip
        out.append(segment("GE", str(len(plans)), gs06))
    out.append(segment("IEA", str(len(guides)), isa13))
    warnings = list(planner.warnings)
    seen: dict[str, int] = {}
    for route in routes:
        seen[route.claim_id] = seen.get(route.claim_id, 0) + 1
    repeated = sum(1 for n in seen.values() if n > 1)
    if repeated:
        warnings.append(
            f"{repeated} CLM01 value(s) occur more than once in interchange {isa13}: "
            "match their answers by billing NPI and amounts as well"
        )
    return Reenveloped(
        payer_id=payer.payer_id,
        content="".join(out).encode("latin-1"),
        control_number=isa13,
        routes=tuple(routes),
        sets=len(planner.plans),
        warnings=tuple(warnings),
    )


def gateway_pair(gateway: Gateway) -> tuple[str, str]:
    return (gateway.qualifier, gateway.id)


def reenvelope_by_payer(
    claims_by_payer: Mapping[str, Sequence[SourceClaim]],
    payers: Mapping[str, PayerEndpoint],
    *,
    gateway: Gateway,
    submitter: Submitter,
    usage: str,
    next_control: Callable[[str], Callable[[], int]],
    now: datetime,
    max_claims_per_set: int = MAX_CLAIMS_PER_SET,
) -> dict[str, Reenveloped]:
    """:func:`reenvelope` for each payer with claims; ``next_control(payer_id)`` gives that
    payer's counter (control numbers are per trading partner). A payer ID missing from
    ``payers`` raises ``KeyError`` (unknown payers are rejected by the edits, A3:116)."""
    return {
        payer_id: reenvelope(
            claims,
            payer=payers[payer_id],
            gateway=gateway,
            submitter=submitter,
            usage=usage,
            next_control=next_control(payer_id),
            now=now,
            max_claims_per_set=max_claims_per_set,
        )
        for payer_id, claims in claims_by_payer.items()
        if claims
    }


def group_by_payer(claims: Sequence[SourceClaim]) -> dict[str, list[SourceClaim]]:
    """Claims keyed by their 2010BB payer ID (NM109 of NM1*PR), in input order."""
    out: dict[str, list[SourceClaim]] = {}
    for source in claims:
        out.setdefault(source.claim.payer_id, []).append(source)
    return out
