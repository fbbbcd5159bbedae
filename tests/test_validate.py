"""``gateway validate``: the daemon's engine as a command (exit codes, acks, summary)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.x12files import corpus_file, readdress, segments

ROOT = Path(__file__).resolve().parent.parent


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "validate", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def generated(tmp_path: Path, claims: int = 4) -> Path:
    out = subprocess.run(
        [sys.executable, "scripts/gen_837.py", "--seed=1", f"--claims={claims}", "--control=77"],
        capture_output=True,
        cwd=ROOT,
        check=True,
    ).stdout
    path = tmp_path / "good.837"
    path.write_bytes(out)
    return path


def test_clean_file_exits_0_and_writes_999_and_277ca(tmp_path: Path) -> None:
    good = generated(tmp_path)
    result = validate(str(good), "--ack-dir", str(tmp_path / "acks"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ACCEPTED" in result.stdout and "4 accepted, 0 rejected" in result.stdout
    ack = (tmp_path / "acks" / "good.837.999.x12").read_bytes()
    assert next(s for s in segments(ack) if s[0] == "AK9")[1] == "A"
    ca = (tmp_path / "acks" / "good.837.277CA.x12").read_bytes()
    assert b"ST*277*" in ca and b"005010X214" in ca


def test_bad_claims_and_bad_files_exit_1_with_reasons(tmp_path: Path) -> None:
    good = generated(tmp_path, 2)
    bad_claim = tmp_path / "bad-claim.837"
    bad_claim.write_bytes(good.read_bytes().replace(b"PI*SIM01", b"PI*NOPE1"))
    broken = tmp_path / "broken.837"
    broken.write_bytes(
        readdress(corpus_file("837p-negative/imsweb-x12_bad_valid_code.txt"), control=5)
    )
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"%PDF-1.7 not a claim file")
    result = validate(
        str(bad_claim), str(broken), str(garbage), "--ack-dir", str(tmp_path / "a"), "--json"
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [r["accepted"] for r in report] == [False, False, False]
    rejected = report[0]["interchanges"][0]["claims_rejected"]
    assert rejected and rejected[0]["reasons"][0].startswith("A3:116")
    sets = report[1]["interchanges"][0]["transaction_sets"]
    assert sets[0]["accepted"] is False and sets[0]["errors"]
    assert report[2]["readable"] is False
    assert (tmp_path / "a" / "garbage.txt.REJECT.txt").exists()
    assert (tmp_path / "a" / "broken.837.999.x12").exists()


def test_missing_file_is_reported_not_a_traceback(tmp_path: Path) -> None:
    result = validate(str(tmp_path / "nope.837"))
    assert result.returncode == 1
    assert "cannot read" in result.stdout and "Traceback" not in result.stderr
