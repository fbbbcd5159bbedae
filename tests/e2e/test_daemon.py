"""Daemon housekeeping: what a crash left in staging is cleaned at start."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Daemon, wait_for

pytestmark = pytest.mark.e2e


def test_start_cleans_partial_uploads_and_stale_parked_files(tmp_path: Path) -> None:
    staging = tmp_path / "data" / "staging" / "demo-billing"
    (staging / "parked").mkdir(parents=True)
    partial = staging / ".upload-deadbeef"
    partial.write_bytes(b"ISA*half an upload")
    stale = staging / "parked" / "old.837.part"
    stale.write_bytes(b"x")
    old = time.time() - 8 * 24 * 3600
    os.utime(stale, (old, old))
    fresh = staging / "parked" / "new.837.part"
    fresh.write_bytes(b"y")
    daemon = Daemon(data_dir=tmp_path / "data", workdir=tmp_path)
    daemon.start()
    try:
        events = wait_for(
            lambda: [e for e in daemon.audit_events() if e["event"] == "staging.cleaned"]
        )
        assert isinstance(events, list)
        assert events[0]["partial_uploads"] == 1 and events[0]["stale_parked"] == 1
        assert not partial.exists() and not stale.exists() and fresh.exists()
    finally:
        assert daemon.stop() == 0, daemon.output()
