"""Patient statements, the pure core: one statement per patient (guarantor) account per
provider from the claims' derived balances (gateway/payers/billing.py). No I/O; the PDF is
gateway/payers/statement_pdf.py, the cycle that delivers them gateway/pipeline/statements.py.

A statement shows every open visit of the account: date, each service in plain words
(gateway/payers/procedures.py), what was billed, what insurance paid, the adjustment the
practice's contract with the payer wrote off (never the patient's), what the patient owes and
why (deductible / coinsurance / copay / not covered: the 835's PR reasons), then the previous
statement's balance, the payments received since, the new charges and the amount due, with
the due date and how to pay.

    previous balance - payments received + new charges = amount due

PHI throughout: it goes to the provider's mailbox and the blob store, never to a log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.payers.billing import ZERO, ClaimBalance, patient_reason
from gateway.payers.procedures import service_words


@dataclass(frozen=True)
class Practice:
    name: str
    npi: str
    address: tuple[str, ...]
    phone: str = ""


@dataclass(frozen=True)
class Guarantor:
    name: str
    """Who the statement is addressed to (the subscriber)."""
    address: tuple[str, ...]
    patient: str
    """The patient's name (the guarantor's, or a dependent's)."""


@dataclass(frozen=True)
class StatementLine:
    code: str
    description: str
    billed: Decimal
    insurance_paid: Decimal
    adjustment: Decimal
    """Written off under the practice's contract with the payer (or denied by the payer):
    never billed to the patient."""
    patient_owes: Decimal
    reasons: tuple[tuple[str, Decimal], ...]
    """(plain words, amount) of what the patient owes on this line."""


@dataclass(frozen=True)
class StatementVisit:
    claim_id: int
    service_date: date | None
    payer_name: str
    lines: tuple[StatementLine, ...]
    billed: Decimal
    insurance_paid: Decimal
    adjustment: Decimal
    patient_owes: Decimal
    patient_paid: Decimal
    balance: Decimal
    """patient_owes - patient_paid (negative: a credit)."""

    @property
    def why(self) -> str:
        """Why the patient owes it, in plain words (``deductible 50.00, coinsurance 10.00``)."""
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            for words, amount in line.reasons:
                totals[words] = totals.get(words, ZERO) + amount
        return ", ".join(f"{w} {a:.2f}" for w, a in totals.items() if a != ZERO)


@dataclass(frozen=True)
class Statement:
    id: str
    statement_date: date
    due_date: date
    account: str
    practice: Practice
    guarantor: Guarantor
    visits: tuple[StatementVisit, ...]
    previous_balance: Decimal
    payments_received: Decimal
    how_to_pay: tuple[str, ...]

    @property
    def amount_due(self) -> Decimal:
        return sum((v.balance for v in self.visits), ZERO)

    @property
    def new_charges(self) -> Decimal:
        return self.amount_due - self.previous_balance + self.payments_received

    @property
    def credit(self) -> bool:
        return self.amount_due < ZERO


def visit_of(claim: ClaimBalance) -> StatementVisit:
    """One visit of a statement from a claim's latest 835 posting."""
    f = claim.facts
    latest = f.latest
    lines: list[StatementLine] = []
    if latest is not None:
        by_line: dict[int, list[Any]] = {}
        for a in latest.adjustments:
            by_line.setdefault(a.line_number, []).append(a)
        for ln in latest.lines:
            adjustments = by_line.get(ln.line_number, [])
            reasons = tuple(
                (patient_reason(a.carc), a.amount) for a in adjustments if a.group == "PR"
            )
            lines.append(
                StatementLine(
                    code=ln.code,
                    description=service_words(ln.code),
                    billed=ln.billed,
                    insurance_paid=ln.paid,
                    adjustment=sum((a.amount for a in adjustments if a.group != "PR"), ZERO),
                    patient_owes=sum((a for _, a in reasons), ZERO),
                    reasons=reasons,
                )
            )
        claim_level = by_line.get(0, [])
        if claim_level:  # claim-level CAS: one line of its own
            reasons = tuple(
                (patient_reason(a.carc), a.amount) for a in claim_level if a.group == "PR"
            )
            lines.append(
                StatementLine(
                    code="",
                    description="Adjustment to the whole visit",
                    billed=ZERO,
                    insurance_paid=ZERO,
                    adjustment=sum((a.amount for a in claim_level if a.group != "PR"), ZERO),
                    patient_owes=sum((a for _, a in reasons), ZERO),
                    reasons=reasons,
                )
            )
    return StatementVisit(
        claim_id=f.claim_id,
        service_date=f.service_date,
        payer_name=latest.payer_name if latest else "",
        lines=tuple(lines),
        billed=f.billed,
        insurance_paid=claim.insurance_paid,
        adjustment=f.billed - claim.insurance_paid - claim.patient_responsibility,
        patient_owes=claim.patient_responsibility,
        patient_paid=claim.patient_paid,
        balance=claim.patient_balance,
    )


