"""Front-end claim edits for a whole file, and the clearinghouse 277CA that answers them.

Glue over :mod:`claims`, :mod:`edits` and :mod:`ca277`, used by the pipeline and by
``gateway validate``:

1. :func:`edit_file` (heavy, may run in a worker process): every 837 transaction set the 999
   accepted → claims → edits. Duplicates are checked within the file only.
2. :func:`recheck_duplicates` (inside the store transaction, one look-up per batch of claims:
   :data:`SeenBefore`): claims whose fingerprint the
   store has already accepted from an earlier file become A3:78 rejections.
3. :func:`build_277cas`: one 277CA interchange per inbound interchange with edited claims.

Big files (the daemon): :func:`spill_edits` does step 1 with memory bounded in the file size
— claims are extracted from the segment stream one at a time (never a whole set's segments),
edited, and written to a spill file as slim records (:class:`SlimVerdict`: only what the
277CA, the claims table and the audit need), and :func:`write_277cas` streams the 277CA from
such records (:class:`SpilledVerdicts`, a lazy sequence over the file) to a writer.

``gateway validate`` without a claim history knows its 277CA's date and trace prefix before it
reads the file: with a :class:`ClaimRendering` each claim's 277CA segments are made as it is
edited, and the 277CA copies them instead of reading the verdicts back (and, with
``keep_accepted=False``, only the rejected claims' verdicts are spilled at all).

CLM01 uniqueness stays file-wide, as :func:`edit_file` judges it: when claims are streamed the
CLM01 counts come from a first, cheap pass over the accepted sets (tokens only, no claim is
built), and the fingerprints accepted so far are shared by all sets of the file.
"""

from __future__ import annotations

import hashlib
import marshal
import struct
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, cast, overload

from gateway.x12.acks import Gateway
from gateway.x12.ca277 import (
    AckBatch,
    AckPlan,
    AckPlanner,
    AckVerdict,
    ClaimRenderer,
    RenderedClaims,
    build_277ca,
    clearinghouse_id,
    write_277ca,
)
from gateway.x12.claims import (
    Claim,
    ClaimKind,
    ClaimStream,
    Party,
    Place,
    SetHeader,
    _el,
    extract_claims,
    iter_transaction_sets_stream,
)
from gateway.x12.edits import (
    DEFAULT_EDIT_SET,
    STANDARD_EDITS,
    ClaimVerdict,
    EditContext,
    EditSet,
    Failure,
    duplicate_applies,
    duplicate_hit,
    failure_from,
    run_edits,
    verdict_audit,
)
from gateway.x12.envelope import set_accepted
from gateway.x12.fastinit import quick_init
from gateway.x12.kinds import carries_claims
from gateway.x12.results import FileAnalysis, PartnerDirectory, Response
from gateway.x12.segments import Segment
from gateway.x12.tokenizer import IsaHeader, Run, tokenize_runs, windows


@dataclass(frozen=True)
class SetEdits:
    """The verdicts on the claims of one accepted 837 transaction set."""

    interchange_index: int
    group_index: int
    set_index: int
    isa13: str
    st02: str
    verdicts: tuple[ClaimVerdict, ...]

    @property
    def accepted(self) -> tuple[ClaimVerdict, ...]:
        return tuple(v for v in self.verdicts if v.accepted)

    @property
    def rejected(self) -> tuple[ClaimVerdict, ...]:
        return tuple(v for v in self.verdicts if not v.accepted)


def _accepted_837_sets(analysis: FileAnalysis) -> dict[tuple[int, int, int], str]:
    """(interchange, group, set) indexes → ST02 of the 837 sets the 999 accepts."""
    keys: dict[tuple[int, int, int], str] = {}
    for i, interchange in enumerate(analysis.interchanges):
        if interchange.ta1_code is not None:
            continue
        for g, group in enumerate(interchange.groups):
            for t, transaction in enumerate(group.transactions):
                if carries_claims(transaction.st01) and set_accepted(group, transaction):
                    keys[(i, g, t)] = transaction.st02
    return keys


def edit_file(
    data: bytes,
    analysis: FileAnalysis,
    context: EditContext,
    edits: EditSet = DEFAULT_EDIT_SET,
) -> tuple[SetEdits, ...]:
    """Claims of every 837 set the 999 accepted, through the edits (one batch per file)."""
    return edit_stream(windows(data), analysis, context, edits)


def edit_stream(
    chunks: Iterable[bytes | str],
    analysis: FileAnalysis,
    context: EditContext,
    edits: EditSet = DEFAULT_EDIT_SET,
) -> tuple[SetEdits, ...]:
    """:func:`edit_file` over the file in chunks (e.g. ``read_chunks(path)``, read only when
    some set was accepted): one set's segments in memory at a time, all claims kept."""
    wanted = _accepted_837_sets(analysis)
    if not wanted:
        return ()
    found: list[tuple[tuple[int, int, int], str, list[Claim]]] = []
    for ts in iter_transaction_sets_stream(chunks):
        key = (ts.interchange_index, ts.group_index, ts.set_index)
        st02 = (
            ts.segments[0].elements[1] if ts.segments and len(ts.segments[0].elements) > 1 else ""
        )
        if wanted.get(key) != st02:
            continue  # not accepted (or the envelope walkers disagree: never guess)
        found.append((key, ts.isa13, extract_claims(ts.segments, ts.delimiters, ts.gs08)))
    verdicts = iter(run_edits([c for _, _, claims in found for c in claims], context, edits))
    result = []
    for (i, g, t), isa13, claims in found:
        result.append(
            SetEdits(i, g, t, isa13, wanted[(i, g, t)], tuple(next(verdicts) for _ in claims))
        )
    return tuple(result)


