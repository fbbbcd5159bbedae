"""Work leases (gateway/store/leases.py) and cluster-wide control numbers, on SQLite and (with
GATEWAY_TEST_DATABASE) on PostgreSQL, where two stores on one database stand for two nodes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.leases import CYCLE, FILE, Holder
from gateway.store.sqlite import PROCESSED, Store
from tests import dbs


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database (two nodes' connections; one file on SQLite)."""
    where = dbs.location(tmp_path / "gateway.sqlite3")
    a = Store(where)
    b = Store(where)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


A = Holder("gw-a", "gw-a/1")
A_RESTARTED = Holder("gw-a", "gw-a/2")
B = Holder("gw-b", "gw-b/1")


def test_a_lease_is_held_until_it_expires_or_is_released(nodes: tuple[Store, Store]) -> None:
    a, b = nodes
    now = time.time()
    with a.transaction() as tx:
        assert tx.take_lease(CYCLE, "sim01", A, now, 30.0)
        assert tx.take_lease(CYCLE, "sim01", A, now, 30.0)  # kept by its holder
    with b.transaction() as tx:
        assert not tx.take_lease(CYCLE, "sim01", B, now + 29.0, 30.0)
        assert tx.take_lease(CYCLE, "sim01", B, now + 31.0, 30.0)  # expired: B takes it
        assert tx.holds_lease(CYCLE, "sim01", B) and not tx.holds_lease(CYCLE, "sim01", A)
    with a.transaction() as tx:
        tx.release_lease(CYCLE, "sim01", A)  # not A's any more: nothing happens
        assert tx.holds_lease(CYCLE, "sim01", B)
    b.release_lease(CYCLE, "sim01", B)
    assert a.take_lease(CYCLE, "sim01", A, 30.0)


def test_renewal_keeps_a_lease_and_a_restarted_node_reclaims_its_own(
    nodes: tuple[Store, Store],
) -> None:
    a, b = nodes
    now = time.time()
    with a.transaction() as tx:
        assert tx.take_lease(FILE, "F1", A, now, 10.0)
        assert tx.take_lease(FILE, "F2", A, now, 10.0)
        assert tx.renew_leases(A, now + 9.0, 10.0) == 2
    with b.transaction() as tx:
        assert not tx.take_lease(FILE, "F1", B, now + 15.0, 10.0)  # renewed until now + 19
        # the same node after a restart (a new process) takes its leases back at once ...
        assert not tx.take_lease(FILE, "F2", A_RESTARTED, now + 15.0, 10.0)
        assert tx.take_lease(FILE, "F2", A_RESTARTED, now + 15.0, 10.0, reclaim=True)
    assert a.release_leases(A) == 1  # ... and the old process's other lease goes on a stop
    assert [lease.item for lease in _leases(a)] == ["F2"]


def _leases(store: Store) -> list:  # type: ignore[type-arg]
    with store.transaction() as tx:
        return tx.leases()


def test_received_files_are_claimed_once_and_a_dead_nodes_files_after_expiry(
    nodes: tuple[Store, Store],
) -> None:
    a, b = nodes
    leased = a.add_file("sub", "sftp", "one.x12", "a" * 64, 10, lease=(A, 30.0))
    free = a.add_file("sub", "sftp", "two.x12", "b" * 64, 10)  # received before the leases
    done = a.add_file("sub", "sftp", "three.x12", "c" * 64, 10)
    with a.transaction() as tx:
        tx.set_state(done.id, "routed")
        tx.set_state(free.id, PROCESSED)
    assert [f.id for f in b.claim_files(B, 30.0)] == [free.id]  # A works on the first
    assert b.claim_files(B, 30.0)[0].state == PROCESSED  # B's own: claimed again, same file
    assert [f.id for f in a.claim_files(A, 30.0)] == [leased.id]
    now = time.time()
    with b.transaction() as tx:
        found = tx.claim_files(("received", "processed"), B, now + 31.0, 30.0)
    assert [f.id for f in found] == [leased.id, free.id]  # A died: its lease lapsed
    with a.transaction() as tx:
        assert not tx.take_lease(FILE, leased.id, A, now + 32.0, 30.0)
    # a restarted B takes back what B held
    again = Holder("gw-b", "gw-b/2")
    assert [f.id for f in a.claim_files(again, 30.0, reclaim=True)] == [leased.id, free.id]


def test_control_numbers_are_unique_across_nodes_and_continue_the_counter(
    nodes: tuple[Store, Store],
) -> None:
    a, b = nodes
    with a.transaction() as tx:
        tx.next_counter("control")
        tx.next_counter("control")
    seen = []
    for _ in range(5):
        for store in (a, b):
            with store.transaction() as tx:
                seen.append(tx.next_counter("control"))
    assert len(set(seen)) == 10 and min(seen) == 3
    with a.transaction() as tx:
        assert tx.next_counter("trace:SIM01") == 1
        assert tx.next_counter("tiny", modulo=2) == 1
        assert tx.next_counter("tiny", modulo=2) == 2
        assert tx.next_counter("tiny", modulo=2) == 1  # wraps


@pytest.mark.skipif(dbs.BASE is None, reason="PostgreSQL only: GATEWAY_TEST_DATABASE is not set")
def test_postgresql_sequence_starts_after_a_counter_kept_before(tmp_path: Path) -> None:
    store = Store(dbs.location(tmp_path / "gateway.sqlite3"))
    try:
        with store.transaction() as tx:
            tx._sql.execute("INSERT INTO counters (name, value) VALUES ('control', 41)")
        with store.transaction() as tx:
            assert tx.next_counter("control") == 42
        rows = store.query("SELECT sequencename FROM pg_sequences")
        assert any(r[0].startswith("gw_ctr_control_") for r in rows)
        assert store.writable()  # /readyz's probe (a write within seconds, no write lock)
    finally:
        store.close()
