"""Patient billing: the claims' whole history read back for the derived balances and states
(gateway/payers/billing.py), patient payments, patient statements and appeals (delta
``0007_billing.sql``).

Public API (for the HTTP API, the CLI and colleagues reading a claim's lifecycle, e.g. claim
status):

* :meth:`BillingStore.claim_facts` ``(partner_id, npis, claim_id=None)`` — every claim the
  gateway judged that the partner submitted or that is for one of its providers (``npis``),
  as :class:`~gateway.payers.billing.ClaimFacts`: the front-end verdict, the route and its
  state at the payer, each 835 posting that answers it (with adjustments and lines), the
  statements it was on, its appeals and write-offs. ``claim_id`` limits it to one claim.
* :meth:`BillingStore.patient_payments` ``(partner_id)`` — the partner's patient payments.
* :meth:`BillingStore.statements` ``(partner_id)`` — the statements made for its providers.
* :meth:`BillingTransaction.add_patient_payment` (idempotent by reference),
  :meth:`BillingTransaction.add_appeal`, :meth:`BillingTransaction.add_writeoff`,
  :meth:`BillingTransaction.add_statement`.

The balance and state are derived from these facts, never stored: one rule
(:func:`gateway.payers.billing.balances`) for the API, the statements and the worklist.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from gateway.payers.billing import (
    Adjustment,
    Appeal,
    ClaimFacts,
    PatientPayment,
    RemitLine,
    RemitPost,
    WriteOff,
)
from gateway.store.engine import Row
from gateway.store.files import StoreTransaction


class StatementRecord(NamedTuple):
    id: str
    partner_id: str
    provider_npi: str
    account: str
    statement_date: str
    due_date: str
    previous_balance: Decimal
    payments: Decimal
    amount_due: Decimal
    mailbox_name: str
    sha256: str
    created_at: float


class ClaimSource(NamedTuple):
    """Where a claim came from: its file's payload and its place in it."""

    claim_id: int
    file_id: str
    sha256: str
    interchange_control: str
    st02: str
    claim_index: int


def _d(value: object) -> Decimal:
    return Decimal(str(value))


def _date(value: object) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _scope(npis: Sequence[str], claim_id: int | None) -> tuple[str, list[object]]:
    """WHERE clause (on ``c`` claims, ``f`` files) of the claims a partner may see."""
    where = "(f.partner_id = ?"
    args: list[object] = []
    if npis:
        where += f" OR c.billing_npi IN ({', '.join('?' for _ in npis)})"
        args += list(npis)
    where += ")"
    if claim_id is not None:
        where += " AND c.id = ?"
        args.append(claim_id)
    return where, args


def _statement(row: Row) -> StatementRecord:
    return StatementRecord(
        row["id"], row["partner_id"], row["provider_npi"], row["account"],
        row["statement_date"], row["due_date"], _d(row["previous_balance"]),
        _d(row["payments"]), _d(row["amount_due"]), row["mailbox_name"], row["sha256"],
        float(row["created_at"]),
    )  # fmt: skip


def _payment(row: Row) -> PatientPayment:
    return PatientPayment(
        row["reference"], None if row["claim_id"] is None else int(row["claim_id"]),
        row["account"], _d(row["amount"]), date.fromisoformat(row["payment_date"]),
        row["method"], float(row["posted_at"]),
    )  # fmt: skip


