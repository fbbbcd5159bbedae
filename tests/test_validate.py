"""``gateway validate``: the daemon's engine as a command (exit codes, acks, summary)."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests import dbs
from tests.x12files import CORPUS, corpus_file, readdress, segments

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


def test_two_inputs_of_one_name_keep_their_own_answers(tmp_path: Path) -> None:
    good = generated(tmp_path)
    other = tmp_path / "other" / "good.837"
    other.parent.mkdir()
    other.write_bytes(b"not x12 at all")
    result = validate(str(good), str(other), "--ack-dir", str(tmp_path / "acks"))
    assert result.returncode == 1, result.stdout + result.stderr
    names = sorted(p.name for p in (tmp_path / "acks").iterdir())
    assert "good.837.999.x12" in names and "good.837.277CA.x12" in names
    assert [n for n in names if n.startswith("good.837.2.")], names  # the second's own
    first = (tmp_path / "acks" / "good.837.999.x12").read_bytes()
    assert next(s for s in segments(first) if s[0] == "AK9")[1] == "A"  # not overwritten


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


# ---------------------------------------------------------------- streaming = in memory


def _in_memory_report(
    files: list[Path], ack_dir: Path, config: Any, partners: Any, now: datetime
) -> str:
    """What ``validate`` printed and wrote before it streamed: every file's bytes and every
    claim in memory (analyze + edit_file + build_277cas), summarised the same way."""
    from gateway.profiles import edit_context, partner_directory
    from gateway.validate import FileSummary, _Claims, _print, summarise
    from gateway.x12 import analyze, build_responses
    from gateway.x12.frontend import build_277cas, edit_file
    from gateway.x12.tokenizer import IsaHeader, tokenize

    directory = partner_directory(config, partners)
    controls = itertools.count(1)
    out = io.StringIO()
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            _print(FileSummary(str(path), False, False, f"cannot read: {exc.strerror}"), out)
            continue
        isa = next((t for t in tokenize(data) if isinstance(t, IsaHeader)), None)
        sender = (isa.segment.elements[4].strip(), isa.segment.elements[5].strip()) if isa else None
        partner = partners.by_interchange(*sender) if sender else None
        uploader = partner.id if partner else ""
        analysis = analyze(data, uploader=uploader, directory=directory)
        context = edit_context(partners, uploader, now.date())
        edits = edit_file(data, analysis, context) if context is not None else ()
        responses = build_responses(
            analysis, directory=directory, duplicates=(), next_control=controls.__next__, now=now
        )
        responses += build_277cas(
            edits,
            analysis,
            directory=directory,
            next_control=controls.__next__,
            now=now,
            received=now.date(),
            trace_prefix="VALIDATE",
        )
        claims = _Claims()
        claims.add_sets(edits)
        summary = summarise(str(path), analysis, claims)
        ack_dir.mkdir(parents=True, exist_ok=True)
        by_kind: dict[str, list[bytes]] = {}
        for response in responses:
            by_kind.setdefault(response.kind, []).append(response.content)
        for kind, contents in by_kind.items():
            suffix = "REJECT.txt" if kind == "REJECT" else f"{kind}.x12"
            target = ack_dir / f"{path.name}.{suffix}"
            target.write_bytes(b"".join(contents))
            summary.acks.append(str(target))
        _print(summary, out)
    return out.getvalue()


def test_streaming_output_equals_the_in_memory_path(tmp_path: Path) -> None:
    from gateway.config import Overrides, load_config
    from gateway.profiles import load_partners
    from gateway.validate import run_validate

    good = generated(tmp_path, 30)
    bad_claim = tmp_path / "bad-claim.837"
    bad_claim.write_bytes(
        good.read_bytes().replace(b"PI*SIM01", b"PI*NOPE1").replace(b"000000077", b"000000078")
    )
    files = [good, bad_claim, tmp_path / "missing.837"]
    for name in (
        "837p/imsweb-x12_many_claims.txt",
        "837p/demo.cob.example4.837",
        "837p-negative/imsweb-x12_bad_valid_code.txt",
        "837i/" + _first("837i"),
    ):
        target = tmp_path / Path(name).name
        target.write_bytes(readdress(corpus_file(name), control=len(files) + 100))
        files.append(target)  # fmt: skip
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"%PDF-1.7 not a claim file")
    files.append(garbage)
    config = load_config(None, Overrides(data_dir=str(tmp_path / "no-store")))
    partners = load_partners(
        str(config.partners_dir),
        own_interchange=(config.interchange_qualifier, config.interchange_id),
    )
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    expected = _in_memory_report(files, tmp_path / "old", config, partners, now)
    out, err = io.StringIO(), io.StringIO()
    run_validate(
        files, config=config, partners=partners, ack_dir=tmp_path / "new", as_json=False,
        out=out, err=err, now=now,
    )  # fmt: skip
    assert out.getvalue() == expected.replace(str(tmp_path / "old"), str(tmp_path / "new"))
    assert "rejected" in expected and "A3:" in expected  # the comparison covers rejections
    old = sorted(p.name for p in (tmp_path / "old").iterdir())
    assert old == sorted(p.name for p in (tmp_path / "new").iterdir())
    assert any(name.endswith("277CA.x12") for name in old)
    for name in old:
        assert (tmp_path / "new" / name).read_bytes() == (tmp_path / "old" / name).read_bytes()
    assert "no claim history" in err.getvalue()


def _first(folder: str) -> str:
    return sorted(p.name for p in (CORPUS / folder).iterdir())[0]


# ---------------------------------------------------------------- memory, history, imports


def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """A 20,000-claim file (7 MB): the in-memory path peaked near 200 MB on it; streamed, the
    process stays near its start-up size. Measured by a small wrapper process (its
    RUSAGE_CHILDREN, so the big pytest process's high-water mark is not inherited)."""
    big = generated(tmp_path, 20_000)
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "gateway.cli", "validate",
         str(big), "--ack-dir", str(tmp_path / "acks")],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.split()[-1]) / 1024
    assert peak_mb < 150, f"peak RSS {peak_mb:.0f} MB"
    assert (tmp_path / "acks" / "good.837.277CA.x12").stat().st_size > 1_000_000