_DUPLICATE_EDITS = EditSet(
    "duplicate", (("duplicate", tuple(e for e in STANDARD_EDITS if e.code == "DUPLICATE")),)
)


SeenBefore = Callable[[Sequence[str]], Set[str]]
"""The store's duplicate look-up: which of these fingerprints were accepted before (one call
per batch of claims, not one per claim)."""

RECHECK_WINDOW = 500
"""Claims of a spill re-checked per :data:`SeenBefore` call."""


def never_seen(fingerprints: Sequence[str]) -> Set[str]:
    """A :data:`SeenBefore` without claim history."""
    return frozenset()


def recheck_duplicates(
    sets: Sequence[SetEdits], seen: SeenBefore, today: date
) -> tuple[SetEdits, ...]:
    """Reject (A3:78) accepted claims whose fingerprint ``seen`` says was accepted before."""
    result = []
    for edited in sets:
        verdicts = []
        wanted = [v.fingerprint for v in edited.verdicts if v.accepted]
        found = seen(wanted) if wanted else frozenset()
        for verdict in edited.verdicts:
            if verdict.accepted and verdict.fingerprint in found:
                context = EditContext(
                    partner_id="",
                    npis=frozenset(),
                    tins=frozenset(),
                    payer_ids=frozenset(),
                    today=today,
                    seen_fingerprints=lambda _: True,
                )
                (again,) = run_edits([verdict.claim], context, _DUPLICATE_EDITS)
                if not again.accepted:
                    verdict = replace(verdict, accepted=False, failures=again.failures)
            verdicts.append(verdict)
        result.append(replace(edited, verdicts=tuple(verdicts)))
    return tuple(result)


def build_277cas(
    sets: Sequence[SetEdits],
    analysis: FileAnalysis,
    *,
    directory: PartnerDirectory,
    next_control: Callable[[], int],
    now: datetime,
    received: date,
    trace_prefix: str,
) -> list[Response]:
    """One 277CA (kind ``277CA``) per inbound interchange that had claims edited."""

    def build(batches: list[AckBatch], **kwargs: Any) -> tuple[bytes, int, int, str]:
        built = build_277ca(batches, **kwargs)
        return built.content, built.claims_received, built.claims_accepted, built.control_number

    return _answer_277cas(sets, analysis, build, directory, now, received, trace_prefix,
                          next_control)  # fmt: skip


def write_277cas(
    sets: Sequence[SetEdits | SpilledSetEdits],
    analysis: FileAnalysis,
    write: Callable[[str], object],
    *,
    directory: PartnerDirectory,
    next_control: Callable[[], int],
    now: datetime,
    received: date,
    trace_prefix: str,
) -> list[Response]:
    """:func:`build_277cas`, streamed to ``write`` (the 277CA interchanges one after the
    other, exactly the bytes ``b"".join(r.content for r in build_277cas(...))`` would be);
    the responses carry empty ``content``."""

    def build(batches: list[AckBatch], **kwargs: Any) -> tuple[bytes, int, int, str]:
        built = write_277ca(batches, write, **kwargs)
        return b"", built.claims_received, built.claims_accepted, built.control_number

    return _answer_277cas(sets, analysis, build, directory, now, received, trace_prefix,
                          next_control)  # fmt: skip


class _ClearinghouseIds(Sequence[str]):
    """``<trace_prefix>-<st02>-<n>`` (cut to 50) for n = 1..count, made on demand."""

    def __init__(self, prefix: str, count: int) -> None:
        self._prefix = prefix
        self._count = count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return clearinghouse_id(self._prefix, index % self._count)


def _answer_277cas(
    sets: Sequence[SetEdits | SpilledSetEdits],
    analysis: FileAnalysis,
    build: Callable[..., tuple[bytes, int, int, str]],
    directory: PartnerDirectory,
    now: datetime,
    received: date,
    trace_prefix: str,
    next_control: Callable[[], int],
) -> list[Response]:
    by_interchange: dict[int, list[SetEdits | SpilledSetEdits]] = {}
    for edited in sets:
        if len(edited.verdicts):
            by_interchange.setdefault(edited.interchange_index, []).append(edited)
    responses = []
    gateway = Gateway(directory.gateway_qualifier, directory.gateway_id)
    for index, group in sorted(by_interchange.items()):
        interchange = analysis.interchanges[index]
        batches = []
        for edited in group:
            ids = f"{trace_prefix}-{edited.st02}"
            rendered = edited.rendered if isinstance(edited, SpilledSetEdits) else None
            if isinstance(edited.verdicts, UnkeptVerdicts) and not (
                rendered is not None
                and rendered.ids == ids
                and rendered.made_for(now.strftime("%Y%m%d"), received, len(edited.verdicts))
            ):
                raise ValueError(
                    f"set {edited.st02}: its accepted claims' verdicts were not kept and its "
                    "claims were rendered for another 277CA (prefix, date)"
                )
            batches.append(
                AckBatch(
                    verdicts=cast(Sequence[AckVerdict], edited.verdicts),
                    received=received,
                    trace=ids[:50],
                    clearinghouse_ids=_ClearinghouseIds(ids, len(edited.verdicts)),
                    plan=edited.plan if isinstance(edited, SpilledSetEdits) else None,
                    # made with these clearinghouse IDs? (the date is checked by the 277CA)
                    rendered=rendered if rendered is not None and rendered.ids == ids else None,
                )
            )
        content, claims, accepted, control = build(
            batches,
            gateway=gateway,
            receiver=(interchange.sender_qualifier, interchange.sender_id),
            usage=interchange.usage_indicator,
            next_control=next_control,
            now=now,
        )
        responses.append(
            Response(
                kind="277CA",
                content=content,
                interchange_control=interchange.control_number,
                accepted=accepted > 0,
                outbound_control=control,
                details={
                    "claims_received": claims,
                    "claims_accepted": accepted,
                    "claims_rejected": claims - accepted,
                },
            )
        )
    return responses


