"""Files and their pipeline state, the interchanges seen (for TA1 025), the claims the
front-end edits judged, the sets each file's 999 accepted, outbound mailboxes, the answers
made for each file, and durable control-number counters.

:class:`FilesTransaction` is this domain's part of a store transaction
(:class:`gateway.store.sqlite.Transaction`); the reads outside a transaction are
:class:`FilesStore`'s.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from gateway.store.engine import Row, Sql

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


def _file(row: Row) -> FileRecord:
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


def _claim(row: Row) -> ClaimRow:
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


def _mailbox(row: Row) -> MailboxRecord:
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


class AcceptedSet(NamedTuple):
    """A transaction set the file's 999 accepted, with its envelope's ISA15 (``usage``)."""

    file_id: str
    isa13: str
    gs06: str
    st01: str
    st02: str
    usage: str


def utc_stamp(now: float) -> str:
    """``yyyymmddHHMMSS`` in UTC, for mailbox file names."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")


def seen_interchanges(
    sql: Sql, keys: Iterable[tuple[str, str, str]], exclude_file: str
) -> set[tuple[str, str, str]]:
    """Which (sender qualifier, sender id, ISA13) a file other than ``exclude_file`` brought
    (``sql``: a store transaction's, or a read-only connection's; see gateway/store/history.py)."""
    seen = set()
    for qualifier, ident, control in keys:
        row = sql.select_one(
            "SELECT file_id FROM interchanges WHERE sender_qualifier = ? "
            "AND sender_id = ? AND control_number = ?",
            (qualifier, ident, control),
        )
        if row is not None and row[0] != exclude_file:
            seen.add((qualifier, ident, control))
    return seen


def fingerprint_accepted(sql: Sql, fingerprint: str, exclude_file: str) -> bool:
    """Was a claim with this fingerprint accepted from a file other than ``exclude_file``?"""
    row = sql.select_one(
        "SELECT 1 FROM claims WHERE fingerprint = ? AND accepted = 1 AND file_id != ? LIMIT 1",
        (fingerprint, exclude_file),
    )
    return row is not None


FINGERPRINT_BATCH = 500
"""Fingerprints per ``IN (...)`` look-up: below SQLite's oldest variable limit (999)."""


def fingerprints_accepted(sql: Sql, fingerprints: Sequence[str], exclude_file: str) -> set[str]:
    """Which of ``fingerprints`` were accepted from a file other than ``exclude_file``: one
    query per :data:`FINGERPRINT_BATCH` of them instead of one per claim."""
    found: set[str] = set()
    unique = list(dict.fromkeys(fingerprints))
    for start in range(0, len(unique), FINGERPRINT_BATCH):
        chunk = unique[start : start + FINGERPRINT_BATCH]
        marks = ", ".join("?" for _ in chunk)
        rows = sql.select(
            f"SELECT DISTINCT fingerprint FROM claims WHERE fingerprint IN ({marks}) "  # noqa: S608 - only placeholders
            "AND accepted = 1 AND file_id != ?",
            (*chunk, exclude_file),
        )
        found.update(row[0] for row in rows)
    return found


def sequence_name(counter: str) -> str:
    """The PostgreSQL sequence of a counter: ``gw_ctr_<readable part>_<hash>``."""
    readable = re.sub(r"[^a-z0-9]+", "_", counter.lower())[:32]
    return f"gw_ctr_{readable}_{hashlib.sha256(counter.encode()).hexdigest()[:8]}"


