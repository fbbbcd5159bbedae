"""Pipeline steps without Twisted: run the X12 engine on a stored file and commit its answers.

The heavy parts may run in a worker process: :func:`analyze_only` (envelope and
implementation guide) and :func:`edit_blob` (claim extraction and front-end edits, spilled to
disk); :func:`analyze_blob` does both. The commits run in the store thread, each in ONE
transaction, in two steps so that the 999 does not wait for the edits:

* :func:`commit_acks`: duplicate interchanges checked against earlier files, control numbers
  allocated, the TA1/999/report placed in the submitter's mailbox, the file marked acknowledged;
* :func:`commit_claims`: the claims' verdicts re-checked against earlier files, recorded, the
  277CA placed, the file marked processed.

A crash loses a whole step or none of it, and a step already committed is never taken again, so
a second 999 (or 277CA) for the same file can never be produced. The analysis the TA1/999 were
built from is kept (a blob named in ``files.acked_analysis``): after a restart the claims' step
starts from it, not from a new guide pass that a changed profile or release could judge
differently. :func:`commit_answers` takes both steps in one transaction (tests).
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from gateway import gctune
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import (
    FAILED,
    PROCESSED,
    RECEIVED,
    AcceptedSet,
    ClaimRow,
    FileRecord,
    Store,
    Transaction,
    utc_stamp,
)
from gateway.x12 import (
    FileAnalysis,
    PartnerDirectory,
    Response,
    build_responses,
)
from gateway.x12.edits import EditContext
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
from gateway.x12.rejected import rejected_sets, scan_rejected_claims
from gateway.x12.report import ta1_rejections, ta1_report
from gateway.x12.results import RejectedClaim
from gateway.x12.tokenizer import read_chunks

_EXTENSIONS = {"TA1": "x12", "999": "x12", "277CA": "x12", "REJECT": "txt"}


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


def analyze_only(
    path: str,
    uploader: str,
    directory: PartnerDirectory,
    max_attachment_bytes: int | None = None,
) -> FileAnalysis:
    """Worker entry point: envelope and implementation guide only (what the TA1/999 need),
    the file read in 1 MiB chunks; the CLM01s counted on the way for :func:`edit_blob`.
    ``max_attachment_bytes`` (``[attachments] max_bytes``): a 275 attachment over it gets a
    999 IK4 785 code 5 (gateway/x12/rfai.py's :class:`AttachmentSizeLimit`). When the
    TA1/999 reject claim sets, their claims are read once more for the record
    (:mod:`gateway.x12.rejected`: claim status then answers with the reason)."""
    validator = None
    if max_attachment_bytes is not None:
        from gateway.x12.engine import default_validator
        from gateway.x12.rfai import AttachmentSizeLimit

        validator = AttachmentSizeLimit(default_validator(), max_attachment_bytes)
    analysis = analyze_file(
        path, uploader=uploader, directory=directory, validator=validator, claim_ids=True
    )
    if rejected_sets(analysis):
        rejected = scan_rejected_claims(read_chunks(path), analysis)
        analysis = replace(analysis, rejected_claims=rejected)
    return analysis


def analyze_blob(
    path: str,
    uploader: str,
    directory: PartnerDirectory,
    context: EditContext | None = None,
    spill_to: str | None = None,
) -> Analysis:
    """:func:`analyze_only` then the claims' edits, in one call (tests, benchmarks; the daemon
    takes the two apart so the 999 does not wait). The file is read in 1 MiB chunks, never
    whole. With ``spill_to`` the verdicts go to that file as slim records
    (:func:`edit_blob`); without, they are kept in memory."""
    analysis = analyze_only(path, uploader, directory)
    if spill_to is not None:
        return edit_blob(path, analysis, context, spill_to)
    if context is None:
        return Analysis(analysis)
    return Analysis(analysis, edit_stream(read_chunks(path), analysis, context))


def edit_blob(
    path: str, analysis: FileAnalysis, context: EditContext | None, spill_to: str
) -> Analysis:
    """Worker entry point: the claims of the sets ``analysis`` accepted, extracted and edited,
    their verdicts spilled to ``spill_to`` as slim records (``frontend.spill_edits``; the file
    is read once more to count CLM01s) for :func:`commit_claims` to stream."""
    if context is None:
        return Analysis(analysis)
    spill = spill_edits(
        read_chunks(path), analysis, context, spill_to, recount=lambda: read_chunks(path)
    )
    return Analysis(analysis, spill=spill)


def mailbox_name(now: float, file_id: str, kind: str) -> str:
    extension = "txt" if kind in ("REJECT", "FAILED") else _EXTENSIONS.get(kind, "x12")
    suffix = f"{kind}.{extension}"
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
    accepted_999: bool = False
    """Some 999 of the file accepted a set (the file goes on to its claims and routing)."""
    answers_only: bool = True
    """The TA1/999 step (:func:`commit_acks`); False for the claims' step or both."""