def rejected_claims_audit(sets: Iterable[SetEdits]) -> list[dict[str, object]]:
    """Log-safe details of every rejected claim (CLM01 hash, codes; never PHI)."""
    return [v.audit() for edited in sets for v in edited.rejected]


# ------------------------------------------------------------------ streaming (big files)


@dataclass(frozen=True)
class _SetStart:
    key: tuple[int, int, int]
    isa13: str
    st02: str


class _SetWalker:
    """The accepted sets of a file, as :func:`iter_transaction_sets_stream` cuts them (same
    indexes, same rules for sets cut short), fed token run by token run, without holding a
    set: a ``_SetStart`` per set, then its claims (``claims=True``) or only the CLM01 of each
    CLM segment, appended to the list given to :meth:`feed`.

    ``wanted`` names the sets to walk ((interchange, group, set) → ST02); ``None`` walks
    every set whose ST01 carries claims and notes them in :attr:`walked` (the claims are read
    before the guide's verdict is known: see :func:`analyze_and_spill`)."""

    def __init__(self, wanted: dict[tuple[int, int, int], str] | None, claims: bool) -> None:
        self.wanted = wanted
        self.claims = claims
        self.walked: dict[tuple[int, int, int], str] = {}
        self.interchange = -1
        self.group = -1
        self.set_index = -1
        self.header: IsaHeader | None = None
        self.gs08 = ""
        self.stream: ClaimStream | None = None
        self.in_set = False

    def feed(self, run: Run, out: list[_SetStart | Claim | str]) -> None:
        if isinstance(run, list):
            for token in run:
                self._segment(token, out)
        elif isinstance(run, IsaHeader):
            self.finish(out)
            self.in_set = False
            self.header = run
            self.interchange += 1
            self.group = self.set_index = -1

    def finish(self, out: list[_SetStart | Claim | str]) -> None:
        if self.stream is not None and self.claims:
            out += self.stream.finish()
        self.stream = None

    def _segment(self, token: Segment, out: list[_SetStart | Claim | str]) -> None:
        sid = token.id
        stream = self.stream
        if sid in ("GS", "ST", "GE", "IEA") or (sid == "SE" and self.in_set):
            if stream is not None and self.claims:
                if sid == "SE":
                    stream.feed(token)  # SE ends a claim like any segment after it would
                out += stream.finish()
            self.stream, self.in_set = None, False
            if sid == "GS":
                self.group += 1
                self.set_index = -1
                self.gs08 = _el(token, 8)
            elif sid == "ST":
                self.set_index += 1
                self.in_set = True
                if self.header is not None:
                    self._start_set(token, out)
            return
        if stream is None:
            return
        if not self.claims:
            if sid == "CLM":
                out.append(_el(token, 1))
            return
        done = stream.feed(token)
        if done is not None:
            out += done

    def _start_set(self, token: Segment, out: list[_SetStart | Claim | str]) -> None:
        assert self.header is not None
        key = (self.interchange, max(self.group, 0), self.set_index)
        st02 = token.elements[1] if len(token.elements) > 1 else ""
        if self.wanted is None:
            if not carries_claims(_el(token, 1)):
                return
            self.walked[key] = st02
        elif self.wanted.get(key) != st02:
            return  # not accepted (or the envelope walkers disagree: never guess)
        out.append(_SetStart(key, self.header.segment.elements[12].strip(), st02))
        stream = self.stream = ClaimStream(self.header.delimiters, self.gs08)
        if self.claims:
            stream.feed(token)
        else:
            stream.pending = None  # counting only: never buffered, never built


def _walk(
    chunks: Iterable[bytes | str], wanted: dict[tuple[int, int, int], str], claims: bool
) -> Iterator[_SetStart | Claim | str]:
    """:class:`_SetWalker` over the file in ``chunks``."""
    walker = _SetWalker(wanted, claims)
    out: list[_SetStart | Claim | str] = []
    for run in tokenize_runs(chunks):
        walker.feed(run, out)
        if out:
            yield from out
            out.clear()
    walker.finish(out)
    yield from out


# ------------------------------------------------------------------ slim records


