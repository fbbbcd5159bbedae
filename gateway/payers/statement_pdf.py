"""A patient statement as PDF (``…_STATEMENT.pdf``), laid out for a window envelope and a
patient who is not a billing clerk: who it is from and for, the amount due and the due date
in a box at the top, a plain summary (previous balance, payments, new charges), every visit
with its services in plain words and why the patient owes what they owe, how to pay, and a
stub to tear off and send back with a check.

ReportLab draws it (the library the remittance PDF already uses: BSD, pure Python wheels, no
browser or system libraries, deterministic output with ``invariant``); its platypus tables
wrap long descriptions and carry a table across pages with its header repeated.
"""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from gateway.payers.statement import Statement

_BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=9.5, leading=12)
_SMALL = ParagraphStyle("small", parent=_BASE, fontSize=8, leading=10)
_CELL = ParagraphStyle("cell", parent=_BASE, fontSize=8.5, leading=10.5)
_BOLD = ParagraphStyle("bold", parent=_BASE, fontName="Helvetica-Bold")
_TITLE = ParagraphStyle("title", parent=_BASE, fontName="Helvetica-Bold", fontSize=16,
                        leading=20)  # fmt: skip
_H2 = ParagraphStyle("h2", parent=_BASE, fontName="Helvetica-Bold", fontSize=11, leading=15,
                     spaceBefore=8, spaceAfter=3)  # fmt: skip
_GREY = colors.Color(0.92, 0.92, 0.92)


def _m(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _lines(lines: tuple[str, ...] | list[str], style: ParagraphStyle = _BASE) -> Paragraph:
    return Paragraph("<br/>".join(_esc(x) for x in lines), style)


def _header(s: Statement, width: float) -> Table:
    practice = [s.practice.name, *s.practice.address]
    if s.practice.phone:
        practice.append(f"Billing questions: {s.practice.phone}")
    due_label = "Credit on your account" if s.credit else "Amount due"
    due_value = _m(-s.amount_due) if s.credit else _m(s.amount_due)
    box = Table(
        [
            [Paragraph("STATEMENT", _TITLE)],
            [Paragraph(f"Statement date: {s.statement_date:%B %d, %Y}", _BASE)],
            [Paragraph(f"Account number: <b>{_esc(s.account)}</b>", _BASE)],
            [Paragraph(f"Statement number: {_esc(s.id)}", _BASE)],
            [Paragraph(f"{due_label}: <b>{due_value}</b>", _BOLD)],
            [
                Paragraph(
                    "Please pay by: <b>"
                    + (f"{s.due_date:%B %d, %Y}" if not s.credit and s.amount_due else "-")
                    + "</b>",
                    _BOLD,
                )
            ],
        ],
        colWidths=[width * 0.42],
    )
    box.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 1, colors.black),
        ("BACKGROUND", (0, 4), (-1, 5), _GREY),
        ("LEFTPADDING", (0, 0), (-1, -1), 8),
    ]))  # fmt: skip
    left = [
        [_lines(practice, _BOLD)],
        [Spacer(1, 0.35 * inch)],
        [_lines([s.guarantor.name, *s.guarantor.address])],
    ]
    left_table = Table(left, colWidths=[width * 0.55])
    left_table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    outer = Table([[left_table, box]], colWidths=[width * 0.58, width * 0.42])
    outer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))  # fmt: skip
    return outer


def _summary(s: Statement, width: float) -> Table:
    rows = [
        ["Previous balance", _m(s.previous_balance)],
        ["Payments received since your last statement - thank you", _m(-s.payments_received)],
        ["New charges (your share after insurance)", _m(s.new_charges)],
        ["Credit on your account" if s.credit else "Amount due",
         _m(-s.amount_due) if s.credit else _m(s.amount_due)],
    ]  # fmt: skip
    table = Table(rows, colWidths=[width * 0.75, width * 0.25])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9.5),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 10.5),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
        ("BACKGROUND", (0, -1), (-1, -1), _GREY),
    ]))  # fmt: skip
    return table