def commit_answers(
    store: Store,
    blobs: BlobStore,
    record: FileRecord,
    found: Analysis,
    directory: PartnerDirectory,
    now: float,
) -> Outcome:
    """Both steps of a file in ONE transaction: :func:`commit_acks` then
    :func:`commit_claims` (``gateway validate`` and the tests; the daemon commits them apart
    so the 999 does not wait for the edits)."""
    with store.transaction() as tx:
        current = tx.get_file(record.id)
        if current is None or current.state != record.state or tx.acked(record.id):
            # Someone (an earlier run) finished this file already: never answer twice.
            return Outcome(current or record, already_done=True)
        outcome = _acks(tx, blobs, record, found.file, directory, now)
        outcome.answers_only = False
        _claims(tx, blobs, record, found, directory, now, outcome, set(outcome.duplicates))
        tx.set_state(record.id, PROCESSED)
    return outcome


def commit_acks(
    store: Store,
    blobs: BlobStore,
    record: FileRecord,
    analysis: FileAnalysis,
    directory: PartnerDirectory,
    now: float,
) -> Outcome:
    """The first step of a received file, in one transaction: duplicate interchanges checked
    against earlier files, control numbers allocated, the TA1/999 (and a reject report) placed
    in the submitter's mailbox, the accepted sets and interchanges recorded, the file marked
    acknowledged. Its claims' step (:func:`commit_claims`) follows; a crash in between redoes
    only that one."""
    with store.transaction() as tx:
        current = tx.get_file(record.id)
        if current is None or current.state != RECEIVED or tx.acked(record.id):
            return Outcome(current or record, already_done=True)
        outcome = _acks(tx, blobs, record, analysis, directory, now)
        tx.mark_acked(record.id, now, blobs.put(dump_analysis(analysis)))
    return outcome


def fail_file(
    store: Store, blobs: BlobStore, record: FileRecord, error: str, attempts: int, now: float
) -> str | None:
    """Mark the file failed (processing kept failing). When its 999 had already gone out, the
    submitter holds an accepted acknowledgment for claims that went nowhere: a report in its
    mailbox says so (the report's mailbox name, else None)."""
    with store.transaction() as tx:
        tx.set_state(record.id, FAILED, error)
        if not tx.acked(record.id):
            return None
        text = (
            f"File {record.id} could not be processed\n\n"
            "The gateway checked the envelope of this file and sent its acknowledgment\n"
            f"(TA1/999), but could not check its claims after {attempts} attempt(s). None of its\n"
            "claims was sent to a payer, and no 277CA will follow.\n\n"
            "What to do: send the claims again in a new interchange (a new ISA13: this one is\n"
            "recorded as received), or contact the clearinghouse and quote the file id above.\n"
        ).encode("ascii")
        name = mailbox_name(now, record.id, "FAILED")
        sha = blobs.put(text)
        tx.add_mailbox(record.partner_id, name, "REPORT", record.id, sha, len(text), now)
    return name


def dump_analysis(analysis: FileAnalysis) -> bytes:
    """The analysis a file's TA1/999 were built from, for its claims' step after a restart."""
    return pickle.dumps(analysis, protocol=pickle.HIGHEST_PROTOCOL)


def load_analysis(data: bytes) -> FileAnalysis:
    """:func:`dump_analysis` read back. pickle is safe here: the blob is the gateway's own,
    written by :func:`commit_acks` into its own blob store."""
    analysis = pickle.loads(data)  # noqa: S301 - our own blob, see above
    if not isinstance(analysis, FileAnalysis):
        raise TypeError("not a file analysis")
    return analysis


def commit_claims(
    store: Store,
    blobs: BlobStore,
    record: FileRecord,
    found: Analysis,
    directory: PartnerDirectory,
    now: float,
) -> Outcome:
    """The second step, in one transaction: the claims' verdicts re-checked against claims
    accepted earlier (A3:78), recorded, the 277CA placed, the file marked processed."""
    with store.transaction() as tx:
        current = tx.get_file(record.id)
        if current is None or current.state != RECEIVED or not tx.acked(record.id):
            return Outcome(current or record, already_done=True)
        # the interchanges the first step rejected as duplicates (TA1 025), found the same way
        keys = _interchange_keys(found.file)
        seen = tx.seen_interchanges(keys, exclude_file=record.id)
        outcome = Outcome(record, answers_only=False)
        duplicates = {key[2] for key in keys if key in seen}
        _claims(tx, blobs, record, found, directory, now, outcome, duplicates)
        outcome.accepted_999 = tx.any_999_accepted(record.id)
        tx.set_state(record.id, PROCESSED)
    return outcome


