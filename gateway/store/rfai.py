"""Requests for more information (delta 10): the 277 RFAI a payer sent about a pended claim,
and the 275 attachments that answered it.

Identifiers and codes only: the requested items are LOINC codes, the attachment's content
lives in the blob store (its SHA-256 here). States: ``open`` (waiting for the provider),
``answered`` (a matching 275 arrived), ``expired`` (the due date passed unanswered; the claim
was denied), ``closed`` (the claim was decided another way).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from gateway.store.engine import Row
from gateway.store.files import StoreTransaction
from gateway.store.routing import RouteRecord

OPEN = "open"
ANSWERED = "answered"
EXPIRED = "expired"
CLOSED = "closed"
SIMULATED = "simulated"
EXTERNAL = "external"


class InfoRequestRow(NamedTuple):
    id: str
    route_id: int | None
    claim_row_id: int | None
    clm01: str
    payer_partner_id: str
    payer_id: str
    provider_partner_id: str
    payer_claim_id: str
    attachment_control: str
    items: tuple[str, ...]
    due: str
    """YYYY-MM-DD."""
    state: str
    source: str
    created_at: float
    updated_at: float
    sent_name: str | None = None


class AttachmentRow(NamedTuple):
    request_id: str
    sha256: str
    format: str
    size: int
    file_id: str
    received_at: float
    forwarded_name: str | None = None


_SELECT = (
    "SELECT id, route_id, claim_row_id, clm01, payer_partner_id, payer_id, provider_partner_id, "
    "payer_claim_id, attachment_control, items, due, state, source, created_at, updated_at, "
    "sent_name FROM info_requests "
)


def _request(row: Row) -> InfoRequestRow:
    return InfoRequestRow(
        str(row["id"]),
        int(row["route_id"]) if row["route_id"] is not None else None,
        int(row["claim_row_id"]) if row["claim_row_id"] is not None else None,
        row["clm01"],
        row["payer_partner_id"],
        row["payer_id"],
        row["provider_partner_id"],
        row["payer_claim_id"],
        row["attachment_control"],
        tuple(str(row["items"]).split()),
        row["due"],
        row["state"],
        row["source"],
        float(row["created_at"]),
        float(row["updated_at"]),
        row["sent_name"],
    )


class RfaiTransaction(StoreTransaction):
    def new_request_id(self) -> str:
        return f"RFAI{self.next_counter('rfai'):08d}"  # type: ignore[attr-defined]

    def add_info_request(self, row: InfoRequestRow) -> None:
        self._sql.execute(
            "INSERT INTO info_requests (id, route_id, claim_row_id, clm01, payer_partner_id, "
            "payer_id, provider_partner_id, payer_claim_id, attachment_control, items, due, "
            "state, source, created_at, updated_at, sent_name) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row[:9], " ".join(row.items), *row[10:]),
        )

    def info_request(self, request_id: str) -> InfoRequestRow | None:
        row = self._sql.select_one(_SELECT + "WHERE id = ?", (request_id,))
        return _request(row) if row is not None else None

    def requests_for_route(self, route_id: int) -> list[InfoRequestRow]:
        """The route's requests, newest first."""
        rows = self._sql.select(
            _SELECT + "WHERE route_id = ? ORDER BY created_at DESC, id DESC",
            (route_id,),
        )
        return [_request(r) for r in rows]

    def requests_for_routes(self, route_ids: Iterable[int]) -> dict[int, InfoRequestRow]:
        """The newest request of each route that has one."""
        out: dict[int, InfoRequestRow] = {}
        for route_id in route_ids:
            found = self.requests_for_route(route_id)
            if found:
                out[route_id] = found[0]
        return out

    def requests_by_payer_claim(self, payer_claim_id: str) -> list[InfoRequestRow]:
        """Every request about this payer claim number, newest first (any partner: the
        caller checks the owner)."""
        rows = self._sql.select(
            _SELECT + "WHERE payer_claim_id = ? ORDER BY created_at DESC, id DESC",
            (payer_claim_id,),
        )
        return [_request(r) for r in rows]

    def requests_by_clm01(self, clm01: str) -> list[InfoRequestRow]:
        rows = self._sql.select(
            _SELECT + "WHERE clm01 = ? ORDER BY created_at, id",
            (clm01,),
        )
        return [_request(r) for r in rows]

    def set_request_state(self, request_id: str, state: str, now: float) -> None:
        self._sql.execute(
            "UPDATE info_requests SET state = ?, updated_at = ? WHERE id = ?",
            (state, now, request_id),
        )

    def set_request_sent(self, request_id: str, name: str) -> None:
        self._sql.execute("UPDATE info_requests SET sent_name = ? WHERE id = ?", (name, request_id))

    def routes_by_payer_claim(
        self, payer_partner_id: str, payer_claim_id: str
    ) -> list[RouteRecord]:
        """The claims sent to the payer that it numbered ``payer_claim_id``, newest first."""
        rows = self._sql.select(
            "SELECT r.id, r.claim_row_id, r.batch_id, r.payer_partner_id, r.payer_id, "
            "r.out_isa13, r.out_gs06, r.out_st02, r.out_index, r.clm01, r.file_id, "
            "r.submitter_partner_id, r.source_isa13, r.source_st02, r.source_index, "
            "r.billing_npi, r.state, r.payer_claim_id, r.decision, r.updated_at FROM routes r "
            "WHERE r.payer_partner_id = ? AND r.payer_claim_id = ? ORDER BY r.id DESC",
            (payer_partner_id, payer_claim_id),
        )
        return [RouteRecord(*r) for r in rows]

    def add_attachment(self, row: AttachmentRow) -> None:
        self._sql.execute(
            "INSERT INTO attachments (request_id, sha256, format, size, file_id, received_at, "
            "forwarded_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
            row,
        )

    def attachments_of(self, request_id: str) -> list[AttachmentRow]:
        rows = self._sql.select(
            "SELECT request_id, sha256, format, size, file_id, received_at, forwarded_name "
            "FROM attachments WHERE request_id = ? ORDER BY received_at",
            (request_id,),
        )
        return [
            AttachmentRow(
                r["request_id"],
                r["sha256"],
                r["format"],
                int(r["size"]),
                r["file_id"],
                float(r["received_at"]),
                r["forwarded_name"],
            )
            for r in rows
        ]