class BillingTransaction(StoreTransaction):
    def add_patient_payment(self, partner_id: str, payment: PatientPayment) -> PatientPayment:
        """Post a patient payment once per (partner, reference): the payment as stored (the
        earlier one when this reference was posted already; the caller compares)."""
        self._sql.execute(
            "INSERT INTO patient_payments (partner_id, reference, claim_id, account, amount, "
            "payment_date, method, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (partner_id, reference) DO NOTHING",
            (partner_id, payment.reference, payment.claim_id, payment.account,
             f"{payment.amount:.2f}", payment.payment_date.isoformat(), payment.method,
             payment.posted_at),
        )  # fmt: skip
        row = self._sql.select_one(
            "SELECT reference, claim_id, account, amount, payment_date, method, posted_at "
            "FROM patient_payments WHERE partner_id = ? AND reference = ?",
            (partner_id, payment.reference),
        )
        return _payment(row)

    def add_appeal(
        self, partner_id: str, claim_id: int, reason: str, appeal_date: date,
        documents: Sequence[str], now: float,
    ) -> Appeal:  # fmt: skip
        row = self._sql.select_one(
            "SELECT COALESCE(MAX(n), 0) AS n FROM claim_appeals WHERE claim_id = ?", (claim_id,)
        )
        n = int(row["n"]) + 1 if row else 1
        self._sql.execute(
            "INSERT INTO claim_appeals (claim_id, n, partner_id, reason, appeal_date, "
            "documents, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (claim_id, n, partner_id, reason, appeal_date.isoformat(),
             json.dumps(list(documents)), now),
        )  # fmt: skip
        return Appeal(claim_id, n, reason, appeal_date, tuple(documents), now)

    def add_writeoff(
        self, partner_id: str, claim_id: int, amount: Decimal, reason: str, day: date,
        now: float,
    ) -> WriteOff:  # fmt: skip
        row = self._sql.select_one(
            "SELECT COALESCE(MAX(n), 0) AS n FROM claim_writeoffs WHERE claim_id = ?",
            (claim_id,),
        )
        n = int(row["n"]) + 1 if row else 1
        self._sql.execute(
            "INSERT INTO claim_writeoffs (claim_id, n, partner_id, amount, reason, "
            "writeoff_date, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (claim_id, n, partner_id, f"{amount:.2f}", reason, day.isoformat(), now),
        )
        return WriteOff(claim_id, n, amount, reason, day, now)

    def add_statement(self, s: StatementRecord, items: Sequence[tuple[int, Decimal]]) -> None:
        """A statement made, with its items: (claim id, the patient's balance on it)."""
        self._sql.execute(
            "INSERT INTO statements (id, partner_id, provider_npi, account, statement_date, "
            "due_date, previous_balance, payments, amount_due, mailbox_name, sha256, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.id, s.partner_id, s.provider_npi, s.account, s.statement_date, s.due_date,
             f"{s.previous_balance:.2f}", f"{s.payments:.2f}", f"{s.amount_due:.2f}",
             s.mailbox_name, s.sha256, s.created_at),
        )  # fmt: skip
        self._sql.execute_many(
            "INSERT INTO statement_items (statement_id, claim_id, patient_balance) "
            "VALUES (?, ?, ?)",
            [(s.id, claim_id, f"{amount:.2f}") for claim_id, amount in items],
        )


