"""``gateway validate FILE...``: the daemon's X12 engine as a command.

For billing staff before they upload (and for benchmarking): every file gets the TA1 / 999 /
277CA (or rejection report) the gateway would send, written to ``--ack-dir``, and a short
summary per interchange. Exit 0 when everything was accepted, 1 otherwise. Nothing is
stored.

Files of any size: each file is read in 1 MiB chunks and, in the same reading, checked
against its guide and its claims extracted and edited one at a time with their verdicts
spilled to a temporary file (:func:`gateway.x12.frontend.analyze_and_spill`: the daemon's
:func:`~gateway.x12.engine.analyze_file` and :func:`~gateway.x12.frontend.spill_edits` in one
pass; a second reading only when a set is rejected or a CLM01 repeats), the 277CA streamed
from there to ``--ack-dir`` — so memory does not grow with the file. Without a claim history
the verdicts are final as edited (:func:`~gateway.x12.frontend.spilled_as_final`): each
claim's 277CA segments are made as it is edited (:class:`~gateway.x12.frontend.ClaimRendering`)
and only the rejected claims' verdicts are spilled (the summary lists them); with a history
they are all spilled and re-checked for A3:78 (:func:`~gateway.x12.frontend.recheck_spill`).

Duplicates of earlier uploads (TA1 025, A3:78): when the configured data directory holds a
gateway store, it is consulted read-only (:class:`gateway.store.history.ClaimHistory`) as the
daemon would; when there is none, a line on stderr says that they were not checked.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gateway.x12.envelope import GROUP_NOTES, SET_NOTES, TA1_NOTES, set_accepted

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.profiles import PartnerSet
    from gateway.store.history import ClaimHistory
    from gateway.x12 import FileAnalysis, PartnerDirectory, Response
    from gateway.x12.edits import Failure
    from gateway.x12.frontend import SetEdits, SlimVerdict, SpilledSet, SpilledSetEdits

RejectedClaim = tuple[str, tuple[str, ...]]
"""(CLM01, "STC code message" per failure) of a rejected claim."""


@dataclass
class FileSummary:
    path: str
    accepted: bool
    readable: bool
    reason: str = ""
    interchanges: list[dict[str, Any]] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)


def _sender(path: Path) -> tuple[str, str] | None:
    """ISA05/ISA06 of the file's first interchange (reads only as far as that ISA)."""
    from gateway.x12.tokenizer import IsaHeader, read_chunks, tokenize_stream

    tokens = tokenize_stream(read_chunks(path))
    try:
        for token in tokens:
            if isinstance(token, IsaHeader):
                elements = token.segment.elements
                return elements[4].strip(), elements[5].strip()
    finally:
        tokens.close()  # type: ignore[attr-defined]
    return None


def _uploader(path: Path, partners: PartnerSet) -> str:
    """Whose file this is: the partner whose interchange ID is the first ISA's sender."""
    sender = _sender(path)
    partner = partners.by_interchange(*sender) if sender else None
    return partner.id if partner else ""


@dataclass
class _Claims:
    """Per interchange index: claims accepted, and the rejected ones."""

    accepted: dict[int, int] = field(default_factory=dict)
    rejected: dict[int, list[RejectedClaim]] = field(default_factory=dict)
    _seen: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    """Recent reasons, so that claims rejected for the same reasons share one copy (a file
    whose claims all fail alike lists every one of them)."""

    def _reasons(self, failures: Sequence[Failure]) -> tuple[str, ...]:
        reasons = tuple(f"{f.stc_code} {f.message}" for f in failures)
        seen = self._seen
        if len(seen) >= 4096:
            seen.clear()
        return seen.setdefault(reasons, reasons)

    def add(self, spilled: SpilledSet, verdict: SlimVerdict) -> None:
        index = spilled.interchange_index
        if verdict.accepted:
            self.accepted[index] = self.accepted.get(index, 0) + 1
        else:
            reasons = self._reasons(verdict.failures)
            self.rejected.setdefault(index, []).append((verdict.claim_id, reasons))

    def add_spilled(self, edited: SpilledSetEdits) -> None:
        """A set's verdicts as :meth:`add` takes them one by one (only the rejected ones are
        read back)."""
        index = edited.interchange_index
        self.accepted[index] = self.accepted.get(index, 0) + edited.accepted_count
        if edited.rejected_count:
            rejected = self.rejected.setdefault(index, [])
            for verdict in edited.rejected_verdicts():
                rejected.append((verdict.claim_id, self._reasons(verdict.failures)))

    def add_sets(self, sets: Sequence[SetEdits]) -> None:
        for edited in sets:
            index = edited.interchange_index
            self.accepted.setdefault(index, 0)
            for verdict in edited.verdicts:
                if verdict.accepted:
                    self.accepted[index] += 1
                else:
                    reasons = self._reasons(verdict.failures)
                    self.rejected.setdefault(index, []).append((verdict.claim_id, reasons))


