#!/usr/bin/env python3
"""Adjudicate and remit N claims through the gateway's own steps, on a real SQLite store.

    .venv/bin/python scripts/bench_payers.py [--claims 10000]

Stages (each timed, claims/s printed): validate + front-end edits (the worker step), commit
the 999/277CA, route (re-envelope per payer), and one payment cycle of SIM01 and SIM02
(adjudicate, payer 277CAs, balanced 835s). The 835s are re-read and checked for balance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import gen_837  # noqa: E402

from gateway.config import GatewayConfig  # noqa: E402
from gateway.payers.loader import load_simulated_payers  # noqa: E402
from gateway.pipeline.routing import route_file, run_payer_cycle  # noqa: E402
from gateway.pipeline.steps import analyze_blob, commit_answers  # noqa: E402
from gateway.profiles import (  # noqa: E402
    PartnerSet,
    edit_context,
    load_partners,
    partner_directory,
)
from gateway.store.blobs import BlobStore  # noqa: E402
from gateway.store.sqlite import Store  # noqa: E402
from gateway.x12.remit_read import read_835  # noqa: E402


@dataclass
class Billed:
    """A store that went through the payers' cycle (see :func:`billed_store`)."""

    store: Store
    blobs: BlobStore
    partners: PartnerSet
    data: bytes
    timings: list[tuple[str, float]]
    decided: int
    paid: int


def billed_store(n: int, work: Path) -> Billed:
    """N generated claims through validation, routing and one cycle of SIM01 and SIM02, on a
    SQLite store in ``work`` (each stage timed)."""
    data = gen_837.render(gen_837.interchange(n, 4242, date="20261120"))
    config = GatewayConfig(source="bench", data_dir=work, partners_dir=ROOT / "partners")
    partners = load_partners(str(ROOT / "partners"))
    payers = load_simulated_payers(partners, ROOT / "partners")
    directory = partner_directory(config, partners)
    store = Store(work / "gateway.sqlite3")
    blobs = BlobStore(work / "blobs")
    sha = blobs.put(data)
    record = store.add_file("demo-billing", "bench", "bench.837", sha, len(data))
    now = time.time()
    timings: list[tuple[str, float]] = []

    start = time.perf_counter()
    context = edit_context(partners, "demo-billing", date(2026, 11, 24))
    found = analyze_blob(str(blobs.path(sha)), "demo-billing", directory, context)
    timings.append(("validate + edits", time.perf_counter() - start))

    start = time.perf_counter()
    commit_answers(store, blobs, record, found, directory, now)
    timings.append(("commit 999 + 277CA", time.perf_counter() - start))

    start = time.perf_counter()
    current = store.get_file(record.id)
    assert current is not None
    route_file(store, blobs, current, partners=partners, config=config, now=now)
    timings.append(("route (re-envelope)", time.perf_counter() - start))

    start = time.perf_counter()
    decided = paid = 0
    for pid in ("sim01", "sim02"):
        partner = partners.get(pid)
        assert partner is not None
        outcome = run_payer_cycle(
            store, blobs, payer=partner, payer_config=payers[pid], partners=partners,
            config=config, now=now + 1,
        )  # fmt: skip
        decided += outcome.decided
        paid += outcome.paid
    timings.append(("payer cycles (adjudicate, 277CA, 835)", time.perf_counter() - start))
    return Billed(store, blobs, partners, data, timings, decided, paid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    args = parser.parse_args()
    n = args.claims
    with tempfile.TemporaryDirectory(prefix="bench-payers-") as tmp:
        billed = billed_store(n, Path(tmp))
        store, blobs, data, timings = billed.store, billed.blobs, billed.data, billed.timings
        decided, paid = billed.decided, billed.paid
        balanced = all(
            r.ok
            for m in store.list_mailbox("demo-billing")
            if m.kind == "835"
            for r in read_835(blobs.read(m.sha256))
        )
        store.close()

    total = sum(t for _, t in timings)
    print(f"{n} claims ({len(data) / 1e6:.1f} MB): {decided} adjudicated, {paid} paid, "
          f"835s balanced: {balanced}")  # fmt: skip
    print(f"{'stage':40} {'seconds':>8} {'claims/s':>10}")
    for name, seconds in timings:
        print(f"{name:40} {seconds:8.2f} {n / seconds:10.0f}")
    print(f"{'end to end':40} {total:8.2f} {n / total:10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