def _report_oversized_attachments(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    analysis: FileAnalysis,
    now: float,
    outcome: Outcome,
) -> None:
    """275 attachments over ``[attachments] max_bytes`` (their 999 says IK4 785 code 5): a
    plain-words ``_REJECT.txt`` beside the 999 (sizes only, never contents)."""
    lines = [
        f"275 set {t.st02} (interchange {i.control_number}): {e.message}; not forwarded"
        for i in analysis.interchanges
        for g in i.groups
        for t in g.transactions
        for e in t.errors
        if t.st01 == "275" and e.segment_id == "BIN" and e.element_reference == "785"
        and e.element_error == "5"
    ]  # fmt: skip
    if not lines:
        return
    text = "\n".join([
        "CLEARINGHOUSE PROCESSING REPORT",
        f"File: {record.id} (received from {record.partner_id})",
        "",
        "These attachments were NOT accepted (see the 999):",
        *(f"  - {line}" for line in lines),
        "",
        "What to do: send the document in a smaller file (a lower resolution scan, fewer "
        "pages),",
        "or split it over several 275s.",
        "",
    ]).encode("ascii", "replace")  # fmt: skip
    name = mailbox_name(now, record.id, "REJECT")
    sha = blobs.put(text)
    tx.add_mailbox(record.partner_id, name, "REPORT", record.id, sha, len(text), now)
    outcome.placed.append(PlacedFile("REPORT", name, sha, len(text), ()))


def _interchange_keys(analysis: FileAnalysis) -> list[tuple[str, str, str]]:
    return [(i.sender_qualifier, i.sender_id, i.control_number) for i in analysis.interchanges]


def _acks(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    analysis: FileAnalysis,
    directory: PartnerDirectory,
    now: float,
) -> Outcome:
    keys = _interchange_keys(analysis)
    seen = tx.seen_interchanges(keys, exclude_file=record.id)
    duplicates = [n for n, key in enumerate(keys) if key in seen]
    responses = build_responses(
        analysis,
        directory=directory,
        duplicates=duplicates,
        next_control=lambda: tx.next_counter("control"),
        now=datetime.fromtimestamp(now, UTC),
    )
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
    outcome = Outcome(record, duplicates=[keys[n][2] for n in duplicates])
    _place_responses(tx, blobs, record, responses, {}, now, outcome)
    _report_oversized_attachments(tx, blobs, record, analysis, now, outcome)
    accepted_controls = {r.interchange_control for r in responses if r.kind == "999" and r.accepted}
    outcome.accepted_999 = bool(accepted_controls)
    for n, key in enumerate(keys):
        # Only envelopes we accepted count as "seen": a sender may resend an interchange
        # that got a rejecting TA1 under the same ISA13 once it is fixed.
        if n in duplicates or analysis.interchanges[n].ta1_code is not None:
            continue
        tx.record_interchange(key, record.id, n, key[2] in accepted_controls)
    # the claims the TA1/999 stopped (not those of a duplicate interchange: its claims are
    # the earlier file's), recorded as rejected with the reason for claim status
    tx.add_claims(
        _rejected_row(record.id, claim)
        for claim in analysis.rejected_claims
        if claim.interchange_index not in duplicates
    )
    return outcome


def _rejected_row(file_id: str, claim: RejectedClaim) -> ClaimRow:
    """A claim the TA1/999 rejected: not accepted, ``A3:21`` (missing or invalid
    information) and the reason (``999`` / ``TA1:<code>``) as its codes; no fingerprint (it
    is never a duplicate's original)."""
    return ClaimRow(
        file_id=file_id,
        interchange_control=claim.isa13,
        st02=claim.st02,
        claim_index=claim.index,
        clm01=claim.clm01,
        fingerprint="",
        payer_id=claim.payer_id,
        billing_npi=claim.billing_npi,
        charge=claim.charge,
        frequency_code=claim.frequency_code,
        accepted=False,
        codes=("A3:21", claim.reason),
    )


def _claims(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    found: Analysis,
    directory: PartnerDirectory,
    now: float,
    outcome: Outcome,
    duplicate_controls: set[str],
) -> None:
    """Interchanges rejected as duplicates (TA1 025: ``duplicate_controls``) send no claims
    anywhere; the others' claims are recorded and answered in the 277CA."""
    analysis = found.file
    when = datetime.fromtimestamp(now, UTC)
    received = datetime.fromtimestamp(record.received_at, UTC).date()
    responses: list[Response] = []
    streamed: dict[str, Path] = {}
    edited: tuple[SetEdits, ...] | tuple[SpilledSetEdits, ...]
    if found.spill is None:
        edited = tuple(e for e in found.edits if e.isa13 not in duplicate_controls)
        edited = recheck_duplicates(
            edited, lambda fps: tx.fingerprints_accepted(fps, record.id), received
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
    outcome.edits = edited
    try:
        _place_responses(tx, blobs, record, responses, streamed, now, outcome)
    finally:
        for leftover in streamed.values():
            leftover.unlink(missing_ok=True)


def _place_responses(
    tx: Transaction,
    blobs: BlobStore,
    record: FileRecord,
    responses: list[Response],
    streamed: dict[str, Path],
    now: float,
    outcome: Outcome,
) -> None:
    """One mailbox file per kind of answer (TA1, 999, 277CA, REJECT), its response rows, and
    beside a rejecting TA1 its plain-words report. A kind in ``streamed`` is already on disk
    (a big 277CA): the file is adopted, not copied."""
    by_kind: dict[str, list[Response]] = defaultdict(list)
    for response in responses:
        by_kind[response.kind].append(response)
    for kind, group in by_kind.items():
        if kind in streamed:
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
        lambda fps: tx.fingerprints_accepted(fps, record.id),
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
