"""PostgreSQL through psycopg 3 and a connection pool: the same interface as
:class:`gateway.store.engine.SqliteEngine`.

- A pooled connection per transaction (``psycopg_pool.ConnectionPool``); reads outside a
  transaction take a connection in autocommit.
- Write transactions are serialised the way SQLite's ``BEGIN IMMEDIATE`` serialises them: each
  takes ``pg_advisory_xact_lock(WRITE_LOCK)`` first, so the stores' read-then-write sequences
  (control-number counters, "is this interchange a duplicate?", a mailbox name free?, a route's
  state change) see no concurrent writer, across processes and nodes. That is the conservative
  equivalent of today's single-writer design; finer work claims (``FOR UPDATE SKIP LOCKED``
  leases) are the cluster part of issue 11. Read-only work (``gateway trace``, ``gateway
  validate``) never takes the lock (``READ ONLY`` transactions).
- ``?`` placeholders become ``%s`` (a literal ``%`` doubles); ``insert`` appends ``RETURNING id``;
  Python booleans are stored as the integers 0/1 the portable schema uses.
- Migrations take ``pg_advisory_xact_lock(MIGRATION_LOCK)``: one node at a time applies them.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool

from gateway.store.engine import Row, Sql, StoreUnavailable

WRITE_LOCK = 0x6761_7465_7701
"""The advisory lock every write transaction holds (``BEGIN IMMEDIATE``'s equivalent)."""
MIGRATION_LOCK = 0x6761_7465_6D01
"""The advisory lock schema migrations hold."""

_PLACEHOLDER = re.compile(r"'[^']*'|\?|%")


class PgRow(tuple[Any, ...]):
    """A row indexable by position and by column name, like ``sqlite3.Row``."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> RowMaker[PgRow]:
    names = {c.name: i for i, c in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, names)

    return make


@functools.lru_cache(maxsize=1024)
def convert(sql: str) -> str:
    """``?`` → ``%s`` outside string literals; a literal ``%`` doubles."""

    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return text.replace("%", "%%")

    return _PLACEHOLDER.sub(one, sql)


def redact(url: str) -> str:
    """The URL without its password (for messages)."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


class PostgresEngine:
    name = "postgresql"

    def __init__(self, url: str, *, where: str = "", max_size: int = 8, timeout: float = 5.0):
        self.url = url
        self.where = where
        self.max_size = max_size
        self.timeout = timeout
        """Seconds a transaction waits for a connection (the store's users are a thread or
        two per process: only an unreachable server makes them wait)."""
        self.retry_after = 5.0
        """After a connection could not be had, transactions fail at once for this long
        (the database is away: intake refuses at once instead of queueing up behind waits);
        ``/readyz``'s probe still tries, and its success ends the wait."""
        self._down_until = 0.0
        self._pool: ConnectionPool[Any] | None = None

    def open(self) -> None:
        try:
            conninfo = psycopg.conninfo.make_conninfo(self.url)
        except psycopg.Error as exc:
            raise StoreUnavailable(self._problem(f"not a valid PostgreSQL URL ({exc})")) from None
        try:  # one probe first: the pool would only say "timed out"
            psycopg.connect(conninfo, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise StoreUnavailable(self._problem(f"cannot connect ({_reason(exc)})")) from None
        pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=self.max_size,
            kwargs={"row_factory": _row_factory, "connect_timeout": 5},
            timeout=self.timeout,
            # a connection is checked as it leaves the pool: after the server went away
            # and came back, a broken one is replaced instead of failing a transaction
            check=ConnectionPool.check_connection,
            # give up a reconnection after 10 s (its backoff doubles without limit before
            # that): the next transaction that needs a connection starts a fresh attempt, so
            # the pool is back within seconds of the server, however long it was away
            reconnect_timeout=10.0,
            open=False,
            name="gateway-store",
        )
        try:
            pool.open(wait=True, timeout=15.0)
        except Exception as exc:  # psycopg_pool.PoolTimeout: the server is not there
            pool.close()
            raise StoreUnavailable(self._problem(f"cannot connect ({_reason(exc)})")) from None
        self._pool = pool

    def _problem(self, what: str) -> str:
        where = f" (set by {self.where})" if self.where else ""
        return f"the database {redact(self.url)}{where}: {what}"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _connections(self) -> ConnectionPool[Any]:
        if self._pool is None:
            raise psycopg.InterfaceError(f"the database {self.describe()} is not open")
        return self._pool

    @contextmanager
    def _borrow(self, timeout: float | None = None) -> Iterator[Any]:
        """A pooled connection (see :attr:`retry_after`); ``timeout``: the probe's own."""
        if timeout is None and time.monotonic() < self._down_until:
            raise psycopg.OperationalError(
                f"the database {self.describe()} did not answer a moment ago"
            )
        with ExitStack() as stack:
            try:
                conn = stack.enter_context(self._connections().connection(timeout=timeout))
            except psycopg.OperationalError:  # psycopg_pool.PoolTimeout among them
                self._down_until = time.monotonic() + self.retry_after
                raise
            self._down_until = 0.0
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        """A write transaction holding :data:`WRITE_LOCK` (see the module's docstring)."""
        with self._borrow() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield Sql(self, conn)

    @contextmanager
    def read_only(self) -> Iterator[Sql]:
        """A ``READ ONLY`` transaction: one snapshot, no lock, nothing written."""
        with self._borrow() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield Sql(self, conn)

    def migration_lock(self, sql: Sql) -> None:
        sql.conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))

    def probe(self, timeout: float = 3.0) -> None:
        """A harmless write within ``timeout`` seconds, without the write lock (``/readyz``:
        is the database there and taking writes?); raises :class:`psycopg.Error` if not."""
        with self._borrow(timeout) as conn, conn.transaction():
            conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", (f"{int(timeout * 1000)}ms",)
            )
            conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")

    def read(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        with self._borrow() as conn:
            rows: list[Row] = conn.execute(convert(sql), self.adapt(args)).fetchall()
            return rows

    def convert(self, sql: str) -> str:
        return convert(sql)

    def adapt(self, args: Sequence[object]) -> Sequence[object]:
        return [int(a) if isinstance(a, bool) else a for a in args]

    def insert(self, sql: Sql, statement: str, args: Sequence[object]) -> int:
        row = sql.conn.execute(statement + " RETURNING id", args).fetchone()
        return int(row[0]) if row else 0

    def execute_many(self, sql: Sql, statement: str, rows: Iterable[Sequence[object]]) -> None:
        with sql.conn.cursor() as cursor:
            cursor.executemany(statement, list(rows))

    def has_table(self, sql: Sql, name: str) -> bool:
        found = sql.select_one("SELECT to_regclass(?) IS NOT NULL", (name,))
        return bool(found and found[0])

    def describe(self) -> str:
        return redact(self.url)


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong, walking to the connection error behind a pool
    timeout when there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.Error) and str(seen).strip():
            return str(seen).strip().splitlines()[0]
        seen = seen.__cause__ or seen.__context__
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