@dataclass(frozen=True, slots=True)
class SlimClaim:
    """What the pipeline keeps of a :class:`Claim` after the edits: what the 277CA echoes
    (see :class:`gateway.x12.ca277.AckClaim`), the claims table's columns, and where the CLM
    sits (for the store's duplicate re-check). Holds PHI (names, member ID): never log it."""

    header: SetHeader
    index: int
    kind: ClaimKind
    claim_id: str
    charge_raw: str
    charge: Decimal | None
    frequency_code: str
    bill_type: str
    billing_provider: Party | None
    billing_tin: str
    member_id: str
    payer_id: str
    billing_npi: str
    person: Party | None
    period: tuple[date, date] | None
    where: Place

    def __init__(
        self,
        header: SetHeader,
        index: int,
        kind: ClaimKind,
        claim_id: str,
        charge_raw: str,
        charge: Decimal | None,
        frequency_code: str,
        bill_type: str,
        billing_provider: Party | None,
        billing_tin: str,
        member_id: str,
        payer_id: str,
        billing_npi: str,
        person: Party | None,
        period: tuple[date, date] | None,
        where: Place,
    ) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "claim_id", claim_id)
        object.__setattr__(self, "charge_raw", charge_raw)
        object.__setattr__(self, "charge", charge)
        object.__setattr__(self, "frequency_code", frequency_code)
        object.__setattr__(self, "bill_type", bill_type)
        object.__setattr__(self, "billing_provider", billing_provider)
        object.__setattr__(self, "billing_tin", billing_tin)
        object.__setattr__(self, "member_id", member_id)
        object.__setattr__(self, "payer_id", payer_id)
        object.__setattr__(self, "billing_npi", billing_npi)
        object.__setattr__(self, "person", person)
        object.__setattr__(self, "period", period)
        object.__setattr__(self, "where", where)

    @classmethod
    def of(cls, claim: Claim) -> SlimClaim:
        return cls(
            header=claim.header,
            index=claim.index,
            kind=claim.kind,
            claim_id=claim.claim_id,
            charge_raw=claim.charge_raw,
            charge=claim.charge,
            frequency_code=claim.frequency_code,
            bill_type=claim.bill_type,
            billing_provider=claim.billing_provider,
            billing_tin=claim.billing_tin,
            member_id=claim.member_id,
            payer_id=claim.payer_id,
            billing_npi=claim.billing_npi,
            person=claim.person,
            period=claim.service_period(),
            where=claim.where,
        )

    @property
    def claim_id_hash(self) -> str:
        return hashlib.sha256(self.claim_id.encode("utf-8", "replace")).hexdigest()[:16]

    def service_period(self) -> tuple[date, date] | None:
        return self.period


@dataclass(frozen=True, slots=True)
class SlimVerdict:
    """A :class:`ClaimVerdict` with a :class:`SlimClaim`."""

    claim: SlimClaim
    accepted: bool
    failures: tuple[Failure, ...]
    fingerprint: str

    @classmethod
    def of(cls, verdict: ClaimVerdict) -> SlimVerdict:
        return cls(
            SlimClaim.of(verdict.claim), verdict.accepted, verdict.failures, verdict.fingerprint
        )

    @property
    def claim_id(self) -> str:
        return self.claim.claim_id

    def audit(self) -> dict[str, object]:
        """Log-safe details, as :meth:`ClaimVerdict.audit`."""
        return verdict_audit(self.claim, self.accepted, self.failures)


_Packed = tuple[Any, ...]


def _pack_place(place: Place | None) -> _Packed | None:
    if place is None:
        return None
    return (place.segment_id, place.position, place.line, place.element, place.component)


def _unpack_place(data: Any) -> Place:
    return Place(data[0], data[1], data[2], data[3], data[4])


def _pack_party(party: Party | None) -> _Packed | None:
    if party is None:
        return None
    return (
        party.entity, party.entity_type, party.last_or_org, party.first, party.middle,
        party.suffix, party.id_qualifier, party.id, _pack_place(party.where),
    )  # fmt: skip


def _unpack_party(data: Any) -> Party | None:
    if data is None:
        return None
    return Party(data[0], data[1], data[2], data[3], data[4], data[5], data[6], data[7],
                 _unpack_place(data[8]))  # fmt: skip


def _pack(verdict: SlimVerdict | ClaimVerdict) -> _Packed:
    """A marshal-able tuple (the header is kept once per set, not per claim); from a full
    verdict, the same tuple as from its :meth:`SlimVerdict.of`, without making that."""
    c = verdict.claim
    span = c.service_period()
    period = None if span is None else (span[0].toordinal(), span[1].toordinal())
    failures = tuple(
        (f.edit, f.category, f.status, f.entity, f.message, _pack_place(f.location), f.line)
        for f in verdict.failures
    )
    return (
        c.index, c.kind, c.claim_id, c.charge_raw, c.frequency_code, c.bill_type,
        _pack_party(c.billing_provider), c.billing_tin, c.member_id, c.payer_id, c.billing_npi,
        _pack_party(c.person), period, _pack_place(c.where),
        verdict.accepted, failures, verdict.fingerprint,
    )  # fmt: skip


class _Unpacked:
    """What the claims read by one reader share: their charges, by text."""

    def __init__(self) -> None:
        self.charges: dict[str, Decimal | None] = {}

    def charge(self, raw: str) -> Decimal | None:
        charges = self.charges
        if raw in charges:
            return charges[raw]
        if len(charges) >= _CACHE_LIMIT:
            charges.clear()
        charge = charges[raw] = _parse_charge(raw)
        return charge


_CACHE_LIMIT = 4096


