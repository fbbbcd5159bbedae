"""The database engine layer: what differs between backends, and nothing else.

The per-domain stores (gateway/store/files.py, routing.py, as2.py) write portable SQL with
``?`` placeholders and go through :class:`Sql`, which hands every statement to the engine
(:meth:`SqliteEngine.convert` — identity for SQLite; a PostgreSQL engine rewrites ``?`` to
``%s``). Upserts are ``INSERT ... ON CONFLICT``, which both backends speak. What stays
engine-specific: connections (one behind a lock here, a pool for PostgreSQL), how a write
transaction starts (SQLite's ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers
never deadlock on a lock upgrade), how the id of an inserted row comes back, the catalogue,
and the schema deltas written for one engine only (``NNNN_name.sqlite.sql``; see
gateway/store/migrations.py).
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

Row = Any
"""A result row: indexable by column name and by position (``sqlite3.Row`` here)."""


def database_errors() -> tuple[type[Exception], ...]:
    """What the engines raise when the database fails (for the edges that report it):
    SQLite's errors, and psycopg's once PostgreSQL is in use (psycopg is imported only then,
    so a SQLite gateway and ``gateway validate`` never pay for loading it)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


class StoreUnavailable(RuntimeError):
    """The configured database cannot be reached or opened at start (the message names the
    setting that chose it)."""


class Engine(Protocol):
    """What the stores need from a backend (:class:`SqliteEngine`,
    :class:`gateway.store.postgres.PostgresEngine`)."""

    name: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[Sql]: ...

    def read_only(self) -> AbstractContextManager[Sql]: ...

    def migration_lock(self, sql: Sql) -> None: ...

    def read(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...

    def convert(self, sql: str) -> str: ...

    def adapt(self, args: Sequence[object]) -> Sequence[object]: ...

    def insert(self, sql: Sql, statement: str, args: Sequence[object]) -> int: ...

    def execute_many(self, sql: Sql, statement: str, rows: Iterable[Sequence[object]]) -> None: ...

    def has_table(self, sql: Sql, name: str) -> bool: ...

    def describe(self) -> str: ...


class SqliteEngine:
    """SQLite in WAL mode with ``synchronous=FULL`` (a commit is on disk when it returns): one
    connection behind a lock, so one statement or transaction at a time in this process; other
    processes wait up to ``timeout`` seconds for the write lock. A PostgreSQL engine offers the
    same methods over a connection pool."""

    name = "sqlite"

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=self.timeout
        )
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError(f"the database {self.path} is not open")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        """A write transaction: ``BEGIN IMMEDIATE`` takes the write lock before the first read
        (two writers never deadlock upgrading a read lock); commits when the block ends, rolls
        back whole when it raises."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Sql(self, conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read_only(self) -> Iterator[Sql]:
        """Reads on one snapshot, taking no write lock."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield Sql(self, conn)
            finally:
                conn.execute("ROLLBACK")

    def migration_lock(self, sql: Sql) -> None:
        """Nothing to add: ``BEGIN IMMEDIATE`` already lets one process at a time migrate."""

    def read(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """One read outside a transaction (WAL: a consistent snapshot)."""
        with self._lock:
            return Sql(self, self._connection()).select(sql, args)

    def convert(self, sql: str) -> str:
        """The statement in this engine's parameter style (SQLite's is ``?`` already)."""
        return sql

    def adapt(self, args: Sequence[object]) -> Sequence[object]:
        return args

    def insert(self, sql: Sql, statement: str, args: Sequence[object]) -> int:
        return int(sql.conn.execute(statement, args).lastrowid or 0)

    def execute_many(self, sql: Sql, statement: str, rows: Iterable[Sequence[object]]) -> None:
        sql.conn.executemany(statement, rows)

    def has_table(self, sql: Sql, name: str) -> bool:
        found = sql.select_one(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return found is not None

    def describe(self) -> str:
        """Where the database is, for error messages."""
        return str(self.path)


class Sql:
    """Statements on one connection inside one transaction, in the engine's dialect
    (:meth:`Engine.transaction` makes it). Used by the per-domain stores; nothing outside
    gateway/store/ holds one."""

    def __init__(self, engine: Engine, conn: Any) -> None:
        self.engine = engine
        self.conn = conn

    def _run(self, sql: str, args: Sequence[object]) -> Any:
        return self.conn.execute(self.engine.convert(sql), self.engine.adapt(args))

    def execute(self, sql: str, args: Sequence[object] = ()) -> None:
        self._run(sql, args)

    def insert(self, sql: str, args: Sequence[object] = ()) -> int:
        """An ``INSERT`` into a table with an integer ``id`` key: the new row's id."""
        return self.engine.insert(self, self.engine.convert(sql), self.engine.adapt(args))

    def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """One prepared statement for each row of arguments."""
        adapt = self.engine.adapt
        self.engine.execute_many(self, self.engine.convert(sql), (adapt(r) for r in rows))

    def select(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        rows: list[Row] = self._run(sql, args).fetchall()
        return rows

    def select_one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        rows: list[Row] = self._run(sql, args).fetchmany(1)
        return rows[0] if rows else None

    def changed(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run a statement; how many rows it changed."""
        return int(self._run(sql, args).rowcount)