def open_items(claims: Iterable[ClaimBalance], since: float | None) -> list[ClaimBalance]:
    """The account's claims that go on its next statement: a patient balance (or credit)
    left, or a patient payment since the last statement (``since``)."""
    out = []
    for c in claims:
        if c.facts.latest is None:
            continue
        paid_since = any(since is None or p.posted_at > since for p, _ in c.payments)
        if c.patient_balance != ZERO or (c.payments and paid_since):
            out.append(c)
    return sorted(out, key=lambda c: (c.facts.service_date or date.min, c.facts.claim_id))


def payments_since(claims: Iterable[ClaimBalance], since: float | None) -> Decimal:
    return sum(
        (a for c in claims for p, a in c.payments if since is None or p.posted_at > since), ZERO
    )


def statement_json(s: Statement) -> dict[str, Any]:
    def money(value: Decimal) -> str:
        return f"{value:.2f}"

    return {
        "id": s.id,
        "statement_date": s.statement_date.isoformat(),
        "due_date": s.due_date.isoformat(),
        "account": s.account,
        "practice": {"name": s.practice.name, "npi": s.practice.npi,
                     "address": list(s.practice.address), "phone": s.practice.phone},
        "guarantor": {"name": s.guarantor.name, "address": list(s.guarantor.address),
                      "patient": s.guarantor.patient},
        "visits": [
            {
                "claim_id": v.claim_id,
                "service_date": v.service_date.isoformat() if v.service_date else None,
                "insurance": v.payer_name,
                "billed": money(v.billed),
                "insurance_paid": money(v.insurance_paid),
                "adjustment": money(v.adjustment),
                "patient_owes": money(v.patient_owes),
                "patient_paid": money(v.patient_paid),
                "balance": money(v.balance),
                "why": v.why,
                "services": [
                    {"code": ln.code, "description": ln.description,
                     "billed": money(ln.billed), "insurance_paid": money(ln.insurance_paid),
                     "adjustment": money(ln.adjustment), "patient_owes": money(ln.patient_owes),
                     "why": [{"reason": w, "amount": money(a)} for w, a in ln.reasons]}
                    for ln in v.lines
                ],
            }
            for v in s.visits
        ],
        "previous_balance": money(s.previous_balance),
        "payments_received": money(s.payments_received),
        "new_charges": money(s.new_charges),
        "amount_due": money(s.amount_due),
        "credit": s.credit,
        "how_to_pay": list(s.how_to_pay),
    }  # fmt: skip


MANIFEST_HEADER = (
    "statement_id", "file_name", "statement_date", "due_date", "account", "guarantor_name",
    "address_1", "address_2", "address_3", "patient_name", "practice_name", "practice_npi",
    "amount_due", "pages",
)  # fmt: skip
"""Columns of ``…_STATEMENTS.csv``, the manifest for a print-and-mail vendor."""


def manifest_csv(rows: Sequence[tuple[Statement, str, int]]) -> bytes:
    """The manifest of one run: (statement, its PDF's mailbox name, page count) each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MANIFEST_HEADER)
    for s, name, pages in rows:
        address = [*s.guarantor.address, "", "", ""][:3]
        writer.writerow([
            s.id, name, s.statement_date.isoformat(), s.due_date.isoformat(), s.account,
            s.guarantor.name, *address, s.guarantor.patient, s.practice.name, s.practice.npi,
            f"{s.amount_due:.2f}", pages,
        ])  # fmt: skip
    return out.getvalue().encode("utf-8")
