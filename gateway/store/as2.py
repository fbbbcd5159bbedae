"""The AS2 store: durable AS2 state in the gateway's database (synchronous: run it in the
store thread with ``core.in_store``).

- ``as2_received``: inbound Message-IDs (per AS2-From) with the MDN we answered, recorded only
  after the message authenticated. A row is ``pending`` while its payload goes into intake (the
  payload's sha256 is kept so that a crash in between can be resolved against ``files``), then
  ``done``; a duplicate is answered with the stored MDN.
- ``as2_mdn_outbox``: asynchronous MDNs to POST, with attempts and the next try.
- ``as2_outbound``: mailbox files pushed over AS2: Message-ID and expected MIC (the same for
  every retry, so the receiver can recognise a resend), attempts, next try, the MDN's verdict.

The tables are schema delta 2 (gateway/store/schema/0002_as2.sqlite.sql).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.store.engine import Sql
from gateway.store.sqlite import Store

PENDING = "pending"
DONE = "done"
SENT = "sent"
FAILED = "failed"
AWAITING_MDN = "awaiting-mdn"
DELIVERED = "delivered"
CANCELLED = "cancelled"


def _headers_json(headers: Sequence[tuple[str, str]]) -> str:
    return json.dumps([list(h) for h in headers])


def _headers(text: str) -> list[tuple[str, str]]:
    return [(str(n), str(v)) for n, v in json.loads(text)]


def retry_delay(schedule: Sequence[float], attempts: int) -> float | None:
    """Seconds before the next try after ``attempts`` failed ones; None: give up."""
    if attempts > len(schedule):
        return None
    return schedule[attempts - 1]


# ------------------------------------------------------------------------------ received


@dataclass(frozen=True)
class StoredMdn:
    """An inbound message we answered before: its MDN, to be given again to a duplicate."""

    as2_from: str
    message_id: str
    partner_id: str
    state: str
    sha256: str
    file_id: str | None
    disposition: str
    headers: list[tuple[str, str]]
    body: bytes
    async_url: str | None
    received_at: float


def _stored(row: Any) -> StoredMdn:
    return StoredMdn(
        as2_from=row["as2_from"],
        message_id=row["message_id"],
        partner_id=row["partner_id"],
        state=row["state"],
        sha256=row["sha256"],
        file_id=row["file_id"],
        disposition=row["disposition"],
        headers=_headers(row["mdn_headers"]),
        body=bytes(row["mdn_body"]),
        async_url=row["async_url"],
        received_at=row["received_at"],
    )


def seen(store: Store, as2_from: str, message_id: str) -> StoredMdn | None:
    """The message's earlier answer, if any.  A ``pending`` row left by a crash is resolved
    first: if intake had committed a file with the payload's sha256 since, the message was
    accepted (the row becomes ``done``); otherwise the row is dropped (nothing was stored)."""
    with store.transaction() as tx:
        row = tx._sql.select_one(
            "SELECT * FROM as2_received WHERE as2_from = ? AND message_id = ?",
            (as2_from, message_id),
        )
        if row is None:
            return None
        if row["state"] == DONE:
            return _stored(row)
        found = tx._sql.select_one(
            "SELECT id FROM files WHERE partner_id = ? AND channel = 'as2' AND sha256 = ? "
            "AND received_at >= ? ORDER BY received_at LIMIT 1",
            (row["partner_id"], row["sha256"], row["received_at"] - 1.0),
        )
        if found is None:
            tx._sql.execute(
                "DELETE FROM as2_received WHERE as2_from = ? AND message_id = ?",
                (as2_from, message_id),
            )
            return None
        tx._sql.execute(
            "UPDATE as2_received SET state = ?, file_id = ? WHERE as2_from = ? AND message_id = ?",
            (DONE, found["id"], as2_from, message_id),
        )
        row = tx._sql.select_one(
            "SELECT * FROM as2_received WHERE as2_from = ? AND message_id = ?",
            (as2_from, message_id),
        )
        return _stored(row)


def reserve(
    store: Store,
    *,
    as2_from: str,
    message_id: str,
    partner_id: str,
    sha256: str,
    disposition: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    async_url: str | None,
) -> None:
    """Record an authenticated message (``pending``) with the MDN it will get, before intake."""
    with store.transaction() as tx:
        tx._sql.execute(
            "INSERT INTO as2_received (as2_from, message_id, partner_id, state, sha256, "
            "disposition, mdn_headers, mdn_body, async_url, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                as2_from,
                message_id,
                partner_id,
                PENDING,
                sha256,
                disposition,
                _headers_json(headers),
                body,
                async_url,
                time.time(),
            ),
        )


def complete(
    store: Store, as2_from: str, message_id: str, file_id: str, *, first_try: float | None = None
) -> int | None:
    """Intake committed ``file_id``: the message is ``done``; its async MDN, if one was asked
    for, goes into the outbox in the same transaction (returns the outbox id)."""
    with store.transaction() as tx:
        tx._sql.execute(
            "UPDATE as2_received SET state = ?, file_id = ? WHERE as2_from = ? AND message_id = ?",
            (DONE, file_id, as2_from, message_id),
        )
        row = tx._sql.select_one(
            "SELECT * FROM as2_received WHERE as2_from = ? AND message_id = ?",
            (as2_from, message_id),
        )
        if row is None or not row["async_url"]:
            return None
        return _queue_mdn(
            tx._sql,
            as2_from=as2_from,
            original_message_id=message_id,
            partner_id=row["partner_id"],
            url=row["async_url"],
            disposition=row["disposition"],
            headers=_headers(row["mdn_headers"]),
            body=bytes(row["mdn_body"]),
            first_try=first_try,
        )


def forget(store: Store, as2_from: str, message_id: str) -> None:
    """Intake failed: nothing was stored, a resend of the message may be processed."""
    with store.transaction() as tx:
        tx._sql.execute(
            "DELETE FROM as2_received WHERE as2_from = ? AND message_id = ? AND state = ?",
            (as2_from, message_id, PENDING),
        )


# ------------------------------------------------------------------------------ MDN outbox


@dataclass(frozen=True)
class QueuedMdn:
    id: int
    as2_from: str
    original_message_id: str
    partner_id: str | None
    url: str
    disposition: str
    headers: list[tuple[str, str]]
    body: bytes
    state: str
    attempts: int
    next_try: float
    last_error: str | None


def _queued(row: Any) -> QueuedMdn:
    return QueuedMdn(
        id=row["id"],
        as2_from=row["as2_from"],
        original_message_id=row["original_message_id"],
        partner_id=row["partner_id"],
        url=row["url"],
        disposition=row["disposition"],
        headers=_headers(row["headers"]),
        body=bytes(row["body"]),
        state=row["state"],
        attempts=row["attempts"],
        next_try=row["next_try"],
        last_error=row["last_error"],
    )


def _queue_mdn(
    sql: Sql,
    *,
    as2_from: str,
    original_message_id: str,
    partner_id: str | None,
    url: str,
    disposition: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    first_try: float | None,
) -> int:
    now = time.time()
    return sql.insert(
        "INSERT INTO as2_mdn_outbox (as2_from, original_message_id, partner_id, url, "
        "disposition, headers, body, state, next_try, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            as2_from,
            original_message_id,
            partner_id,
            url,
            disposition,
            _headers_json(headers),
            body,
            PENDING,
            now if first_try is None else first_try,
            now,
            now,
        ),
    )


def queue_mdn(
    store: Store,
    *,
    as2_from: str,
    original_message_id: str,
    partner_id: str | None,
    url: str,
    disposition: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
) -> int:
    """Queue an asynchronous MDN (an error MDN, or one not tied to intake)."""
    with store.transaction() as tx:
        return _queue_mdn(
            tx._sql,
            as2_from=as2_from,
            original_message_id=original_message_id,
            partner_id=partner_id,
            url=url,
            disposition=disposition,
            headers=headers,
            body=body,
            first_try=None,
        )


def due_mdns(store: Store, now: float, limit: int = 50) -> list[QueuedMdn]:
    with store.transaction() as tx:
        rows = tx._sql.select(
            "SELECT * FROM as2_mdn_outbox WHERE state = ? AND next_try <= ? "
            "ORDER BY next_try, id LIMIT ?",
            (PENDING, now, limit),
        )
    return [_queued(r) for r in rows]


def mdn_sent(store: Store, mdn_id: int) -> int:
    """Returns the attempts it took."""
    now = time.time()
    with store.transaction() as tx:
        tx._sql.execute(
            "UPDATE as2_mdn_outbox SET state = ?, attempts = attempts + 1, last_error = NULL, "
            "updated_at = ? WHERE id = ?",
            (SENT, now, mdn_id),
        )
        row = tx._sql.select_one("SELECT attempts FROM as2_mdn_outbox WHERE id = ?", (mdn_id,))
    return int(row["attempts"]) if row else 0


def mdn_attempt_failed(
    store: Store, mdn_id: int, error: str, schedule: Sequence[float]
) -> tuple[int, float | None]:
    """Count a failed POST; (attempts, seconds to the next try or None when given up)."""
    now = time.time()
    with store.transaction() as tx:
        row = tx._sql.select_one("SELECT attempts FROM as2_mdn_outbox WHERE id = ?", (mdn_id,))
        attempts = (int(row["attempts"]) if row else 0) + 1
        delay = retry_delay(schedule, attempts)
        tx._sql.execute(
            "UPDATE as2_mdn_outbox SET state = ?, attempts = ?, next_try = ?, last_error = ?, "
            "updated_at = ? WHERE id = ?",
            (
                FAILED if delay is None else PENDING,
                attempts,
                now + (delay or 0.0),
                error[:500],
                now,
                mdn_id,
            ),
        )
    return attempts, delay


def mdn_outbox(store: Store) -> list[QueuedMdn]:
    with store.transaction() as tx:
        rows = tx._sql.select("SELECT * FROM as2_mdn_outbox ORDER BY id")
    return [_queued(r) for r in rows]


# ------------------------------------------------------------------------------ outbound


@dataclass(frozen=True)
class Delivery:
    id: int
    partner_id: str
    mailbox_id: int
    mailbox_name: str
    file_id: str | None
    kind: str
    sha256: str
    message_id: str
    mic: str | None
    state: str
    attempts: int
    next_try: float
    last_error: str | None
    mdn_disposition: str | None
    delivered_at: float | None


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        partner_id=row["partner_id"],
        mailbox_id=row["mailbox_id"],
        mailbox_name=row["mailbox_name"],
        file_id=row["file_id"],
        kind=row["kind"],
        sha256=row["sha256"],
        message_id=row["message_id"],
        mic=row["mic"],
        state=row["state"],
        attempts=row["attempts"],
        next_try=row["next_try"],
        last_error=row["last_error"],
        mdn_disposition=row["mdn_disposition"],
        delivered_at=row["delivered_at"],
    )


def plan_deliveries(store: Store, partner_ids: Sequence[str], make_message_id: Any) -> int:
    """A delivery row for every mailbox file of these partners not yet planned (and not yet
    picked up); rows whose file was picked up another way are cancelled.  Returns the number
    of new rows."""
    now = time.time()
    added = 0
    with store.transaction() as tx:
        for partner_id in partner_ids:
            rows = tx._sql.select(
                "SELECT m.* FROM mailbox m LEFT JOIN as2_outbound o ON o.mailbox_id = m.id "
                "WHERE m.partner_id = ? AND m.picked_up_at IS NULL AND o.id IS NULL "
                "ORDER BY m.created_at, m.id",
                (partner_id,),
            )
            for row in rows:
                tx._sql.execute(
                    "INSERT INTO as2_outbound (partner_id, mailbox_id, mailbox_name, file_id, "
                    "kind, sha256, message_id, state, next_try, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["partner_id"],
                        row["id"],
                        row["name"],
                        row["file_id"],
                        row["kind"],
                        row["sha256"],
                        make_message_id(),
                        PENDING,
                        now,
                        now,
                        now,
                    ),
                )
                added += 1
        tx._sql.execute(
            "UPDATE as2_outbound SET state = ?, updated_at = ? WHERE state IN (?, ?) AND "
            "mailbox_id IN (SELECT id FROM mailbox WHERE picked_up_at IS NOT NULL)",
            (CANCELLED, now, PENDING, AWAITING_MDN),
        )
    return added


def due_deliveries(
    store: Store, now: float, partner_ids: Sequence[str], limit: int = 20
) -> list[Delivery]:
    """Pending deliveries whose time has come, and async-MDN waits that timed out (for partners
    that still want AS2 delivery)."""
    wanted = set(partner_ids)
    with store.transaction() as tx:
        rows = tx._sql.select(
            "SELECT * FROM as2_outbound WHERE state IN (?, ?) AND next_try <= ? "
            "ORDER BY next_try, id",
            (PENDING, AWAITING_MDN, now),
        )
    return [_delivery(r) for r in rows if r["partner_id"] in wanted][:limit]


def delivery_sent(store: Store, delivery_id: int, mic: str, *, await_until: float | None) -> None:
    """The POST went out: remember the MIC; with an async MDN, wait for it until ``await_until``."""
    now = time.time()
    with store.transaction() as tx:
        if await_until is None:
            tx._sql.execute(
                "UPDATE as2_outbound SET mic = ?, updated_at = ? WHERE id = ?",
                (mic, now, delivery_id),
            )
        else:
            tx._sql.execute(
                "UPDATE as2_outbound SET mic = ?, state = ?, next_try = ?, updated_at = ? "
                "WHERE id = ?",
                (mic, AWAITING_MDN, await_until, now, delivery_id),
            )


def delivered(store: Store, delivery_id: int, disposition: str) -> Delivery | None:
    """A positive MDN with the right MIC: the file is delivered and picked up (one transaction).
    None when the row was not waiting for it (a late or repeated MDN)."""
    now = time.time()
    with store.transaction() as tx:
        row = tx._sql.select_one(
            "SELECT * FROM as2_outbound WHERE id = ? AND state IN (?, ?)",
            (delivery_id, PENDING, AWAITING_MDN),
        )
        if row is None:
            return None
        tx._sql.execute(
            "UPDATE as2_outbound SET state = ?, attempts = attempts + 1, mdn_disposition = ?, "
            "last_error = NULL, delivered_at = ?, updated_at = ? WHERE id = ?",
            (DELIVERED, disposition, now, now, delivery_id),
        )
        tx._sql.execute(
            "UPDATE mailbox SET picked_up_at = ? WHERE id = ? AND picked_up_at IS NULL",
            (now, row["mailbox_id"]),
        )
        row = tx._sql.select_one("SELECT * FROM as2_outbound WHERE id = ?", (delivery_id,))
    return _delivery(row)


def delivery_failed(
    store: Store,
    delivery_id: int,
    error: str,
    schedule: Sequence[float],
    *,
    disposition: str | None = None,
) -> tuple[int, float | None]:
    """Count a failed attempt (no answer, negative MDN, wrong MIC): (attempts, seconds to the
    next try, or None when given up)."""
    now = time.time()
    with store.transaction() as tx:
        row = tx._sql.select_one(
            "SELECT attempts, state FROM as2_outbound WHERE id = ?", (delivery_id,)
        )
        if row is None or row["state"] not in (PENDING, AWAITING_MDN):
            return (int(row["attempts"]) if row else 0), None
        attempts = int(row["attempts"]) + 1
        delay = retry_delay(schedule, attempts)
        tx._sql.execute(
            "UPDATE as2_outbound SET state = ?, attempts = ?, next_try = ?, last_error = ?, "
            "mdn_disposition = COALESCE(?, mdn_disposition), updated_at = ? WHERE id = ?",
            (
                FAILED if delay is None else PENDING,
                attempts,
                now + (delay or 0.0),
                error[:500],
                disposition,
                now,
                delivery_id,
            ),
        )
    return attempts, delay


def delivery_by_message_id(store: Store, message_id: str) -> Delivery | None:
    with store.transaction() as tx:
        row = tx._sql.select_one("SELECT * FROM as2_outbound WHERE message_id = ?", (message_id,))
    return _delivery(row) if row else None


def deliveries(store: Store, partner_id: str | None = None) -> list[Delivery]:
    with store.transaction() as tx:
        if partner_id is None:
            rows = tx._sql.select("SELECT * FROM as2_outbound ORDER BY id")
        else:
            rows = tx._sql.select(
                "SELECT * FROM as2_outbound WHERE partner_id = ? ORDER BY id", (partner_id,)
            )
    return [_delivery(r) for r in rows]
