"""The gateway's state in SQLite (WAL, synchronous=FULL): files, their pipeline state, the
interchanges seen (for TA1 025), outbound mailboxes and durable control-number counters.

Synchronous and thread-safe (one connection behind a lock): the Twisted edges call it from a
dedicated thread so fsyncs never block the reactor. A PostgreSQL implementation can follow the
same method set.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.store.engine import SqliteEngine
from gateway.store.migrations import prepare_database

#: File states. ``received`` → ``processed`` (answers committed) or ``failed``.
RECEIVED = "received"
PROCESSED = "processed"
FAILED = "failed"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_file_id(now: float | None = None) -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32, sortable."""
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


@dataclass(frozen=True)
class FileRecord:
    id: str
    partner_id: str
    channel: str
    name: str
    sha256: str
    size: int
    received_at: float
    state: str
    attempts: int
    error: str | None


@dataclass(frozen=True)
class ClaimRow:
    """One claim as the front-end edits judged it (the store keeps CLM01; logs only its hash)."""

    file_id: str
    interchange_control: str
    st02: str
    claim_index: int
    clm01: str
    fingerprint: str
    payer_id: str
    billing_npi: str
    charge: str
    frequency_code: str
    accepted: bool
    codes: tuple[str, ...]


@dataclass(frozen=True)
class MailboxRecord:
    id: int
    partner_id: str
    name: str
    kind: str
    file_id: str | None
    sha256: str
    size: int
    created_at: float
    picked_up_at: float | None


@dataclass(frozen=True)
class ResponseRecord:
    file_id: str
    kind: str
    interchange_control: str | None
    outbound_control: str | None
    accepted: bool
    mailbox_name: str | None
    partner_id: str | None


def _file(row: sqlite3.Row) -> FileRecord:
    return FileRecord(
        id=row["id"],
        partner_id=row["partner_id"],
        channel=row["channel"],
        name=row["name"],
        sha256=row["sha256"],
        size=row["size"],
        received_at=row["received_at"],
        state=row["state"],
        attempts=row["attempts"],
        error=row["error"],
    )


def _claim(row: sqlite3.Row) -> ClaimRow:
    return ClaimRow(
        file_id=row["file_id"],
        interchange_control=row["interchange_control"],
        st02=row["st02"],
        claim_index=row["claim_index"],
        clm01=row["clm01"],
        fingerprint=row["fingerprint"],
        payer_id=row["payer_id"],
        billing_npi=row["billing_npi"],
        charge=row["charge"],
        frequency_code=row["frequency_code"],
        accepted=bool(row["accepted"]),
        codes=tuple(row["codes"].split()),
    )


def _mailbox(row: sqlite3.Row) -> MailboxRecord:
    return MailboxRecord(
        id=row["id"],
        partner_id=row["partner_id"],
        name=row["name"],
        kind=row["kind"],
        file_id=row["file_id"],
        sha256=row["sha256"],
        size=row["size"],
        created_at=row["created_at"],
        picked_up_at=row["picked_up_at"],
    )


