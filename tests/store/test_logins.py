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
