"""Garbage-collector settings for the long-running processes (the daemon and its workers).

A 10,000-claim file makes a few hundred thousand short-lived objects per step (claims, their
segments, re-enveloped text). With CPython's default thresholds (700, 10, 10) every such step
ran several full collections, each walking everything the process holds — the compiled
implementation guides, the code sets, the partner profiles — and the collector took ~40 % of
routing and ~25 % of a payer cycle (``scripts/bench_e2e.py``, ``gc.callbacks``). So:

* what is loaded once at start is moved out of the collector's sight (``gc.freeze``): it lives
  as long as the process and would only be walked again and again;
* the youngest generation collects after 20,000 net allocations instead of 700: full
  collections become rare while the process still reclaims cycles (the gateway makes few: its
  records are dataclasses and tuples).

What this costs: unreachable cycles wait longer for a collection (young ones until 20,000 net
allocations; those that survived into the oldest generation until a full collection, which now
comes rarely). The gateway's records are not cyclic, so little waits in practice.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 10, 10)


def tune(*, freeze: bool = True) -> None:
    """Apply :data:`THRESHOLDS`; with ``freeze``, first collect and freeze what is alive now
    (call it once the process has loaded what it keeps for its lifetime)."""
    if freeze:
        gc.collect()
        gc.freeze()
    gc.set_threshold(*THRESHOLDS)