class StoreTransaction:
    """Base of every domain's transaction part: the statements of one open transaction."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql


class FilesTransaction(StoreTransaction):
    def next_counter(self, name: str, modulo: int = 999_999_999) -> int:
        """Next value of a durable counter, 1..modulo (wrapping): on PostgreSQL from a
        database sequence (unique across the nodes of a cluster whatever their transactions
        do; a rolled-back transaction leaves a gap, as control numbers may), on SQLite from
        the ``counters`` table."""
        if self._sql.engine.name == "postgresql":
            return self._next_from_sequence(name, modulo)
        row = self._sql.select_one("SELECT value FROM counters WHERE name = ?", (name,))
        value = (row["value"] % modulo) + 1 if row else 1
        self._sql.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
        return value

    def reserve_counter(self, name: str, count: int, modulo: int = 999_999_999) -> int:
        """Reserve ``count`` consecutive values of a durable counter in one write; returns the
        first (the block restarts at 1 when it would pass ``modulo``). Values a process
        reserved and did not use are skipped, never handed out twice. On PostgreSQL the block
        comes from the same sequence :meth:`next_counter` uses (advanced past the block under
        the write lock), so reserved and single numbers never meet."""
        if self._sql.engine.name == "postgresql":
            first = self._next_from_sequence(name, modulo)
            if first + count - 1 > modulo:
                first = 1
            self._sql.select_one(
                "SELECT setval(CAST(? AS regclass), ?)", (sequence_name(name), first + count - 1)
            )
            return first
        row = self._sql.select_one("SELECT value FROM counters WHERE name = ?", (name,))
        first = (row["value"] % modulo) + 1 if row else 1
        if first + count - 1 > modulo:
            first = 1
        self._sql.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, first + count - 1),
        )
        return first

    def _next_from_sequence(self, name: str, modulo: int) -> int:
        """``nextval`` of the counter's sequence, made on first use to continue from the
        ``counters`` row a database kept before (schema delta 9 and older nodes)."""
        sequence = sequence_name(name)
        # looked up every time (a catalogue read): a sequence made in a transaction that
        # rolled back is not there, so no "made" cache can be trusted
        row = self._sql.select_one("SELECT to_regclass(?)", (sequence,))
        if row is None or row[0] is None:
            old = self._sql.select_one("SELECT value FROM counters WHERE name = ?", (name,))
            start = (int(old["value"]) % modulo) + 1 if old else 1
            self._sql.execute(
                f"CREATE SEQUENCE IF NOT EXISTS {sequence} MINVALUE 1 "
                f"MAXVALUE {int(modulo)} START {start} CYCLE"
            )
        row = self._sql.select_one("SELECT nextval(CAST(? AS regclass))", (sequence,))
        assert row is not None
        return int(row[0])

    def seen_interchanges(
        self, keys: Iterable[tuple[str, str, str]], exclude_file: str
    ) -> set[tuple[str, str, str]]:
        """Which (sender qualifier, sender id, ISA13) another file already brought."""
        return seen_interchanges(self._sql, keys, exclude_file)

    def fingerprint_accepted(self, fingerprint: str, exclude_file: str) -> bool:
        """Was a claim with this fingerprint accepted from another file?"""
        return fingerprint_accepted(self._sql, fingerprint, exclude_file)

    def fingerprints_accepted(self, fingerprints: Sequence[str], exclude_file: str) -> set[str]:
        """Which of ``fingerprints`` were accepted from another file (batched look-ups)."""
        return fingerprints_accepted(self._sql, fingerprints, exclude_file)

    def add_claims(self, rows: Iterable[ClaimRow]) -> None:
        self._sql.execute_many(
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

    def accepted_claim_ids(self, file_id: str) -> dict[tuple[str, str, int], int]:
        """The file's accepted claims: (ISA13, ST02, index in the set) -> claim row id."""
        rows = self._sql.select(
            "SELECT id, interchange_control, st02, claim_index FROM claims "
            "WHERE file_id = ? AND accepted = 1",
            (file_id,),
        )
        return {(r["interchange_control"], r["st02"], r["claim_index"]): r["id"] for r in rows}

    def record_interchange(
        self, key: tuple[str, str, str], file_id: str, position: int, accepted: bool
    ) -> None:
        self._sql.execute(
            "INSERT INTO interchanges (sender_qualifier, sender_id, control_number, "
            "file_id, position, accepted) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (sender_qualifier, sender_id, control_number) DO NOTHING",
            (*key, file_id, position, int(accepted)),
        )

    def add_accepted_sets(self, sets: Iterable[AcceptedSet]) -> None:
        self._sql.execute_many(
            "INSERT INTO accepted_sets (file_id, isa13, gs06, st01, st02, usage) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            sets,
        )

    def accepted_sets(self, file_id: str) -> list[AcceptedSet]:
        rows = self._sql.select(
            "SELECT file_id, isa13, gs06, st01, st02, usage FROM accepted_sets WHERE file_id = ?",
            (file_id,),
        )
        return [AcceptedSet(*r) for r in rows]

    def accepted_sets_not_837(self, file_id: str) -> list[AcceptedSet]:
        rows = self._sql.select(
            "SELECT file_id, isa13, gs06, st01, st02, usage FROM accepted_sets "
            "WHERE file_id = ? AND st01 != '837'",
            (file_id,),
        )
        return [AcceptedSet(*r) for r in rows]

    def mailbox_name_taken(self, partner_id: str, name: str) -> bool:
        """Is ``name`` in the partner's mailbox (picked up or not)?"""
        row = self._sql.select_one(
            "SELECT 1 FROM mailbox WHERE partner_id = ? AND name = ?", (partner_id, name)
        )
        return row is not None

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
        return self._sql.insert(
            "INSERT INTO mailbox (partner_id, name, kind, file_id, sha256, size, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (partner_id, name, kind, file_id, sha256, size, now),
        )

    def add_response(
        self,
        file_id: str,
        kind: str,
        interchange_control: str | None,
        outbound_control: str | None,
        accepted: bool,
        mailbox_id: int | None,
    ) -> None:
        self._sql.execute(
            "INSERT INTO responses (file_id, kind, interchange_control, outbound_control, "
            "accepted, mailbox_id) VALUES (?, ?, ?, ?, ?, ?)",
            (file_id, kind, interchange_control, outbound_control, int(accepted), mailbox_id),
        )

    def set_state(self, file_id: str, state: str, error: str | None = None) -> None:
        self._sql.execute(
            "UPDATE files SET state = ?, error = ?, updated_at = ? WHERE id = ?",
            (state, error, time.time(), file_id),
        )

    def get_file(self, file_id: str) -> FileRecord | None:
        row = self._sql.select_one("SELECT * FROM files WHERE id = ?", (file_id,))
        return _file(row) if row else None

    def mark_acked(self, file_id: str, now: float, analysis_sha256: str) -> None:
        """The file's TA1/999 are committed (its claims' step comes next), built from the
        analysis kept as blob ``analysis_sha256``."""
        self._sql.execute(
            "UPDATE files SET acked_at = ?, acked_analysis = ? WHERE id = ?",
            (now, analysis_sha256, file_id),
        )

    def any_999_accepted(self, file_id: str) -> bool:
        """Some 999 of the file accepted a set."""
        row = self._sql.select_one(
            "SELECT 1 FROM responses WHERE file_id = ? AND kind = '999' AND accepted = 1",
            (file_id,),
        )
        return row is not None

    def acked(self, file_id: str) -> bool:
        row = self._sql.select_one("SELECT acked_at FROM files WHERE id = ?", (file_id,))
        return row is not None and row["acked_at"] is not None

    # used by FilesStore inside its own short transactions ---------------------------------
    def add_file(self, record: FileRecord, now: float) -> None:
        self._sql.execute(
            "INSERT INTO files (id, partner_id, channel, name, sha256, size, received_at, "
            "state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.partner_id, record.channel, record.name, record.sha256,
             record.size, record.received_at, record.state, now),
        )  # fmt: skip

    def note_attempt(self, file_id: str) -> int:
        self._sql.execute(
            "UPDATE files SET attempts = attempts + 1, updated_at = ? WHERE id = ?",
            (time.time(), file_id),
        )
        row = self._sql.select_one("SELECT attempts FROM files WHERE id = ?", (file_id,))
        return int(row["attempts"]) if row else 0

    def pick_up(self, partner_id: str, name: str, now: float) -> MailboxRecord | None:
        row = self._sql.select_one(
            "SELECT * FROM mailbox WHERE partner_id = ? AND name = ? AND picked_up_at IS NULL",
            (partner_id, name),
        )
        if row is None:
            return None
        self._sql.execute("UPDATE mailbox SET picked_up_at = ? WHERE id = ?", (now, row["id"]))
        return _mailbox(row)

    def touch(self) -> None:
        """A harmless write (is the database writable?)."""
        self._sql.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")


