"""The daemon's two steps for a received file (TA1/999, then claims and 277CA) across a restart:
the claims' step follows the answer already sent, even when a new guide pass would not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest_twisted
from twisted.internet import defer, reactor

from gateway.audit import AuditLog
from gateway.config import PROJECT_ROOT, GatewayConfig, PipelineConfig
from gateway.pipeline.core import GatewayCore
from gateway.pipeline.steps import analyze_only, commit_acks
from gateway.profiles import load_partners, partner_directory
from gateway.states import REJECTED
from gateway.x12 import EnvelopeParty
from tests.pipeline.test_routing import GEN


@pytest_twisted.ensureDeferred
async def test_restart_between_the_steps_follows_the_answer_already_sent(tmp_path: Path) -> None:
    config = GatewayConfig(
        source="test",
        data_dir=tmp_path / "data",
        partners_dir=PROJECT_ROOT / "partners",
        pipeline=PipelineConfig(workers=0),
    )
    partners = load_partners(config.partners_dir)
    audit = AuditLog(tmp_path / "data" / "log" / "audit.jsonl")
    core = GatewayCore(config, lambda: partners, audit, reactor)
    core.hold = True
    core.startService()
    try:
        temp = core.staging_for("demo-billing") / "complete-upload"
        temp.write_bytes(GEN.render(GEN.interchange(5, 7301, usage="T")))  # type: ignore[attr-defined]
        file_id = await core.accept_upload("demo-billing", "sftp", "claims.837", temp)
        record = await core.in_store(core.store.get_file, file_id)
        # The first step ran while demo-billing's profile allowed production only: TA1 020,
        # no 999. Then the daemon died, and the profile was changed before it came back.
        strict = partner_directory(config, partners)
        party = strict.parties[("ZZ", "DEMOBILLING")]
        strict = replace(
            strict,
            parties={**strict.parties, ("ZZ", "DEMOBILLING"): EnvelopeParty(
                party.partner_id, frozenset({"P"})
            )},
        )  # fmt: skip
        path = str(core.blobs.path(record.sha256))
        acks = await core.in_store(
            commit_acks, core.store, core.blobs, record, analyze_only(path, "demo-billing", strict),
            strict, 1_790_000_000.0,
        )  # fmt: skip
        assert [p.kind for p in acks.placed] == ["TA1", "REPORT"]

        done: defer.Deferred[str] = defer.Deferred()
        core.on_processed = lambda fid: done.called or done.callback(fid)
        core.hold = False
        await core.resume()
        await done.addTimeout(30, reactor)
        state = (await core.in_store(core.store.get_file, file_id)).state
        assert state == REJECTED  # nothing went on: the submitter was told it was rejected
        mailbox = await core.in_store(core.store.list_mailbox, "demo-billing")
        kinds = sorted(m.kind for m in mailbox)
        assert kinds == ["REPORT", "TA1"]  # no 999, no 277CA after the restart
        claims = await core.in_store(core.store.claims_for, file_id)
        # recorded for claim status only: rejected with the TA1's reason, none accepted
        assert claims and {(c.accepted, c.codes) for c in claims} == {(False, ("A3:21", "TA1:020"))}
    finally:
        await core.stopService()
        audit.close()
