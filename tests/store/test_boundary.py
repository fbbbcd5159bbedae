"""SQL lives only in gateway/store/: no statement, no database driver and no connection or
cursor call anywhere else in the gateway package."""

from __future__ import annotations

import re
from pathlib import Path

import gateway

PACKAGE = Path(gateway.__file__).parent

SQL = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT (OR [A-Z]+ )?INTO|UPDATE \w+ SET|DELETE FROM|REPLACE INTO"
    r"|CREATE (TEMP |TEMPORARY |UNIQUE )?(TABLE|INDEX|VIEW|TRIGGER)|DROP (TABLE|INDEX|VIEW)"
    r"|ALTER TABLE|BEGIN (IMMEDIATE|EXCLUSIVE|TRANSACTION)|PRAGMA|ON CONFLICT|FOR UPDATE"
    r"|SKIP LOCKED)\b"
    r"|\b(import|from) (sqlite3|psycopg\w*|sqlalchemy)\b|\bsqlite3\.|\bpsycopg\w*\."
    r"|\.(execute|executemany|executescript|cursor|fetchone|fetchall|fetchmany)\("
    r"|\._conn\b|\._sql\b"
)


def offenders(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if root / "store" in path.parents:
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if SQL.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_no_sql_outside_the_store() -> None:
    found = offenders()
    assert not found, "SQL outside gateway/store/ (add a store method instead):\n" + "\n".join(
        found
    )


def test_the_check_finds_sql(tmp_path: Path) -> None:
    package = tmp_path / "gateway"
    (package / "store").mkdir(parents=True)
    (package / "store" / "ok.py").write_text('Q = "SELECT * FROM files"\n')
    (package / "pipeline.py").write_text(
        "def f(tx):\n"
        '    tx.execute("UPDATE routes SET state = ? WHERE id = ?", ("x", 1))\n'
        '    return store._conn.execute("select 1").fetchone()\n'
        '# "a SELECT from the menu" in prose is fine; lowercase select/update too\n'
    )
    assert [line.split(":")[1] for line in offenders(package)] == ["2", "3"]
