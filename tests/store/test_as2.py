"""The AS2 store (gateway/store/as2.py): a pending message resolved against intake, the MDN
outbox, deliveries planned from the mailbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store import as2
from gateway.store.sqlite import Store
from tests import dbs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(dbs.location(tmp_path / "gateway.sqlite3"))
    yield s
    s.close()


def _reserve(store: Store, message_id: str, sha256: str, async_url: str | None = None) -> None:
    as2.reserve(store, as2_from="A", message_id=message_id, partner_id="p", sha256=sha256,
                disposition="processed", headers=[("X", "1")], body=b"mdn",
                async_url=async_url)  # fmt: skip


def test_pending_message_is_resolved_against_intake(store: Store) -> None:
    _reserve(store, "m1", "a" * 64)
    assert as2.seen(store, "A", "m1") is None  # intake never stored it: forgotten
    _reserve(store, "m1", "a" * 64)
    f = store.add_file("p", "as2", "m1.x12", "a" * 64, 3)
    done = as2.seen(store, "A", "m1")  # intake committed before the crash: done
    assert done is not None and (done.state, done.file_id, done.headers, done.body) == (
        as2.DONE,
        f.id,
        [("X", "1")],
        b"mdn",
    )


def test_completed_message_queues_its_async_mdn(store: Store) -> None:
    _reserve(store, "m2", "b" * 64, async_url="https://example.invalid/mdn")
    mdn_id = as2.complete(store, "A", "m2", "file-1", first_try=0.0)
    assert mdn_id is not None
    (queued,) = as2.due_mdns(store, now=1.0)
    assert (queued.id, queued.url, queued.state) == (
        mdn_id,
        "https://example.invalid/mdn",
        "pending",
    )
    assert as2.mdn_attempt_failed(store, mdn_id, "boom", [10.0]) == (1, 10.0)
    assert as2.due_mdns(store, now=1.0) == []
    assert as2.mdn_attempt_failed(store, mdn_id, "boom", [10.0]) == (2, None)
    assert [m.state for m in as2.mdn_outbox(store)] == [as2.FAILED]


def test_deliveries_are_planned_once_and_cancelled_when_picked_up(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_mailbox("p", "a.x12", "999", None, "c" * 64, 1, 1.0)
        tx.add_mailbox("p", "b.x12", "999", None, "d" * 64, 1, 2.0)
    ids = iter(["<1@x>", "<2@x>"])
    assert as2.plan_deliveries(store, ["p"], lambda: next(ids)) == 2
    assert as2.plan_deliveries(store, ["p"], lambda: "<never@x>") == 0
    store.pick_up("p", "b.x12")
    as2.plan_deliveries(store, ["p"], lambda: "<never@x>")
    assert [(d.mailbox_name, d.state) for d in as2.deliveries(store, "p")] == [
        ("a.x12", as2.PENDING),
        ("b.x12", as2.CANCELLED),
    ]
    first = as2.delivery_by_message_id(store, "<1@x>")
    assert first is not None
    done = as2.delivered(store, first.id, "processed")
    assert done is not None and done.state == as2.DELIVERED
    assert as2.delivered(store, first.id, "processed") is None  # a repeated MDN
    assert store.list_mailbox("p") == []
