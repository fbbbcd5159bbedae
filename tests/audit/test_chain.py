"""The audit log as a hash chain: verify names the first broken line; rotation keeps the chain;
a failed write never raises into the gateway and the line goes out once writing works."""

from __future__ import annotations

import errno
import itertools
import json
from pathlib import Path

import pytest

from gateway.audit import AuditLog, read_events
from gateway.audit.chain import GENESIS, ChainedFile, chain_files, line_hash, verify
from gateway.audit.tail import _follow, format_event
from gateway.cli import main


def _write(path: Path, count: int, **kwargs: object) -> AuditLog:
    log = AuditLog(path, **kwargs)  # type: ignore[arg-type]
    for n in range(count):
        log("file.received", file_id=f"F{n:04d}", partner="demo-billing", size=n)
    return log


def test_each_line_carries_the_hash_of_the_line_before(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 3).close()
    raw = path.read_bytes().splitlines()
    assert json.loads(raw[0])["prev"] == GENESIS
    assert json.loads(raw[1])["prev"] == line_hash(raw[0])
    assert json.loads(raw[2])["prev"] == line_hash(raw[1])
    result = verify([path])
    assert result.broken is None and result.lines == 3 and result.last_hash == line_hash(raw[2])
    # the events read as before
    assert [e["file_id"] for e in read_events(path)] == ["F0000", "F0001", "F0002"]
    assert "prev" not in format_event(json.loads(raw[1]))


def test_a_reopened_log_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 2).close()
    _write(path, 2).close()
    assert verify([path]).broken is None


def test_two_writers_on_one_file_chain_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)  # the daemon and `gateway payers run-cycle`
    for n in range(5):
        first("payer.cycle", n=n)
        second("claim.adjudicated", n=n)
    first.close()
    second.close()
    result = verify([path])
    assert result.broken is None and result.lines == 10


@pytest.mark.parametrize(
    ("tamper", "line"),
    [
        (lambda lines: lines.__setitem__(2, lines[2].replace(b"F0002", b"F0009")), 4),
        (lambda lines: lines.__delitem__(1), 2),
        (lambda lines: lines.insert(3, lines[0]), 4),
        (lambda lines: lines.__setitem__(4, b"garbage"), 5),
    ],
    ids=["changed", "removed", "inserted", "not-json"],
)
def test_verify_names_the_first_broken_line(tmp_path: Path, tamper: object, line: int) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 6).close()
    lines = path.read_bytes().splitlines()
    tamper(lines)  # type: ignore[operator]
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    broken = verify([path]).broken
    assert broken is not None and broken.file == path and broken.line == line


def test_rotation_keeps_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "log" / "audit.jsonl"
    _write(path, 40, max_bytes=2000).close()
    files = chain_files(path)
    assert len(files) >= 3 and files[-1] == path
    assert all(f.stat().st_size <= 2000 for f in files)
    # the first line of each file carries the hash of the last line of the one before
    for older, newer in itertools.pairwise(files):
        last = older.read_bytes().splitlines()[-1]
        assert json.loads(newer.read_bytes().splitlines()[0])["prev"] == line_hash(last)
    result = verify(files)
    assert result.broken is None and result.lines == 40
    # a rotated file taken away breaks the chain at the next file's first line
    broken = verify(files[:1] + files[2:]).broken
    assert broken is not None and broken.file == files[2] and broken.line == 1
    # the current file alone verifies (its first prev is the anchor)
    assert verify([path]).broken is None


def test_a_log_opened_after_rotation_chains_to_the_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 3).close()
    path.rename(tmp_path / "audit.jsonl.20260101T000000000000Z")  # rotated by someone else
    _write(path, 2).close()
    assert verify(chain_files(path)).broken is None


