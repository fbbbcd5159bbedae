"""scripts/bench_claim_status.py against a real daemon: both channels answer, every answer a
finalized status (no times asserted); its 276 is guide-valid."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.x12.test_maps_279_212 import validate_text

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> object:
    spec = importlib.util.spec_from_file_location(
        "bench_cs", ROOT / "scripts" / "bench_claim_status.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_cs"] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_276_is_guide_valid() -> None:
    bench = _bench()
    claim = {"payer": "SIM01", "npi": "1234567893", "member": "MBR000000001", "last": "DOE",
             "clm01": "C1X1", "charge": "95.00"}  # fmt: skip
    assert validate_text(bench.x12_276(claim, 77).decode()) == []  # type: ignore[attr-defined]


@pytest.mark.e2e
def test_bench_claim_status_small_run() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/bench_claim_status.py", "--claims", "20", "--seconds", "1",
         "--clients", "2", "--in-process", "50"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "requests/s" in line]
    assert [r.split()[0] for r in rows] == ["json", "x12"]
    assert all("http" not in r and "'A4'" not in r for r in rows), rows
    assert result.stdout.splitlines()[-1].startswith("core ")  # the in-process figure
