from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.blobs import BlobStore
from gateway.store.sqlite import PROCESSED, RECEIVED, Store, new_file_id, utc_stamp
from tests import dbs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(dbs.location(tmp_path / "db" / "gateway.sqlite3"))
    yield s
    s.close()


@pytest.mark.skipif(dbs.BASE is not None, reason="SQLite's journal mode")
def test_wal_and_schema(store: Store) -> None:
    mode = store.query("PRAGMA journal_mode")[0][0]
    assert mode == "wal"
    assert store.writable()


def test_file_ids_are_unique_and_sortable() -> None:
    ids = [new_file_id(1_700_000_000 + n) for n in range(50)]
    assert ids == sorted(ids)
    assert len({new_file_id() for _ in range(1000)}) == 1000
    assert all(len(i) == 26 and "_" not in i for i in ids)


def test_add_and_resume_files(store: Store) -> None:
    a = store.add_file("p1", "sftp", "a.x12", "a" * 64, 10)
    b = store.add_file("p1", "sftp", "b.x12", "b" * 64, 20)
    assert [f.id for f in store.files_in_state(RECEIVED)] == [a.id, b.id]
    with store.transaction() as tx:
        tx.set_state(a.id, PROCESSED)
    assert [f.id for f in store.files_in_state(RECEIVED)] == [b.id]
    assert store.note_attempt(b.id) == 1
    assert store.note_attempt(b.id) == 2
    store.mark_failed(b.id, "boom")
    failed = store.get_file(b.id)
    assert failed is not None and failed.state == "failed" and failed.error == "boom"


def test_transaction_rolls_back_everything(store: Store) -> None:
    f = store.add_file("p1", "sftp", "a.x12", "a" * 64, 10)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.next_counter("control")
        tx.add_mailbox("p1", "x_999.x12", "999", f.id, "c" * 64, 5, 1.0)
        tx.set_state(f.id, PROCESSED)
        raise RuntimeError("crash in the middle")
    assert store.list_mailbox("p1") == []
    assert store.get_file(f.id).state == RECEIVED  # type: ignore[union-attr]
    with store.transaction() as tx:
        assert tx.next_counter("control") == 1


def test_counters_are_durable_and_wrap(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    s = Store(dbs.location(path))
    with s.transaction() as tx:
        assert [tx.next_counter("control") for _ in range(3)] == [1, 2, 3]
        assert [tx.next_counter("small", modulo=2) for _ in range(3)] == [1, 2, 1]
    s.close()
    s = Store(dbs.location(path))
    with s.transaction() as tx:
        assert tx.next_counter("control") == 4
    s.close()


def test_interchanges_seen_by_other_files_only(store: Store) -> None:
    f1 = store.add_file("p1", "sftp", "a", "a" * 64, 1)
    f2 = store.add_file("p1", "sftp", "b", "b" * 64, 1)
    key = ("ZZ", "DEMOBILLING", "000000001")
    with store.transaction() as tx:
        tx.record_interchange(key, f1.id, 0, True)
    with store.transaction() as tx:
        assert tx.seen_interchanges([key], exclude_file=f1.id) == set()
        assert tx.seen_interchanges([key], exclude_file=f2.id) == {key}


def test_mailbox_pick_up_once(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_mailbox("p1", "one.x12", "999", None, "d" * 64, 7, 1.0)
        tx.add_mailbox("p2", "two.x12", "999", None, "d" * 64, 7, 2.0)
    assert [m.name for m in store.list_mailbox("p1")] == ["one.x12"]
    assert store.mailbox_entry("p1", "two.x12") is None  # another partner's file
    assert store.pick_up("p1", "one.x12") is not None
    assert store.pick_up("p1", "one.x12") is None
    assert store.list_mailbox("p1") == []


def test_thread_safety(store: Store) -> None:
    def work() -> None:
        for _ in range(50):
            with store.transaction() as tx:
                tx.next_counter("c")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.transaction() as tx:
        assert tx.next_counter("c") == 201


def test_blob_store_adopt_and_put(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    temp = tmp_path / "upload.tmp"
    temp.write_bytes(b"ISA*...")
    sha, size = blobs.adopt(temp)
    assert size == 7 and not temp.exists()
    assert blobs.read(sha) == b"ISA*..."
    # the same content again is deduplicated
    temp.write_bytes(b"ISA*...")
    assert blobs.adopt(temp) == (sha, 7) and not temp.exists()
    assert blobs.put(b"ISA*...") == sha
    with pytest.raises(ValueError):
        blobs.path("../../etc/passwd")


def test_utc_stamp() -> None:
    assert utc_stamp(0) == "19700101000000"