class _Full:
    """Makes the audit file's writes fail with ENOSPC while ``full`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, chained: ChainedFile) -> None:
        self.full = True
        original = chained.write

        def write(message: str) -> None:
            if self.full:
                raise OSError(errno.ENOSPC, "No space left on device")
            original(message)

        monkeypatch.setattr(chained, "write", write)


def test_a_failed_write_never_raises_and_the_line_goes_out_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log("gateway.started")
    disk = _Full(monkeypatch, log._sink.chained)
    log("file.received", file_id="F1")  # must not raise
    log("file.processing", file_id="F1")
    assert not log.writable and log.write_failures == 2
    assert not log.flush()
    disk.full = False
    assert log.flush() and log.writable
    log("file.processed", file_id="F1")
    log.close()
    events = [e["event"] for e in read_events(path)]
    assert events == [
        "gateway.started",
        "file.received",
        "file.processing",
        "audit.recovered",
        "file.processed",
    ]
    recovered = next(e for e in read_events(path) if e["event"] == "audit.recovered")
    assert recovered["failed_writes"] == 3 and recovered["dropped_events"] == 0
    assert verify([path]).broken is None


def test_the_waiting_queue_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log._sink._max_pending = 3
    disk = _Full(monkeypatch, log._sink.chained)
    for n in range(5):
        log("file.retry", n=n)
    disk.full = False
    log.close()
    events = list(read_events(path))
    assert [e.get("n") for e in events[:3]] == [2, 3, 4]
    assert events[3]["event"] == "audit.recovered" and events[3]["dropped_events"] == 2


def test_a_torn_write_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC after part of a line: the file is truncated back, the chain stays whole."""
    import os

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log("gateway.started")
    real_write = os.write
    calls = {"n": 0}

    def torn(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("gateway.audit.chain.os.write", torn)
    log("file.received", file_id="F1")
    assert not log.writable
    monkeypatch.setattr("gateway.audit.chain.os.write", real_write)
    log.close()
    assert [e["event"] for e in read_events(path)] == [
        "gateway.started",
        "file.received",
        "audit.recovered",
    ]
    assert verify([path]).broken is None


def test_a_broken_console_does_not_break_the_audit(tmp_path: Path) -> None:
    class Broken:
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    log = AuditLog(tmp_path / "audit.jsonl", console=Broken())  # type: ignore[arg-type]
    log("file.received", file_id="F1")
    log.close()
    assert [e["event"] for e in read_events(tmp_path / "audit.jsonl")] == ["file.received"]


def test_cli_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 4).close()
    assert main(["audit", "verify", str(path)]) == 0
    assert "OK 4 line(s) in 1 file(s), chained from the start" in capsys.readouterr().out
    lines = path.read_bytes().splitlines()
    lines[1] = lines[1].replace(b"F0001", b"F9999")
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    assert main(["audit", "verify", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"BROKEN {path}:3: prev does not match" in err and "audit.jsonl:2" in err
    assert main(["audit", "verify", str(tmp_path / "none.jsonl")]) == 2


def test_cli_verify_reads_the_rotations_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    _write(data / "log" / "audit.jsonl", 30, max_bytes=1500).close()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "OK 30 line(s)" in out and "file(s)" in out and " 1 file(s)" not in out


def test_tail_follows_across_rotation(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, max_bytes=1500)
    log("file.received", file_id="F0")
    handle = open(path, encoding="utf-8")
    handle.read()
    lines = _follow(handle, poll=0.01, path=path)
    written = []
    n = 1
    while len(chain_files(path)) < 2 or len(written) < 12:  # one rotation, lines on both sides
        log("file.received", file_id=f"F{n}")
        written.append(f"F{n}")
        n += 1
    log.close()
    assert len(chain_files(path)) == 2
    seen = [json.loads(next(lines))["file_id"] for _ in written]
    assert seen == written


def test_readers_see_the_rotated_events_without_the_chain(tmp_path: Path) -> None:
    from gateway.audit import read_all_events

    path = tmp_path / "audit.jsonl"
    _write(path, 30, max_bytes=1500).close()
    assert len(chain_files(path)) > 1
    events = list(read_all_events(path))
    assert [e["file_id"] for e in events] == [f"F{n:04d}" for n in range(30)]
    assert all("prev" not in e for e in events)
