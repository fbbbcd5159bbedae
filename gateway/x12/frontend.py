"""Front-end claim edits for a whole file, and the clearinghouse 277CA that answers them.

Glue over :mod:`claims`, :mod:`edits` and :mod:`ca277`, used by the pipeline and by
``gateway validate``:

1. :func:`edit_file` (heavy, may run in a worker process): every 837 transaction set the 999
   accepted → claims → edits. Duplicates are checked within the file only.
2. :func:`recheck_duplicates` (inside the store transaction): claims whose fingerprint the
   store has already accepted from an earlier file become A3:78 rejections.
3. :func:`build_277cas`: one 277CA interchange per inbound interchange with edited claims.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from gateway.x12.acks import Gateway
from gateway.x12.ca277 import AckBatch, build_277ca
from gateway.x12.claims import Claim, extract_claims, iter_transaction_sets_stream
from gateway.x12.edits import (
    DEFAULT_EDIT_SET,
    STANDARD_EDITS,
    ClaimVerdict,
    EditContext,
    EditSet,
    run_edits,
)
from gateway.x12.envelope import set_accepted
from gateway.x12.results import FileAnalysis, PartnerDirectory, Response
from gateway.x12.tokenizer import windows


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
                if transaction.st01 == "837" and set_accepted(group, transaction):
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


def recheck_duplicates(
    sets: Sequence[SetEdits], seen: Callable[[str], bool], today: date
) -> tuple[SetEdits, ...]:
    """Reject (A3:78) accepted claims whose fingerprint ``seen`` says was accepted before."""
    result = []
    for edited in sets:
        verdicts = []
        for verdict in edited.verdicts:
            if verdict.accepted and seen(verdict.fingerprint):
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
    by_interchange: dict[int, list[SetEdits]] = {}
    for edited in sets:
        if edited.verdicts:
            by_interchange.setdefault(edited.interchange_index, []).append(edited)
    responses = []
    gateway = Gateway(directory.gateway_qualifier, directory.gateway_id)
    for index, group in sorted(by_interchange.items()):
        interchange = analysis.interchanges[index]
        batches = [
            AckBatch(
                verdicts=edited.verdicts,
                received=received,
                trace=f"{trace_prefix}-{edited.st02}"[:50],
                clearinghouse_ids=[
                    f"{trace_prefix}-{edited.st02}-{n + 1}"[:50]
                    for n in range(len(edited.verdicts))
                ],
            )
            for edited in group
        ]
        built = build_277ca(
            batches,
            gateway=gateway,
            receiver=(interchange.sender_qualifier, interchange.sender_id),
            usage=interchange.usage_indicator,
            next_control=next_control,
            now=now,
        )
        verdicts = [v for edited in group for v in edited.verdicts]
        accepted = sum(1 for v in verdicts if v.accepted)
        responses.append(
            Response(
                kind="277CA",
                content=built.content,
                interchange_control=interchange.control_number,
                accepted=accepted > 0,
                outbound_control=built.control_number,
                details={
                    "claims_received": len(verdicts),
                    "claims_accepted": accepted,
                    "claims_rejected": len(verdicts) - accepted,
                },
            )
        )
    return responses


def rejected_claims_audit(sets: Iterable[SetEdits]) -> list[dict[str, object]]:
    """Log-safe details of every rejected claim (CLM01 hash, codes; never PHI)."""
    return [v.audit() for edited in sets for v in edited.rejected]
