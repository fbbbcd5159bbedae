"""The login_blocks table: password locks and address bans that survive a restart."""

from __future__ import annotations

from pathlib import Path

from gateway.store.logins import LoginBlock, LoginBlocks
from gateway.store.sqlite import Store
from tests import dbs


def test_blocks_persist_extend_expire_and_lift(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    store = Store(dbs.location(path))
    table = LoginBlocks(store)
    table.put(LoginBlock("address", "192.0.2.1", 200.0, "3 user names failed", 100.0))
    table.put(LoginBlock("user", "acme", 150.0, "wrong passwords", 100.0))
    table.put(LoginBlock("user", "acme", 250.0, "wrong passwords", 120.0))  # extended
    store.close()

    store = Store(dbs.location(path))  # a restart
    table = LoginBlocks(store)
    assert [(b.kind, b.subject, b.until) for b in table.active(now=110.0)] == [
        ("address", "192.0.2.1", 200.0),
        ("user", "acme", 250.0),
    ]
    assert [b.subject for b in table.active(now=210.0)] == ["acme"]  # the ban expired
    assert table.active(now=110.0)[0].subject == "acme"  # and is gone for good
    assert [b.kind for b in table.lift("acme")] == ["user"]
    assert table.lift("acme") == []
    assert table.active(now=110.0) == []
    store.close()


def test_failed_logins_are_counted_for_the_cluster_within_the_window(tmp_path: Path) -> None:
    store = Store(dbs.location(tmp_path / "gateway.sqlite3"))
    try:
        table = LoginBlocks(store)
        seen = [
            table.record_failure(
                "192.0.2.9", user, password=True, now=100.0 + n, window=60.0, node=node
            )
            for n, (user, node) in enumerate([("acme", "gw-1"), ("acme", "gw-2"), ("x", "gw-1")])
        ]
        assert (seen[-1].address, seen[-1].address_users) == (3, 2)
        assert seen[1].user == 2
        later = table.record_failure(
            "192.0.2.9", "acme", password=False, now=161.5, window=60.0, node="gw-1"
        )
        assert (later.user, later.address, later.address_users) == (0, 2, 2)  # two expired
        table.put(LoginBlock("address", "192.0.2.9", 999.0, "banned", 161.5))
        after = table.record_failure(
            "192.0.2.9", "acme", password=True, now=162.0, window=60.0, node="gw-1"
        )
        assert (after.user, after.address) == (1, 1)  # the ban forgot what led to it
        table.forget_failures("user", "acme")
        again = table.record_failure(
            "192.0.2.10", "acme", password=True, now=163.0, window=60.0, node="gw-1"
        )
        assert again.user == 1
    finally:
        store.close()
