from __future__ import annotations

import errno
import sqlite3

from gateway.store.faults import StorageFull, storage_full


def test_what_counts_as_a_full_store() -> None:
    assert storage_full(OSError(errno.ENOSPC, "No space left on device"))
    assert storage_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert storage_full(StorageFull())
    assert storage_full(sqlite3.OperationalError("database or disk is full"))
    try:
        try:
            raise OSError(errno.ENOSPC, "full")
        except OSError as exc:
            raise RuntimeError("step failed") from exc
    except RuntimeError as wrapped:
        assert storage_full(wrapped)
    assert not storage_full(OSError(errno.EACCES, "Permission denied"))
    assert not storage_full(sqlite3.OperationalError("no such table: x"))
    assert not storage_full(ValueError("x"))
    assert not storage_full(None)


def test_postgresql_disk_full_is_storage_full() -> None:
    import psycopg.errors

    from gateway.store.faults import storage_full

    assert storage_full(psycopg.errors.DiskFull("could not extend file"))
