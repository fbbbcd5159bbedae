"""The gateway's state: one database behind an engine (SQLite today: WAL, synchronous=FULL),
the versioned schema (gateway/store/migrations.py) and one store per domain (after Synapse's
storage: an engine layer plus a mixin per domain):

- files and pipeline, interchanges, claims, mailboxes, answers, counters: gateway/store/files.py
- routes, batches, payer decisions, accumulators, paid history, 835s: gateway/store/routing.py
- AS2 state: gateway/store/as2.py
- read-only look-ups for ``gateway trace``: gateway/store/tracing.py

Nothing outside gateway/store/ writes SQL or holds a connection: callers get typed records
from the stores' methods, and a transaction (:meth:`Store.transaction`) is a
:class:`Transaction` whose methods are the domains' operations.

Synchronous and thread-safe (one connection behind a lock): the Twisted edges call it from a
dedicated thread so fsyncs never block the reactor.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gateway.store.engine import Row, Sql, SqliteEngine
from gateway.store.files import (
    FAILED,
    PROCESSED,
    RECEIVED,
    AcceptedSet,
    ClaimRow,
    FileRecord,
    FilesStore,
    FilesTransaction,
    MailboxRecord,
    ResponseRecord,
    new_file_id,
    utc_stamp,
)
from gateway.store.migrations import prepare_database
from gateway.store.routing import RoutingTransaction

__all__ = [
    "FAILED",
    "PROCESSED",
    "RECEIVED",
    "AcceptedSet",
    "ClaimRow",
    "FileRecord",
    "MailboxRecord",
    "ResponseRecord",
    "Store",
    "Transaction",
    "new_file_id",
    "utc_stamp",
]


class Transaction(FilesTransaction, RoutingTransaction):
    """Operations inside one write transaction (see :meth:`Store.transaction`)."""


class Store(FilesStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = SqliteEngine(path)
        self._lock = threading.RLock()
        self._conn = self.engine.connect()
        self._sql = Sql(self.engine, self._conn)
        try:
            with self._lock:
                self.migrated = prepare_database(self.engine, self._conn)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._conn.execute(self.engine.begin_write)
            try:
                yield Transaction(self._sql)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """A read of any SQL, outside a transaction: for tests and diagnostics, never for
        the gateway's own code (which calls the domain stores' methods)."""
        return self._select(sql, tuple(args))

    def _select(self, sql: str, args: tuple[object, ...] = ()) -> list[Row]:
        with self._lock:
            return self._sql.select(sql, args)

    def writable(self) -> bool:
        try:
            with self.transaction() as tx:
                tx.touch()
        except sqlite3.Error:
            return False
        return True

    # files ------------------------------------------------------------------------------
    def add_file(
        self, partner_id: str, channel: str, name: str, sha256: str, size: int
    ) -> FileRecord:
        now = time.time()
        record = FileRecord(
            new_file_id(now), partner_id, channel, name, sha256, size, now, RECEIVED, 0, None
        )
        with self.transaction() as tx:
            tx.add_file(record, now)
        return record

    def note_attempt(self, file_id: str) -> int:
        with self.transaction() as tx:
            return tx.note_attempt(file_id)

    def mark_failed(self, file_id: str, error: str) -> None:
        with self.transaction() as tx:
            tx.set_state(file_id, FAILED, error)

    # mailboxes --------------------------------------------------------------------------
    def pick_up(self, partner_id: str, name: str) -> MailboxRecord | None:
        with self.transaction() as tx:
            return tx.pick_up(partner_id, name, time.time())
