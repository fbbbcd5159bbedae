"""Claims and routes, payer decisions and accumulators, 835s: the store of routing claims to
payers and answering them (the steps are gateway/pipeline/routing.py).

``batches``   one re-enveloped 837 interchange per payer per source file (kept as a blob).
``routes``    one row per routed claim: outbound (ISA13, ST02, index) → source claim, its
              state at the payer and the payer's decision.
``decisions`` the latest decision per payer claim control number (CLP07), for corrections.
``accumulators`` / ``paid_history`` the simulated payers' memory across claims.
``remits``    835s built (or received) and where they went.
(``accepted_sets``, the sets each inbound file's 999 accepted, is gateway/store/files.py's.)

Records are NamedTuples: typed, and as cheap to build from a row as the row itself (a payer
cycle reads and writes every waiting claim).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from gateway.store.files import StoreTransaction


class RouteRecord(NamedTuple):
    """One routed claim (a ``routes`` row)."""

    id: int
    claim_row_id: int | None
    batch_id: int
    payer_partner_id: str
    payer_id: str
    out_isa13: str
    out_gs06: str
    out_st02: str
    out_index: int
    clm01: str
    file_id: str
    submitter_partner_id: str
    source_isa13: str
    source_st02: str
    source_index: int
    billing_npi: str
    state: str
    payer_claim_id: str | None
    decision: str | None
    updated_at: float


class WaitingRoute(NamedTuple):
    """A route waiting for its payer's cycle, with its batch (blob, creation time, ISA15)."""

    id: int
    claim_row_id: int | None
    batch_id: int
    payer_partner_id: str
    payer_id: str
    out_isa13: str
    out_gs06: str
    out_st02: str
    out_index: int
    clm01: str
    file_id: str
    submitter_partner_id: str
    source_isa13: str
    source_st02: str
    source_index: int
    billing_npi: str
    state: str
    payer_claim_id: str | None
    decision: str | None
    updated_at: float
    batch_sha: str
    batch_created: float
    usage: str


class NewBatch(NamedTuple):
    payer_partner_id: str
    payer_id: str
    isa13: str
    sha256: str
    size: int
    source_file_id: str
    created_at: float
    delivery: str
    usage: str
    mailbox_id: int | None


class NewRoute(NamedTuple):
    claim_row_id: int
    batch_id: int
    payer_partner_id: str
    payer_id: str
    out_isa13: str
    out_gs06: str
    out_st02: str
    out_index: int
    clm01: str
    file_id: str
    submitter_partner_id: str
    source_isa13: str
    source_st02: str
    source_index: int
    billing_npi: str
    state: str
    updated_at: float


class RouteDecision(NamedTuple):
    """A route's new state with the payer's decision (JSON) on it."""

    state: str
    payer_claim_id: str | None
    decision: str
    updated_at: float
    route_id: int


class SavedDecision(NamedTuple):
    """The latest decision for a payer claim control number (CLP07)."""

    payer_id: str
    payer_claim_id: str
    decision: str
    route_id: int | None


class NewRemit(NamedTuple):
    payer_id: str
    payee_npi: str
    payee_tin: str
    partner_id: str
    trace: str
    total: str
    claims: int
    isa13: str
    mailbox_id: int | None
    source_file_id: str | None
    created_at: float


class AccumulatorRow(NamedTuple):
    deductible_met: str
    oop_met: str


class InquiryRoute(NamedTuple):
    """A batch inquiry (one request, by its TRN02) sent to an external payer."""

    payer_partner_id: str
    trn02: str
    file_id: str
    submitter_partner_id: str
    source_isa13: str
    source_st02: str
    usage: str
    out_isa13: str
    out_gs06: str
    created_at: float
    answered_at: float | None = None


