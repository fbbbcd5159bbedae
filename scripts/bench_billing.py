#!/usr/bin/env python3
"""Patient billing over N claims that went through the payers (scripts/bench_payers.py's
stages): the derived balances of every claim, one claim's history, A/R aging, the denial
worklist and a statement cycle (PDF per account + manifest), each timed.

    .venv/bin/python scripts/bench_billing.py [--claims 2000]

Every call derives from the store's facts (nothing is cached): the figures say what one
``GET /api/v1/claims`` or statement run costs at this size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_payers import billed_store  # noqa: E402

from gateway.payers.loader import load_simulated_payers  # noqa: E402
from gateway.pipeline import billing  # noqa: E402
from gateway.pipeline.denials import denial_worklist  # noqa: E402
from gateway.pipeline.statements import run_statements  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=2000)
    args = parser.parse_args()
    n = args.claims
    with tempfile.TemporaryDirectory(prefix="bench-billing-") as tmp:
        b = billed_store(n, Path(tmp))
        partner = b.partners.get("demo-billing")
        assert partner is not None
        payers = load_simulated_payers(b.partners, ROOT / "partners")
        today = date(2026, 12, 4)
        rows: list[tuple[str, float, str]] = []

        def timed(name: str, fn, note=lambda r: "") -> object:  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            result = fn()
            rows.append((name, time.perf_counter() - start, note(result)))
            return result

        claims = timed("claim balances (GET /claims core)",
                       lambda: billing.claim_balances(b.store, partner),
                       lambda r: f"{len(r)} claims")  # fmt: skip
        timed("GET /claims answer (JSON dicts)",
              lambda: billing.list_claims(b.store, partner, billing.ClaimFilter()),
              lambda r: f"{len(r['claims'])} listed")  # fmt: skip
        first = claims[0].facts.claim_id  # type: ignore[index]
        timed("GET /claims/{id}", lambda: billing.claim_detail(b.store, partner, first))
        timed("GET /ar-aging", lambda: billing.ar_aging(b.store, partner, today, "service"),
              lambda r: f"open {r['open_balance']}")  # fmt: skip
        timed("GET /denials", lambda: denial_worklist(b.store, partner, b.partners, payers,
                                                      today),
              lambda r: f"{r['claims']} denied")  # fmt: skip
        timed("statement cycle (PDFs + manifest)",
              lambda: run_statements(b.store, b.blobs, b.partners, time.time()),
              lambda r: f"{r.statements} statements")  # fmt: skip
        timed("statement cycle again (nothing new)",
              lambda: run_statements(b.store, b.blobs, b.partners, time.time() + 1),
              lambda r: f"{r.statements} statements")  # fmt: skip
        b.store.close()
    print(f"{n} claims through SIM01/SIM02 (payer stages: "
          f"{sum(t for _, t in b.timings):.1f} s)")  # fmt: skip
    print(f"{'call':40} {'seconds':>8} {'claims/s':>10}  result")
    for name, seconds, note in rows:
        print(f"{name:40} {seconds:8.2f} {n / seconds:10.0f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
