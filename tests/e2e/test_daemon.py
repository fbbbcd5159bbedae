"""Daemon housekeeping: what a crash left in staging is cleaned at start."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gateway.parked import ParkedDir
from tests.e2e.conftest import Daemon, wait_for

pytestmark = pytest.mark.e2e


def test_start_cleans_partial_uploads_and_stale_parked_files(tmp_path: Path) -> None:
    staging = tmp_path / "data" / "staging" / "demo-billing"
    (staging / "parked").mkdir(parents=True)
    partial = staging / ".upload-deadbeef"
    partial.write_bytes(b"ISA*half an upload")
    parked = ParkedDir(staging / "parked")
    (staging / "x").write_bytes(b"x")
    parked.park(staging / "x", "old.837.part")
    stale = parked.find("old.837.part")
    assert stale is not None and stale.side is not None
    old = time.time() - 8 * 24 * 3600
    os.utime(stale.path, (old, old))
    (staging / "y").write_bytes(b"y")
    parked.park(staging / "y", "new.837.part")
    fresh = parked.find("new.837.part")
    assert fresh is not None
    daemon = Daemon(data_dir=tmp_path / "data", workdir=tmp_path)
    daemon.start()
    # an upload that began after the daemon started (its listeners may be up before the
    # clean-up runs): alive, never removed, whatever its file time (the exact race is
    # tests/pipeline/test_core_staging.py)
    alive = staging / ".api-cafebabe"
    alive.write_bytes(b"ISA*an upload under way")
    earlier = time.time() - 3600
    os.utime(alive, (earlier, earlier))
    try:
        events = wait_for(
            lambda: [e for e in daemon.audit_events() if e["event"] == "staging.cleaned"]
        )
        assert isinstance(events, list)
        # one stale upload: its bytes and its .name side file, counted once
        assert events[0]["partial_uploads"] == 1 and events[0]["stale_parked"] == 1
        assert not partial.exists() and not stale.path.exists() and not stale.side.exists()
        assert alive.exists()
        assert fresh.path.exists() and [e.name for e in parked.entries()] == ["new.837.part"]
    finally:
        assert daemon.stop() == 0, daemon.output()