def test_duplicates_come_from_the_store_read_only(tmp_path: Path) -> None:
    """With a store in the data directory, an interchange it has seen is TA1 025 and a claim
    it has accepted is A3:78 — and the store is not written."""
    from gateway.store.sqlite import ClaimRow, Store

    good = generated(tmp_path, 2)
    other = tmp_path / "other.837"
    other.write_bytes(good.read_bytes().replace(b"000000077", b"000000078"))
    data_dir = tmp_path / "data"
    first = validate(str(good), "--data-dir", str(data_dir), "--json")
    assert "no claim history" in first.stderr and first.returncode == 0
    fingerprints = _fingerprints(good)
    store = Store(dbs.configured(data_dir / "gateway.sqlite3"))
    record = store.add_file("demo", "sftp", "x", "y", 1)
    with store.transaction() as tx:
        tx.record_interchange(("ZZ", "DEMOBILLING", "000000077"), record.id, 0, True)
        tx.add_claims([ClaimRow(record.id, "000000077", "0001", 0, "C1", fingerprints[0],
                                "SIM01", "1234567893", "1", "1", True, ())])  # fmt: skip
    store.close()
    before = store_state(data_dir)
    again = validate(str(good), "--data-dir", str(data_dir))
    assert again.returncode == 1 and "rejected TA1 025" in again.stdout, again.stdout
    resent = validate(str(other), "--data-dir", str(data_dir), "--json")
    assert resent.returncode == 1 and "no claim history" not in resent.stderr
    (item,) = json.loads(resent.stdout)[0]["interchanges"]
    assert item["claims_accepted"] == 1, item
    assert item["claims_rejected"][0]["reasons"][0].startswith("A3:78")
    assert store_state(data_dir) == before


def store_state(data_dir: Path) -> object:
    """What would change if the store were written: the file's mtime, or PostgreSQL's rows."""
    if dbs.BASE is None:
        return (data_dir / "gateway.sqlite3").stat().st_mtime_ns
    from gateway.store.sqlite import Store

    store = Store(dbs.configured(data_dir))
    try:
        return [tuple(r) for r in store.query("SELECT * FROM files ORDER BY id")]
    finally:
        store.close()


def _fingerprints(path: Path) -> list[str]:
    from gateway.x12.claims import extract_claims, iter_transaction_sets
    from gateway.x12.edits import claim_fingerprint

    return [
        claim_fingerprint(c)
        for ts in iter_transaction_sets(path.read_bytes())
        for c in extract_claims(ts.segments, ts.delimiters, ts.gs08)
    ]


def test_validate_does_not_import_twisted(tmp_path: Path) -> None:
    good = generated(tmp_path, 1)
    probe = (
        "import sys\n"
        "from gateway.cli import main\n"
        "code = main(['validate', sys.argv[1]])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'twisted'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(good)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_claims_rejected_alike_share_their_reasons() -> None:
    """A file whose claims all fail alike lists every one of them: their reasons are one
    tuple, not one per claim (a 103 MB file of 280,000 claims sharing one CLM01 peaked at
    227 MiB before, 159 MiB after)."""
    from gateway.validate import _Claims
    from gateway.x12.edits import Failure

    claims = _Claims()
    for n in range(3):
        failure = Failure("CLAIM_ID_UNIQUE", "A7", "478", None, f"used by {3}0 claims", None)
        claims.add_sets([_Edited(0, [_Verdict(f"C{n}", (failure,))])])  # type: ignore[list-item]
    (first, second, third) = claims.rejected[0]
    assert first[1] == ("A7:478 used by 30 claims",) and first[1] is second[1] is third[1]


class _Verdict:
    accepted = False

    def __init__(self, claim_id: str, failures: tuple[object, ...]) -> None:
        self.claim_id = claim_id
        self.failures = failures


class _Edited:
    def __init__(self, index: int, verdicts: list[_Verdict]) -> None:
        self.interchange_index = index
        self.verdicts = verdicts
