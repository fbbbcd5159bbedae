"""``gateway eligibility``: send one eligibility check (270) from the command line and print the
answer as a readable table.

The request is a JSON file (``--json FILE``, ``-`` for stdin; the field names of
``POST /api/v1/eligibility``) or flags (``--payer --npi --provider --member --first --last
--dob --service-type --date``; flags override the file's fields). With ``--url`` (and
``--token``, or the environment variable ``GATEWAY_TOKEN``) it asks the running daemon's API;
without, it answers in-process from the gateway's store and the simulated payers (the same
answer the daemon gives; an external payer answers AAA 42 there).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from gateway.config import GatewayConfig


def build_request(base: Mapping[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON request from a file's fields and the flags (flags win)."""
    out: dict[str, Any] = json.loads(json.dumps(base))  # a deep copy
    if flags.get("payer"):
        out["tradingPartnerServiceId"] = flags["payer"]
    provider = out.setdefault("provider", {})
    if flags.get("npi"):
        provider["npi"] = flags["npi"]
    if flags.get("provider"):
        provider["organizationName"] = flags["provider"]
    subscriber = out.setdefault("subscriber", {})
    for flag, key in (("member", "memberId"), ("first", "firstName"), ("last", "lastName"),
                      ("dob", "dateOfBirth")):  # fmt: skip
        if flags.get(flag):
            subscriber[key] = flags[flag]
    encounter = out.setdefault("encounter", {})
    if flags.get("service_type"):
        encounter["serviceTypeCodes"] = list(flags["service_type"])
    if flags.get("date"):
        encounter["dateOfService"] = flags["date"]
    if not encounter:
        out.pop("encounter")
    return out


def ask_daemon(url: str, token: str, request: Mapping[str, Any]) -> tuple[int, Any]:
    """(HTTP status, JSON body) of ``POST <url>/api/v1/eligibility``."""
    endpoint = url.rstrip("/") + "/api/v1/eligibility"
    req = urllib.request.Request(  # noqa: S310 - the operator's own URL
        endpoint,
        data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            body = {"error": "http", "message": str(exc)}
        return int(exc.code), body


def answer_here(config: GatewayConfig, request: Mapping[str, Any]) -> tuple[int, Any]:
    """The answer from this gateway's store and simulated payers (no daemon needed)."""
    from gateway.payers.loader import load_simulated_payers
    from gateway.pipeline.eligibility import answer_one
    from gateway.profiles import load_partners
    from gateway.store.sqlite import Store
    from gateway.x12.eligibility import FieldError, answer_json, request_from_json

    try:
        parsed = request_from_json(request)
    except FieldError as exc:
        return 400, {"error": "invalid_field", "message": f"{exc.field}: {exc.message}"}
    partners = load_partners(
        str(config.partners_dir),
        own_interchange=(config.interchange_qualifier, config.interchange_id),
    )
    payers = load_simulated_payers(partners, config.partners_dir)
    if config.database_url is None and not config.database_path.exists():
        store = None  # no store yet: no accumulators either (the roster's starting values)
    else:
        store = Store(config.database, where=config.database_url_source,
                      migrate=config.database_url is None)  # fmt: skip
    try:
        if store is None:
            from gateway.payers.adjudicate import no_accumulators
            from gateway.payers.eligibility import answer_eligibility, unknown_payer
            from gateway.pipeline.eligibility import find_payer

            payer, external = find_payer(parsed.payer_id, payers, partners)
            today = datetime.now(UTC).date()
            answer = (
                unknown_payer(parsed, external=external)
                if payer is None
                else answer_eligibility(parsed, payer, no_accumulators, today=today)
            )
        else:
            answer = answer_one(store, parsed, payers, partners, datetime.now(UTC).date())
    finally:
        if store is not None:
            store.close()
    return 200, answer_json(answer)


COLUMNS = (
    ("code", "type"),
    ("name", "service"),
    ("status", "status"),
    ("copay", "copay"),
    ("coinsurancePercent", "coins %"),
    ("deductible", "deductible"),
    ("deductibleRemaining", "ded. left"),
    ("outOfPocketMax", "OOP max"),
    ("outOfPocketRemaining", "OOP left"),
)


def print_answer(status: int, body: Any, out: TextIO) -> int:
    """The answer as a table (exit 0 active, 1 inactive or AAA errors, 2 a refused request)."""
    if status != 200:
        out.write(f"refused ({status}): {body.get('message') or body.get('error')}\n")
        return 2
    payer = body.get("payer") or {}
    out.write(f"payer      {payer.get('payerId', '')} {payer.get('name') or ''}\n".rstrip() + "\n")
    out.write(f"coverage   {body.get('coverageStatus')}\n")
    if body.get("controlNumber"):
        out.write(f"trace      {body['controlNumber']}\n")
    plan = body.get("plan")
    if plan:
        dates = f"{plan.get('begin') or '?'} .. {plan.get('end') or 'open'}"
        out.write(f"plan       {plan.get('name')} ({plan.get('id')}), group "
                  f"{plan.get('groupNumber') or '-'}, {dates}\n")  # fmt: skip
    for error in body.get("errors") or []:
        out.write(f"error      AAA {error['code']} ({error['loop']}): {error['description']}; "
                  f"{error['followupAction']}\n")  # fmt: skip
    rows = body.get("serviceTypes") or []
    if rows:
        table = [[h for _, h in COLUMNS]]
        table += [[str(r.get(k, "") or "-")[:40] for k, _ in COLUMNS] for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        out.write("\n")
        for n, row in enumerate(table):
            out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            out.write("\n")
            if n == 0:
                out.write("  ".join("-" * w for w in widths) + "\n")
    return 0 if body.get("coverageStatus") == "active" else 1


def run(args: Any, config_loader: Any, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    base: dict[str, Any] = {}
    if args.json:
        text = sys.stdin.read() if args.json == "-" else open(args.json).read()
        try:
            base = json.loads(text)
        except ValueError as exc:
            print(f"error: {args.json}: not JSON ({exc})", file=sys.stderr)
            return 2
        if not isinstance(base, dict):
            print(f"error: {args.json}: must hold a JSON object", file=sys.stderr)
            return 2
    request = build_request(base, vars(args))
    if args.url:
        token = args.token or os.environ.get("GATEWAY_TOKEN", "")
        if not token:
            print("error: --url needs --token (or GATEWAY_TOKEN)", file=sys.stderr)
            return 2
        try:
            status, body = ask_daemon(args.url, token, request)
        except (OSError, ValueError) as exc:
            print(f"error: {args.url}: {exc}", file=sys.stderr)
            return 2
    else:
        status, body = answer_here(config_loader(), request)
    if args.raw:
        json.dump(body, out, indent=1)
        out.write("\n")
        return 0 if status == 200 else 2
    return print_answer(status, body, out)
