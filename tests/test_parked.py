"""Parked uploads on disk: ``u-<uuid>`` plus a ``.name`` side file, whatever the client's name."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gateway.parked import ParkedDir, clean_parked

LONG = "x" * 136 + ".tmp"  # 140 characters: hex-encoded, it was 282 bytes on disk


def upload(tmp_path: Path, data: bytes) -> Path:
    source = tmp_path / f".upload-{time.time_ns()}"
    source.write_bytes(data)
    return source


def test_long_and_unusual_names_round_trip(tmp_path: Path) -> None:
    parked = ParkedDir(tmp_path / "parked")
    names = [LONG, "é è.part", ".hidden", "ü" * 120 + ".tmp"]  # the last: 244 bytes of UTF-8
    for i, name in enumerate(names):
        parked.park(upload(tmp_path, bytes([i])), name)
    on_disk = os.listdir(tmp_path / "parked")
    assert all(len(host.encode()) <= 42 for host in on_disk)
    assert len(on_disk) == 2 * len(names)
    assert sorted(e.name for e in parked.entries()) == sorted(names)
    entry = parked.find(LONG)
    assert entry is not None and entry.path.read_bytes() == b"\x00"

    parked.park(upload(tmp_path, b"again"), LONG)  # same name: replaced, not doubled
    assert len(os.listdir(tmp_path / "parked")) == 2 * len(names)
    assert parked.find(LONG).path.read_bytes() == b"again"  # type: ignore[union-attr]

    parked.rename(parked.find(LONG), "b.tmp")  # type: ignore[arg-type]
    assert parked.find(LONG) is None and parked.find("b.tmp") is not None
    parked.rename(parked.find("b.tmp"), ".hidden")  # type: ignore[arg-type]  # onto another
    assert parked.find(".hidden").path.read_bytes() == b"again"  # type: ignore[union-attr]
    assert len(parked.entries()) == len(names) - 1
    parked.remove(parked.find(".hidden"))  # type: ignore[arg-type]
    assert len(os.listdir(tmp_path / "parked")) == 2 * (len(names) - 2)


def test_earlier_layout_is_still_listed(tmp_path: Path) -> None:
    directory = tmp_path / "parked"
    directory.mkdir()
    (directory / ("p-" + b"a.tmp".hex())).write_bytes(b"old")
    parked = ParkedDir(directory)
    assert [e.name for e in parked.entries()] == ["a.tmp"]
    parked.rename(parked.find("a.tmp"), "b.tmp")  # type: ignore[arg-type]
    assert [e.name for e in parked.entries()] == ["b.tmp"]
    assert parked.find("b.tmp").side is not None  # type: ignore[union-attr]


def test_cleanup_counts_uploads_not_side_files(tmp_path: Path) -> None:
    directory = tmp_path / "parked"
    parked = ParkedDir(directory)
    parked.park(upload(tmp_path, b"1"), "old-one.tmp")
    parked.park(upload(tmp_path, b"2"), LONG)
    parked.park(upload(tmp_path, b"3"), "fresh.tmp")
    week_ago = time.time() - 8 * 86400
    for name in ("old-one.tmp", LONG):
        entry = parked.find(name)
        assert entry is not None
        os.utime(entry.path, (week_ago, week_ago))
    # what a crash can leave: a side file whose bytes never moved in, a half-written one
    (directory / ("u-" + "0" * 32 + ".name")).write_text("lost.tmp")
    (directory / ("u-" + "1" * 32 + ".name.tmp")).write_text("lost")
    assert clean_parked(directory, time.time() - 7 * 86400) == 2
    assert [e.name for e in parked.entries()] == ["fresh.tmp"]
    assert len(os.listdir(directory)) == 2
    assert clean_parked(tmp_path / "none", 0) == 0
