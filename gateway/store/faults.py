"""Storage faults: a full disk (or quota) seen through the blob store, SQLite, PostgreSQL
(``DiskFull``) or a plain write.

Intake answers them with a clear refusal (HTTP 507, an SFTP failure status) and the pipeline
waits for space instead of failing the file.
"""

from __future__ import annotations

import errno
import sqlite3
import sys

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"


class StorageFull(OSError):
    """The bytes could not be stored: no space left. Nothing was kept; retry later."""

    def __init__(self, message: str = "no space left to store the file") -> None:
        super().__init__(errno.ENOSPC, message)


def storage_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) says the disk or the database is full."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        pg_errors = sys.modules.get("psycopg.errors")  # loaded only when PostgreSQL is used
        if pg_errors is not None and isinstance(exc, pg_errors.DiskFull):  # SQLSTATE 53100
            return True
        if isinstance(exc, sqlite3.Error):
            code = getattr(exc, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == _SQLITE_FULL:
                return True
            if "database or disk is full" in str(exc):
                return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