def _visits(s: Statement, width: float) -> Table:
    header: list[object] = ["Date", "Service", "Charge", "Insurance\npaid", "Insurance\nadjustment",
              "You owe", "Why you owe it"]  # fmt: skip
    rows: list[list[object]] = [header]
    styles: list[tuple[object, ...]] = []
    for v in s.visits:
        day = f"{v.service_date:%b %d, %Y}" if v.service_date else ""
        start = len(rows)
        rows.append([
            Paragraph(f"<b>{day}</b>", _CELL),
            Paragraph(f"<b>Visit</b> (insurance: {_esc(v.payer_name)})", _CELL),
            "", "", "", "", "",
        ])  # fmt: skip
        styles.append(("BACKGROUND", (0, start), (-1, start), _GREY))
        styles.append(("SPAN", (1, start), (-1, start)))
        for ln in v.lines:
            why = ", ".join(f"{w} {_m(a)}" for w, a in ln.reasons if a) or "-"
            service = ln.description if not ln.code else f"{ln.description} ({ln.code})"
            rows.append([
                "", Paragraph(_esc(service), _CELL), _m(ln.billed), _m(ln.insurance_paid),
                _m(ln.adjustment), _m(ln.patient_owes), Paragraph(_esc(why), _CELL),
            ])  # fmt: skip
        if v.patient_paid:
            rows.append(["", Paragraph("Your payments on this visit", _CELL), "", "", "",
                         _m(-v.patient_paid), ""])  # fmt: skip
        styles.append(("FONT", (0, len(rows)), (-1, len(rows)), "Helvetica-Bold", 8.5))
        rows.append(["", "Visit balance", "", "", "", _m(v.balance), ""])
        styles.append(("NOSPLIT", (0, start), (-1, len(rows) - 1)))  # a visit stays whole
    widths = [0.12, 0.28, 0.10, 0.10, 0.11, 0.10, 0.19]
    table = Table(rows, colWidths=[width * w for w in widths], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
        ("ALIGN", (2, 0), (5, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 1, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.black),
        *styles,
    ]))  # fmt: skip
    return table


def _how_to_pay(s: Statement, width: float) -> list[object]:
    out: list[object] = [Paragraph("How to pay", _H2)]
    out += [Paragraph(f"&bull; {_esc(x)}", _BASE) for x in s.how_to_pay]
    out.append(Spacer(1, 6))
    out.append(Paragraph(
        "The insurance adjustment is the part of the charge your insurance plan's contract "
        "(or its decision) says the practice may not bill you for: you never owe it. "
        "Deductible, coinsurance and copay are your share under your plan, as your insurance "
        "reported it to us. Questions about what your plan covered: call the number on your "
        "insurance card.", _SMALL))  # fmt: skip
    stub = Table(
        [
            [Paragraph("<b>Please detach and return this part with your payment</b>", _SMALL),
             ""],
            [Paragraph(f"{_esc(s.guarantor.name)}<br/>Account {_esc(s.account)}<br/>"
                       f"Statement {_esc(s.id)}", _BASE),
             Paragraph(f"Amount due: <b>{_m(max(s.amount_due, Decimal(0)))}</b><br/>"
                       f"Pay by: {s.due_date:%m/%d/%Y}<br/>Amount enclosed: $__________",
                       _BASE)],
            [Paragraph("Make checks payable to " + _esc(s.practice.name) + ", "
                       + _esc(", ".join(s.practice.address)), _SMALL), ""],
        ],
        colWidths=[width * 0.55, width * 0.45],
    )  # fmt: skip
    stub.setStyle(TableStyle([
        ("LINEABOVE", (0, 0), (-1, 0), 1, colors.black, None, (3, 3)),
        ("SPAN", (0, 0), (-1, 0)),
        ("SPAN", (0, 2), (-1, 2)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))  # fmt: skip
    out += [Spacer(1, 14), stub]
    return out


def statement_pdf(s: Statement) -> tuple[bytes, int]:
    """The statement as PDF bytes, and its number of pages."""
    out = io.BytesIO()
    margin = 0.6 * inch
    doc = SimpleDocTemplate(
        out, pagesize=LETTER, leftMargin=margin, rightMargin=margin, topMargin=margin,
        bottomMargin=margin, title=f"Statement {s.id}", author=s.practice.name,
        invariant=1,
    )  # fmt: skip
    width = LETTER[0] - 2 * margin

    def footer(canvas: object, document: object) -> None:
        c = canvas
        c.saveState()  # type: ignore[attr-defined]
        c.setFont("Helvetica", 7.5)  # type: ignore[attr-defined]
        c.drawString(  # type: ignore[attr-defined]
            margin, 0.4 * inch,
            f"{s.practice.name} - account {s.account} - statement {s.id} - page "
            f"{document.page}",  # type: ignore[attr-defined]
        )  # fmt: skip
        c.restoreState()  # type: ignore[attr-defined]

    story: list[object] = [
        _header(s, width),
        Spacer(1, 12),
        Paragraph(f"Patient: <b>{_esc(s.guarantor.patient)}</b>", _BASE),
        Paragraph("Summary", _H2),
        _summary(s, width),
        Paragraph("Your visits", _H2),
        _visits(s, width),
        KeepTogether(_how_to_pay(s, width)),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue(), int(doc.page)
