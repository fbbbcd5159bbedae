#!/usr/bin/env python3
"""Adjudication throughput: generated 837P claims against the SIM01 demo configuration.

    .venv/bin/python scripts/bench_adjudicate.py [--claims 10000] [--repeat 3]

Every generated claim is sent to SIM01 (gen_837 alternates SIM01/SIM02; the payer does not
care, the roster's enrollment rule takes every ``MBR`` member ID). Prints claims/s for
adjudication alone and for extraction + adjudication (tokenise, extract_claims, REF*G1
look-up), best of ``--repeat`` runs, plus the outcome mix. Ratios, not a pass/fail.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import gen_837  # noqa: E402

from gateway.payers.adjudicate import (  # noqa: E402
    Accumulator,
    AccumulatorKey,
    AdjudicationResult,
    ClaimInput,
    adjudicate,
    counter,
    no_history,
    no_originals,
)
from gateway.payers.config import PayerConfig  # noqa: E402
from gateway.payers.inputs import claim_inputs  # noqa: E402
from gateway.payers.loader import load_payer  # noqa: E402
from gateway.x12.claims import extract_claims, iter_transaction_sets  # noqa: E402

RECEIVED = date(2026, 11, 20)


def extract(data: bytes) -> list[ClaimInput]:
    out: list[ClaimInput] = []
    for ts in iter_transaction_sets(data):
        claims = extract_claims(ts.segments, ts.delimiters, ts.gs08)
        out += claim_inputs(ts.segments, claims)
    return out


def run(items: list[ClaimInput], config: PayerConfig) -> AdjudicationResult:
    store: dict[AccumulatorKey, Accumulator] = {}
    return adjudicate(
        items,
        config,
        store.get,
        received=RECEIVED,
        paid_history=no_history,
        original=no_originals,
        next_claim_number=counter("SIM01-"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    data = gen_837.render(gen_837.interchange(args.claims, 1, claims_per_provider=1000))
    config = load_payer(ROOT / "partners" / "payers" / "sim01")
    best_adjudicate = best_total = float("inf")
    result: AdjudicationResult | None = None
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        items = extract(data)
        extracted = time.perf_counter()
        result = run(items, config)
        finished = time.perf_counter()
        best_adjudicate = min(best_adjudicate, finished - extracted)
        best_total = min(best_total, finished - started)
    assert result is not None
    lines = sum(len(d.lines) for d in result.decisions)
    outcomes = Counter(f"{d.outcome.value}/{d.status.value}" for d in result.decisions)
    carcs = Counter(
        f"{a.group}-{a.reason}" for d in result.decisions for ln in d.lines for a in ln.adjustments
    )
    print(f"claims: {len(result.claims)}  lines: {lines}  batch: {len(data) / 1e6:.1f} MB")
    print(f"{'':24}{'seconds':>10}{'claims/s':>12}")
    print(
        f"{'adjudicate':24}{best_adjudicate:>10.3f}{len(result.claims) / best_adjudicate:>12,.0f}"
    )
    print(
        f"{'extract + adjudicate':24}{best_total:>10.3f}{len(result.claims) / best_total:>12,.0f}"
    )
    print(f"adjudication share: {best_adjudicate / best_total:.0%} of extract + adjudicate")
    print("outcomes:", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print("adjustments:", ", ".join(f"{k} {v}" for k, v in sorted(carcs.items())))
    print(f"accumulator updates: {len(result.accumulator_updates)}  paid: {len(result.paid)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