def _unpack(data: _Packed, header: SetHeader, shared: _Unpacked) -> SlimVerdict:
    (index, kind, claim_id, charge_raw, frequency, bill_type, provider, tin, member, payer,
     npi, person, period, where, accepted, failures, fingerprint) = data  # fmt: skip
    charge = shared.charge(charge_raw)
    claim = SlimClaim(
        header=header,
        index=index,
        kind=kind,
        claim_id=claim_id,
        charge_raw=charge_raw,
        charge=charge,
        frequency_code=frequency,
        bill_type=bill_type,
        billing_provider=_unpack_party(provider),
        billing_tin=tin,
        member_id=member,
        payer_id=payer,
        billing_npi=npi,
        person=_unpack_party(person),
        period=None if period is None else (
            date.fromordinal(period[0]), date.fromordinal(period[1])
        ),
        where=_unpack_place(where),
    )  # fmt: skip
    return SlimVerdict(
        claim,
        accepted,
        tuple(
            Failure(f[0], f[1], f[2], f[3], f[4], None if f[5] is None else _unpack_place(f[5]),
                    f[6])
            for f in failures
        ),
        fingerprint,
    )  # fmt: skip


def _parse_charge(raw: str) -> Decimal | None:
    from gateway.x12.claims import parse_decimal

    return parse_decimal(raw)


@dataclass(frozen=True)
class SpilledSet:
    """One accepted 837 set whose verdicts are in a spill file (in order, after the
    previous set's)."""

    interchange_index: int
    group_index: int
    set_index: int
    isa13: str
    st02: str
    header: SetHeader | None
    count: int
    offsets: array[int] | None = None
    """With ``plan``: where each record starts in the spill file."""
    plan: AckPlan | None = None
    """The 277CA's totals and provider groups of the verdicts as edited (``plan=True``):
    with :attr:`offsets`, what :func:`spilled_as_final` needs to take them as they are."""
    accepted: int = 0
    """Claims accepted (counted with ``plan``)."""
    rendered: RenderedClaims | None = None
    """The 277CA's claim segments of the verdicts as edited (with a :class:`ClaimRendering`)."""
    rejected_only: bool = False
    """The spill holds this set's rejected verdicts only (``offsets`` are theirs):
    ``ClaimRendering(keep_accepted=False)``."""


@dataclass(frozen=True)
class ClaimRendering:
    """Asks :func:`spill_edits` / :func:`analyze_and_spill` to make each set's 277CA claim
    segments as its claims are edited (:class:`gateway.x12.ca277.ClaimRenderer`), into the
    file at ``path``, for the 277CA :func:`write_277cas` will write with this
    ``trace_prefix``, ``now`` and ``received`` (``gateway validate`` knows them before it
    reads the file): that 277CA then copies them instead of reading the verdicts back
    (:func:`spilled_as_final`; :func:`recheck_spill` does not keep them: its 277CA is made
    from its verdicts)."""

    path: str
    trace_prefix: str
    now: datetime
    received: date
    keep_accepted: bool = True
    """False: the accepted claims' verdicts are not written to the spill at all — their 277CA
    segments are all that will be read of them (``gateway validate`` without a claim history,
    whose summary lists the rejected claims only). Such a spill is for
    :func:`spilled_as_final` and that 277CA only (:class:`UnkeptVerdicts`)."""


@dataclass(frozen=True)
class EditSpill:
    """:func:`spill_edits`' result: small and picklable (the verdicts are in ``path``)."""

    path: str
    sets: tuple[SpilledSet, ...]

    @property
    def claims(self) -> int:
        return sum(s.count for s in self.sets)


def spill_edits(
    chunks: Iterable[bytes | str],
    analysis: FileAnalysis,
    context: EditContext,
    path: str,
    edits: EditSet = DEFAULT_EDIT_SET,
    *,
    recount: Callable[[], Iterable[bytes | str]] | None = None,
    plan: bool = False,
    render: ClaimRendering | None = None,
) -> EditSpill:
    """:func:`edit_stream` with memory bounded in the file size: each claim is extracted from
    the segment stream, edited and written to ``path`` as a slim record, then dropped.
    ``plan``: each set also keeps its records' offsets and its 277CA plan
    (:func:`spilled_as_final`); ``render`` (with ``plan``): and its 277CA claim segments.

    The CLM01 uniqueness edit needs the counts of the whole batch before the first claim is
    judged: the guide pass took them (``analysis.repeated_claim_ids``); for an analysis
    without them, ``recount()`` gives the file's chunks again for a first pass that only
    counts the CLM01s of the accepted sets (``None``: the chunks are listed and read twice,
    fine for data already in memory). The verdicts are those :func:`edit_stream` gives, claim for
    claim (except ``header.segment_count``, 0: unknown while streaming)."""
    wanted = _accepted_837_sets(analysis)
    if not wanted:
        open(path, "wb").close()
        return EditSpill(path, ())
    counts: Counter[str]
    if analysis.repeated_claim_ids is not None:  # counted by the guide pass
        counts = Counter(analysis.repeated_claim_ids)  # a CLM01 not in it occurs once
    else:
        if recount is None:
            chunks = list(chunks)
        listed = chunks
        again = recount if recount is not None else (lambda: listed)
        counts = Counter(
            item for item in _walk(again(), wanted, claims=False) if isinstance(item, str)
        )
    with open(path, "wb") as out, _rendering_file(render) as text:
        spiller = _Spiller(context, edits, counts, out, plan=plan, render=render, text=text)
        for item in _walk(chunks, wanted, claims=True):
            spiller.add(item)
        return EditSpill(path, spiller.close())


def _rendering_file(render: ClaimRendering | None) -> IO[bytes] | nullcontext[None]:
    return open(render.path, "wb") if render is not None else nullcontext()


