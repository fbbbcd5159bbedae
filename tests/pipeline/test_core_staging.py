"""The start-up clean-up of staging removes the upload temp files a crash left, and never an
upload that began after the start — whatever its file time says (file times come from a
coarse clock that can lag ``time.time()``: an upload a millisecond after the start looked
older than the start, and the clean-up deleted it under the client, who got a 500)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import pytest_twisted

from gateway.pipeline.core import GatewayCore
from tests.pipeline.test_core_statements import _core


@pytest_twisted.ensureDeferred
async def test_only_what_was_there_at_the_start_is_cleaned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    core, events = _core(tmp_path)
    staging = core.staging_dir / "demo-billing"
    staging.mkdir(parents=True)
    crashed = staging / ".upload-deadbeef"
    crashed.write_bytes(b"ISA*half an upload")
    monkeypatch.setattr(core, "_clean_staging", lambda: None)  # run by the test, below
    core.startService()
    try:
        # an upload that began after the start, its file time before it (the coarse clock)
        alive = staging / ".api-cafebabe"
        alive.write_bytes(b"ISA*an upload under way")
        earlier = time.time() - 3600
        os.utime(alive, (earlier, earlier))
        await GatewayCore._clean_staging(core)
        assert not crashed.exists()
        assert alive.exists()
        assert [f for e, f in events if e == "staging.cleaned"] == [
            {"partial_uploads": 1, "stale_parked": 0}
        ]
    finally:
        await core.stopService()
