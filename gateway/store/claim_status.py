"""Claim status look-ups (276 → 277): a partner's own claims by CLM01 or payer claim control
number, their routes and the 835 that paid them (the posted ledger), and the log of status
requests (``status_requests``, delta 8). The answer itself is gateway/payers/claim_status.py's.

Every look-up is scoped to the requesting partner (the submitter of the claim's file): a
request never finds another partner's claim.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from gateway.store.engine import Row
from gateway.store.files import StoreTransaction


class StatusClaim(NamedTuple):
    """A claim as the clearinghouse recorded it, with its file's receipt time."""

    id: int
    file_id: str
    clm01: str
    payer_id: str
    billing_npi: str
    charge: str
    frequency_code: str
    accepted: bool
    codes: tuple[str, ...]
    received_at: float


class StatusRoute(NamedTuple):
    id: int
    payer_partner_id: str
    state: str
    payer_claim_id: str | None
    decision: str | None
    updated_at: float


class PaidBy(NamedTuple):
    """The posted 835 that answered a route: TRN02, BPR16 and BPR04."""

    trace: str
    payment_date: str
    method_code: str


class StatusRequestRow(NamedTuple):
    requested_at: float
    partner_id: str
    channel: str
    payer_id: str
    trace: str
    clm01: str
    claim_row_id: int | None
    route_id: int | None
    status: str
    source: str


_CLAIM = (
    "SELECT c.id, c.file_id, c.clm01, c.payer_id, c.billing_npi, c.charge, c.frequency_code, "
    "c.accepted, c.codes, f.received_at FROM claims c JOIN files f ON f.id = c.file_id "
)


def _claims(rows: Iterable[Row]) -> list[StatusClaim]:
    return [
        StatusClaim(
            int(r["id"]),
            r["file_id"],
            r["clm01"],
            r["payer_id"],
            r["billing_npi"],
            r["charge"],
            r["frequency_code"],
            bool(r["accepted"]),
            tuple(str(r["codes"]).split()),
            float(r["received_at"]),
        )
        for r in rows
    ]


class ClaimStatusTransaction(StoreTransaction):
    def status_claims(self, partner_id: str, payer_id: str, clm01: str) -> list[StatusClaim]:
        """The partner's claims with this CLM01 for this payer ID: the accepted ones first
        (a rejected resubmission, e.g. a duplicate, does not hide the claim the payer has),
        newest first."""
        return _claims(
            self._sql.select(
                _CLAIM + "WHERE f.partner_id = ? AND c.payer_id = ? AND c.clm01 = ? "
                "ORDER BY c.accepted DESC, c.id DESC",
                (partner_id, payer_id, clm01),
            )
        )

    def status_claims_by_payer_number(
        self, partner_id: str, payer_id: str, payer_claim_id: str
    ) -> list[StatusClaim]:
        """The partner's claims the payer numbered ``payer_claim_id`` (CLP07), newest first."""
        return _claims(
            self._sql.select(
                _CLAIM + "JOIN routes r ON r.claim_row_id = c.id WHERE f.partner_id = ? "
                "AND r.submitter_partner_id = ? AND r.payer_id = ? AND r.payer_claim_id = ? "
                "ORDER BY c.id DESC",
                (partner_id, partner_id, payer_id, payer_claim_id),
            )
        )

    def status_route(self, claim_row_id: int) -> StatusRoute | None:
        """The claim's newest route."""
        row = self._sql.select_one(
            "SELECT id, payer_partner_id, state, payer_claim_id, decision, updated_at "
            "FROM routes WHERE claim_row_id = ? ORDER BY id DESC LIMIT 1",
            (claim_row_id,),
        )
        if row is None:
            return None
        return StatusRoute(
            int(row["id"]),
            row["payer_partner_id"],
            row["state"],
            row["payer_claim_id"],
            row["decision"],
            float(row["updated_at"]),
        )

    def paid_by(self, route_id: int, payer_claim_id: str) -> PaidBy | None:
        """The latest posted 835 claim for this route under this CLP07."""
        row = self._sql.select_one(
            "SELECT p.trace, p.payment_date, p.method_code FROM ledger_claims c "
            "JOIN ledger_payments p ON p.payer_key = c.payer_key AND p.trace = c.trace "
            "WHERE c.route_id = ? AND c.payer_claim_id = ? ORDER BY p.posted_at DESC LIMIT 1",
            (route_id, payer_claim_id),
        )
        if row is None:
            return None
        return PaidBy(row["trace"], row["payment_date"], row["method_code"])

    def record_status_requests(self, rows: Iterable[StatusRequestRow]) -> None:
        self._sql.execute_many(
            "INSERT INTO status_requests (requested_at, partner_id, channel, payer_id, trace, "
            "clm01, claim_row_id, route_id, status, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
