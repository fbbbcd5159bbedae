"""The readable remittance as a PDF (``…_835.pdf`` beside the 835): the same content as
:func:`gateway.payers.remit_render.remittance_text`, printed the way the CMS Standard Paper
Remittance is, a fixed-pitch listing on US Letter, with the payer, check/EFT number and page
number on every page.

ReportLab draws it: a well-kept, pure-Python-installable PDF library (BSD) that needs no
browser or system libraries, and whose canvas gives exact control over a fixed-pitch page.
Deterministic: the same posting gives the same bytes (``invariant`` mode).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.pagesizes import LETTER
from reportlab.pdfgen.canvas import Canvas

from gateway.payers.posting import Posting
from gateway.payers.remit_render import remittance_text

_FONT, _SIZE, _LEADING = "Courier", 8.0, 10.0
_MARGIN = 36.0


def _pages(lines: Sequence[str], per_page: int) -> list[list[str]]:
    """Lines cut into pages at the rules between claims, so a claim stays on one page
    (unless it is longer than a page)."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        blocks[-1].append(line)
        if line.startswith("----"):
            blocks.append([])
    pages: list[list[str]] = [[]]
    for block in blocks:
        if pages[-1] and len(pages[-1]) + len(block) > per_page:
            pages.append([])
        for line in block:
            if len(pages[-1]) >= per_page:
                pages.append([])
            pages[-1].append(line)
    return pages


def remittance_pdf(postings: Sequence[Posting]) -> bytes:
    """The remittance of one 835 file as PDF bytes."""
    lines = remittance_text(postings).decode("utf-8").splitlines()
    width, height = LETTER
    per_page = int((height - 2 * _MARGIN) // _LEADING) - 2
    pages = _pages(lines, per_page)
    title = "Remittance advice"
    if postings:
        first = postings[0]
        title = f"{first.payer_name} - check/EFT {first.trace}"
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=LETTER, invariant=1, pageCompression=1)
    canvas.setTitle("Remittance advice")
    canvas.setAuthor("edi-gateway")
    for number, page in enumerate(pages, start=1):
        canvas.setFont(_FONT, _SIZE)
        y = height - _MARGIN
        canvas.drawString(_MARGIN, y, title)
        canvas.drawRightString(width - _MARGIN, y, f"PAGE {number} OF {len(pages)}")
        text = canvas.beginText(_MARGIN, y - 2 * _LEADING)
        text.setFont(_FONT, _SIZE, _LEADING)
        text.textLines(page, trim=0)
        canvas.drawText(text)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
