"""The database engine layer: what differs between backends, and nothing else.

The per-domain stores (gateway/store/files.py, routing.py, as2.py) write portable SQL with
``?`` placeholders and go through :class:`Sql`, which hands every statement to the engine
(:meth:`SqliteEngine.convert` — identity for SQLite; a PostgreSQL engine rewrites ``?`` to
``%s``). Upserts are ``INSERT ... ON CONFLICT``, which both backends speak. What stays
engine-specific: connecting, how a write transaction starts (SQLite's ``BEGIN IMMEDIATE``
takes the write lock up front, so two writers never deadlock on a lock upgrade), how the id
of an inserted row comes back, and the schema deltas written for one engine only
(``NNNN_name.sqlite.sql``; see gateway/store/migrations.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Row = Any
"""A result row: indexable by column name and by position (``sqlite3.Row`` here)."""

DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)
"""What the engines raise when the database fails (for the edges that report it)."""


class SqliteEngine:
    """SQLite in WAL mode with ``synchronous=FULL`` (a commit is on disk when it returns)."""

    name = "sqlite"
    begin_write = "BEGIN IMMEDIATE"
    """Starts a transaction that may write (taken before the first read)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def convert(self, sql: str) -> str:
        """The statement in this engine's parameter style (SQLite's is ``?`` already)."""
        return sql

    def has_table(self, conn: sqlite3.Connection, name: str) -> bool:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return found is not None

    def describe(self) -> str:
        """Where the database is, for error messages."""
        return str(self.path)


class Sql:
    """Statements on one connection, in the engine's dialect. Used by the per-domain stores
    inside a transaction (see :class:`gateway.store.sqlite.Store`); nothing outside
    gateway/store/ holds one."""

    def __init__(self, engine: SqliteEngine, conn: sqlite3.Connection) -> None:
        self.engine = engine
        self.conn = conn

    def execute(self, sql: str, args: Sequence[object] = ()) -> None:
        self.conn.execute(self.engine.convert(sql), args)

    def insert(self, sql: str, args: Sequence[object] = ()) -> int:
        """An ``INSERT`` into a table with an integer ``id`` key: the new row's id."""
        # PostgreSQL: append ``RETURNING id`` and fetch it.
        return int(self.conn.execute(self.engine.convert(sql), args).lastrowid or 0)

    def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """One prepared statement for each row of arguments."""
        self.conn.executemany(self.engine.convert(sql), rows)

    def select(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return self.conn.execute(self.engine.convert(sql), args).fetchall()

    def select_one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        rows: list[Row] = self.conn.execute(self.engine.convert(sql), args).fetchmany(1)
        return rows[0] if rows else None

    def changed(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run a statement; how many rows it changed."""
        return int(self.conn.execute(self.engine.convert(sql), args).rowcount)
