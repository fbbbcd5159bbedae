"""``gateway trace <file id | ISA13 | CLM01 | TRN02 | PayloadID>``: the lifecycle of a file or a
claim, in order; or a real-time/batch inquiry (270) by its TRN02 or its CAQH CORE PayloadID
(from the audit log: channel, partner, payer, envelope control numbers, outcome, timing).

Facts come from the store (what is true now: states, answers, routes, decisions, pick-ups)
and the audit log (when each step happened). Output names identifiers and amounts, never
patient data.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from gateway.audit import read_all_events
from gateway.config import GatewayConfig
from gateway.payers.codec import decision_from_json
from gateway.states import FILE_STATES
from gateway.store.sqlite import Store
from gateway.store.tracing import TraceQueries
from gateway.x12.claims import iter_transaction_sets

#: Reads a payload (an 835, to see which claims it pays) by its sha256.
BlobReader = Callable[[str], bytes]

#: Audit events that name an outbound document of a payer cycle or a forwarded payer answer.
_PAYER_DOCUMENTS = ("ack.277ca.written", "payer.answer.forwarded", "remit.835.built")


@dataclass
class Trace:
    query: str
    matched_as: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    claim_hash: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    remits: list[dict[str, Any]] = field(default_factory=list)
    """The 835s that pay the traced claims (trace number, date, file, pick-up)."""
    events: list[Mapping[str, Any]] = field(default_factory=list)
    requests: list[Mapping[str, Any]] = field(default_factory=list)
    """Inquiry events (eligibility.*, claim_status.*, core.*) naming the query as TRN02 or
    PayloadID."""


#: Audit events of inquiries (real time and batch) and CORE envelopes.
_INQUIRY_EVENTS = frozenset(
    {
        "eligibility.answered",
        "eligibility.rejected",
        "eligibility.refused",
        "eligibility.forward.failed",
        "claim_status.answered",
        "core.rejected",
        "core.auth.failed",
        "core.batch.received",
        "core.batch.retrieved",
    }
)


def _requests(audit_path: Any, query: str, trace: Trace) -> list[str]:
    """Inquiry events naming ``query`` as TRN02 or PayloadID; the files they name."""
    files: list[str] = []
    for event in read_all_events(audit_path):
        if event.get("event") not in _INQUIRY_EVENTS:
            continue
        if query == event.get("trn02"):
            trace.matched_as.append("TRN02")
        elif query == event.get("payload_id"):
            trace.matched_as.append("CORE PayloadID")
        else:
            continue
        trace.requests.append(event)
        if event.get("file_id"):
            files.append(str(event["file_id"]))
    return files


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _file_ids(
    queries: TraceQueries, query: str, trace: Trace, audit_path: Any, read_blob: BlobReader | None
) -> list[str]:
    ids: list[str] = []

    def add(kind: str, found: list[str]) -> None:
        if found:
            trace.matched_as.append(kind)
            ids.extend(found)

    for what in ("file id", "inbound ISA13", "acknowledgment ISA13", "outbound batch ISA13",
                 "CLM01"):  # fmt: skip
        add(what, queries.file_ids_by(what, query))
    if "CLM01" in trace.matched_as:
        trace.claim_hash = hashlib.sha256(query.encode("utf-8", "replace")).hexdigest()[:16]
    if query.isdigit():
        # payer 277CAs and forwarded payer answers: their ISA13 is in the audit log only
        for event in read_all_events(audit_path):
            if event.get("event") in _PAYER_DOCUMENTS and event.get("isa13") == query:
                kind = "835" if event.get("event") == "remit.835.built" else "payer answer"
                if event.get("file_id"):
                    add(f"{kind} ISA13", [str(event["file_id"])])
        for remit in queries.remits_by_isa13(query):
            paid = [
                route["file_id"]
                for clm01, payer_claim_id in _remit_claims(queries, read_blob, remit)
                for route in queries.routes_by_clm01(clm01)
                if not payer_claim_id or route["payer_claim_id"] in (None, payer_claim_id)
            ]
            add("835 ISA13", paid)
    return list(dict.fromkeys(ids))


def _remit_claims(
    queries: TraceQueries, read_blob: BlobReader | None, remit: Any
) -> list[tuple[str, str]]:
    """(CLP01, CLP07) of every claim the 835 pays, read from the document itself."""
    return _read_835(queries, read_blob, remit)[0]


def _read_835(
    queries: TraceQueries, read_blob: BlobReader | None, remit: Any
) -> tuple[list[tuple[str, str]], str | None]:
    """The 835's claims (CLP01, CLP07) and its payment date (BPR16, ISO), from the file."""
    entry = queries.remit_mailbox_entry(remit)
    if entry is None or read_blob is None:
        return [], None
    try:
        data = read_blob(entry["sha256"])
    except (OSError, ValueError):
        return [], None
    claims: list[tuple[str, str]] = []
    paid_on: str | None = None
    for ts in iter_transaction_sets(data):
        for segment in ts.segments:
            e = segment.elements
            if segment.id == "CLP" and e:
                claims.append((e[0], e[6] if len(e) > 6 else ""))
            elif segment.id == "BPR" and len(e) > 15 and len(e[15]) == 8 and e[15].isdigit():
                paid_on = f"{e[15][:4]}-{e[15][4:6]}-{e[15][6:]}"
    return claims, paid_on


