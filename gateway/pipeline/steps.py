"""Pipeline steps without Twisted: run the X12 engine on a stored file and commit its answers.

:func:`analyze_blob` is the heavy part (may run in a worker process): envelope, implementation
guide, claim extraction and front-end edits. :func:`commit_answers` runs in the store thread:
inside ONE transaction it checks duplicate interchanges and claims against earlier files,
allocates control numbers, builds the TA1/999/277CA/report, places them in the submitter's
mailbox, records the claims and marks the file processed — so a crash either loses the whole
step (it is redone after restart) or none of it; a second 999 for the same file can never be
produced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from gateway import gctune
from gateway.config import GatewayConfig
from gateway.profiles import PartnerSet
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import (
    PROCESSED,
    AcceptedSet,
    ClaimRow,
    FileRecord,
    Store,
    Transaction,
    utc_stamp,
)
from gateway.x12 import (
    EnvelopeParty,
    FileAnalysis,
    PartnerDirectory,
    Response,
    build_responses,
)
from gateway.x12.edits import EditContext, context_for
from gateway.x12.engine import analyze_file
from gateway.x12.envelope import set_accepted
from gateway.x12.frontend import (
    EditSpill,
    SetEdits,
    SlimVerdict,
    SpilledSet,
    SpilledSetEdits,
    build_277cas,
    edit_stream,
    recheck_duplicates,
    recheck_spill,
    spill_edits,
    write_277cas,
)
from gateway.x12.report import ta1_rejections, ta1_report
from gateway.x12.tokenizer import read_chunks

_EXTENSIONS = {"TA1": "x12", "999": "x12", "277CA": "x12", "REJECT": "txt"}


def partner_directory(config: GatewayConfig, partners: PartnerSet) -> PartnerDirectory:
    parties = {
        (p.isa_qualifier, p.isa_id): EnvelopeParty(p.id, p.usage_indicators)
        for p in partners.partners.values()
    }
    return PartnerDirectory(config.interchange_qualifier, config.interchange_id, parties)


def edit_context(partners: PartnerSet, uploader: str, received: date) -> EditContext | None:
    """What the front-end edits need for files from ``uploader`` (None: not a submitter).

    "Today" for the date edits is the day the file was received, so reprocessing after a
    restart judges the file exactly as it would have been judged on arrival.
    """
    partner = partners.get(uploader)
    if partner is None or partner.role != "submitter":
        return None
    payer_ids = [
        pid for p in partners.partners.values() if p.role == "payer" for pid in p.payer_ids
    ]
    return context_for(partner, payer_ids, today=received)


@dataclass(frozen=True)
class Analysis:
    """What the worker found: the envelope/guide analysis and the claims' edit verdicts —
    in memory (``edits``), or for the daemon in a spill file (``spill``: slim records, so a
    file of any size pickles back from the worker in a few bytes)."""

    file: FileAnalysis
    edits: tuple[SetEdits, ...] = ()
    spill: EditSpill | None = None


def warm_up() -> int:
    """Load what the first file would otherwise wait for (compiled guides, the ICD-10-CM code
    set) in a worker process; returns the worker's pid."""
    import os

    from gateway.x12.edits import icd10_status
    from gateway.x12.ig_maps import load_guide

    for guide in ("005010X222A1", "005010X223A2"):
        load_guide(guide)
    icd10_status("J069")
    gctune.tune()  # the guides and code sets stay as long as the worker
    return os.getpid()


def analyze_blob(
    path: str,
    uploader: str,
    directory: PartnerDirectory,
    context: EditContext | None = None,
    spill_to: str | None = None,
) -> Analysis:
    """Worker entry point (picklable arguments). The file is read in 1 MiB chunks, twice at
    most (envelope + guide, then the claims of the accepted sets), never whole.

    With ``spill_to`` (a path in the gateway's work directory) the edits keep nothing per
    claim in memory: the verdicts go to that file as slim records (``frontend.spill_edits``;
    the file is read once more to count CLM01s) and :func:`commit_answers` streams them."""
    analysis = analyze_file(path, uploader=uploader, directory=directory)
    if context is None:
        return Analysis(analysis)
    if spill_to is not None:
        spill = spill_edits(
            read_chunks(path), analysis, context, spill_to, recount=lambda: read_chunks(path)
        )
        return Analysis(analysis, spill=spill)
    return Analysis(analysis, edit_stream(read_chunks(path), analysis, context))