class RoutingTransaction(StoreTransaction):
    # batch inquiries routed to external payers --------------------------------------------
    def add_inquiry_routes(self, rows: Iterable[InquiryRoute]) -> None:
        self._sql.execute_many(
            "INSERT INTO inquiry_routes (payer_partner_id, trn02, file_id, "
            "submitter_partner_id, source_isa13, source_st02, usage, out_isa13, out_gs06, "
            "created_at, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [tuple(r) for r in rows],
        )

    def inquiry_routes(
        self, payer_partner_id: str, *, trn02: str | None = None, gs06: str | None = None
    ) -> list[InquiryRoute]:
        """The inquiries sent to the payer with this TRN02 (or in the group with this GS06)."""
        by_trn = trn02 is not None
        rows = self._sql.select(
            "SELECT payer_partner_id, trn02, file_id, submitter_partner_id, source_isa13, "
            "source_st02, usage, out_isa13, out_gs06, created_at, answered_at "
            "FROM inquiry_routes WHERE payer_partner_id = ? "
            + ("AND trn02 = ? " if by_trn else "AND out_gs06 = ? ")
            + "ORDER BY created_at, file_id",
            (payer_partner_id, trn02 if by_trn else gs06),
        )
        return [InquiryRoute(*r) for r in rows]

    def answer_inquiry_route(self, route: InquiryRoute, now: float) -> None:
        self._sql.execute(
            "UPDATE inquiry_routes SET answered_at = ? "
            "WHERE payer_partner_id = ? AND trn02 = ? AND file_id = ?",
            (now, route.payer_partner_id, route.trn02, route.file_id),
        )

    # batches and routes ------------------------------------------------------------------
    def add_batch(self, batch: NewBatch) -> int:
        return self._sql.insert(
            "INSERT INTO batches (payer_partner_id, payer_id, isa13, sha256, size, "
            "source_file_id, created_at, delivery, usage, mailbox_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )

    def add_routes(self, routes: Iterable[NewRoute]) -> None:
        self._sql.execute_many(
            "INSERT INTO routes (claim_row_id, batch_id, payer_partner_id, payer_id, "
            "out_isa13, out_gs06, out_st02, out_index, clm01, file_id, "
            "submitter_partner_id, source_isa13, source_st02, source_index, billing_npi, "
            "state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            routes,
        )

    def waiting_routes(self, payer_partner_id: str, states: tuple[str, str]) -> list[WaitingRoute]:
        """The payer's routes in either state, with their batch, in route order."""
        rows = self._sql.select(
            "SELECT r.id, r.claim_row_id, r.batch_id, r.payer_partner_id, r.payer_id, "
            "r.out_isa13, r.out_gs06, r.out_st02, r.out_index, r.clm01, r.file_id, "
            "r.submitter_partner_id, r.source_isa13, r.source_st02, r.source_index, "
            "r.billing_npi, r.state, r.payer_claim_id, r.decision, r.updated_at, "
            "b.sha256 AS batch_sha, b.created_at AS batch_created, b.usage AS usage "
            "FROM routes r JOIN batches b ON b.id = r.batch_id "
            "WHERE r.payer_partner_id = ? AND r.state IN (?, ?) ORDER BY r.id",
            (payer_partner_id, *states),
        )
        return [WaitingRoute(*r) for r in rows]

    def routes_by_clm01(self, payer_partner_id: str, clm01: str) -> list[RouteRecord]:
        """The claims with this CLM01 sent to the payer, newest first."""
        rows = self._sql.select(
            "SELECT r.id, r.claim_row_id, r.batch_id, r.payer_partner_id, r.payer_id, "
            "r.out_isa13, r.out_gs06, r.out_st02, r.out_index, r.clm01, r.file_id, "
            "r.submitter_partner_id, r.source_isa13, r.source_st02, r.source_index, "
            "r.billing_npi, r.state, r.payer_claim_id, r.decision, r.updated_at FROM routes r "
            "WHERE r.payer_partner_id = ? AND r.clm01 = ? ORDER BY r.id DESC",
            (payer_partner_id, clm01),
        )
        return [RouteRecord(*r) for r in rows]

    def routes_by_gs06(self, payer_partner_id: str, gs06: str) -> list[RouteRecord]:
        """The claims sent to the payer in the functional group with this GS06."""
        rows = self._sql.select(
            "SELECT r.id, r.claim_row_id, r.batch_id, r.payer_partner_id, r.payer_id, "
            "r.out_isa13, r.out_gs06, r.out_st02, r.out_index, r.clm01, r.file_id, "
            "r.submitter_partner_id, r.source_isa13, r.source_st02, r.source_index, "
            "r.billing_npi, r.state, r.payer_claim_id, r.decision, r.updated_at FROM routes r "
            "WHERE r.payer_partner_id = ? AND r.out_gs06 = ?",
            (payer_partner_id, gs06),
        )
        return [RouteRecord(*r) for r in rows]

    def set_route_decisions(self, updates: Iterable[RouteDecision]) -> None:
        self._sql.execute_many(
            "UPDATE routes SET state = ?, payer_claim_id = ?, decision = ?, updated_at = ? "
            "WHERE id = ?",
            updates,
        )

    def set_route_state(self, route_id: int, state: str, now: float) -> None:
        self._sql.execute(
            "UPDATE routes SET state = ?, updated_at = ? WHERE id = ?", (state, now, route_id)
        )

    def batch_states(self, batch_ids: Sequence[int]) -> list[str]:
        return [
            row["state"]
            for batch_id in batch_ids
            for row in self._sql.select("SELECT state FROM batches WHERE id = ?", (batch_id,))
        ]

    def acknowledge_batches(self, batch_ids: Sequence[int]) -> None:
        self._sql.execute_many(
            "UPDATE batches SET state = 'acknowledged' WHERE id = ?", [(b,) for b in batch_ids]
        )

    # the simulated payers' memory ---------------------------------------------------------
    def accumulator(self, payer_id: str, member_id: str, year: int) -> AccumulatorRow | None:
        row = self._sql.select_one(
            "SELECT deductible_met, oop_met FROM accumulators "
            "WHERE payer_id = ? AND member_id = ? AND year = ?",
            (payer_id, member_id, year),
        )
        return AccumulatorRow(row["deductible_met"], row["oop_met"]) if row else None

    def save_accumulator(
        self, payer_id: str, member_id: str, year: int, deductible_met: str, oop_met: str
    ) -> None:
        self._sql.execute(
            "INSERT INTO accumulators (payer_id, member_id, year, deductible_met, oop_met) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (payer_id, member_id, year) DO UPDATE SET "
            "deductible_met = excluded.deductible_met, oop_met = excluded.oop_met",
            (payer_id, member_id, year, deductible_met, oop_met),
        )

    def paid_claim(self, payer_id: str, fingerprint: str) -> str | None:
        """The payer claim control number a claim with this fingerprint was paid under."""
        row = self._sql.select_one(
            "SELECT payer_claim_id FROM paid_history WHERE payer_id = ? AND fingerprint = ?",
            (payer_id, fingerprint),
        )
        return str(row["payer_claim_id"]) if row else None

    def record_paid(self, payer_id: str, fingerprint: str, payer_claim_id: str) -> None:
        self._sql.execute(
            "INSERT INTO paid_history (payer_id, fingerprint, payer_claim_id) VALUES (?, ?, ?) "
            "ON CONFLICT (payer_id, fingerprint) DO UPDATE SET "
            "payer_claim_id = excluded.payer_claim_id",
            (payer_id, fingerprint, payer_claim_id),
        )

    def forget_paid(self, payer_id: str, payer_claim_id: str) -> None:
        self._sql.execute(
            "DELETE FROM paid_history WHERE payer_id = ? AND payer_claim_id = ?",
            (payer_id, payer_claim_id),
        )

    def decision(self, payer_id: str, payer_claim_id: str) -> str | None:
        """The latest decision (JSON) under this payer claim control number."""
        row = self._sql.select_one(
            "SELECT decision FROM decisions WHERE payer_id = ? AND payer_claim_id = ?",
            (payer_id, payer_claim_id),
        )
        return str(row["decision"]) if row else None

    def save_decisions(self, decisions: Iterable[SavedDecision]) -> None:
        self._sql.execute_many(
            "INSERT INTO decisions (payer_id, payer_claim_id, decision, route_id) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (payer_id, payer_claim_id) DO UPDATE SET "
            "decision = excluded.decision, route_id = excluded.route_id",
            decisions,
        )

    # 835s -----------------------------------------------------------------------------------
    def add_remit(self, remit: NewRemit) -> int:
        return self._sql.insert(
            "INSERT INTO remits (payer_id, payee_npi, payee_tin, partner_id, trace, total, "
            "claims, isa13, mailbox_id, source_file_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            remit,
        )

    def remit_trace_seen(self, payer_id: str, trace: str) -> bool:
        row = self._sql.select_one(
            "SELECT 1 FROM remits WHERE payer_id = ? AND trace = ? LIMIT 1", (payer_id, trace)
        )
        return row is not None