class _Remits:
    """Finds the 835 that answers a routed claim: the first one made at or after the claim's
    decision that lists its CLM01 (and payer claim number) in a CLP."""

    def __init__(self, queries: TraceQueries, read_blob: BlobReader | None) -> None:
        self.queries = queries
        self.read_blob = read_blob
        self.found: dict[int, dict[str, Any]] = {}
        self._read: dict[int, tuple[list[tuple[str, str]], str | None]] = {}

    def for_route(self, route: Any) -> dict[str, Any] | None:
        if route["decision"] is None or self.read_blob is None:
            return None
        candidates = self.queries.remits_since(route["updated_at"], route["billing_npi"])
        for remit in candidates:
            if remit["id"] not in self._read:
                self._read[remit["id"]] = _read_835(self.queries, self.read_blob, remit)
            claims = self._read[remit["id"]][0]
            wanted = route["payer_claim_id"]
            if any(c == route["clm01"] and (not wanted or p == wanted) for c, p in claims):
                return self._describe(remit)
        return None

    def _describe(self, remit: Any) -> dict[str, Any]:
        if remit["id"] not in self.found:
            entry = self.queries.remit_mailbox_entry(remit)
            self.found[remit["id"]] = {
                "payer_id": remit["payer_id"],
                "trace": remit["trace"],
                "payment_date": self._read.get(remit["id"], ([], None))[1],
                "date": _iso(remit["created_at"]),
                "total": remit["total"],
                "claims": remit["claims"],
                "isa13": remit["isa13"],
                "partner": remit["partner_id"],
                "file_name": entry["name"] if entry is not None else None,
                "picked_up": _iso(entry["picked_up_at"]) if entry is not None else None,
            }
        return self.found[remit["id"]]


def build_trace(
    store: Store, audit_path: Any, query: str, read_blob: BlobReader | None = None
) -> Trace:
    trace = Trace(query)
    queries = TraceQueries(store)
    trace.file_ids = _file_ids(queries, query, trace, audit_path, read_blob)
    for file_id in _requests(audit_path, query, trace):
        if file_id not in trace.file_ids:
            trace.file_ids.append(file_id)
    if trace.claim_hash is not None:
        rows = queries.claims_by_clm01(query)
    else:
        rows = [r for fid in trace.file_ids for r in queries.claims_of_file(fid)]
    remits = _Remits(queries, read_blob)
    payers: set[str] = set()  # for a CLM01: the payers of that claim only
    request_ids: set[str] = set()
    attachment_files: list[str] = []
    for row in rows[:200]:
        routes = queries.routes_of_claim(row["id"])
        asked = _info_requests(queries, routes)
        request_ids.update(r["id"] for r in asked)
        attachment_files += [a["file_id"] for r in asked for a in r["attachments"]]
        payers.update(r["payer_id"] for r in routes)
        payers.update(r["payer_partner_id"] for r in routes)
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
                "routes": [_route(r, remits.for_route(r)) for r in routes],
                "status_requests": [
                    {
                        "at": _iso(q["requested_at"]),
                        "partner": q["partner_id"],
                        "channel": q["channel"],
                        "trace": q["trace"],
                        "status": q["status"],
                        "source": q["source"],
                    }
                    for q in queries.status_requests_of(row["id"])
                ],
                "information_requests": asked,
            }
        )
    for file_id in attachment_files:  # the 275s that answered the claim's requests
        if file_id not in trace.file_ids:
            trace.file_ids.append(file_id)
    only = payers if trace.claim_hash is not None else None
    for file_id in trace.file_ids:
        f = store.get_file(file_id)
        if f is None:
            continue
        answers = queries.answers_of_file(file_id)
        others = queries.other_mailbox_files(file_id)
        trace.files.append(
            {
                "file_id": f.id,
                "partner": f.partner_id,
                "channel": f.channel,
                "received": _iso(f.received_at),
                "state": f.state,
                "state_means": FILE_STATES.get(f.state, ""),
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
                "other_files": [
                    _mailbox_file(m) for m in others if _for_payers(m, only, f.partner_id)
                ],
            }
        )
    trace.remits = sorted(remits.found.values(), key=lambda r: (r["date"] or "", r["trace"]))
    wanted = set(trace.file_ids)
    traces = {r["trace"] for r in trace.remits}
    names = {m["file_name"]: m for f in trace.files for m in f["other_files"]}
    for event in read_all_events(audit_path):
        if event.get("request_id") in request_ids:
            trace.events.append(event)
            continue
        if not _relevant(event, wanted, trace.claim_hash, traces, only):
            continue
        trace.events.append(event)
        named = names.get(event.get("file_name"))  # type: ignore[arg-type]
        if named is not None and event.get("isa13"):
            named["isa13"] = event["isa13"]
    return trace