class _Spiller:
    """:func:`spill_edits`' writer: each claim edited (the batch's CLM01 ``counts`` and
    accepted fingerprints shared by all), its slim record written to ``out``."""

    def __init__(
        self,
        context: EditContext,
        edits: EditSet,
        counts: Counter[str],
        out: IO[bytes],
        plan: bool = False,
        render: ClaimRendering | None = None,
        text: IO[bytes] | None = None,
    ) -> None:
        self.context = context
        self.edits = edits
        self.counts = counts
        self.out = out
        self.plan = plan
        self.render = render if plan else None
        """With ``text``, the file at ``render.path``."""
        self.keep_accepted = self.render is None or self.render.keep_accepted
        self.text = text
        self.renderer: ClaimRenderer | None = None
        self.day = render.now.strftime("%Y%m%d") if render is not None else ""
        self.accepted: set[str] = set()
        self.sets: list[SpilledSet] = []
        self.current: _SetStart | None = None
        self.header: SetHeader | None = None
        self.count = 0
        self.position = 0
        self.offsets: array[int] = array("q")
        self.planner = AckPlanner()
        self.accepted_count = 0

    def add(self, item: _SetStart | Claim | str) -> None:
        if isinstance(item, _SetStart):
            self._close_set()
            self.current, self.header, self.count = item, None, 0
            if self.plan:
                self.offsets, self.planner, self.accepted_count = array("q"), AckPlanner(), 0
            render = self.render
            if render is not None and self.text is not None:
                self.renderer = ClaimRenderer(
                    render.path, self.text, self.text.tell(),
                    ids=f"{render.trace_prefix}-{item.st02}", day=self.day,
                    received=render.received,
                )  # fmt: skip
            return
        assert isinstance(item, Claim)
        (verdict,) = run_edits(
            [item], self.context, self.edits, claim_ids=self.counts,
            accepted_fingerprints=self.accepted,
        )  # fmt: skip
        self.header = self.header or item.header
        self.count += 1
        if self.plan:
            self.planner.add(verdict)
            self.accepted_count += verdict.accepted
            if self.renderer is not None:
                self.renderer.add(verdict)
        if self.keep_accepted or not verdict.accepted:
            if self.plan:
                self.offsets.append(self.position)
            self.position += _dump(_pack(verdict), self.out)

    def _close_set(self) -> None:
        current = self.current
        if current is None:
            return
        i, g, t = current.key
        if not self.plan:
            spilled = SpilledSet(i, g, t, current.isa13, current.st02, self.header, self.count)
        else:
            renderer, self.renderer = self.renderer, None
            spilled = SpilledSet(
                i, g, t, current.isa13, current.st02, self.header, self.count,
                self.offsets, self.planner.plan(), self.accepted_count,
                renderer.result() if renderer is not None else None, not self.keep_accepted,
            )  # fmt: skip
        self.sets.append(spilled)

    def close(self) -> tuple[SpilledSet, ...]:
        self._close_set()
        self.current = None
        return tuple(self.sets)


@dataclass(frozen=True)
class AnalyzedSpill:
    """:func:`analyze_and_spill`'s result."""

    analysis: FileAnalysis
    spill: EditSpill
    single_reading: bool
    """The claims were edited during the guide pass (False: a second reading made them)."""


def analyze_and_spill(
    source: str,
    *,
    uploader: str,
    directory: PartnerDirectory,
    context: EditContext,
    path: str,
    edits: EditSet = DEFAULT_EDIT_SET,
    loaded: Callable[[], object] | None = None,
    render: ClaimRendering | None = None,
) -> AnalyzedSpill:
    """The guide pass over the file at ``source`` (:func:`gateway.x12.engine.analyze_file`,
    with ``claim_ids``) and :func:`spill_edits` of its accepted sets, in ONE reading of the
    file when it can (``gateway validate``, which needs both at once).

    The claims of every 837 set are edited as the guide pass reads them, before the guide's
    verdict on their set is known. That is the answer :func:`spill_edits` gives exactly when
    the sets walked are the sets the 999 accepts and no CLM01 repeats in them (the CLM01 edit
    needs the whole batch's counts; the fingerprints accepted so far are shared by the sets):
    the common case. Otherwise (a rejected set, a repeated CLM01, a set the claim reader
    could not take) the spill is made again by :func:`spill_edits` from a second reading,
    so the verdicts are always its own. The sets carry their plans (``plan=True``) and, with
    ``render``, their 277CA claim segments.

    ``loaded`` is called once: when the first claim set begins (its guide is loaded by then),
    or after the guide pass when none did."""
    from gateway.x12.engine import analyze_file
    from gateway.x12.tokenizer import read_chunks

    walker = _SetWalker(None, claims=True)
    items: list[_SetStart | Claim | str] = []
    failed: list[BaseException] = []
    waiting = [loaded] if loaded is not None else []

    def load() -> None:
        while waiting:
            waiting.pop()()

    with open(path, "wb") as out, _rendering_file(render) as text:
        spiller = _Spiller(context, edits, Counter(), out, plan=True, render=render, text=text)

        def observe(run: Run) -> None:
            if failed:
                return
            try:
                walker.feed(run, items)
                for item in items:
                    if waiting and isinstance(item, _SetStart):
                        load()
                    spiller.add(item)
            except Exception as exc:  # a set the guide will reject may not read as claims
                failed.append(exc)
            items.clear()

        analysis = analyze_file(
            source, uploader=uploader, directory=directory, claim_ids=True, observe=observe
        )
        if not failed:
            try:
                walker.finish(items)
                for item in items:
                    spiller.add(item)
            except Exception as exc:
                failed.append(exc)
        sets = spiller.close()
    load()  # (no claim set began)
    wanted = _accepted_837_sets(analysis)  # none when nothing was readable
    if not failed and walker.walked == wanted and (not wanted or analysis.repeated_claim_ids == {}):
        return AnalyzedSpill(analysis, EditSpill(path, sets), single_reading=True)
    # the first reading's sets (plans, offsets) go before the second reading makes its own
    sets = ()
    spiller.sets.clear()
    walker.walked.clear()
    spill = spill_edits(
        read_chunks(source), analysis, context, path, edits, plan=True, render=render
    )
    return AnalyzedSpill(analysis, spill, single_reading=False)


