"""SFTP login blocks kept across restarts: password locks per user, bans per source address.

``login_blocks``  one row per block in force: ``kind`` is ``user`` (that user's password login
                  is locked; key logins still work) or ``address`` (the address is refused);
                  ``until`` is a POSIX time. Rows past ``until`` are dead and are purged.

``login_failures`` the failed logins that count towards a block, of every node sharing the
                  database (schema delta 9): a password lock or an address ban engages on the
                  cluster's count within the window, not one node's.

Synchronous, like :class:`gateway.store.sqlite.Store`: the daemon calls it from the store
thread, ``gateway bans`` directly. The table is schema delta 3
(gateway/store/schema/0003_login_blocks.sqlite.sql).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.store.sqlite import Store

USER = "user"
ADDRESS = "address"


@dataclass(frozen=True)
class LoginBlock:
    kind: str
    subject: str
    until: float
    reason: str
    created_at: float


@dataclass(frozen=True)
class FailureCounts:
    """Failed logins within the window, across the cluster: of the user's password, from the
    address, and the distinct user names that failed from the address."""

    user: int
    address: int
    address_users: int


class LoginBlocks:
    """The ``login_blocks`` table of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record_failure(
        self,
        address: str,
        username: str,
        *,
        password: bool,
        now: float,
        window: float,
        node: str,
    ) -> FailureCounts:
        """Count one failed login (``password``: towards the user's password lock too) and
        return the cluster's counts within ``window`` seconds (older rows are purged)."""
        since = now - window
        with self.store.transaction() as tx:
            sql = tx._sql
            sql.execute("DELETE FROM login_failures WHERE at <= ?", (since,))
            rows = [(ADDRESS, address, username, now, node)]
            if password:
                rows.append((USER, username, username, now, node))
            sql.execute_many(
                "INSERT INTO login_failures (kind, subject, username, at, node) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            user = sql.select_one(
                "SELECT COUNT(*) FROM login_failures WHERE kind = ? AND subject = ? AND at > ?",
                (USER, username, since),
            )
            seen = sql.select_one(
                "SELECT COUNT(*), COUNT(DISTINCT username) FROM login_failures "
                "WHERE kind = ? AND subject = ? AND at > ?",
                (ADDRESS, address, since),
            )
        return FailureCounts(
            int(user[0]) if user else 0, int(seen[0]) if seen else 0, int(seen[1]) if seen else 0
        )

    def forget_failures(self, kind: str, subject: str) -> None:
        """A right password clears the user's count (``kind`` user); a block engaged clears
        what led to it."""
        with self.store.transaction() as tx:
            tx._sql.execute(
                "DELETE FROM login_failures WHERE kind = ? AND subject = ?", (kind, subject)
            )

    def put(self, block: LoginBlock) -> None:
        """Record (or extend) a block; the failures that led to it are forgotten."""
        with self.store.transaction() as tx:
            tx._sql.execute(
                "DELETE FROM login_failures WHERE kind = ? AND subject = ?",
                (block.kind, block.subject),
            )
            tx._sql.execute(
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
            tx._sql.execute("DELETE FROM login_blocks WHERE until <= ?", (moment,))
            rows = tx._sql.select(
                "SELECT * FROM login_blocks WHERE until > ? ORDER BY created_at, kind, subject",
                (moment,),
            )
        return [
            LoginBlock(r["kind"], r["subject"], r["until"], r["reason"], r["created_at"])
            for r in rows
        ]

    def delete(self, kind: str, subject: str) -> bool:
        with self.store.transaction() as tx:
            found = tx._sql.select(
                "SELECT 1 FROM login_blocks WHERE kind = ? AND subject = ?", (kind, subject)
            )
            tx._sql.execute(
                "DELETE FROM login_blocks WHERE kind = ? AND subject = ?", (kind, subject)
            )
        return bool(found)

    def lift(self, subject: str) -> list[LoginBlock]:
        """Lift every block on ``subject`` (an address or a user name); what was lifted."""
        with self.store.transaction() as tx:
            rows = tx._sql.select("SELECT * FROM login_blocks WHERE subject = ?", (subject,))
            tx._sql.execute("DELETE FROM login_blocks WHERE subject = ?", (subject,))
        return [
            LoginBlock(r["kind"], r["subject"], r["until"], r["reason"], r["created_at"])
            for r in rows
        ]
