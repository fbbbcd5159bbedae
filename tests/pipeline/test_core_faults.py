"""A full disk under the pipeline: audit and answer writes fail with ENOSPC. The step must not
die (no file stuck for good, not marked failed), the file waits in its state, and once space
returns the periodic resume processes it and the audit lines that waited go out, chained."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from gateway.audit import AuditLog, read_events
from gateway.audit.chain import verify
from gateway.config import PROJECT_ROOT, GatewayConfig, PipelineConfig
from gateway.pipeline.core import GatewayCore
from gateway.profiles import load_partners
from gateway.states import PROCESSED, RECEIVED, REJECTED, ROUTED
from tests.x12files import corpus_file, readdress


def _full(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest_twisted.ensureDeferred
async def test_a_step_on_a_full_disk_waits_and_resumes_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = GatewayConfig(
        source="test",
        data_dir=tmp_path / "data",
        partners_dir=PROJECT_ROOT / "partners",
        pipeline=PipelineConfig(workers=0, max_retries=1),
    )
    partners = load_partners(config.partners_dir)
    audit = AuditLog(tmp_path / "data" / "log" / "audit.jsonl")
    core = GatewayCore(config, lambda: partners, audit, reactor)
    core.resume_seconds = 0.2
    processed: defer.Deferred[str] = defer.Deferred()
    core.on_processed = lambda file_id: processed.called or processed.callback(file_id)
    core.hold = True  # no processing until the disk is full
    core.startService()
    try:
        temp = core.staging_for("demo-billing") / "complete-upload"
        temp.write_bytes(readdress(corpus_file("837p/uhin-837.edi"), control=7201))
        file_id = await core.accept_upload("demo-billing", "sftp", "claims.837", temp)

        # the disk fills up: the audit file and every new payload (the 999) fail to write
        monkeypatch.setattr(audit._sink.chained, "write", _full)
        monkeypatch.setattr(core.blobs, "put", _full)
        core.hold = False
        record = await core.in_store(core.store.get_file, file_id)
        await core.submit(record)  # must not raise; the answer could not be written
        state = (await core.in_store(core.store.get_file, file_id)).state
        assert state == RECEIVED  # waiting, not failed (max_retries=1 would have failed it)
        assert not audit.writable and audit.write_failures > 0
        assert await core.writable() is False
        # the periodic resume keeps its hands off while the store cannot write
        await core._resume_tick()
        assert not processed.called

        monkeypatch.undo()  # space again: the next resume tick takes the file
        found = await processed.addTimeout(30, reactor)
        assert found == file_id
        # done, not failed (uhin-837's 5-digit billing ZIP makes its 277CA reject the claim)
        state = (await core.in_store(core.store.get_file, file_id)).state
        assert state in (PROCESSED, ROUTED, REJECTED)
        assert await core.writable() is True
    finally:
        await core.stopService()
        audit.close()
    events = [e["event"] for e in read_events(audit.path)]
    assert "audit.recovered" in events
    assert "file.failed" not in events
    assert (
        events.index("file.received") < events.index("file.retry") < events.index("ack.999.written")
    )
    retry = next(e for e in read_events(audit.path) if e["event"] == "file.retry")
    assert retry["reason"] == "storage_full"
    assert verify([audit.path]).broken is None