@dataclass
class _Checked:
    """One file through the engine: analysis, duplicates found in the history, claims."""

    analysis: FileAnalysis
    duplicates: list[int]
    claims: _Claims
    responses: list[Response]


def _duplicate_interchanges(analysis: FileAnalysis, history: ClaimHistory | None) -> list[int]:
    if history is None or not analysis.readable:
        return []
    keys = [(i.sender_qualifier, i.sender_id, i.control_number) for i in analysis.interchanges]
    seen = history.seen_interchanges(keys)
    return [n for n, key in enumerate(keys) if key in seen]


def check_file(
    path: Path,
    *,
    partners: PartnerSet,
    directory: PartnerDirectory,
    controls: Callable[[], int],
    now: datetime,
    history: ClaimHistory | None = None,
    ack_dir: Path | None = None,
    acks: list[str] | None = None,
    stem: str | None = None,
    tune_gc: bool = False,
) -> _Checked:
    """The daemon's worker path for one file, with bounded memory (see the module docstring):
    TA1/999/REJECT responses (in memory, small), the 277CA streamed to ``ack_dir``.

    ``tune_gc`` (the ``gateway validate`` process): once the file's guide is loaded, the
    collector is tuned as in the daemon's workers (:mod:`gateway.gctune`: what is loaded is
    frozen, young collections are rarer), so it does not walk the compiled guides again and
    again while the claims are edited."""
    from gateway.profiles import edit_context
    from gateway.x12 import build_responses
    from gateway.x12.engine import analyze_file
    from gateway.x12.frontend import (
        ClaimRendering,
        analyze_and_spill,
        never_seen,
        recheck_spill,
        spilled_as_final,
        write_277cas,
    )

    uploader = _uploader(path, partners)
    context = edit_context(partners, uploader, now.date())
    loaded = _tune_gc_once if tune_gc else None
    with tempfile.TemporaryDirectory(prefix="gateway-validate-") as work:
        spill = None
        if context is None:
            analysis = analyze_file(path, uploader=uploader, directory=directory)
            if loaded is not None:
                loaded()
        else:  # the guide pass and the claims' edits in one reading of the file
            # without a claim history the verdicts are final as edited: the 277CA's claim
            # segments are made with them (written below with the same prefix and dates), and
            # only the rejected claims' verdicts are kept (the summary lists them)
            render = None
            if history is None and ack_dir is not None and acks is not None:
                render = ClaimRendering(
                    str(Path(work) / "277ca"), _TRACE, now, now.date(), keep_accepted=False
                )
            both = analyze_and_spill(
                str(path), uploader=uploader, directory=directory, context=context,
                path=str(Path(work) / "edits"), loaded=loaded, render=render,
            )  # fmt: skip
            analysis, spill = both.analysis, both.spill
        duplicates = _duplicate_interchanges(analysis, history)
        responses = build_responses(
            analysis, directory=directory, duplicates=duplicates, next_control=controls, now=now
        )
        claims = _Claims()
        checked = _Checked(analysis, duplicates, claims, responses)
        if ack_dir is not None and acks is not None:
            ack_dir.mkdir(parents=True, exist_ok=True)
            acks.extend(_write_responses(ack_dir, stem or path.name, responses))
        if spill is None or not analysis.readable:
            return checked
        skip = {analysis.interchanges[n].control_number for n in duplicates}
        final = spilled_as_final(spill, skip_isa13=skip) if history is None else None
        if final is not None:  # no claim history: the verdicts stand as edited
            edited = final
            for e in edited:
                claims.add_spilled(e)
        else:
            seen = history.fingerprints_accepted if history is not None else never_seen
            edited = recheck_spill(
                spill, seen, str(Path(work) / "final"), skip_isa13=skip, each=claims.add
            )
        try:
            if ack_dir is not None and acks is not None:
                target = ack_dir / f"{stem or path.name}.277CA.x12"
                with open(target, "w", encoding="ascii", newline="") as out:
                    written = write_277cas(
                        edited,
                        analysis,
                        out.write,
                        directory=directory,
                        next_control=controls,
                        now=now,
                        received=now.date(),
                        trace_prefix=_TRACE,
                    )
                if written:
                    acks.append(str(target))
                else:
                    target.unlink()
                responses += written
        finally:
            for e in edited:
                e.close()
    for index in {e.interchange_index for e in edited}:
        claims.accepted.setdefault(index, 0)
    return checked


