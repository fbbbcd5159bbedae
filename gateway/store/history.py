"""The claim history as ``gateway validate`` reads it: the store opened read-only.

``validate`` stores nothing, but it can tell a billing person what the daemon would: that an
interchange was already received (TA1 025) or a claim already accepted (A3:78). The store is
opened with SQLite's ``mode=ro`` URI, so a running daemon is never blocked and the file is
never created or migrated here. The queries are the daemon's own (``seen_interchanges``,
``fingerprint_accepted`` of :mod:`gateway.store.files`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from gateway.store.engine import Sql, SqliteEngine
from gateway.store.files import fingerprint_accepted, seen_interchanges

_NO_FILE = ""
"""``validate``'s files are in no file row: nothing is excluded."""


class ClaimHistory:
    """Read-only duplicate look-ups in the gateway's store at ``path`` (which must exist)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        self._sql = Sql(SqliteEngine(path), self._conn)

    def seen_interchanges(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        return seen_interchanges(self._sql, keys, _NO_FILE)

    def fingerprint_accepted(self, fingerprint: str) -> bool:
        return fingerprint_accepted(self._sql, fingerprint, _NO_FILE)

    def close(self) -> None:
        self._conn.close()