_LENGTH = struct.Struct("<I")


def _dump(data: _Packed, out: IO[bytes]) -> int:
    """Write one spill record (a 4-byte length, then the marshal bytes); its size in bytes."""
    return _write_record(marshal.dumps(data), out)


def _write_record(body: bytes, out: IO[bytes]) -> int:
    """:func:`_dump` of a record's marshal bytes."""
    out.write(_LENGTH.pack(len(body)) + body)
    return _LENGTH.size + len(body)


class _Records:
    """The records of a spill file read in order from where ``handle`` stands (a record's
    start), a block at a time: one ``read`` per block, not two per record.

    marshal (fast, compact: the records are tuples of str, int, bool and None) is safe here:
    the files are ours, written by :func:`spill_edits` in the gateway's own work directory
    and read back by the same Python version."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._buffer = b""
        self._pos = 0

    def raw(self) -> bytes:
        """The next record's marshal bytes."""
        if len(self._buffer) - self._pos < _LENGTH.size:
            self._fill(_LENGTH.size)
        (size,) = _LENGTH.unpack_from(self._buffer, self._pos)
        if len(self._buffer) - self._pos < _LENGTH.size + size:
            self._fill(_LENGTH.size + size)
        start = self._pos + _LENGTH.size
        self._pos = start + size
        return self._buffer[start : self._pos]

    def next(self) -> _Packed:
        data: _Packed = marshal.loads(self.raw())  # noqa: S302 - our own file, see above
        return data

    def _fill(self, wanted: int) -> None:
        rest = self._buffer[self._pos :]
        self._buffer = rest + self._handle.read(max(wanted - len(rest), _BLOCK))
        self._pos = 0
        if len(self._buffer) < wanted:
            raise EOFError(f"spill file {self._handle.name!r} ends inside a record")


_BLOCK = 1 << 16


class SpilledVerdicts(Sequence[SlimVerdict]):
    """The verdicts of one set in a spill file, read on demand (by index: a seek; in order:
    a sequential read). Holds an open file after the first indexed read: :meth:`close`."""

    def __init__(self, path: str, offsets: array[int], start: int, stop: int,
                 header: SetHeader | None) -> None:  # fmt: skip
        self.path = path
        self._offsets = offsets
        self._start = start
        self._stop = stop
        self._header = header
        self._file: IO[bytes] | None = None
        self._reader: _Records | None = None
        self._next = 0
        self._shared = _Unpacked()

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, index: int) -> SlimVerdict: ...
    @overload
    def __getitem__(self, index: slice) -> list[SlimVerdict]: ...
    def __getitem__(self, index: int | slice) -> SlimVerdict | list[SlimVerdict]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        if self._file is None:
            self._file = open(self.path, "rb")  # closed by close()
        if self._reader is None or index != self._next:  # in order (the 277CA's way): no seek
            self._file.seek(self._offsets[self._start + index])
            self._reader = _Records(self._file)
        self._next = index + 1
        return self._decode(self._reader.next())

    def __iter__(self) -> Iterator[SlimVerdict]:
        if not len(self):
            return
        with open(self.path, "rb") as handle:
            handle.seek(self._offsets[self._start])
            records = _Records(handle)
            for _ in range(len(self)):
                yield self._decode(records.next())

    def _decode(self, data: _Packed) -> SlimVerdict:
        assert self._header is not None
        return _unpack(data, self._header, self._shared)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._reader = None


@dataclass
class SpilledSetEdits:
    """:class:`SetEdits` over a spill file (``verdicts`` is a :class:`SpilledVerdicts`)."""

    interchange_index: int
    group_index: int
    set_index: int
    isa13: str
    st02: str
    verdicts: SpilledVerdicts | UnkeptVerdicts
    accepted_count: int = 0
    rejected_count: int = 0
    plan: AckPlan | None = None
    """The 277CA's totals and provider groups, made while the verdicts were written."""
    rendered: RenderedClaims | None = None
    """The 277CA's claim segments, made while the verdicts were written (when final)."""

    def close(self) -> None:
        self.verdicts.close()
        if self.rendered is not None:
            self.rendered.close()

    def rejected_verdicts(self) -> Iterator[SlimVerdict]:
        """The rejected claims' verdicts, in order."""
        verdicts = self.verdicts
        if isinstance(verdicts, UnkeptVerdicts):
            return verdicts.rejected()
        if not self.rejected_count:
            return iter(())
        return (verdict for verdict in verdicts if not verdict.accepted)


