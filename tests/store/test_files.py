"""The files store (gateway/store/files.py): accepted sets, claims, mailbox names."""

from __future__ import annotations

from pathlib import Path

from gateway.store.files import FINGERPRINT_BATCH, ClaimRow
from gateway.store.sqlite import AcceptedSet, Store
from tests import dbs


def test_accepted_sets_and_mailbox_names(tmp_path: Path) -> None:
    store = Store(dbs.location(tmp_path / "gateway.sqlite3"))
    try:
        f = store.add_file("sub", "sftp", "a.x12", "a" * 64, 10)
        with store.transaction() as tx:
            tx.add_accepted_sets(
                [
                    AcceptedSet(f.id, "000000001", "1", "837", "0001", "T"),
                    AcceptedSet(f.id, "000000001", "1", "270", "0002", "P"),
                ]
            )
            tx.add_accepted_sets([])
            assert [s.st01 for s in tx.accepted_sets(f.id)] == ["837", "270"]
            assert [s.st02 for s in tx.accepted_sets_not_837(f.id)] == ["0002"]
            assert tx.accepted_sets("other") == []
            assert not tx.mailbox_name_taken("sub", "x.x12")
            tx.add_mailbox("sub", "x.x12", "999", f.id, "b" * 64, 3, 1.0)
            assert tx.mailbox_name_taken("sub", "x.x12")
            assert not tx.mailbox_name_taken("other", "x.x12")
        picked = store.pick_up("sub", "x.x12")
        assert picked is not None and picked.picked_up_at is None
        assert store.pick_up("sub", "x.x12") is None
        with store.transaction() as tx:
            assert tx.mailbox_name_taken("sub", "x.x12")  # picked up, the name stays taken
    finally:
        store.close()


def test_reserved_counter_blocks_never_overlap(tmp_path: Path) -> None:
    store = Store(dbs.location(tmp_path / "g.sqlite3"))
    try:
        with store.transaction() as tx:
            first = tx.reserve_counter("t", 1000)
            second = tx.reserve_counter("t", 1000)
            assert (first, second) == (1, 1001)
            assert tx.next_counter("t") == 2001
            assert tx.reserve_counter("t", 10, modulo=2005) == 1  # wraps before passing it
    finally:
        store.close()


def test_fingerprints_accepted_in_batches(tmp_path: Path) -> None:
    """The commit's A3:78 re-check asks for many fingerprints at once: accepted claims of
    other files only, across more than one ``IN (...)`` batch, repeats asked once."""
    store = Store(dbs.location(tmp_path / "g.sqlite3"))
    try:
        old = store.add_file("sub", "sftp", "a.x12", "a" * 64, 10)
        new = store.add_file("sub", "sftp", "b.x12", "b" * 64, 10)
        total = FINGERPRINT_BATCH * 2 + 7

        def row(file_id: str, n: int, accepted: bool) -> ClaimRow:
            return ClaimRow(file_id, "000000001", "0001", n, f"C{n}", f"fp{n}", "P1",
                            "1234567893", "10.00", "1", accepted, ())  # fmt: skip

        with store.transaction() as tx:
            # every third accepted before; every fifth only rejected before
            tx.add_claims(row(old.id, n, n % 3 == 0) for n in range(0, total, 3))
            tx.add_claims(row(old.id, n, False) for n in range(0, total, 5) if n % 3)
            tx.add_claims(row(new.id, n, True) for n in range(total))  # the file itself
            asked = [f"fp{n}" for n in range(total)] + ["fp0", "fp3", "never"]
            found = tx.fingerprints_accepted(asked, new.id)
            assert found == {f"fp{n}" for n in range(0, total, 3)}
            assert found == {fp for fp in asked if tx.fingerprint_accepted(fp, new.id)}
            assert tx.fingerprints_accepted([], new.id) == set()
            assert tx.fingerprints_accepted(asked, old.id) == {f"fp{n}" for n in range(total)}
    finally:
        store.close()
