"""Versioned schema migrations: a fresh database, a data directory made before migrations
(tests/store/fixtures/main_schema_v1.sql, dumped from a database the gateway wrote at
1b823ab), a database from a newer gateway, and the delta files themselves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.store import migrations
from gateway.store.engine import SqliteEngine
from gateway.store.migrations import SCHEMA_VERSION, SchemaError, deltas, prepare_database
from gateway.store.sqlite import RECEIVED, Store
from tests import dbs

FIXTURE = Path(__file__).parent / "fixtures" / "main_schema_v1.sql"
AS2_TABLES = ("as2_received", "as2_mdn_outbox", "as2_outbound")


def _tables(db: Store | SqliteEngine) -> set[str]:
    read = db.query if isinstance(db, Store) else db.read
    if isinstance(db, Store) and db.engine.name == "postgresql":
        rows = read(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() UNION "
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
        return {r[0] for r in rows}
    rows = read("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
    return {r[0] for r in rows if not r[0].startswith("sqlite_")}


def _old_data_dir(tmp_path: Path, *, with_as2: bool = True) -> Path:
    path = tmp_path / "var" / "gateway.sqlite3"
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text("utf-8"))
    if not with_as2:  # AS2 was off: the old code never made its tables
        for table in AS2_TABLES:
            conn.execute(f"DROP TABLE {table}")
    conn.close()
    return path


def _schema_of(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    conn.close()
    return {name: " ".join(sql.replace("IF NOT EXISTS ", "").split()) for name, sql in rows}


def test_fresh_database_gets_every_delta(tmp_path: Path) -> None:
    store = Store(dbs.location(tmp_path / "gateway.sqlite3"))
    try:
        assert store.migrated == list(range(1, SCHEMA_VERSION + 1))
        assert store.query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0] == str(
            SCHEMA_VERSION
        )
        assert {"files", "routes", "remits", *AS2_TABLES} <= _tables(store)
    finally:
        store.close()
    again = Store(dbs.location(tmp_path / "gateway.sqlite3"))  # a restart applies nothing
    assert again.migrated == []
    again.close()


def test_data_directory_from_before_migrations_upgrades_in_place(tmp_path: Path) -> None:
    path = _old_data_dir(tmp_path)
    before = _schema_of(path)
    store = Store(path)  # a SQLite data directory, whatever GATEWAY_TEST_DATABASE says
    try:
        assert store.migrated == list(range(2, SCHEMA_VERSION + 1))
        assert store.query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0] == str(
            SCHEMA_VERSION
        )
        (old,) = store.recent_files()
        assert (old.partner_id, old.name, old.size, old.state) == (
            "demo-billing",
            "claims.x12",
            1234,
            "processed",
        )
        assert [c.clm01 for c in store.claims_for(old.id)] == ["CLM-1"]
        assert [m.name for m in store.list_mailbox("demo-billing")] == ["20260101000000_X_999.x12"]
        (response,) = store.responses_for(old.id)
        assert response.kind == "999" and response.accepted
        assert len(store.query("SELECT * FROM routes WHERE file_id = ?", (old.id,))) == 1
        assert len(store.query("SELECT * FROM as2_received")) == 1
        assert store.query("SELECT * FROM login_blocks") == []  # delta 3 made it
        with store.transaction() as tx:
            assert tx.next_counter("control") == 3  # the counters go on where they were
        new = store.add_file("demo-billing", "sftp", "b.x12", "e" * 64, 1)
        assert [f.id for f in store.files_in_state(RECEIVED)] == [new.id]
    finally:
        store.close()
    # the tables the old code made are kept as they were (delta 1 adopted them), but for
    # the columns later deltas add (4: files.acked_at, files.acked_analysis)
    after = _schema_of(path)
    assert after["files"] == before["files"].rstrip(")").rstrip() + (
        " , acked_at DOUBLE PRECISION, acked_analysis TEXT)"
    )
    assert {k: after[k] for k in before if k != "files"} == {
        k: v for k, v in before.items() if k != "files"
    }


def test_data_directory_without_as2_tables_gets_them(tmp_path: Path) -> None:
    path = _old_data_dir(tmp_path, with_as2=False)
    store = Store(path)
    try:
        assert set(AS2_TABLES) <= _tables(store)
        assert len(store.recent_files()) == 1
    finally:
        store.close()


def test_database_from_a_newer_gateway_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaError, match=rf"schema version {SCHEMA_VERSION + 1}.*newer gateway"):
        Store(path)
    assert path.read_bytes() == before


def test_a_failing_delta_rolls_back_whole(tmp_path: Path) -> None:
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "0001_one.sql").write_text(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\nCREATE TABLE a (x);\n"
    )
    (schema / "0002_two.sql").write_text("CREATE TABLE b (x);\nCREATE TABLE a (x);\n")
    engine = SqliteEngine(tmp_path / "db.sqlite3")
    engine.open()
    with pytest.raises(sqlite3.OperationalError):
        prepare_database(engine, schema)
    assert _tables(engine) == set()
    (schema / "0002_two.sql").write_text("CREATE TABLE b (x);\n")
    assert prepare_database(engine, schema) == [1, 2]
    with engine.transaction() as sql:
        assert migrations.schema_version(engine, sql) == 2
    engine.close()


def test_deltas_are_numbered_without_gaps(tmp_path: Path) -> None:
    assert [d.version for d in deltas("sqlite")] == list(range(1, SCHEMA_VERSION + 1))
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0003_c.sql").write_text("")
    (tmp_path / "0002_b.postgres.sql").write_text("")  # another engine's
    with pytest.raises(SchemaError, match="not numbered"):
        deltas("sqlite", tmp_path)
    (tmp_path / "0001_a.sqlite.sql").write_text("")
    with pytest.raises(SchemaError, match="two deltas numbered 1"):
        deltas("sqlite", tmp_path)


def test_one_process_migrates_while_another_waits(tmp_path: Path) -> None:
    """The migration holds the write lock: a second opener blocks until the first has
    committed and then finds nothing to do (here: a second engine with a short timeout is
    refused while the first holds the lock)."""
    path = tmp_path / "gateway.sqlite3"
    first = SqliteEngine(path)
    first.open()
    second = SqliteEngine(path, timeout=0.1)
    second.open()
    with first.transaction(), pytest.raises(sqlite3.OperationalError, match="locked"):
        prepare_database(second)
    assert prepare_database(second) == list(range(1, SCHEMA_VERSION + 1))
    assert prepare_database(first) == []
    first.close()
    second.close()


def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    """Three gateways opening one new database at once: exactly one applies the deltas."""
    import subprocess
    import sys

    path = tmp_path / "gateway.sqlite3"
    code = (
        "import sys; from pathlib import Path; from gateway.store.sqlite import Store; "
        "s = Store(Path(sys.argv[1])); print(s.migrated); s.close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert outputs == [str(list(range(1, SCHEMA_VERSION + 1))), "[]", "[]"]
