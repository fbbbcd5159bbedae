"""SFTP login blocks kept across restarts: password locks per user, bans per source address.

``login_blocks``  one row per block in force: ``kind`` is ``user`` (that user's password login
                  is locked; key logins still work) or ``address`` (the address is refused);
                  ``until`` is a POSIX time. Rows past ``until`` are dead and are purged.

Synchronous, like :class:`gateway.store.sqlite.Store`: the daemon calls it from the store
thread, ``gateway bans`` directly. The table is created here (``CREATE TABLE IF NOT EXISTS``)
so that the core store module does not need to know about SSH.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.store.sqlite import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_blocks (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    until REAL NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (kind, subject)
);
"""

USER = "user"
ADDRESS = "address"


@dataclass(frozen=True)
class LoginBlock:
    kind: str
    subject: str
    until: float
    reason: str
    created_at: float


class LoginBlocks:
    """The ``login_blocks`` table of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as tx:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)

    def put(self, block: LoginBlock) -> None:
        """Record (or extend) a block."""
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO login_blocks (kind, subject, until, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, subject) DO UPDATE SET "
                "until = excluded.until, reason = excluded.reason, "
                "created_at = excluded.created_at",
                (block.kind, block.subject, block.until, block.reason, block.created_at),
            )

    def active(self, now: float | None = None) -> list[LoginBlock]:
        """Blocks still in force, oldest first (and the dead ones purged)."""
        moment = time.time() if now is None else now
        with self.store.transaction() as tx:
            tx.execute("DELETE FROM login_blocks WHERE until <= ?", (moment,))
            rows = tx.query(
                "SELECT * FROM login_blocks WHERE until > ? ORDER BY created_at, kind, subject",
                (moment,),
            )
        return [
            LoginBlock(r["kind"], r["subject"], r["until"], r["reason"], r["created_at"])
            for r in rows
        ]

    def delete(self, kind: str, subject: str) -> bool:
        with self.store.transaction() as tx:
            found = tx.query(
                "SELECT 1 FROM login_blocks WHERE kind = ? AND subject = ?", (kind, subject)
            )
            tx.execute("DELETE FROM login_blocks WHERE kind = ? AND subject = ?", (kind, subject))
        return bool(found)

    def lift(self, subject: str) -> list[LoginBlock]:
        """Lift every block on ``subject`` (an address or a user name); what was lifted."""
        with self.store.transaction() as tx:
            rows = tx.query("SELECT * FROM login_blocks WHERE subject = ?", (subject,))
            tx.execute("DELETE FROM login_blocks WHERE subject = ?", (subject,))
        return [
            LoginBlock(r["kind"], r["subject"], r["until"], r["reason"], r["created_at"])
            for r in rows
        ]