def _info_requests(queries: TraceQueries, routes: list[Any]) -> list[dict[str, Any]]:
    """The requests for information (277 RFAI) about the claim's routes, with the 275s that
    answered them (sizes and formats only)."""
    out: list[dict[str, Any]] = []
    for route in routes:
        for r in queries.info_requests_of_route(route["id"]):
            out.append(
                {
                    "id": r["id"],
                    "payer_partner": r["payer_partner_id"],
                    "source": r["source"],
                    "items": str(r["items"]).split(),
                    "due": r["due"],
                    "state": r["state"],
                    "sent": _iso(r["created_at"]),
                    "file_name": r["sent_name"],
                    "attachments": [
                        {
                            "file_id": a["file_id"],
                            "format": a["format"],
                            "size": int(a["size"]),
                            "received": _iso(a["received_at"]),
                            "forwarded_name": a["forwarded_name"],
                        }
                        for a in queries.attachments_of_request(r["id"])
                    ],
                }
            )
    return out


def _payer_of(entry: Any) -> str:
    """The payer qualifier of a mailbox name ``..._277CA-SIM01.x12`` ('' when none)."""
    stem = str(entry["name"]).rsplit(".", 1)[0]
    label = stem.rsplit("_", 1)[-1]
    return label.split("-", 1)[1] if "-" in label else ""


def _for_payers(entry: Any, payers: set[str] | None, submitter: str) -> bool:
    """For a CLM01 trace: the submitter's own reports, and documents of that claim's payers."""
    if payers is None:
        return True
    if entry["kind"] == "837":  # the routed batch, in an external payer's mailbox
        return bool(entry["partner_id"] in payers)
    payer = _payer_of(entry)
    return not payer or payer in payers


def _mailbox_file(entry: Any) -> dict[str, Any]:
    return {
        "kind": entry["kind"],
        "to": entry["partner_id"],
        "payer": _payer_of(entry) or None,
        "file_name": entry["name"],
        "created": _iso(entry["created_at"]),
        "picked_up": _iso(entry["picked_up_at"]),
    }


def _relevant(
    event: Mapping[str, Any],
    files: set[str],
    claim_hash: str | None,
    traces: Collection[str] = (),
    payers: set[str] | None = None,
) -> bool:
    """Events of the traced files and their 835s; for a CLM01, of that claim and its payers
    only (not its neighbours', nor another payer's 277CA)."""
    event_claim = event.get("claim_id_hash")
    if claim_hash is not None and event_claim is not None:
        return bool(event_claim == claim_hash)
    if event.get("event") == "remit.835.built":
        return event.get("trace") in traces
    if event.get("file_id") not in files:
        return False
    payer = event.get("payer_id") or event.get("payer_partner")
    return payers is None or payer is None or payer in payers


