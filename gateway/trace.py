"""``gateway trace <file id | ISA13 | CLM01>``: the lifecycle of a file or a claim, in order.

Facts come from the store (what is true now: states, answers, routes, decisions, pick-ups)
and the audit log (when each step happened). Output names identifiers and amounts, never
patient data.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from gateway.audit import read_all_events
from gateway.config import GatewayConfig
from gateway.payers.codec import decision_from_json
from gateway.store.sqlite import Store


@dataclass
class Trace:
    query: str
    matched_as: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    claim_hash: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    events: list[Mapping[str, Any]] = field(default_factory=list)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _file_ids(store: Store, query: str, trace: Trace) -> list[str]:
    ids: list[str] = []

    def add(kind: str, rows: Iterable[Any], column: str) -> None:
        found = [r[column] for r in rows if r[column]]
        if found:
            trace.matched_as.append(kind)
            ids.extend(found)

    add("file id", store.query("SELECT id FROM files WHERE id = ?", (query,)), "id")
    add(
        "inbound ISA13",
        store.query("SELECT file_id FROM interchanges WHERE control_number = ?", (query,)),
        "file_id",
    )
    add(
        "acknowledgment ISA13",
        store.query("SELECT file_id FROM responses WHERE outbound_control = ?", (query,)),
        "file_id",
    )
    add(
        "outbound batch ISA13",
        store.query("SELECT source_file_id FROM batches WHERE isa13 = ?", (query,)),
        "source_file_id",
    )
    add("CLM01", store.query("SELECT file_id FROM claims WHERE clm01 = ?", (query,)), "file_id")
    if "CLM01" in trace.matched_as:
        trace.claim_hash = hashlib.sha256(query.encode("utf-8", "replace")).hexdigest()[:16]
    return list(dict.fromkeys(ids))


def build_trace(store: Store, audit_path: Any, query: str) -> Trace:
    trace = Trace(query)
    trace.file_ids = _file_ids(store, query, trace)
    for file_id in trace.file_ids:
        f = store.get_file(file_id)
        if f is None:
            continue
        answers = store.query(
            "SELECT r.kind, r.accepted, r.interchange_control, r.outbound_control, m.name, "
            "m.picked_up_at FROM responses r LEFT JOIN mailbox m ON m.id = r.mailbox_id "
            "WHERE r.file_id = ? ORDER BY r.id",
            (file_id,),
        )
        trace.files.append(
            {
                "file_id": f.id,
                "partner": f.partner_id,
                "channel": f.channel,
                "received": _iso(f.received_at),
                "state": f.state,
                "sha256": f.sha256,
                "answers": [
                    {
                        "kind": a["kind"],
                        "accepted": bool(a["accepted"]),
                        "isa13": a["interchange_control"],
                        "ack_isa13": a["outbound_control"],
                        "file_name": a["name"],
                        "picked_up": _iso(a["picked_up_at"]),
                    }
                    for a in answers
                ],
            }
        )
    if trace.claim_hash is not None:
        rows = store.query("SELECT * FROM claims WHERE clm01 = ? ORDER BY id", (query,))
    else:
        rows = [
            r
            for fid in trace.file_ids
            for r in store.query("SELECT * FROM claims WHERE file_id = ? ORDER BY id", (fid,))
        ]
    for row in rows[:200]:
        routes = store.query(
            "SELECT * FROM routes WHERE claim_row_id = ? ORDER BY id", (row["id"],)
        )
        trace.claims.append(
            {
                "file_id": row["file_id"],
                "isa13": row["interchange_control"],
                "st02": row["st02"],
                "claim_index": row["claim_index"],
                "clm01": row["clm01"],
                "payer_id": row["payer_id"],
                "charge": row["charge"],
                "front_end": "accepted" if row["accepted"] else "rejected",
                "codes": row["codes"].split(),
                "routes": [_route(r) for r in routes],
            }
        )
    wanted = set(trace.file_ids)
    trace.events = [
        e for e in read_all_events(audit_path) if _relevant(e, wanted, trace.claim_hash)
    ]
    return trace


def _relevant(event: Mapping[str, Any], files: set[str], claim_hash: str | None) -> bool:
    """Events of the traced files; for a CLM01, of that claim only (not its neighbours')."""
    event_claim = event.get("claim_id_hash")
    if claim_hash is not None and event_claim is not None:
        return bool(event_claim == claim_hash)
    return event.get("file_id") in files


def _route(route: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "payer_partner": route["payer_partner_id"],
        "payer_id": route["payer_id"],
        "outbound_isa13": route["out_isa13"],
        "outbound_st02": route["out_st02"],
        "state": route["state"],
        "payer_claim_id": route["payer_claim_id"],
        "updated": _iso(route["updated_at"]),
    }
    if route["decision"]:
        decision = decision_from_json(route["decision"])
        adjustments = [*decision.adjustments, *(a for x in decision.lines for a in x.adjustments)]
        out.update(
            {
                "status": decision.status.value,
                "outcome": decision.outcome.value,
                "paid": str(decision.paid),
                "patient_responsibility": str(decision.patient_responsibility),
                "carcs": sorted({f"{a.group}-{a.reason}" for a in adjustments}),
                "payer_status": decision.status_category or None,
            }
        )
    return out


def print_trace(trace: Trace, out: TextIO, as_json: bool = False) -> None:
    if as_json:
        json.dump(trace.__dict__, out, indent=2, default=str)
        out.write("\n")
        return
    if not trace.file_ids:
        out.write(f"nothing known as {trace.query!r} (file id, ISA13 or CLM01)\n")
        return
    out.write(f"{trace.query}: {', '.join(dict.fromkeys(trace.matched_as))}\n")
    for f in trace.files:
        out.write(
            f"\nfile {f['file_id']} from {f['partner']} over {f['channel']}, received "
            f"{f['received']}, now {f['state']}\n"
        )
        for a in f["answers"]:
            verdict = "accepted" if a["accepted"] else "rejected"
            picked = f", picked up {a['picked_up']}" if a["picked_up"] else ""
            out.write(f"  {a['kind']:<6} {verdict:<9} {a['file_name']}{picked}\n")
    if trace.claims:
        out.write("\nclaims\n")
    for c in trace.claims:
        codes = f" ({' '.join(c['codes'])})" if c["codes"] else ""
        out.write(
            f"  {c['clm01']} -> {c['payer_id']} charge {c['charge']}: front-end "
            f"{c['front_end']}{codes}\n"
        )
        for r in c["routes"]:
            line = (
                f"    routed to {r['payer_partner']} in {r['outbound_isa13']}/"
                f"{r['outbound_st02']}: {r['state']}"
            )
            if "paid" in r:
                line += (
                    f", CLP02 {r['status']} paid {r['paid']} patient {r['patient_responsibility']}"
                    f" {' '.join(r['carcs'])}"
                )
            out.write(line + "\n")
    if trace.events:
        out.write("\ntimeline\n")
    for e in trace.events:
        detail = " ".join(
            f"{k}={v}"
            for k, v in e.items()
            if k not in ("ts", "event", "file_id", "partner") and not isinstance(v, list | dict)
        )
        out.write(f"  {e.get('ts', '')} {e.get('event', ''):<24} {detail}\n")


def run_trace(config: GatewayConfig, query: str, as_json: bool, out: TextIO = sys.stdout) -> int:
    if not config.database_path.exists():  # never create a store just to look into it
        print(f"no gateway store at {config.database_path}", file=sys.stderr)
        return 1
    store = Store(config.database_path)
    try:
        trace = build_trace(store, config.audit_log_path, query.strip())
    finally:
        store.close()
    print_trace(trace, out, as_json)
    return 0 if trace.file_ids else 1
