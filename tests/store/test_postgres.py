"""The PostgreSQL engine: schema migrations (fresh, a newer database refused, concurrent starts
migrate once), placeholders, and the errors at start. Runs when ``GATEWAY_TEST_DATABASE``
names a server (``make test`` does when PostgreSQL is there; ``make test-postgres``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.store.engine import StoreUnavailable
from gateway.store.migrations import SCHEMA_VERSION, SchemaError, deltas
from gateway.store.postgres import convert, redact
from gateway.store.sqlite import Store
from tests import dbs

ROOT = Path(__file__).resolve().parents[2]
needs_pg = pytest.mark.skipif(dbs.BASE is None, reason="GATEWAY_TEST_DATABASE is not set")


def test_placeholders_and_percent_signs() -> None:
    assert convert("SELECT ? WHERE a LIKE 'x%?' AND b = ?") == (
        "SELECT %s WHERE a LIKE 'x%%?' AND b = %s"
    )
    assert convert("SELECT value % ? FROM t") == "SELECT value %% %s FROM t"
    assert redact("postgresql://u:secret@h:5432/d") == "postgresql://u:***@h:5432/d"


def test_both_engines_have_every_delta() -> None:
    assert [d.version for d in deltas("postgresql")] == list(range(1, SCHEMA_VERSION + 1))


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailable, match=r"set by GATEWAY_DATABASE_URL\): cannot connect"):
        Store("postgresql://postgres@127.0.0.1:1/none", where="GATEWAY_DATABASE_URL")


@needs_pg
def test_fresh_database_then_restart(tmp_path: Path) -> None:
    url = dbs.location(tmp_path / "db")
    store = Store(url)
    assert store.migrated == list(range(1, SCHEMA_VERSION + 1))
    with store.transaction() as tx:
        assert [tx.next_counter("control") for _ in range(3)] == [1, 2, 3]
    store.close()
    again = Store(url)
    assert again.migrated == []
    again.close()


@needs_pg
def test_database_from_a_newer_gateway_is_refused_untouched(tmp_path: Path) -> None:
    import psycopg

    url = dbs.location(tmp_path / "db")
    assert isinstance(url, str)
    Store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(SchemaError, match=rf"schema version {SCHEMA_VERSION + 1}.*newer gateway"):
        Store(url)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert row == (str(SCHEMA_VERSION + 1),)


@needs_pg
def test_concurrent_starts_migrate_once(tmp_path: Path) -> None:
    url = dbs.location(tmp_path / "db")
    code = "import sys; from gateway.store.sqlite import Store; s = Store(sys.argv[1]); "
    code += "print(s.migrated); s.close()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(url)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert outputs == sorted(["[]"] * 3 + [str(list(range(1, SCHEMA_VERSION + 1)))])


@needs_pg
def test_looking_never_creates_or_upgrades_the_database(tmp_path: Path) -> None:
    url = dbs.location(tmp_path / "db")
    with pytest.raises(SchemaError, match="no gateway store in the database"):
        Store(url, migrate=False)
    Store(url).close()
    looking = Store(url, migrate=False)
    assert looking.migrated == [] and looking.recent_files() == []
    looking.close()
