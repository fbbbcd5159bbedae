"""Work leases: which node is doing a piece of work, until when (schema delta 9).

Several gateway nodes share one database; none assumes it is the only worker. A node takes a
file (kind ``file``), a payer cycle (``cycle``), an AS2 delivery or asynchronous MDN
(``as2-delivery``, ``as2-mdn``) with a lease row — its node id, its process (``owner``) and an
expiry — renews its leases while the work runs and releases them when it ends. A node that
dies stops renewing: once the lease expires another node takes the work and finishes the step
(every step commits its outputs in the same transaction as its state change, so the step
it redoes is the one that had not committed).

On PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``: two nodes claiming at the
same moment never take the same row, and neither waits for the other. On SQLite (one node)
the same table and plain statements do (``BEGIN IMMEDIATE`` already serialises writers).

A restarted node takes back its own node's leases at once (``reclaim``): the process that held
them is gone, since every running process has its own node id (README "Run a cluster").
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.store.files import FileRecord, StoreTransaction, _file

FILE = "file"
CYCLE = "cycle"
AS2_DELIVERY = "as2-delivery"
AS2_MDN = "as2-mdn"


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: the node, and its running process (``owner``)."""

    node: str
    owner: str

    @classmethod
    def for_node(cls, node: str) -> Holder:
        """This process, on ``node``: a fresh owner for every start."""
        return cls(node, f"{node}/{secrets.token_hex(6)}")


@dataclass(frozen=True)
class Lease:
    kind: str
    item: str
    node: str
    owner: str
    expires_at: float


def _row_lock(sql: object) -> str:
    """``FOR UPDATE SKIP LOCKED`` where the engine has it (PostgreSQL), else nothing."""
    engine = getattr(sql, "engine", None)
    return " FOR UPDATE SKIP LOCKED" if getattr(engine, "name", "") == "postgresql" else ""


class LeasesTransaction(StoreTransaction):
    def take_lease(
        self,
        kind: str,
        item: str,
        holder: Holder,
        now: float,
        seconds: float,
        *,
        reclaim: bool = False,
    ) -> bool:
        """Take (or keep) the lease on ``item``: True when it is free, expired, already this
        process's, or (``reclaim``) this node's from an earlier process; False while another
        holds it."""
        until = now + seconds
        taken = self._sql.changed(
            "INSERT INTO leases (kind, item, node, owner, expires_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, item) DO NOTHING",
            (kind, item, holder.node, holder.owner, until),
        )
        if taken:
            return True
        lock = _row_lock(self._sql)
        row = self._sql.select_one(
            f"SELECT node, owner, expires_at FROM leases WHERE kind = ? AND item = ?{lock}",  # noqa: S608 - a constant clause
            (kind, item),
        )
        if row is None:  # another node is taking it right now
            return False
        mine = row["owner"] == holder.owner or (reclaim and row["node"] == holder.node)
        if not mine and row["expires_at"] > now:
            return False
        self._sql.execute(
            "UPDATE leases SET node = ?, owner = ?, expires_at = ? WHERE kind = ? AND item = ?",
            (holder.node, holder.owner, until, kind, item),
        )
        return True

    def holds_lease(self, kind: str, item: str, holder: Holder) -> bool:
        row = self._sql.select_one(
            "SELECT owner FROM leases WHERE kind = ? AND item = ?", (kind, item)
        )
        return row is not None and row["owner"] == holder.owner

    def release_lease(self, kind: str, item: str, holder: Holder) -> None:
        self._sql.execute(
            "DELETE FROM leases WHERE kind = ? AND item = ? AND owner = ?",
            (kind, item, holder.owner),
        )

    def renew_leases(self, holder: Holder, now: float, seconds: float) -> int:
        """Push back the expiry of every lease this process holds; how many."""
        return self._sql.changed(
            "UPDATE leases SET expires_at = ? WHERE owner = ?", (now + seconds, holder.owner)
        )

    def release_leases(self, holder: Holder) -> int:
        """Drop every lease of this process (a clean stop)."""
        return self._sql.changed("DELETE FROM leases WHERE owner = ?", (holder.owner,))

    def claim_files(
        self,
        states: Sequence[str],
        holder: Holder,
        now: float,
        seconds: float,
        *,
        reclaim: bool = False,
        limit: int = 1000,
    ) -> list[FileRecord]:
        """Lease the unfinished files (in ``states``) nobody works on: no lease, an expired
        one, this process's, or (``reclaim``) this node's; oldest first."""
        marks = ", ".join("?" for _ in states)
        lock = " FOR UPDATE OF f SKIP LOCKED" if _row_lock(self._sql) else ""
        rows = self._sql.select(
            f"SELECT f.* FROM files f LEFT JOIN leases l ON l.kind = ? AND l.item = f.id "  # noqa: S608 - placeholders only
            f"WHERE f.state IN ({marks}) AND (l.item IS NULL OR l.expires_at <= ? "
            "OR l.owner = ? OR (? = 1 AND l.node = ?)) "
            f"ORDER BY f.received_at, f.id LIMIT ?{lock}",
            (FILE, *states, now, holder.owner, int(reclaim), holder.node, limit),
        )
        until = now + seconds
        self._sql.execute_many(
            "INSERT INTO leases (kind, item, node, owner, expires_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, item) DO UPDATE SET node = excluded.node, "
            "owner = excluded.owner, expires_at = excluded.expires_at",
            [(FILE, r["id"], holder.node, holder.owner, until) for r in rows],
        )
        return [_file(r) for r in rows]

    def leases(self, kind: str | None = None) -> list[Lease]:
        """The leases in force or lapsed (diagnostics, tests)."""
        where, args = ("WHERE kind = ?", (kind,)) if kind else ("", ())
        rows = self._sql.select(
            f"SELECT kind, item, node, owner, expires_at FROM leases {where} "  # noqa: S608
            "ORDER BY kind, item",
            args,
        )
        return [Lease(r[0], r[1], r[2], r[3], r[4]) for r in rows]