def mailbox_name(now: float, file_id: str, kind: str) -> str:
    suffix = "REJECT.txt" if kind == "REJECT" else f"{kind}.{_EXTENSIONS.get(kind, 'x12')}"
    return f"{utc_stamp(now)}_{file_id}_{suffix}"


@dataclass(frozen=True)
class PlacedFile:
    kind: str
    name: str
    sha256: str
    size: int
    responses: tuple[Response, ...]


@dataclass
class Outcome:
    """What a committed step did, for the audit log."""

    file: FileRecord
    placed: list[PlacedFile] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    already_done: bool = False
    edits: tuple[SetEdits, ...] | tuple[SpilledSetEdits, ...] = ()


def commit_answers(
    store: Store,
    blobs: BlobStore,
    record: FileRecord,
    found: Analysis,
    directory: PartnerDirectory,
    now: float,
) -> Outcome:
    analysis = found.file
    when = datetime.fromtimestamp(now, UTC)
    with store.transaction() as tx:
        current = tx.get_file(record.id)
        if current is None or current.state != record.state:
            # Someone (an earlier run) finished this file already: never answer twice.
            return Outcome(current or record, already_done=True)
        keys = [(i.sender_qualifier, i.sender_id, i.control_number) for i in analysis.interchanges]
        seen = tx.seen_interchanges(keys, exclude_file=record.id)
        duplicates = [n for n, key in enumerate(keys) if key in seen]
        responses = build_responses(
            analysis,
            directory=directory,
            duplicates=duplicates,
            next_control=lambda: tx.next_counter("control"),
            now=when,
        )
        received = datetime.fromtimestamp(record.received_at, UTC).date()
        # Interchanges rejected as duplicates (TA1 025) send no claims anywhere.
        duplicate_controls = {keys[n][2] for n in duplicates}
        streamed: dict[str, Path] = {}
        edited: tuple[SetEdits, ...] | tuple[SpilledSetEdits, ...]
        if found.spill is None:
            edited = tuple(e for e in found.edits if e.isa13 not in duplicate_controls)
            edited = recheck_duplicates(
                edited, lambda fp: tx.fingerprint_accepted(fp, record.id), received
            )
            responses += build_277cas(
                edited,
                analysis,
                directory=directory,
                next_control=lambda: tx.next_counter("control"),
                now=when,
                received=received,
                trace_prefix=record.id,
            )
            tx.add_claims(_claim_rows(record.id, edited))
        else:
            edited, streamed_277 = _commit_spill(
                tx, blobs, record, found.spill, analysis, directory, when, received,
                duplicate_controls,
            )  # fmt: skip
            if streamed_277 is not None:
                responses += streamed_277[0]
                streamed["277CA"] = streamed_277[1]
        accepted_sets: list[AcceptedSet] = []
        for n, interchange in enumerate(analysis.interchanges):
            if interchange.ta1_code is not None or n in duplicates:
                continue
            for functional_group in interchange.groups:
                for transaction in functional_group.transactions:
                    if set_accepted(functional_group, transaction):
                        accepted_sets.append(
                            AcceptedSet(record.id, interchange.control_number,
                                        functional_group.gs06, transaction.st01,
                                        transaction.st02, interchange.usage_indicator)
                        )  # fmt: skip
        tx.add_accepted_sets(accepted_sets)
        by_kind: dict[str, list[Response]] = defaultdict(list)
        for response in responses:
            by_kind[response.kind].append(response)
        outcome = Outcome(record, duplicates=[keys[n][2] for n in duplicates], edits=edited)
        for kind, group in by_kind.items():
            if kind in streamed:  # already on disk (a big 277CA): adopt the file
                sha, size = blobs.adopt(streamed.pop(kind))
            else:
                content = b"".join(r.content for r in group)
                sha, size = blobs.put(content), len(content)
            name = mailbox_name(now, record.id, kind)
            mailbox_id = tx.add_mailbox(record.partner_id, name, kind, record.id, sha, size, now)
            for r in group:
                tx.add_response(
                    record.id,
                    kind,
                    r.interchange_control,
                    r.outbound_control,
                    r.accepted,
                    mailbox_id,
                )
            outcome.placed.append(PlacedFile(kind, name, sha, size, tuple(group)))
            rejections = ta1_rejections(group) if kind == "TA1" else []
            if rejections:  # a billing person reads this, not the bare code
                text = ta1_report(rejections)
                sha, size = blobs.put(text), len(text)
                name = name.removesuffix(".x12") + ".txt"
                tx.add_mailbox(record.partner_id, name, "REPORT", record.id, sha, size, now)
                outcome.placed.append(PlacedFile("REPORT", name, sha, size, ()))
        accepted_controls = {
            r.interchange_control for r in responses if r.kind == "999" and r.accepted
        }
        for n, key in enumerate(keys):
            # Only envelopes we accepted count as "seen": a sender may resend an interchange
            # that got a rejecting TA1 under the same ISA13 once it is fixed.
            if n in duplicates or analysis.interchanges[n].ta1_code is not None:
                continue
            tx.record_interchange(key, record.id, n, key[2] in accepted_controls)
        for leftover in streamed.values():
            leftover.unlink(missing_ok=True)
        tx.set_state(record.id, PROCESSED)
    return outcome


