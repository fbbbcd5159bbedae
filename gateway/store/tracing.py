"""Read-only look-ups for ``gateway trace`` (gateway/trace.py): every identifier an operator
may hold — file id, an ISA13 of ours or theirs, a CLM01 — back to files, claims, routes,
answers and 835s. Rows are the engine's rows (by column name); nothing here writes."""

from __future__ import annotations

from gateway.store.engine import Row
from gateway.store.sqlite import Store


class TraceQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _q(self, sql: str, *args: object) -> list[Row]:
        return self.store.query(sql, args)

    # identifier -> file ids ------------------------------------------------------------
    def file_ids_by(self, what: str, value: str) -> list[str]:
        """File ids for ``what``: file, inbound ISA13, ack ISA13, batch ISA13 or CLM01."""
        sql = {
            "file id": "SELECT id AS f FROM files WHERE id = ?",
            "inbound ISA13": "SELECT file_id AS f FROM interchanges WHERE control_number = ?",
            "acknowledgment ISA13": "SELECT file_id AS f FROM responses WHERE outbound_control = ?",
            "outbound batch ISA13": "SELECT source_file_id AS f FROM batches WHERE isa13 = ?",
            "CLM01": "SELECT file_id AS f FROM claims WHERE clm01 = ?",
        }[what]
        return [r["f"] for r in self._q(sql, value) if r["f"]]

    def routes_by_clm01(self, clm01: str) -> list[Row]:
        return self._q("SELECT * FROM routes WHERE clm01 = ? ORDER BY id", clm01)

    # claims and routes -------------------------------------------------------------------
    def claims_by_clm01(self, clm01: str) -> list[Row]:
        return self._q("SELECT * FROM claims WHERE clm01 = ? ORDER BY id", clm01)

    def claims_of_file(self, file_id: str) -> list[Row]:
        return self._q("SELECT * FROM claims WHERE file_id = ? ORDER BY id", file_id)

    def routes_of_claim(self, claim_row_id: int) -> list[Row]:
        return self._q("SELECT * FROM routes WHERE claim_row_id = ? ORDER BY id", claim_row_id)

    def status_requests_of(self, claim_row_id: int) -> list[Row]:
        """Claim status requests (276 / claim-status API) that found this claim, in order."""
        return self._q(
            "SELECT requested_at, partner_id, channel, trace, status, source "
            "FROM status_requests WHERE claim_row_id = ? ORDER BY requested_at",
            claim_row_id,
        )

    # answers -----------------------------------------------------------------------------
    def info_requests_of_route(self, route_id: int) -> list[Row]:
        return self._q(
            "SELECT * FROM info_requests WHERE route_id = ? ORDER BY created_at, id", route_id
        )

    def attachments_of_request(self, request_id: str) -> list[Row]:
        return self._q(
            "SELECT request_id, format, size, file_id, received_at, forwarded_name "
            "FROM attachments WHERE request_id = ? ORDER BY received_at",
            request_id,
        )

    def answers_of_file(self, file_id: str) -> list[Row]:
        """The clearinghouse's own answers (TA1/999/277CA/REJECT) with their mailbox entry."""
        return self._q(
            "SELECT r.kind, r.accepted, r.interchange_control, r.outbound_control, m.name, "
            "m.picked_up_at FROM responses r LEFT JOIN mailbox m ON m.id = r.mailbox_id "
            "WHERE r.file_id = ? ORDER BY r.id",
            file_id,
        )

    def other_mailbox_files(self, file_id: str) -> list[Row]:
        """Mailbox entries made for the file besides its answers: reports, routed batches,
        payer 277CAs."""
        return self._q(
            "SELECT * FROM mailbox WHERE file_id = ? AND id NOT IN "
            "(SELECT mailbox_id FROM responses WHERE file_id = ? AND mailbox_id IS NOT NULL) "
            "ORDER BY id",
            file_id,
            file_id,
        )

    # 835s --------------------------------------------------------------------------------
    def remits_by_isa13(self, isa13: str) -> list[Row]:
        return self._q("SELECT * FROM remits WHERE isa13 = ? ORDER BY id", isa13)

    def remits_since(self, since: float, payee_npi: str, limit: int = 50) -> list[Row]:
        """835s made at or after ``since`` for this payee (or naming none), oldest first."""
        return self._q(
            "SELECT * FROM remits WHERE created_at >= ? AND payee_npi IN (?, '') "
            "ORDER BY created_at, id LIMIT ?",
            since,
            payee_npi,
            limit,
        )

    def remit_mailbox_entry(self, remit: Row) -> Row | None:
        """The mailbox entry an 835 went out as (ours: by id; a forwarded one: by partner and
        time, as the routing step wrote both in one transaction)."""
        if remit["mailbox_id"] is not None:
            rows = self._q("SELECT * FROM mailbox WHERE id = ?", remit["mailbox_id"])
        else:
            rows = self._q(
                "SELECT * FROM mailbox WHERE partner_id = ? AND kind = '835' "
                "AND created_at = ? ORDER BY id",
                remit["partner_id"],
                remit["created_at"],
            )
        return rows[0] if rows else None