class BillingStore:
    """Billing reads outside an explicit transaction (each a consistent snapshot)."""

    def _select(self, sql: str, args: tuple[object, ...] = ()) -> list[Row]:
        raise NotImplementedError

    def claim_facts(
        self, partner_id: str, npis: Sequence[str], claim_id: int | None = None
    ) -> list[ClaimFacts]:
        """The claims ``partner_id`` submitted or that are for one of ``npis``, oldest
        first, each with its whole history (see the module docstring)."""
        where, scope = _scope(npis, claim_id)
        args = tuple([partner_id, *scope])
        joins = "JOIN claims c ON c.id = r.claim_row_id JOIN files f ON f.id = c.file_id"
        claims = self._select(
            "SELECT c.id, c.file_id, c.clm01, c.payer_id, c.billing_npi, c.charge, "  # noqa: S608 (placeholders only)
            "c.frequency_code, c.accepted, c.codes, f.partner_id, f.received_at, "
            "r.id AS route_id, r.state AS route_state, r.payer_partner_id, "
            "r.updated_at AS route_updated_at FROM claims c JOIN files f ON f.id = c.file_id "
            f"LEFT JOIN routes r ON r.claim_row_id = c.id WHERE {where} ORDER BY c.id, r.id",
            args,
        )
        if not claims:
            return []
        remit_rows = self._select(
            "SELECT r.claim_row_id, lc.payer_key, lc.trace, lc.seq, lc.status_code, lc.kind, "  # noqa: S608 (placeholders only)
            "lc.payer_claim_id, lc.original_payer_claim_id, lc.service_date, lc.billed, "
            "lc.paid, lc.contractual, lc.patient_responsibility, lc.other, lc.state, "
            "lc.remarks, lc.member_id, lc.patient_last, lc.patient_first, p.payer_name, "
            "p.payment_date, p.posted_at FROM ledger_claims lc JOIN ledger_payments p "
            "ON p.payer_key = lc.payer_key AND p.trace = lc.trace "
            f"JOIN routes r ON r.id = lc.route_id {joins} WHERE {where} "
            "ORDER BY p.posted_at, lc.payer_key, lc.trace, lc.seq",
            args,
        )
        adjustments: dict[tuple[str, str, int], list[Adjustment]] = defaultdict(list)
        for row in self._select(
            "SELECT a.payer_key, a.trace, a.seq, a.line_number, a.group_code, a.carc, a.amount "  # noqa: S608 (placeholders only)
            "FROM ledger_adjustments a JOIN ledger_claims lc ON lc.payer_key = a.payer_key "
            "AND lc.trace = a.trace AND lc.seq = a.seq "
            f"JOIN routes r ON r.id = lc.route_id {joins} WHERE {where} "
            "ORDER BY a.payer_key, a.trace, a.seq, a.line_number, a.n",
            args,
        ):
            adjustments[(row["payer_key"], row["trace"], int(row["seq"]))].append(
                Adjustment(int(row["line_number"]), row["group_code"], row["carc"],
                           _d(row["amount"]))
            )  # fmt: skip
        lines: dict[tuple[str, str, int], list[RemitLine]] = defaultdict(list)
        for row in self._select(
            "SELECT l.payer_key, l.trace, l.seq, l.line_number, l.procedure_code, "  # noqa: S608 (placeholders only)
            "l.service_date, l.billed, l.paid, l.remarks FROM ledger_lines l JOIN ledger_claims lc "
            "ON lc.payer_key = l.payer_key AND lc.trace = l.trace AND lc.seq = l.seq "
            f"JOIN routes r ON r.id = lc.route_id {joins} WHERE {where} "
            "ORDER BY l.payer_key, l.trace, l.seq, l.line_number",
            args,
        ):
            lines[(row["payer_key"], row["trace"], int(row["seq"]))].append(
                RemitLine(int(row["line_number"]), row["procedure_code"],
                          _date(row["service_date"]), _d(row["billed"]), _d(row["paid"]),
                          tuple(row["remarks"].split()))
            )  # fmt: skip
        remits: dict[int, list[RemitPost]] = defaultdict(list)
        for row in remit_rows:
            key = (row["payer_key"], row["trace"], int(row["seq"]))
            remits[int(row["claim_row_id"])].append(
                RemitPost(
                    row["payer_key"], row["payer_name"], row["trace"], int(row["seq"]),
                    _date(row["payment_date"]), float(row["posted_at"]), row["status_code"],
                    row["kind"], row["payer_claim_id"], row["original_payer_claim_id"],
                    _date(row["service_date"]), _d(row["billed"]), _d(row["paid"]),
                    _d(row["contractual"]), _d(row["patient_responsibility"]),
                    _d(row["other"]), row["state"], tuple(row["remarks"].split()),
                    tuple(adjustments[key]), tuple(lines[key]), row["member_id"] or "",
                    row["patient_last"] or "", row["patient_first"] or "",
                )
            )  # fmt: skip
        appeals: dict[int, list[Appeal]] = defaultdict(list)
        for row in self._select(
            "SELECT a.claim_id, a.n, a.reason, a.appeal_date, a.documents, a.recorded_at "  # noqa: S608 (placeholders only)
            "FROM claim_appeals a JOIN claims c ON c.id = a.claim_id "
            f"JOIN files f ON f.id = c.file_id WHERE {where} ORDER BY a.claim_id, a.n",
            args,
        ):
            appeals[int(row["claim_id"])].append(
                Appeal(int(row["claim_id"]), int(row["n"]), row["reason"],
                       date.fromisoformat(row["appeal_date"]),
                       tuple(json.loads(row["documents"])), float(row["recorded_at"]))
            )  # fmt: skip
        writeoffs: dict[int, list[WriteOff]] = defaultdict(list)
        for row in self._select(
            "SELECT w.claim_id, w.n, w.amount, w.reason, w.writeoff_date, w.recorded_at "  # noqa: S608 (placeholders only)
            "FROM claim_writeoffs w JOIN claims c ON c.id = w.claim_id "
            f"JOIN files f ON f.id = c.file_id WHERE {where} ORDER BY w.claim_id, w.n",
            args,
        ):
            writeoffs[int(row["claim_id"])].append(
                WriteOff(int(row["claim_id"]), int(row["n"]), _d(row["amount"]), row["reason"],
                         date.fromisoformat(row["writeoff_date"]), float(row["recorded_at"]))
            )  # fmt: skip
        statements: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for row in self._select(
            "SELECT i.claim_id, s.id, s.created_at FROM statement_items i "  # noqa: S608 (placeholders only)
            "JOIN statements s ON s.id = i.statement_id JOIN claims c ON c.id = i.claim_id "
            f"JOIN files f ON f.id = c.file_id WHERE {where} ORDER BY s.created_at, s.id",
            args,
        ):
            statements[int(row["claim_id"])].append((row["id"], float(row["created_at"])))
        facts: dict[int, ClaimFacts] = {}
        for row in claims:  # the last route of a claim wins (one per claim in practice)
            cid = int(row["id"])
            facts[cid] = ClaimFacts(
                claim_id=cid,
                partner_id=row["partner_id"],
                file_id=row["file_id"],
                clm01=row["clm01"],
                payer_id=row["payer_id"],
                billing_npi=row["billing_npi"],
                billed=_d(row["charge"] or "0"),
                frequency_code=row["frequency_code"],
                accepted=bool(row["accepted"]),
                codes=tuple(row["codes"].split()),
                submitted_at=float(row["received_at"]),
                route_id=None if row["route_id"] is None else int(row["route_id"]),
                route_state=row["route_state"],
                payer_partner_id=row["payer_partner_id"],
                route_updated_at=(
                    None if row["route_updated_at"] is None else float(row["route_updated_at"])
                ),
                remits=tuple(remits.get(cid, ())),
                appeals=tuple(appeals.get(cid, ())),
                writeoffs=tuple(writeoffs.get(cid, ())),
                statements=tuple(statements.get(cid, ())),
            )
        return list(facts.values())

    def patient_payments(self, partner_id: str) -> list[PatientPayment]:
        """The patient payments the partner posted, in the order they were posted."""
        return [
            _payment(r)
            for r in self._select(
                "SELECT reference, claim_id, account, amount, payment_date, method, posted_at "
                "FROM patient_payments WHERE partner_id = ? ORDER BY posted_at, reference",
                (partner_id,),
            )
        ]

    def claim_sources(self, partner_id: str, npis: Sequence[str]) -> list[ClaimSource]:
        """Where each claim the partner may see came from (for the patient's name and
        address on a statement: they are read from the source 837, never copied)."""
        where, scope = _scope(npis, None)
        return [
            ClaimSource(int(r["id"]), r["file_id"], r["sha256"], r["interchange_control"],
                        r["st02"], int(r["claim_index"]))
            for r in self._select(
                "SELECT c.id, c.file_id, f.sha256, c.interchange_control, c.st02, "  # noqa: S608 (placeholders only)
                f"c.claim_index FROM claims c JOIN files f ON f.id = c.file_id WHERE {where} "
                "ORDER BY c.id",
                tuple([partner_id, *scope]),
            )
        ]  # fmt: skip

    def last_statements(
        self, partner_id: str
    ) -> dict[str, tuple[StatementRecord, dict[int, Decimal]]]:
        """Per account, the partner's last statement and its items (claim id → the patient's
        balance on it): what the next statement cycle compares with."""
        last: dict[str, StatementRecord] = {}
        for record in self.statements(partner_id):
            last[record.account] = record
        items: dict[str, dict[int, Decimal]] = defaultdict(dict)
        for r in self._select(
            "SELECT i.statement_id, i.claim_id, i.patient_balance FROM statement_items i "
            "JOIN statements s ON s.id = i.statement_id WHERE s.partner_id = ?",
            (partner_id,),
        ):
            items[r["statement_id"]][int(r["claim_id"])] = _d(r["patient_balance"])
        return {account: (rec, items.get(rec.id, {})) for account, rec in last.items()}

    def statements(self, partner_id: str, account: str | None = None) -> list[StatementRecord]:
        """The partner's statements, oldest first (one account's, or all)."""
        select = (
            "SELECT id, partner_id, provider_npi, account, statement_date, due_date, "
            "previous_balance, payments, amount_due, mailbox_name, sha256, created_at "
            "FROM statements WHERE partner_id = ?"
        )
        order = " ORDER BY created_at, id"
        if account is None:
            rows = self._select(select + order, (partner_id,))
        else:
            rows = self._select(select + " AND account = ?" + order, (partner_id, account))
        return [_statement(r) for r in rows]