class FilesStore:
    """Reads outside an explicit transaction (WAL: each a consistent snapshot)."""

    def _select(self, sql: str, args: tuple[object, ...] = ()) -> list[Row]:
        raise NotImplementedError

    def get_file(self, file_id: str) -> FileRecord | None:
        rows = self._select("SELECT * FROM files WHERE id = ?", (file_id,))
        return _file(rows[0]) if rows else None

    def acked_analysis(self, file_id: str) -> str | None:
        """The blob (sha256) of the analysis the file's committed TA1/999 were built from, or
        None while that step has not been committed."""
        rows = self._select("SELECT acked_at, acked_analysis FROM files WHERE id = ?", (file_id,))
        if not rows or rows[0]["acked_at"] is None:
            return None
        return str(rows[0]["acked_analysis"] or "")

    def files_in_state(self, state: str) -> list[FileRecord]:
        rows = self._select(
            "SELECT * FROM files WHERE state = ? ORDER BY received_at, id", (state,)
        )
        return [_file(r) for r in rows]

    def recent_files(self, partner_id: str | None = None, limit: int = 100) -> list[FileRecord]:
        if partner_id is None:
            rows = self._select("SELECT * FROM files ORDER BY received_at DESC LIMIT ?", (limit,))
        else:
            rows = self._select(
                "SELECT * FROM files WHERE partner_id = ? ORDER BY received_at DESC LIMIT ?",
                (partner_id, limit),
            )
        return [_file(r) for r in rows]

    def responses_for(self, file_id: str) -> list[ResponseRecord]:
        rows = self._select(
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
        rows = self._select("SELECT * FROM claims WHERE file_id = ? ORDER BY id", (file_id,))
        return [_claim(r) for r in rows]

    def claims_by_clm01(self, clm01: str) -> list[ClaimRow]:
        rows = self._select("SELECT * FROM claims WHERE clm01 = ? ORDER BY id", (clm01,))
        return [_claim(r) for r in rows]

    def list_mailbox(self, partner_id: str) -> list[MailboxRecord]:
        rows = self._select(
            "SELECT * FROM mailbox WHERE partner_id = ? AND picked_up_at IS NULL "
            "ORDER BY created_at, id",
            (partner_id,),
        )
        return [_mailbox(r) for r in rows]

    def mailbox_entry(self, partner_id: str, name: str) -> MailboxRecord | None:
        rows = self._select(
            "SELECT * FROM mailbox WHERE partner_id = ? AND name = ? AND picked_up_at IS NULL",
            (partner_id, name),
        )
        return _mailbox(rows[0]) if rows else None