_ROW_BATCH = 5000


def _commit_spill(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    spill: EditSpill,
    analysis: FileAnalysis,
    directory: PartnerDirectory,
    when: datetime,
    received: date,
    duplicate_controls: set[str],
) -> tuple[tuple[SpilledSetEdits, ...], tuple[list[Response], Path] | None]:
    """The spilled verdicts, streamed: the store's duplicate re-check and the claim rows (in
    batches) in one read of the spill, then the 277CA written to a temp file of the blob store
    (responses with empty content + that file; None when no claim was edited)."""
    rows: list[ClaimRow] = []

    def each(spilled: SpilledSet, verdict: SlimVerdict) -> None:
        rows.append(_slim_row(record.id, spilled.isa13, spilled.st02, verdict))
        if len(rows) >= _ROW_BATCH:
            tx.add_claims(rows)
            rows.clear()

    edited = recheck_spill(
        spill,
        lambda fp: tx.fingerprint_accepted(fp, record.id),
        spill.path + ".final",
        skip_isa13=duplicate_controls,
        each=each,
    )
    tx.add_claims(rows)
    temp = blobs.temp_path()
    try:
        with open(temp, "w", encoding="ascii", newline="") as out:
            responses = write_277cas(
                edited,
                analysis,
                out.write,
                directory=directory,
                next_control=lambda: tx.next_counter("control"),
                now=when,
                received=received,
                trace_prefix=record.id,
            )
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        for e in edited:
            e.close()
    if not responses:
        temp.unlink(missing_ok=True)
        return edited, None
    return edited, (responses, temp)


def _slim_row(file_id: str, isa13: str, st02: str, verdict: SlimVerdict) -> ClaimRow:
    claim = verdict.claim
    return ClaimRow(
        file_id=file_id,
        interchange_control=isa13,
        st02=st02,
        claim_index=claim.index,
        clm01=claim.claim_id,
        fingerprint=verdict.fingerprint,
        payer_id=claim.payer_id,
        billing_npi=claim.billing_npi,
        charge=claim.charge_raw,
        frequency_code=claim.frequency_code,
        accepted=verdict.accepted,
        codes=tuple(sorted({f.stc_code for f in verdict.failures})),
    )


def _claim_rows(file_id: str, sets: tuple[SetEdits, ...]) -> list[ClaimRow]:
    return [
        ClaimRow(
            file_id=file_id,
            interchange_control=edited.isa13,
            st02=edited.st02,
            claim_index=verdict.claim.index,
            clm01=verdict.claim.claim_id,
            fingerprint=verdict.fingerprint,
            payer_id=verdict.claim.payer_id,
            billing_npi=verdict.claim.billing_npi,
            charge=verdict.claim.charge_raw,
            frequency_code=verdict.claim.frequency_code,
            accepted=verdict.accepted,
            codes=tuple(sorted({f.stc_code for f in verdict.failures})),
        )
        for edited in sets
        for verdict in edited.verdicts
    ]
