"""Patient statements, the pure core (gateway/payers/statement.py) and its PDF
(gateway/payers/statement_pdf.py): visits from claims, why in plain words, the summary's
arithmetic, the manifest, and a long statement over several pages."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from gateway.payers.billing import balances
from gateway.payers.procedures import service_words
from gateway.payers.statement import (
    MANIFEST_HEADER,
    Guarantor,
    Practice,
    Statement,
    manifest_csv,
    statement_json,
    visit_of,
)
from gateway.payers.statement_pdf import statement_pdf
from tests.payers.test_billing import facts, remit

D = Decimal


def _statement(visits: int) -> Statement:
    claims = balances([
        facts(n, remit("60.00", [("CO", "45", "15.00"), ("PR", "1", "20.00"),
                                 ("PR", "2", "5.00")], day=1 + n % 28))
        for n in range(1, visits + 1)
    ])  # fmt: skip
    return Statement(
        id="S000000042", statement_date=date(2026, 12, 4), due_date=date(2026, 12, 25),
        account="PAABCDEFGH",
        practice=Practice("DEMO FAMILY PRACTICE", "1234567893",
                          ("100 MAIN STREET", "SPRINGFIELD, IL 62701"), "555-0100"),
        guarantor=Guarantor("JANE DOE", ("200 ELM STREET", "SPRINGFIELD, IL 62702"), "JANE DOE"),
        visits=tuple(visit_of(c) for c in claims),
        previous_balance=D("10.00"), payments_received=D("10.00"),
        how_to_pay=("By check",),
    )  # fmt: skip


def test_visit_amounts_and_why() -> None:
    s = _statement(1)
    (visit,) = s.visits
    assert (visit.billed, visit.insurance_paid, visit.adjustment, visit.patient_owes) == (
        D("100.00"), D("60.00"), D("15.00"), D("25.00"))  # fmt: skip
    assert visit.why == "deductible 20.00, coinsurance 5.00"
    assert s.amount_due == D("25.00") and s.new_charges == D("25.00")
    document = statement_json(s)
    assert document["visits"][0]["services"][0]["description"] == service_words("99213")
    assert document["amount_due"] == "25.00" and document["credit"] is False


def test_manifest_and_a_long_statement_over_pages() -> None:
    s = _statement(45)
    pdf, pages = statement_pdf(s)
    assert pdf.startswith(b"%PDF") and pages >= 2
    assert statement_pdf(s) == (pdf, pages)  # deterministic
    rows = list(csv.reader(io.StringIO(manifest_csv([(s, "x_STATEMENT.pdf", pages)]).decode())))
    assert tuple(rows[0]) == MANIFEST_HEADER
    row = dict(zip(MANIFEST_HEADER, rows[1], strict=True))
    assert row["pages"] == str(pages) and row["amount_due"] == f"{s.amount_due:.2f}"
    assert row["address_1"] == "200 ELM STREET" and row["address_3"] == ""


def test_unknown_codes_read_as_the_code() -> None:
    assert service_words("99213").startswith("Office visit")
    assert service_words("12345") == "Service 12345"
