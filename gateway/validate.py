"""``gateway validate FILE...``: the daemon's X12 engine as a command.

For billing staff before they upload (and for benchmarking): every file gets the TA1 / 999 /
277CA (or rejection report) the gateway would send, written to ``--ack-dir``, and a short
summary per interchange. Exit 0 when everything was accepted, 1 otherwise. Nothing is
stored: duplicate checks against earlier uploads (TA1 025, A3:78) are the daemon's business.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from gateway.config import GatewayConfig
from gateway.pipeline.steps import edit_context, partner_directory
from gateway.profiles import PartnerSet
from gateway.x12 import PartnerDirectory, Response, analyze, build_responses
from gateway.x12.envelope import GROUP_NOTES, SET_NOTES, TA1_NOTES, set_accepted
from gateway.x12.frontend import SetEdits, build_277cas, edit_file
from gateway.x12.tokenizer import IsaHeader, tokenize


@dataclass
class FileSummary:
    path: str
    accepted: bool
    readable: bool
    reason: str = ""
    interchanges: list[dict[str, Any]] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)


def _sender(data: bytes) -> tuple[str, str] | None:
    for token in tokenize(data):
        if isinstance(token, IsaHeader):
            elements = token.segment.elements
            return elements[4].strip(), elements[5].strip()
    return None


def _uploader(data: bytes, partners: PartnerSet) -> str:
    """Whose file this is: the partner whose interchange ID is the first ISA's sender."""
    sender = _sender(data)
    partner = partners.by_interchange(*sender) if sender else None
    return partner.id if partner else ""


def validate_bytes(
    data: bytes,
    *,
    partners: PartnerSet,
    directory: PartnerDirectory,
    controls: itertools.count[int],
    now: datetime,
) -> tuple[list[Response], tuple[SetEdits, ...], Any]:
    uploader = _uploader(data, partners)
    analysis = analyze(data, uploader=uploader, directory=directory)
    context = edit_context(partners, uploader, now.date())
    edits = edit_file(data, analysis, context) if context is not None else ()
    responses = build_responses(
        analysis, directory=directory, duplicates=(), next_control=controls.__next__, now=now
    )
    responses += build_277cas(
        edits,
        analysis,
        directory=directory,
        next_control=controls.__next__,
        now=now,
        received=now.date(),
        trace_prefix="VALIDATE",
    )
    return responses, edits, analysis


def _summarise(path: str, analysis: Any, edits: tuple[SetEdits, ...]) -> FileSummary:
    if not analysis.readable:
        return FileSummary(path, accepted=False, readable=False, reason=analysis.reject_reason)
    summary = FileSummary(path, accepted=True, readable=True)
    for index, interchange in enumerate(analysis.interchanges):
        item: dict[str, Any] = {
            "isa13": interchange.control_number,
            "sender": f"{interchange.sender_qualifier}/{interchange.sender_id}",
            "envelope": "accepted",
        }
        if interchange.ta1_code is not None:
            item["envelope"] = (
                f"rejected TA1 {interchange.ta1_code}: "
                f"{TA1_NOTES.get(interchange.ta1_code, 'envelope error')}"
            )
            summary.accepted = False
        sets = []
        for group in interchange.groups:
            for code in group.group_error_codes:
                sets.append({"group": group.gs06, "error": f"{code}: {GROUP_NOTES.get(code, '')}"})
                summary.accepted = False
            for tx in group.transactions:
                ok = interchange.ta1_code is None and set_accepted(group, tx)
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
        claims = [v for e in edits if e.interchange_index == index for v in e.verdicts]
        item["claims_accepted"] = sum(1 for v in claims if v.accepted)
        item["claims_rejected"] = [
            {
                "claim": v.claim_id,
                "reasons": [f"{f.stc_code} {f.message}" for f in v.failures],
            }
            for v in claims
            if not v.accepted
        ]
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
        for claim in rejected:
            out.write(f"      {claim['claim']}: {'; '.join(claim['reasons'])}\n")
    for ack in summary.acks:
        out.write(f"  wrote {ack}\n")


def run_validate(
    files: Sequence[Path],
    *,
    config: GatewayConfig,
    partners: PartnerSet,
    ack_dir: Path | None,
    as_json: bool,
    out: TextIO = sys.stdout,
) -> int:
    directory = partner_directory(config, partners)
    controls = itertools.count(1)
    now = datetime.now(UTC)
    summaries = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            summaries.append(FileSummary(str(path), False, False, f"cannot read: {exc.strerror}"))
            continue
        responses, edits, analysis = validate_bytes(
            data, partners=partners, directory=directory, controls=controls, now=now
        )
        summary = _summarise(str(path), analysis, edits)
        if ack_dir is not None:
            ack_dir.mkdir(parents=True, exist_ok=True)
            by_kind: dict[str, list[bytes]] = {}
            for response in responses:
                by_kind.setdefault(response.kind, []).append(response.content)
            for kind, contents in by_kind.items():
                suffix = "REJECT.txt" if kind == "REJECT" else f"{kind}.x12"
                target = ack_dir / f"{path.name}.{suffix}"
                target.write_bytes(b"".join(contents))
                summary.acks.append(str(target))
        summaries.append(summary)
    if as_json:
        json.dump([s.__dict__ for s in summaries], out, indent=2)
        out.write("\n")
    else:
        for summary in summaries:
            _print(summary, out)
    return 0 if all(s.accepted for s in summaries) else 1
