"""The routing store (gateway/store/routing.py): batches, routes, payer memory, 835s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.routing import (
    NewBatch,
    NewRemit,
    NewRoute,
    RouteDecision,
    SavedDecision,
)
from gateway.store.sqlite import ClaimRow, FileRecord, Store
from tests import dbs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(dbs.location(tmp_path / "gateway.sqlite3"))
    yield s
    s.close()


def _claim(file_id: str, index: int, clm01: str) -> ClaimRow:
    return ClaimRow(file_id, "000000001", "0001", index, clm01, f"fp{index}", "P1",
                    "1234567893", "10.00", "1", True, ())  # fmt: skip


def _routed(store: Store) -> tuple[FileRecord, int]:
    f = store.add_file("sub", "sftp", "a.x12", "a" * 64, 10)
    with store.transaction() as tx:
        tx.add_claims([_claim(f.id, 0, "C0"), _claim(f.id, 1, "C1")])
        claims = tx.accepted_claim_ids(f.id)
        assert claims == {("000000001", "0001", 0): 1, ("000000001", "0001", 1): 2}
        batch = tx.add_batch(NewBatch("payer", "P1", "000000007", "b" * 64, 99, f.id, 5.0,
                                      "simulated", "T", None))  # fmt: skip
        tx.add_routes(
            NewRoute(claims[("000000001", "0001", n)], batch, "payer", "P1", "000000007", "7",
                     "0001", n, f"C{n}", f.id, "sub", "000000001", "0001", n, "1234567893",
                     "routed", 5.0)
            for n in (0, 1)
        )  # fmt: skip
    return f, batch


def test_routes_wait_for_the_cycle_with_their_batch(store: Store) -> None:
    f, batch = _routed(store)
    with store.transaction() as tx:
        waiting = tx.waiting_routes("payer", ("routed", "pended"))
        assert [(w.clm01, w.out_index, w.batch_sha, w.batch_created, w.usage) for w in waiting] == [
            ("C0", 0, "b" * 64, 5.0, "T"),
            ("C1", 1, "b" * 64, 5.0, "T"),
        ]
        tx.set_route_decisions([RouteDecision("adjudicated", "X1", "{}", 6.0, waiting[0].id)])
        tx.set_route_state(waiting[1].id, "pended", 6.0)
        assert [w.clm01 for w in tx.waiting_routes("payer", ("routed", "pended"))] == ["C1"]
        (route,) = tx.routes_by_clm01("payer", "C0")
        assert (route.state, route.payer_claim_id, route.decision, route.file_id) == (
            "adjudicated",
            "X1",
            "{}",
            f.id,
        )
        assert tx.routes_by_clm01("other-payer", "C0") == []
        assert [r.clm01 for r in tx.routes_by_gs06("payer", "7")] == ["C0", "C1"]
        assert tx.batch_states([batch]) == ["sent"]
        tx.acknowledge_batches([batch])
        assert tx.batch_states([batch]) == ["acknowledged"]


def test_payer_memory_upserts(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.accumulator("P1", "M1", 2026) is None
        tx.save_accumulator("P1", "M1", 2026, "10.00", "20.00")
        tx.save_accumulator("P1", "M1", 2026, "15.00", "30.00")
        assert tx.accumulator("P1", "M1", 2026) == ("15.00", "30.00")
        tx.record_paid("P1", "fp", "X1")
        tx.record_paid("P1", "fp", "X2")
        assert tx.paid_claim("P1", "fp") == "X2"
        tx.forget_paid("P1", "X2")
        assert tx.paid_claim("P1", "fp") is None
        tx.save_decisions([SavedDecision("P1", "X1", '{"v": 1}', None)])
        tx.save_decisions([SavedDecision("P1", "X1", '{"v": 2}', 7)])
        assert tx.decision("P1", "X1") == '{"v": 2}'
        assert tx.decision("P2", "X1") is None
    assert store.query("SELECT route_id FROM decisions")[0][0] == 7


def test_remits_and_their_traces(store: Store) -> None:
    with store.transaction() as tx:
        assert not tx.remit_trace_seen("P1", "T1")
        remit_id = tx.add_remit(
            NewRemit("P1", "1234567893", "", "sub", "T1", "10.00", 1, "000000009", None, None, 1.0)
        )
        assert remit_id == 1
        assert tx.remit_trace_seen("P1", "T1")
        assert not tx.remit_trace_seen("P2", "T1")


def test_a_failed_transaction_leaves_no_route(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.add_batch(NewBatch("payer", "P1", "1", "b" * 64, 1, "f", 1.0, "external", "P", None))
        raise RuntimeError("crash")
    assert store.query("SELECT * FROM batches") == []
