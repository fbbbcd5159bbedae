"""scripts/bench_e2e.py runs against a real daemon and prints a row per size (no times asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_bench_e2e_small_run_sees_999_277ca_and_every_claim_paid() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/bench_e2e.py", "--claims", "20", "--rounds", "1",
         "--cycle-seconds", "0.5", "--skip-pyx12"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[-1].split()
    assert row[0] == "20"
    assert "-" not in row[2:6]  # 999, 277CA, payer 277CA and 835 all seen
    assert row[6] == "20"  # every claim's CLP reached the mailbox
