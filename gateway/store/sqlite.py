"""The gateway's state: one database behind an engine (SQLite today: WAL, synchronous=FULL),
the versioned schema (gateway/store/migrations.py) and one store per domain (after Synapse's
storage: an engine layer plus a mixin per domain):

- files and pipeline, interchanges, claims, mailboxes, answers, counters: gateway/store/files.py
- routes, batches, payer decisions, accumulators, paid history, 835s: gateway/store/routing.py
- AS2 state: gateway/store/as2.py
- the remittance ledger (posted 835s): gateway/store/ledger.py
- patient billing (claim histories, patient payments, statements, appeals):
  gateway/store/billing.py
- claim status look-ups and the status request log: gateway/store/claim_status.py
- work leases of the nodes of a cluster: gateway/store/leases.py
- read-only look-ups for ``gateway trace``: gateway/store/tracing.py

Nothing outside gateway/store/ writes SQL or holds a connection: callers get typed records
from the stores' methods, and a transaction (:meth:`Store.transaction`) is a
:class:`Transaction` whose methods are the domains' operations.

Synchronous and thread-safe (the engine serialises its use of the connection): the Twisted
edges call it from a dedicated thread so fsyncs never block the reactor.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gateway.store.billing import BillingStore, BillingTransaction
from gateway.store.claim_status import ClaimStatusTransaction
from gateway.store.engine import Engine, Row, SqliteEngine, database_errors
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
from gateway.store.leases import FILE as FILE_LEASE
from gateway.store.leases import Holder, LeasesTransaction
from gateway.store.ledger import LedgerStore, LedgerTransaction
from gateway.store.migrations import check_database, prepare_database
from gateway.store.rfai import RfaiTransaction
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


class Transaction(
    FilesTransaction,
    RoutingTransaction,
    LedgerTransaction,
    BillingTransaction,
    ClaimStatusTransaction,
    LeasesTransaction,
    RfaiTransaction,
):
    """Operations inside one write transaction (see :meth:`Store.transaction`)."""


def is_url(location: Path | str) -> bool:
    """True for a PostgreSQL URL (``postgresql://`` or ``postgres://``), not a file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def make_engine(location: Path | str, where: str = "") -> Engine:
    """The engine for a SQLite file or a PostgreSQL URL (``where``: the setting that chose it,
    for messages)."""
    if is_url(location):
        from gateway.store.postgres import PostgresEngine

        return PostgresEngine(str(location), where=where)
    return SqliteEngine(Path(location))


class Store(FilesStore, LedgerStore, BillingStore):
    """The store at ``location``: a SQLite file, or a PostgreSQL URL
    (``GatewayConfig.database``; ``where`` names the setting for error messages)."""

    def __init__(
        self,
        location: Path | str,
        engine: Engine | None = None,
        *,
        where: str = "",
        migrate: bool = True,
    ) -> None:
        """``migrate=False`` (commands that only look: ``gateway trace``, ``gateway bans`` on
        PostgreSQL): a database the gateway has not prepared, or prepared with an older schema,
        is refused with a message instead of being changed."""
        self.location = location
        self.path = Path(location) if not is_url(location) else Path()
        self.engine = engine or make_engine(location, where)
        self.engine.open()
        try:
            self.migrated = (
                prepare_database(self.engine) if migrate else check_database(self.engine)
            )
        except BaseException:
            self.engine.close()
            raise

    def close(self) -> None:
        self.engine.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.engine.transaction() as sql:
            yield Transaction(sql)

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """A read of any SQL, outside a transaction: for tests and diagnostics, never for
        the gateway's own code (which calls the domain stores' methods)."""
        return self.engine.read(sql, args)

    def _select(self, sql: str, args: tuple[object, ...] = ()) -> list[Row]:
        return self.engine.read(sql, args)

    def writable(self) -> bool:
        """The database takes a write (PostgreSQL: within a few seconds, without waiting
        for the cluster's write lock)."""
        try:
            probe = getattr(self.engine, "probe", None)
            if probe is not None:
                probe()
                return True
            with self.transaction() as tx:
                tx.touch()
        except Exception as exc:
            if not isinstance(exc, database_errors()):
                raise
            return False
        return True

    # files ------------------------------------------------------------------------------
    def add_file(
        self,
        partner_id: str,
        channel: str,
        name: str,
        sha256: str,
        size: int,
        *,
        lease: tuple[Holder, float] | None = None,
    ) -> FileRecord:
        """Record a received file; with ``lease`` (holder, seconds) the receiving node leases
        it in the same transaction, so no other node starts on it meanwhile."""
        now = time.time()
        record = FileRecord(
            new_file_id(now), partner_id, channel, name, sha256, size, now, RECEIVED, 0, None
        )
        with self.transaction() as tx:
            tx.add_file(record, now)
            if lease is not None:
                tx.take_lease(FILE_LEASE, record.id, lease[0], now, lease[1])
        return record

    # leases -----------------------------------------------------------------------------
    def take_lease(
        self, kind: str, item: str, holder: Holder, seconds: float, *, reclaim: bool = False
    ) -> bool:
        with self.transaction() as tx:
            return tx.take_lease(kind, item, holder, time.time(), seconds, reclaim=reclaim)

    def release_lease(self, kind: str, item: str, holder: Holder) -> None:
        with self.transaction() as tx:
            tx.release_lease(kind, item, holder)

    def renew_leases(self, holder: Holder, seconds: float) -> int:
        with self.transaction() as tx:
            return tx.renew_leases(holder, time.time(), seconds)

    def release_leases(self, holder: Holder) -> int:
        with self.transaction() as tx:
            return tx.release_leases(holder)

    def claim_files(
        self, holder: Holder, seconds: float, *, reclaim: bool = False
    ) -> list[FileRecord]:
        """Lease the unfinished files (received or processed) no live node works on."""
        with self.transaction() as tx:
            return tx.claim_files(
                (RECEIVED, PROCESSED), holder, time.time(), seconds, reclaim=reclaim
            )

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
