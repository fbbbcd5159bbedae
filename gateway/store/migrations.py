"""Versioned schema migrations (after Synapse's ``prepare_database``).

The schema is a sequence of numbered deltas in gateway/store/schema/:
``NNNN_name.sql`` for every engine, ``NNNN_name.<engine>.sql`` for one engine only (each engine
needs exactly one delta per number). The database records the last delta applied as
``meta.schema_version`` (the key the gateway has always written: a data directory made before
migrations says ``1``, and its tables are delta 1's). At start, :func:`prepare_database`
applies the missing deltas in order inside ONE write transaction (PostgreSQL: under
``pg_advisory_xact_lock``; DDL is transactional there too): the first process to take
the lock migrates, any other waits for it and then finds nothing left to do; a failed
delta rolls back whole. A database newer than this code is refused, never touched.

A delta is plain SQL statements separated by ``;`` at the end of a line (no triggers or
semicolons inside literals). Never edit a delta that shipped; add the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gateway.store.engine import Engine, Sql

SCHEMA_DIR = Path(__file__).parent / "schema"
_DELTA = re.compile(r"^(\d{4})_(\w+?)(?:\.(sqlite|postgresql))?\.sql$")


class SchemaError(RuntimeError):
    """The database cannot be used by this code (too new, or the deltas are inconsistent)."""


@dataclass(frozen=True)
class Delta:
    version: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        text = "\n".join(
            line for line in self.path.read_text("utf-8").splitlines() if not line.startswith("--")
        )
        return [s.strip() for s in re.split(r";\s*$", text, flags=re.M) if s.strip()]


def deltas(engine: str, directory: Path = SCHEMA_DIR) -> list[Delta]:
    """This engine's deltas, in order; numbered 1, 2, ... without gaps or doubles."""
    found: dict[int, Delta] = {}
    for path in sorted(directory.iterdir()):
        match = _DELTA.match(path.name)
        if match is None or match.group(3) not in (None, engine):
            continue
        version = int(match.group(1))
        if version in found:
            raise SchemaError(f"{directory}: two deltas numbered {version} for {engine}")
        found[version] = Delta(version, match.group(2), path)
    if sorted(found) != list(range(1, len(found) + 1)):
        raise SchemaError(f"{directory}: {engine} deltas are not numbered 1..n: {sorted(found)}")
    return [found[v] for v in sorted(found)]


SCHEMA_VERSION = len(deltas("sqlite"))
"""The schema version this code writes and reads."""


def schema_version(engine: Engine, sql: Sql) -> int:
    """The version recorded in the database (0: an empty database)."""
    if not engine.has_table(sql, "meta"):
        return 0
    row = sql.select_one("SELECT value FROM meta WHERE key = 'schema_version'")
    return int(row[0]) if row else 0


def prepare_database(engine: Engine, directory: Path = SCHEMA_DIR) -> list[int]:
    """Bring the database to this code's schema version; the versions applied (oldest
    first). Raises :class:`SchemaError` for a database newer than the code."""
    todo = deltas(engine.name, directory)
    known = len(todo)
    with engine.transaction() as sql:
        engine.migration_lock(sql)
        current = schema_version(engine, sql)
        if current > known:
            raise SchemaError(
                f"the database {engine.describe()} has schema version {current}, but this "
                f"gateway knows versions up to {known} only: it was written by a newer gateway. "
                "Run that version (or restore a backup made before the upgrade); it was not "
                "changed."
            )
        applied = []
        for delta in todo[current:]:
            for statement in delta.statements():
                sql.execute(statement)
            applied.append(delta.version)
        if applied:
            sql.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(known),),
            )
    return applied


def check_database(engine: Engine, directory: Path = SCHEMA_DIR) -> list[int]:
    """For commands that only look: the database must be at this code's schema version
    already (nothing is applied; ``[]``). Raises :class:`SchemaError` otherwise."""
    known = len(deltas(engine.name, directory))
    with engine.read_only() as sql:
        current = schema_version(engine, sql)
    if current == 0:
        raise SchemaError(
            f"no gateway store in the database {engine.describe()} yet: start the gateway "
            "(`gateway run`) once to create it"
        )
    if current != known:
        newer = "a newer" if current > known else "an older"
        raise SchemaError(
            f"the database {engine.describe()} has schema version {current}, written by {newer} "
            f"gateway (this one knows {known}): "
            + ("run that version" if current > known else "start `gateway run` to upgrade it")
        )
    return []
