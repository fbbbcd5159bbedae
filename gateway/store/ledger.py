"""The remittance ledger: every 835 that reaches a provider, posted claim by claim and line by
line (the pure rows are gateway/payers/posting.py; the step that posts is
gateway/pipeline/posting.py, inside the transaction that places the 835 in the mailbox).

``ledger_payments``    one per ``ST*835``: payer, TRN02 trace, BPR amount/method/date, payee,
                       the partner whose mailbox it reached. Key (payer, trace): the same 835
                       twice posts once (``ON CONFLICT DO NOTHING``, not check-then-insert).
``ledger_claims``      one per CLP, with the route it answers (NULL: matches no claim the
                       gateway routed, "needs attention") and its derived balance and state.
``ledger_lines``       one per SVC.
``ledger_adjustments`` every CAS amount, claim level (``line_number`` 0) and line level.
``ledger_plb``         provider-level adjustments.

(Delta 6 adds the patient of each posted claim, NM1*QC, for patient billing:
gateway/store/billing.py.)

Amounts are TEXT decimals (exact); callers get :class:`~decimal.Decimal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from gateway.payers.posting import Posting
from gateway.store.engine import Row
from gateway.store.files import StoreTransaction


class LedgerPayment(NamedTuple):
    payer_key: str
    trace: str
    partner_id: str
    payer_id: str
    payer_name: str
    payee_npi: str
    payee_tin: str
    amount: Decimal
    method_code: str
    payment_date: str
    claims: int
    plb_total: Decimal
    balanced: bool
    mailbox_name: str
    posted_at: float


class LedgerClaim(NamedTuple):
    payer_key: str
    trace: str
    seq: int
    route_id: int | None
    patient_control: str
    payer_claim_id: str
    status_code: str
    kind: str
    original_payer_claim_id: str
    billing_npi: str
    service_date: str | None
    billed: Decimal
    allowed: Decimal | None
    paid: Decimal
    contractual: Decimal
    patient_responsibility: Decimal
    other: Decimal
    state: str
    remarks: str

    @property
    def matched(self) -> bool:
        return self.route_id is not None


class LedgerAdjustment(NamedTuple):
    seq: int
    line_number: int
    group_code: str
    carc: str
    amount: Decimal


def _dec(value: object) -> Decimal:
    return Decimal(str(value))


def _opt(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _s(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _payment(row: Row) -> LedgerPayment:
    return LedgerPayment(
        row["payer_key"], row["trace"], row["partner_id"], row["payer_id"], row["payer_name"],
        row["payee_npi"], row["payee_tin"], _dec(row["amount"]), row["method_code"],
        row["payment_date"], int(row["claims"]), _dec(row["plb_total"]), bool(row["balanced"]),
        row["mailbox_name"], float(row["posted_at"]),
    )  # fmt: skip


def _claim(row: Row) -> LedgerClaim:
    return LedgerClaim(
        row["payer_key"], row["trace"], int(row["seq"]), row["route_id"],
        row["patient_control"], row["payer_claim_id"], row["status_code"], row["kind"],
        row["original_payer_claim_id"], row["billing_npi"], row["service_date"],
        _dec(row["billed"]), _opt(row["allowed"]), _dec(row["paid"]),
        _dec(row["contractual"]), _dec(row["patient_responsibility"]), _dec(row["other"]),
        row["state"], row["remarks"],
    )  # fmt: skip


def _unmatched_query(partner_id: str | None) -> tuple[str, tuple[object, ...]]:
    select = (
        "SELECT c.payer_key, c.trace, c.seq, c.route_id, c.patient_control, c.payer_claim_id, "
        "c.status_code, c.kind, c.original_payer_claim_id, c.billing_npi, c.service_date, "
        "c.billed, c.allowed, c.paid, c.contractual, c.patient_responsibility, c.other, "
        "c.state, c.remarks FROM ledger_claims c JOIN ledger_payments p "
        "ON p.payer_key = c.payer_key AND p.trace = c.trace WHERE c.route_id IS NULL"
    )
    order = " ORDER BY p.posted_at, c.payer_key, c.trace, c.seq"
    if partner_id is None:
        return select + order, ()
    return select + " AND p.partner_id = ?" + order, (partner_id,)


class LedgerTransaction(StoreTransaction):
    def post_remittance(
        self,
        posting: Posting,
        *,
        partner_id: str,
        mailbox_name: str,
        route_ids: Sequence[int | None],
        now: float,
    ) -> bool:
        """Post one ``ST*835`` (``route_ids``: the route each claim answers, in order, None
        for a claim that matches none). False when this payment (payer, trace) is posted
        already: nothing is written twice."""
        key, trace = posting.payer_key, posting.trace
        inserted = self._sql.changed(
            "INSERT INTO ledger_payments (payer_key, trace, partner_id, payer_id, "
            "payer_identifier, payer_name, payee_npi, payee_tin, st02, amount, method_code, "
            "payment_date, claims, plb_total, balanced, mailbox_name, posted_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (payer_key, trace) DO NOTHING",
            (key, trace, partner_id, posting.payer_id, posting.payer_identifier,
             posting.payer_name, posting.payee_npi, posting.payee_tin, posting.st02,
             _s(posting.amount), posting.method_code, posting.payment_date.isoformat(),
             len(posting.claims), _s(posting.plb_total), int(posting.balanced), mailbox_name,
             now),
        )  # fmt: skip
        if not inserted:
            return False
        self._sql.execute_many(
            "INSERT INTO ledger_claims (payer_key, trace, seq, route_id, patient_control, "
            "payer_claim_id, status_code, kind, original_payer_claim_id, billing_npi, "
            "service_date, billed, allowed, paid, contractual, patient_responsibility, other, "
            "state, remarks, member_id, patient_last, patient_first) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (key, trace, c.seq, route_id, c.patient_control, c.payer_claim_id,
                 c.status_code, c.kind, c.original_payer_claim_id, posting.payee_npi,
                 c.service_date.isoformat() if c.service_date else None, _s(c.billed),
                 _s(c.allowed), _s(c.paid), _s(c.contractual), _s(c.patient_responsibility),
                 _s(c.other), c.state, " ".join(c.remarks), c.member_id, c.patient_last,
                 c.patient_first)
                for c, route_id in zip(posting.claims, route_ids, strict=True)
            ],
        )  # fmt: skip
        self._sql.execute_many(
            "INSERT INTO ledger_lines (payer_key, trace, seq, line_number, procedure_code, "
            "control_number, service_date, units, billed, allowed, paid, remarks) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (key, trace, c.seq, ln.line_number, ln.procedure, ln.control_number,
                 ln.service_date.isoformat() if ln.service_date else None, str(ln.units),
                 _s(ln.billed), _s(ln.allowed), _s(ln.paid), " ".join(ln.remarks))
                for c in posting.claims
                for ln in c.lines
            ],
        )  # fmt: skip
        self._sql.execute_many(
            "INSERT INTO ledger_adjustments (payer_key, trace, seq, line_number, n, group_code, "
            "carc, amount, quantity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (key, trace, c.seq, a.line_number, n, a.group, a.carc, _s(a.amount),
                 None if a.quantity is None else str(a.quantity))
                for c in posting.claims
                for n, a in enumerate(c.all_adjustments, start=1)
            ],
        )  # fmt: skip
        self._sql.execute_many(
            "INSERT INTO ledger_plb (payer_key, trace, n, reason, reference, amount) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(key, trace, p.seq, p.reason, p.reference, _s(p.amount)) for p in posting.plb],
        )
        return True

    def ledger_payments(self, partner_id: str | None = None) -> list[LedgerPayment]:
        """Posted payments, newest first (one partner's, or all)."""
        select = (
            "SELECT payer_key, trace, partner_id, payer_id, payer_name, payee_npi, payee_tin, "
            "amount, method_code, payment_date, claims, plb_total, balanced, mailbox_name, "
            "posted_at FROM ledger_payments "
        )
        order = " ORDER BY posted_at DESC, payer_key, trace"
        if partner_id is None:
            rows = self._sql.select(select + order)
        else:
            rows = self._sql.select(select + "WHERE partner_id = ?" + order, (partner_id,))
        return [_payment(r) for r in rows]

    def ledger_claims(self, payer_key: str, trace: str) -> list[LedgerClaim]:
        rows = self._sql.select(
            "SELECT payer_key, trace, seq, route_id, patient_control, payer_claim_id, "
            "status_code, kind, original_payer_claim_id, billing_npi, service_date, billed, "
            "allowed, paid, contractual, patient_responsibility, other, state, remarks "
            "FROM ledger_claims WHERE payer_key = ? AND trace = ? "
            "ORDER BY seq",
            (payer_key, trace),
        )
        return [_claim(r) for r in rows]

    def ledger_adjustments(self, payer_key: str, trace: str) -> list[LedgerAdjustment]:
        rows = self._sql.select(
            "SELECT seq, line_number, group_code, carc, amount FROM ledger_adjustments "
            "WHERE payer_key = ? AND trace = ? ORDER BY seq, line_number, n",
            (payer_key, trace),
        )
        return [
            LedgerAdjustment(int(r["seq"]), int(r["line_number"]), r["group_code"], r["carc"],
                             _dec(r["amount"]))
            for r in rows
        ]  # fmt: skip

    def ledger_unmatched(self, partner_id: str | None = None) -> list[LedgerClaim]:
        """Posted claims that match no claim the gateway routed ("needs attention")."""
        return [_claim(r) for r in self._sql.select(*_unmatched_query(partner_id))]


class LedgerStore:
    """Ledger reads outside an explicit transaction (each a consistent snapshot)."""

    def _select(self, sql: str, args: tuple[object, ...] = ()) -> list[Row]:
        raise NotImplementedError

    def unmatched(self, partner_id: str) -> list[LedgerClaim]:
        """The partner's posted claims that match no claim the gateway routed ("needs
        attention"), oldest first."""
        return [_claim(r) for r in self._select(*_unmatched_query(partner_id))]

    def remittances(
        self, partner_id: str, limit: int = 1000
    ) -> list[tuple[LedgerPayment, list[LedgerClaim]]]:
        """The partner's posted payments, newest first (at most ``limit``), each with its
        claims in 835 order."""
        payments = [
            _payment(r)
            for r in self._select(
                "SELECT payer_key, trace, partner_id, payer_id, payer_name, payee_npi, payee_tin, "
                "amount, method_code, payment_date, claims, plb_total, balanced, mailbox_name, "
                "posted_at FROM ledger_payments WHERE partner_id = ? "
                "ORDER BY posted_at DESC, payer_key, trace LIMIT ?",
                (partner_id, limit),
            )
        ]
        if not payments:
            return []
        oldest = payments[-1].posted_at
        claims: dict[tuple[str, str], list[LedgerClaim]] = {}
        for row in self._select(
            "SELECT c.payer_key, c.trace, c.seq, c.route_id, c.patient_control, "
            "c.payer_claim_id, c.status_code, c.kind, c.original_payer_claim_id, "
            "c.billing_npi, c.service_date, c.billed, c.allowed, c.paid, c.contractual, "
            "c.patient_responsibility, c.other, c.state, c.remarks FROM ledger_claims c "
            "JOIN ledger_payments p ON p.payer_key = c.payer_key AND p.trace = c.trace "
            "WHERE p.partner_id = ? AND p.posted_at >= ? ORDER BY c.payer_key, c.trace, c.seq",
            (partner_id, oldest),
        ):
            claim = _claim(row)
            claims.setdefault((claim.payer_key, claim.trace), []).append(claim)
        return [(p, claims.get((p.payer_key, p.trace), [])) for p in payments]
