"""The test database: SQLite files (the default) or, with ``GATEWAY_TEST_DATABASE`` set to a
PostgreSQL URL (``make test-postgres``), a fresh schema per store location, created on first
use and dropped when the test ends (tests/conftest.py). The same path within one test maps to
the same schema (a "restart" reopens it); two paths are two databases."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

BASE = os.environ.get("GATEWAY_TEST_DATABASE") or None
"""The PostgreSQL server and database the tests use, or ``None`` for SQLite."""

_schemas: dict[str, str] = {}


def _admin(sql: str, args: tuple[object, ...] = ()) -> None:
    import psycopg

    assert BASE is not None
    with psycopg.connect(BASE, autocommit=True) as conn:
        conn.execute(sql.encode(), args)


def fresh_url() -> str:
    """A new empty schema on the test server, as a URL whose connections use it."""
    assert BASE is not None
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin(f"CREATE SCHEMA {name}")
    _schemas[name] = name
    sep = "&" if "?" in BASE else "?"
    return f"{BASE}{sep}options={quote(f'-csearch_path={name}')}&application_name={name}"


_by_path: dict[str, str] = {}


def location(path: Path) -> Path | str:
    """What ``Store(...)`` opens for the test's store at ``path``."""
    if BASE is None:
        return path
    key = str(path)
    if key not in _by_path:
        _by_path[key] = fresh_url()
    return _by_path[key]


def drop_all() -> None:
    """Drop this test's schemas (closing connections it left open)."""
    if BASE is None or not _schemas:
        return
    names = list(_schemas)
    _schemas.clear()
    _by_path.clear()
    _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ANY(%s)",
        (names,),
    )
    for name in names:
        _admin(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def settings(data_dir: Path) -> dict[str, str]:
    """Keyword arguments for a ``GatewayConfig`` built by hand whose store is the test's."""
    if BASE is None:
        return {}
    url = location(data_dir / "gateway.sqlite3")
    assert isinstance(url, str)
    return {"database_url": url, "database_url_source": "GATEWAY_TEST_DATABASE"}


def configured(path: Path) -> Path | str:
    """The store a gateway process started by this test opens for a data directory's
    ``path``: the test's ``GATEWAY_DATABASE_URL`` on PostgreSQL, else the SQLite file."""
    if BASE is None:
        return path
    return os.environ["GATEWAY_DATABASE_URL"]