class Transaction:
    """Operations inside one ``BEGIN IMMEDIATE`` transaction (see :meth:`Store.transaction`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run a statement; the new row id (INSERT) or 0."""
        return int(self._conn.execute(sql, args).lastrowid or 0)

    def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run one statement for each row of arguments (one prepared statement)."""
        self._conn.executemany(sql, rows)

    def query(self, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, args).fetchall()

    def next_counter(self, name: str, modulo: int = 999_999_999) -> int:
        """Next value of a durable counter, 1..modulo (wrapping)."""
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        value = (row["value"] % modulo) + 1 if row else 1
        self._conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
        return value

    def seen_interchanges(
        self, keys: Iterable[tuple[str, str, str]], exclude_file: str
    ) -> set[tuple[str, str, str]]:
        """Which (sender qualifier, sender id, ISA13) another file already brought."""
        seen = set()
        for qualifier, ident, control in keys:
            row = self._conn.execute(
                "SELECT file_id FROM interchanges WHERE sender_qualifier = ? "
                "AND sender_id = ? AND control_number = ?",
                (qualifier, ident, control),
            ).fetchone()
            if row is not None and row["file_id"] != exclude_file:
                seen.add((qualifier, ident, control))
        return seen

    def fingerprint_accepted(self, fingerprint: str, exclude_file: str) -> bool:
        """Was a claim with this fingerprint accepted from another file?"""
        row = self._conn.execute(
            "SELECT 1 FROM claims WHERE fingerprint = ? AND accepted = 1 AND file_id != ? LIMIT 1",
            (fingerprint, exclude_file),
        ).fetchone()
        return row is not None

    def add_claims(self, rows: Iterable[ClaimRow]) -> None:
        self._conn.executemany(
            "INSERT INTO claims (file_id, interchange_control, st02, claim_index, clm01, "
            "fingerprint, payer_id, billing_npi, charge, frequency_code, accepted, codes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    r.file_id, r.interchange_control, r.st02, r.claim_index, r.clm01,
                    r.fingerprint, r.payer_id, r.billing_npi, r.charge, r.frequency_code,
                    int(r.accepted), " ".join(r.codes),
                )
                for r in rows
            ),
        )  # fmt: skip

    def record_interchange(
        self, key: tuple[str, str, str], file_id: str, position: int, accepted: bool
    ) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO interchanges (sender_qualifier, sender_id, control_number, "
            "file_id, position, accepted) VALUES (?, ?, ?, ?, ?, ?)",
            (*key, file_id, position, int(accepted)),
        )

    def add_mailbox(
        self,
        partner_id: str,
        name: str,
        kind: str,
        file_id: str | None,
        sha256: str,
        size: int,
        now: float,
    ) -> int:
        cursor = self._conn.execute(
            "INSERT INTO mailbox (partner_id, name, kind, file_id, sha256, size, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (partner_id, name, kind, file_id, sha256, size, now),
        )
        return int(cursor.lastrowid or 0)

    def add_response(
        self,
        file_id: str,
        kind: str,
        interchange_control: str | None,
        outbound_control: str | None,
        accepted: bool,
        mailbox_id: int | None,
    ) -> None:
        self._conn.execute(
            "INSERT INTO responses (file_id, kind, interchange_control, outbound_control, "
            "accepted, mailbox_id) VALUES (?, ?, ?, ?, ?, ?)",
            (file_id, kind, interchange_control, outbound_control, int(accepted), mailbox_id),
        )

    def set_state(self, file_id: str, state: str, error: str | None = None) -> None:
        self._conn.execute(
            "UPDATE files SET state = ?, error = ?, updated_at = ? WHERE id = ?",
            (state, error, time.time(), file_id),
        )

    def get_file(self, file_id: str) -> FileRecord | None:
        row = self._conn.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        return _file(row) if row else None


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = SqliteEngine(path)
        self._lock = threading.RLock()
        self._conn = self.engine.connect()
        try:
            with self._lock:
                self.migrated = prepare_database(self.engine, self._conn)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        """A read outside any explicit transaction (WAL: a consistent snapshot)."""
        return self._query(sql, args)

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def writable(self) -> bool:
        try:
            with self.transaction() as tx:
                tx._conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
        except sqlite3.Error:
            return False
        return True

    # files ------------------------------------------------------------------------------
    def add_file(
        self, partner_id: str, channel: str, name: str, sha256: str, size: int
    ) -> FileRecord:
        now = time.time()
        file_id = new_file_id(now)
        with self.transaction() as tx:
            tx._conn.execute(
                "INSERT INTO files (id, partner_id, channel, name, sha256, size, received_at, "
                "state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (file_id, partner_id, channel, name, sha256, size, now, RECEIVED, now),
            )
        return FileRecord(file_id, partner_id, channel, name, sha256, size, now, RECEIVED, 0, None)

    def get_file(self, file_id: str) -> FileRecord | None:
        rows = self._query("SELECT * FROM files WHERE id = ?", (file_id,))
        return _file(rows[0]) if rows else None

    def files_in_state(self, state: str) -> list[FileRecord]:
        rows = self._query("SELECT * FROM files WHERE state = ? ORDER BY received_at, id", (state,))
        return [_file(r) for r in rows]

    def recent_files(self, partner_id: str | None = None, limit: int = 100) -> list[FileRecord]:
        if partner_id is None:
            rows = self._query("SELECT * FROM files ORDER BY received_at DESC LIMIT ?", (limit,))
        else:
            rows = self._query(
                "SELECT * FROM files WHERE partner_id = ? ORDER BY received_at DESC LIMIT ?",
                (partner_id, limit),
            )
        return [_file(r) for r in rows]

    def note_attempt(self, file_id: str) -> int:
        with self.transaction() as tx:
            tx._conn.execute(
                "UPDATE files SET attempts = attempts + 1, updated_at = ? WHERE id = ?",
                (time.time(), file_id),
            )
            row = tx._conn.execute("SELECT attempts FROM files WHERE id = ?", (file_id,)).fetchone()
        return int(row["attempts"]) if row else 0

    def mark_failed(self, file_id: str, error: str) -> None:
        with self.transaction() as tx:
            tx.set_state(file_id, FAILED, error)

    def responses_for(self, file_id: str) -> list[ResponseRecord]:
        rows = self._query(
            "SELECT r.*, m.name AS mailbox_name, m.partner_id AS partner_id FROM responses r "
            "LEFT JOIN mailbox m ON m.id = r.mailbox_id WHERE r.file_id = ? ORDER BY r.id",
            (file_id,),
        )
        return [
            ResponseRecord(
                file_id=r["file_id"],
                kind=r["kind"],
                interchange_control=r["interchange_control"],
                outbound_control=r["outbound_control"],
                accepted=bool(r["accepted"]),
                mailbox_name=r["mailbox_name"],
                partner_id=r["partner_id"],
            )
            for r in rows
        ]

    def claims_for(self, file_id: str) -> list[ClaimRow]:
        rows = self._query("SELECT * FROM claims WHERE file_id = ? ORDER BY id", (file_id,))
        return [_claim(r) for r in rows]

    def claims_by_clm01(self, clm01: str) -> list[ClaimRow]:
        rows = self._query("SELECT * FROM claims WHERE clm01 = ? ORDER BY id", (clm01,))
        return [_claim(r) for r in rows]

    # mailboxes --------------------------------------------------------------------------
    def list_mailbox(self, partner_id: str) -> list[MailboxRecord]:
        rows = self._query(
            "SELECT * FROM mailbox WHERE partner_id = ? AND picked_up_at IS NULL "
            "ORDER BY created_at, id",
            (partner_id,),
        )
        return [_mailbox(r) for r in rows]

    def mailbox_entry(self, partner_id: str, name: str) -> MailboxRecord | None:
        rows = self._query(
            "SELECT * FROM mailbox WHERE partner_id = ? AND name = ? AND picked_up_at IS NULL",
            (partner_id, name),
        )
        return _mailbox(rows[0]) if rows else None

    def pick_up(self, partner_id: str, name: str) -> MailboxRecord | None:
        with self.transaction() as tx:
            row = tx._conn.execute(
                "SELECT * FROM mailbox WHERE partner_id = ? AND name = ? AND picked_up_at IS NULL",
                (partner_id, name),
            ).fetchone()
            if row is None:
                return None
            tx._conn.execute(
                "UPDATE mailbox SET picked_up_at = ? WHERE id = ?", (time.time(), row["id"])
            )
        return _mailbox(row)


def utc_stamp(now: float) -> str:
    """``yyyymmddHHMMSS`` in UTC, for mailbox file names."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")