_TRACE = "VALIDATE"
"""The 277CA's trace prefix (TRN02, REF*D9) in ``gateway validate``'s answers."""

_gc_tuned: list[bool] = []


def _tune_gc_once() -> None:
    if not _gc_tuned:
        from gateway import gctune

        gctune.tune()
        _gc_tuned.append(True)


def _write_responses(ack_dir: Path, stem: str, responses: Sequence[Response]) -> list[str]:
    by_kind: dict[str, list[bytes]] = {}
    for response in responses:
        by_kind.setdefault(response.kind, []).append(response.content)
    written = []
    for kind, contents in by_kind.items():
        suffix = "REJECT.txt" if kind == "REJECT" else f"{kind}.x12"
        target = ack_dir / f"{stem}.{suffix}"
        target.write_bytes(b"".join(contents))
        written.append(str(target))
    return written


def summarise(
    path: str, analysis: FileAnalysis, claims: _Claims, duplicates: Sequence[int] = ()
) -> FileSummary:
    if not analysis.readable:
        return FileSummary(path, accepted=False, readable=False, reason=analysis.reject_reason)
    summary = FileSummary(path, accepted=True, readable=True)
    for index, interchange in enumerate(analysis.interchanges):
        item: dict[str, Any] = {
            "isa13": interchange.control_number,
            "sender": f"{interchange.sender_qualifier}/{interchange.sender_id}",
            "envelope": "accepted",
        }
        ta1_code = "025" if index in duplicates else interchange.ta1_code
        if ta1_code is not None:
            item["envelope"] = (
                f"rejected TA1 {ta1_code}: {TA1_NOTES.get(ta1_code, 'envelope error')}"
            )
            summary.accepted = False
        sets = []
        for group in interchange.groups:
            for code in group.group_error_codes:
                sets.append({"group": group.gs06, "error": f"{code}: {GROUP_NOTES.get(code, '')}"})
                summary.accepted = False
            for tx in group.transactions:
                ok = ta1_code is None and set_accepted(group, tx)
                summary.accepted &= ok
                entry: dict[str, Any] = {
                    "st02": tx.st02,
                    "accepted": ok,
                    "errors": [
                        f"line {e.line}: {e.segment_id} (position {e.segment_position}"
                        f"{', loop ' + e.loop_id if e.loop_id else ''}): {e.message}"
                        for e in tx.errors[:50]
                    ]
                    + [f"{c}: {SET_NOTES.get(c, '')}" for c in tx.set_error_codes],
                }
                sets.append(entry)
        item["transaction_sets"] = sets
        item["claims_accepted"] = claims.accepted.get(index, 0)
        item["claims_rejected"] = claims.rejected.get(index, [])
        if item["claims_rejected"]:
            summary.accepted = False
        summary.interchanges.append(item)
    return summary