class UnkeptVerdicts(Sequence[SlimVerdict]):
    """The verdicts of a set spilled with ``ClaimRendering(keep_accepted=False)``: as long as
    the set, but only the rejected ones were kept (:meth:`rejected`); reading one by index is
    an error (the 277CA copies the claims' rendered segments instead)."""

    def __init__(self, count: int, rejected: SpilledVerdicts) -> None:
        self._count = count
        self._rejected = rejected

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> SlimVerdict: ...
    @overload
    def __getitem__(self, index: slice) -> list[SlimVerdict]: ...
    def __getitem__(self, index: int | slice) -> SlimVerdict | list[SlimVerdict]:
        raise LookupError("the accepted claims' verdicts were not kept (keep_accepted=False)")

    def rejected(self) -> Iterator[SlimVerdict]:
        return iter(self._rejected)

    def close(self) -> None:
        self._rejected.close()


def _recheck_one(verdict: SlimVerdict, found: Set[str]) -> SlimVerdict:
    """:func:`recheck_duplicates` for one slim verdict (same failure, same message);
    ``found``: the fingerprints accepted before."""
    if not verdict.accepted or verdict.fingerprint not in found:
        return verdict
    if not duplicate_applies(verdict.claim.frequency_code):
        return verdict
    # the DUPLICATE edit as run_edits would report it, read from the slim claim
    (edit,) = _DUPLICATE_EDITS.edits
    failure = failure_from(edit, duplicate_hit(verdict.claim.where))
    return replace(verdict, accepted=False, failures=(failure,))


def _final_set(
    spilled: SpilledSet,
    verdicts: SpilledVerdicts | UnkeptVerdicts,
    accepted: int,
    plan: AckPlan,
    rendered: RenderedClaims | None = None,
) -> SpilledSetEdits:
    """A spilled set's final verdicts (``accepted`` of them accepted) with their 277CA plan
    (and claim segments, when made for these verdicts)."""
    return SpilledSetEdits(
        spilled.interchange_index, spilled.group_index, spilled.set_index, spilled.isa13,
        spilled.st02, verdicts, accepted, len(verdicts) - accepted, plan, rendered,
    )  # fmt: skip


def spilled_as_final(
    spill: EditSpill, *, skip_isa13: Iterable[str] = ()
) -> tuple[SpilledSetEdits, ...] | None:
    """The spill's verdicts taken as final, read where they are: what :func:`recheck_spill`
    gives when no claim was accepted before (no claim history, e.g. ``gateway validate``
    without a store), without reading the spill again. None when a set was spilled without
    its plan (``plan=False``): use :func:`recheck_spill`."""
    skip = set(skip_isa13)
    result: list[SpilledSetEdits] = []
    for spilled in spill.sets:
        if spilled.offsets is None or spilled.plan is None:
            return None
        if spilled.isa13 in skip:
            continue
        kept = len(spilled.offsets) if spilled.rejected_only else spilled.count
        verdicts: SpilledVerdicts | UnkeptVerdicts
        verdicts = SpilledVerdicts(spill.path, spilled.offsets, 0, kept, spilled.header)
        if spilled.rejected_only:
            verdicts = UnkeptVerdicts(spilled.count, verdicts)
        result.append(
            _final_set(spilled, verdicts, spilled.accepted, spilled.plan, spilled.rendered)
        )
    return tuple(result)


def recheck_spill(
    spill: EditSpill,
    seen: SeenBefore,
    final_path: str,
    *,
    skip_isa13: Iterable[str] = (),
    each: Callable[[SpilledSet, SlimVerdict], None] | None = None,
) -> tuple[SpilledSetEdits, ...]:
    """:func:`recheck_duplicates` over a spill: reads ``spill.path`` once, writes the final
    verdicts to ``final_path`` and calls ``each(set, verdict)`` per final verdict (e.g. to
    insert claim rows in batches). Sets of interchanges in ``skip_isa13`` are dropped."""
    if any(spilled.rejected_only for spilled in spill.sets):
        raise ValueError(
            "the accepted claims' verdicts were not kept (keep_accepted=False): "
            "nothing to re-check them with"
        )
    skip = set(skip_isa13)
    offsets: array[int] = array("q")
    result: list[SpilledSetEdits] = []
    shared = _Unpacked()
    position = 0
    with open(spill.path, "rb") as source, open(final_path, "wb") as out:
        records = _Records(source)
        for spilled in spill.sets:
            start = len(offsets)
            accepted = 0
            planner = AckPlanner()
            remaining = spilled.count
            while remaining:
                window = min(remaining, RECHECK_WINDOW)
                remaining -= window
                raw = [records.raw() for _ in range(window)]
                if spilled.isa13 in skip:
                    continue
                loaded: list[_Packed] = [marshal.loads(r) for r in raw]  # noqa: S302 - ours
                assert spilled.header is not None
                header = spilled.header
                first = [_unpack(data, header, shared) for data in loaded]
                wanted = [v.fingerprint for v in first if v.accepted]
                found = seen(wanted) if wanted else frozenset()
                for body, unpacked in zip(raw, first, strict=True):
                    verdict = _recheck_one(unpacked, found) if found else unpacked
                    if verdict is not unpacked:
                        body = marshal.dumps(_pack(verdict))
                    offsets.append(position)
                    position += _write_record(body, out)
                    accepted += verdict.accepted
                    planner.add(verdict)
                    if each is not None:
                        each(spilled, verdict)
            if spilled.isa13 in skip:
                continue
            verdicts = SpilledVerdicts(final_path, offsets, start, len(offsets), spilled.header)
            result.append(_final_set(spilled, verdicts, accepted, planner.plan()))
    return tuple(result)


# after the classes, not as their decorator: mypyc compiles a class with only @dataclass
# as a native class (gateway/_native.py)
for _record in (
    SlimClaim,
    SlimVerdict,
):
    quick_init(_record)
