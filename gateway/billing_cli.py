"""``gateway statements run`` and ``gateway denials``: the patient billing commands (the
parsers are gateway/cli.py's). They open the configured store directly, like ``gateway payers
run-cycle``; what they print is counts and file names (statements) or the partner's own
worklist (denials: identifiers and codes, no patient names)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any


def _with_store(args: argparse.Namespace, work: Callable[[Any, Any, Any, Any], int]) -> int:
    """Load the config and partners, open the store (never creating one) and run ``work``
    (config, partners, store, blobs)."""
    from gateway.cli import config_and_partners
    from gateway.store.blobs import BlobStore
    from gateway.store.sqlite import Store

    loaded = config_and_partners(args)
    if loaded is None:
        return 2
    config, partners = loaded
    store = Store(config.database, where=config.database_url_source)
    try:
        return work(config, partners, store, BlobStore(config.data_dir / "blobs"))
    finally:
        store.close()


def cmd_statements_run(args: argparse.Namespace) -> int:
    from gateway.audit import AuditLog
    from gateway.pipeline.statements import run_statements

    def work(config: Any, partners: Any, store: Any, blobs: Any) -> int:
        run = run_statements(store, blobs, partners, time.time(), provider=args.provider,
                             due_days=config.payers.statement_due_days)  # fmt: skip
        audit = AuditLog(config.audit_log_path)
        try:
            audit("statements.run", statements=run.statements, files=run.files,
                  partners=run.partners, trigger="cli")  # fmt: skip
        finally:
            audit.close()
        print(f"{run.statements} statement(s) to {', '.join(run.partners) or 'nobody'}")
        for name in run.files:
            print(f"  {name}")
        return 0

    return _with_store(args, work)


def cmd_denials(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from gateway.payers.loader import load_simulated_payers
    from gateway.pipeline.denials import denial_worklist, worklist_text

    def work(config: Any, partners: Any, store: Any, blobs: Any) -> int:
        partner = partners.get(args.partner)
        if partner is None:
            print(f"error: no partner {args.partner!r}", file=sys.stderr)
            return 2
        payers = load_simulated_payers(partners, config.partners_dir)
        today = datetime.now(UTC).date()
        worklist = denial_worklist(store, partner, partners, payers, today)
        if args.json:
            print(json.dumps(worklist, indent=1))
        else:
            print(worklist_text(worklist), end="")
        return 0

    return _with_store(args, work)


def add_parsers(sub: Any, add_config_args: Callable[..., None]) -> None:
    statements = sub.add_parser("statements", help="patient statements")
    statements_sub = statements.add_subparsers(dest="statements_command", required=True)
    run = statements_sub.add_parser(
        "run", help="one statement cycle now: a PDF per patient account with news, a manifest"
    )
    add_config_args(run, listeners=False)
    run.add_argument("--provider", metavar="NPI", help="one provider only (default: all)")
    run.set_defaults(func=cmd_statements_run)

    denials = sub.add_parser(
        "denials", help="the denial worklist: denied claims, reasons in words, next steps"
    )
    add_config_args(denials, listeners=False)
    denials.add_argument("--partner", default="demo-billing", help="whose claims (a partner id)")
    denials.add_argument("--json", action="store_true", help="JSON as the API answers")
    denials.set_defaults(func=cmd_denials)