def _print(summary: FileSummary, out: TextIO) -> None:
    verdict = "ACCEPTED" if summary.accepted else "REJECTED"
    out.write(f"{summary.path}: {verdict}\n")
    if not summary.readable:
        out.write(f"  not X12: {summary.reason}\n")
    for item in summary.interchanges:
        out.write(f"  interchange {item['isa13']} from {item['sender']}: {item['envelope']}\n")
        for entry in item["transaction_sets"]:
            if "error" in entry:
                out.write(f"    group {entry['group']}: {entry['error']}\n")
                continue
            state = "accepted" if entry["accepted"] else "rejected"
            out.write(f"    set {entry['st02']}: {state}\n")
            for error in entry["errors"]:
                out.write(f"      {error}\n")
        rejected = item["claims_rejected"]
        out.write(f"    claims: {item['claims_accepted']} accepted, {len(rejected)} rejected\n")
        for claim_id, reasons in rejected:
            out.write(f"      {claim_id}: {'; '.join(reasons)}\n")
    for ack in summary.acks:
        out.write(f"  wrote {ack}\n")


def _as_json(summary: FileSummary) -> dict[str, Any]:
    item = dict(summary.__dict__)
    item["interchanges"] = [
        {
            **interchange,
            "claims_rejected": [
                {"claim": claim_id, "reasons": list(reasons)}
                for claim_id, reasons in interchange["claims_rejected"]
            ],
        }
        for interchange in summary.interchanges
    ]
    return item


def _history(config: GatewayConfig) -> ClaimHistory | None:
    if config.database_url is None and not config.database_path.is_file():
        return None
    from gateway.store.history import ClaimHistory

    history = ClaimHistory(config.database, where=config.database_url_source)
    if not history.prepared():  # PostgreSQL: a database no gateway has used yet
        history.close()
        return None
    return history


def run_validate(
    files: Sequence[Path],
    *,
    config: GatewayConfig,
    partners: PartnerSet,
    ack_dir: Path | None,
    as_json: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    now: datetime | None = None,
    tune_gc: bool = False,
) -> int:
    """``gateway validate``; ``tune_gc``: this process only validates (see :func:`check_file`)."""
    from gateway.profiles import partner_directory

    directory = partner_directory(config, partners)
    controls = itertools.count(1).__next__
    now = now or datetime.now(UTC)
    history = _history(config)
    if history is None:
        where = config.database_url_source or config.database_path
        err.write(
            f"note: no claim history (no gateway store at {where}): "
            "duplicates of earlier uploads (TA1 025, A3:78) are not checked\n"
        )
    summaries = []
    seen_names: dict[str, int] = {}
    try:
        for path in files:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                summaries.append(
                    FileSummary(str(path), False, False, f"cannot read: {exc.strerror}")
                )
                continue
            acks: list[str] = []
            # answers are named after the input file; two inputs of one name (other folders)
            # must not overwrite each other's: the second is <name>.2.999.x12 and so on
            seen_names[path.name] = seen_names.get(path.name, 0) + 1
            count = seen_names[path.name]
            checked = check_file(
                path,
                partners=partners,
                directory=directory,
                controls=controls,
                now=now,
                history=history,
                ack_dir=ack_dir,
                acks=acks,
                stem=path.name if count == 1 else f"{path.name}.{count}",
                tune_gc=tune_gc,
            )
            summary = summarise(str(path), checked.analysis, checked.claims, checked.duplicates)
            summary.acks = acks
            summaries.append(summary)
    finally:
        if history is not None:
            history.close()
    if as_json:
        json.dump([_as_json(s) for s in summaries], out, indent=2)
        out.write("\n")
    else:
        for summary in summaries:
            _print(summary, out)
    return 0 if all(s.accepted for s in summaries) else 1
