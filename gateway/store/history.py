"""The claim history as ``gateway validate`` reads it: the store opened read-only.

``validate`` stores nothing, but it can tell a billing person what the daemon would: that an
interchange was already received (TA1 025) or a claim already accepted (A3:78). SQLite: the
file is opened with the ``mode=ro`` URI, so a running daemon is never blocked and the file is
never created or migrated here. PostgreSQL: each look-up is a ``READ ONLY`` transaction that
takes no lock (the schema is not migrated here either: a database the daemon never prepared
shows up as a database error). The queries are the daemon's own (``seen_interchanges``,
``fingerprint_accepted``/``fingerprints_accepted`` of :mod:`gateway.store.files`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from gateway.store.engine import Sql, SqliteEngine
from gateway.store.files import fingerprint_accepted, fingerprints_accepted, seen_interchanges

_NO_FILE = ""
"""``validate``'s files are in no file row: nothing is excluded."""


class ClaimHistory:
    """Read-only duplicate look-ups in the gateway's store at ``location`` (a SQLite file that
    must exist, or a PostgreSQL URL)."""

    def __init__(self, location: Path | str, *, where: str = "") -> None:
        from gateway.store.sqlite import is_url, make_engine

        self.location = location
        self._conn: sqlite3.Connection | None = None
        if is_url(location):
            self._engine = make_engine(location, where)
            self._engine.open()
        else:
            path = Path(location)
            self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            self._sql = Sql(SqliteEngine(path), self._conn)

    def prepared(self) -> bool:
        """The gateway has made its tables here (always so for an existing SQLite file)."""
        if self._conn is not None:
            return True
        with self._engine.read_only() as sql:
            return self._engine.has_table(sql, "meta")

    def seen_interchanges(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        if self._conn is not None:
            return seen_interchanges(self._sql, keys, _NO_FILE)
        with self._engine.read_only() as sql:
            return seen_interchanges(sql, keys, _NO_FILE)

    def fingerprint_accepted(self, fingerprint: str) -> bool:
        if self._conn is not None:
            return fingerprint_accepted(self._sql, fingerprint, _NO_FILE)
        with self._engine.read_only() as sql:
            return fingerprint_accepted(sql, fingerprint, _NO_FILE)

    def fingerprints_accepted(self, fingerprints: Sequence[str]) -> set[str]:
        if self._conn is not None:
            return fingerprints_accepted(self._sql, fingerprints, _NO_FILE)
        with self._engine.read_only() as sql:
            return fingerprints_accepted(sql, fingerprints, _NO_FILE)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        else:
            self._engine.close()