def _route(route: Any, remit: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "remit": remit,
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
    if not trace.file_ids and not trace.requests:
        out.write(
            f"nothing known as {trace.query!r} (file id, ISA13 of an interchange, an "
            "acknowledgment, a routed batch, a payer 277CA or an 835, CLM01, or an "
            "inquiry's TRN02 or CORE PayloadID)\n"
        )
        return
    out.write(f"{trace.query}: {', '.join(dict.fromkeys(trace.matched_as))}\n")
    if trace.requests:
        out.write("\ninquiries\n")
    for e in trace.requests:
        out.write(f"  {e.get('ts', '')} {e.get('event', ''):<26} {_detail(e, (), empty=False)}\n")
    for f in trace.files:
        out.write(
            f"\nfile {f['file_id']} from {f['partner']} over {f['channel']}, received "
            f"{f['received']}, now {f['state']} ({f['state_means']})\n"
        )
        for a in f["answers"]:
            verdict = "accepted" if a["accepted"] else "rejected"
            picked = f", picked up {a['picked_up']}" if a["picked_up"] else ", not picked up"
            out.write(f"  {a['kind']:<6} {verdict:<9} {a['file_name']}{picked}\n")
        for m in f["other_files"]:
            kind = f"{m['kind']}-{m['payer']}" if m["payer"] else m["kind"]
            isa13 = f" ISA13 {m['isa13']}" if m.get("isa13") else ""
            picked = f", picked up {m['picked_up']}" if m["picked_up"] else ", not picked up"
            out.write(
                f"  {kind:<15} to {m['to']}: {m['file_name']}{isa13} ({m['created']}){picked}\n"
            )
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
            if (r.get("payer_status") or "").startswith("P3") and r["state"] == "pended":
                line += f" {r['payer_status']} (waiting for information)"
            out.write(line + "\n")
            if r["remit"] is not None:
                out.write(f"      {_remit_line(r['remit'])}\n")
        for ask in c.get("information_requests", []):
            sent = f", 277RFAI {ask['file_name']}" if ask["file_name"] else ""
            out.write(
                f"    information requested {ask['id']} by {ask['payer_partner']} "
                f"({', '.join(ask['items'])}) {ask['sent']}, due {ask['due']}: "
                f"{ask['state']}{sent}\n"
            )
            for a in ask["attachments"]:
                where = (
                    f"forwarded {a['forwarded_name']}"
                    if a["forwarded_name"]
                    else "for the simulated payer"
                )
                out.write(
                    f"      275 in file {a['file_id']}: {a['format']} {a['size']} bytes, "
                    f"received {a['received']}, {where}\n"
                )
        for q in c.get("status_requests", []):
            out.write(
                f"    status asked {q['at']} by {q['partner']} over {q['channel']} "
                f"(TRN {q['trace']}): {q['status']} from the {q['source']}\n"
            )
    if trace.remits:
        out.write("\n835s\n")
    for remit in trace.remits:
        out.write(
            f"  {_remit_line(remit)}; total {remit['total']} for {remit['claims']} claim(s)\n"
        )
    if trace.events:
        out.write("\ntimeline\n")
    for e in trace.events:
        out.write(f"  {e.get('ts', '')} {e.get('event', ''):<24} {_detail(e)}\n")


def _detail(
    event: Mapping[str, Any], skip: Collection[str] = ("file_id", "partner"), empty: bool = True
) -> str:
    """``key=value`` of an event's scalar fields (not its time and name, nor ``skip``; without
    ``empty``, not the None or empty ones either)."""
    return " ".join(
        f"{k}={v}"
        for k, v in event.items()
        if k not in ("ts", "event", *skip)
        and (empty or v not in (None, ""))
        and not isinstance(v, list | dict)
    )


def _remit_line(remit: Mapping[str, Any]) -> str:
    picked = f"picked up {remit['picked_up']}" if remit["picked_up"] else "not picked up yet"
    paid = f" paid {remit['payment_date']}," if remit.get("payment_date") else ""
    return (
        f"835 {remit['file_name']} to {remit['partner']} (ISA13 {remit['isa13']}): payment "
        f"trace {remit['trace']},{paid} sent {remit['date']}, {picked}"
    )


def run_trace(config: GatewayConfig, query: str, as_json: bool, out: TextIO = sys.stdout) -> int:
    if config.database_url is None and not config.database_path.exists():  # never create one
        print(f"no gateway store at {config.database_path}", file=sys.stderr)
        return 1
    store = Store(
        config.database,
        where=config.database_url_source,
        migrate=config.database_url is None,
    )
    blobs = config.blob_dir
    try:
        trace = build_trace(
            store,
            config.audit_log_path,
            query.strip(),
            lambda sha: (blobs / sha[:2] / sha).read_bytes(),
        )
    finally:
        store.close()
    print_trace(trace, out, as_json)
    return 0 if trace.file_ids or trace.requests else 1
