"""Two GatewayCores on one database (two nodes): a file leased by a live node is left alone; once
that node stops renewing (it died), the other takes the file and answers it once. A payer
cycle leased by one node is skipped by the other."""

from __future__ import annotations

import time
from pathlib import Path

import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import deferLater

from gateway.audit import AuditLog
from gateway.config import PROJECT_ROOT, ClusterConfig, GatewayConfig, PipelineConfig
from gateway.pipeline.core import GatewayCore
from gateway.profiles import load_partners
from gateway.states import ROUTED
from gateway.store.leases import CYCLE
from tests import dbs
from tests.pipeline.test_routing import GEN


def _core(tmp_path: Path, node: str, partners: object) -> tuple[GatewayCore, AuditLog]:
    data = tmp_path / "data"
    config = GatewayConfig(
        source="test",
        data_dir=data,
        partners_dir=PROJECT_ROOT / "partners",
        pipeline=PipelineConfig(workers=0),
        cluster=ClusterConfig(node_id=node, lease_seconds=1.0),
        **dbs.settings(data),  # type: ignore[arg-type]
    )
    audit = AuditLog(tmp_path / node / "audit.jsonl", node=node)
    return GatewayCore(config, lambda: partners, audit, reactor), audit  # type: ignore[arg-type,return-value]


@pytest_twisted.ensureDeferred
async def test_a_dead_nodes_file_is_finished_by_the_other_node(tmp_path: Path) -> None:
    partners = load_partners(PROJECT_ROOT / "partners")
    a, audit_a = _core(tmp_path, "gw-a", partners)
    b, audit_b = _core(tmp_path, "gw-b", partners)
    a.hold = True  # a received the file and never got to it
    a.startService()
    b.startService()
    try:
        temp = a.staging_for("demo-billing") / "complete-upload"
        temp.write_bytes(GEN.render(GEN.interchange(3, 7311, usage="T")))  # type: ignore[attr-defined]
        file_id = await a.accept_upload("demo-billing", "sftp", "claims.837", temp)
        await b.resume()
        await deferLater(reactor, 0.5, lambda: None)
        assert not b._running  # a's lease is alive (renewed)
        record = await b.in_store(b.store.get_file, file_id)
        assert record is not None and record.state == "received"

        assert a._renewer is not None
        a._renewer.stop()  # a dies: its lease is no longer renewed
        await deferLater(reactor, 1.2, lambda: None)
        done: defer.Deferred[str] = defer.Deferred()
        b.on_processed = lambda fid: done.called or done.callback(fid)
        await b.resume()
        assert await done.addTimeout(30, reactor) == file_id
        record = await b.in_store(b.store.get_file, file_id)
        assert record is not None and record.state == ROUTED
        responses = await b.in_store(b.store.responses_for, file_id)
        assert sorted(r.kind for r in responses) == ["277CA", "999"]
        with b.store.transaction() as tx:
            assert tx.leases("file") == []  # b released it when done
    finally:
        await b.stopService()
        await a.stopService()
        audit_a.close()
        audit_b.close()


@pytest_twisted.ensureDeferred
async def test_one_payer_cycle_at_a_time_across_the_nodes(tmp_path: Path) -> None:
    partners = load_partners(PROJECT_ROOT / "partners")
    a, audit_a = _core(tmp_path, "gw-a", partners)
    a.payers = lambda: {"sim01": object()}  # type: ignore[assignment,dict-item]
    a.startService()
    try:
        b_holder = type(a.holder)("gw-b", "gw-b/1")
        assert a.store.take_lease(CYCLE, "sim01", b_holder, 30.0)  # gw-b runs sim01's cycle
        assert await a.run_payer_cycles() == []  # so gw-a skips it
        with a.store.transaction() as tx:
            (lease,) = tx.leases(CYCLE)
            assert lease.node == "gw-b" and lease.expires_at > time.time()
    finally:
        await a.stopService()
        audit_a.close()
