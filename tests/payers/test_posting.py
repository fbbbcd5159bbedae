"""The pure posting core (gateway/payers/posting.py) and its renderings
(gateway/payers/remit_render.py), over the corpus 835s and hand-built remittances."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.payers.carc import CARC, GROUPS, carc_words, rarc_words
from gateway.payers.posting import ZERO, Posting, posting_of
from gateway.payers.remit_render import CSV_HEADER, posting_csv, remittance_text
from gateway.x12.remit_read import read_835

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "835"
FILES = sorted(CORPUS.iterdir())


def _postings(path: Path) -> list[Posting]:
    return [posting_of(r) for r in read_835(path.read_bytes())]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_rows_add_up_to_their_clp_and_bpr_totals(path: Path) -> None:
    for remit in read_835(path.read_bytes()):
        posting = posting_of(remit)
        assert len(posting.claims) == len(remit.claims) > 0
        for claim, source in zip(posting.claims, remit.claims, strict=True):
            d = source.decision
            assert (claim.billed, claim.paid, claim.patient_control) == (
                d.charge,
                d.paid,
                d.claim_id,
            )
            adjustments = sum((a.amount for a in claim.all_adjustments), ZERO)
            if remit.balanced:
                # CLP03 - all CAS = CLP04, so the derived balance closes
                assert claim.billed - adjustments == claim.paid
                assert claim.other == claim.group_total("OA", "PI", "CR")
                for line in claim.lines:
                    line_cas = sum((a.amount for a in line.adjustments), ZERO)
                    assert line.billed - line_cas == line.paid
            assert (
                claim.billed - claim.paid - claim.contractual
                == claim.patient_responsibility + claim.other
            )
        if remit.balanced and remit.total is not None:
            assert posting.claims_paid - posting.plb_total == posting.amount == remit.total


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_csv_has_one_row_per_line_and_per_claim(path: Path) -> None:
    postings = _postings(path)
    rows = list(csv.DictReader(io.StringIO(posting_csv(postings).decode())))
    claims = [c for p in postings for c in p.claims]
    assert sum(1 for r in rows if r["row_type"] == "claim") == len(claims)
    assert sum(1 for r in rows if r["row_type"] == "line") == sum(len(c.lines) for c in claims)
    assert sum(1 for r in rows if r["row_type"] == "plb") == sum(len(p.plb) for p in postings)
    paid = sum((Decimal(r["paid"]) for r in rows if r["row_type"] == "claim"), ZERO)
    assert paid == sum((c.paid for c in claims), ZERO)
    for r in rows:
        if r["row_type"] == "line":
            billed, paid_line = Decimal(r["billed"]), Decimal(r["paid"])
            others = Decimal(r["other_adjustments"])
            assert (
                billed
                - paid_line
                - Decimal(r["contractual"])
                - Decimal(r["patient_responsibility"])
                == others
            )


def test_csv_header_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for column in CSV_HEADER:
        assert f"`{column}`" in readme, column


def test_text_remittance_is_laid_out_like_the_paper_remittance() -> None:
    postings = _postings(CORPUS / "stupidedi-multiple-claims-single-check.edi")
    text = remittance_text(postings).decode()
    assert "CHECK/EFT # 12345" in text and "AMOUNT 810.80" in text
    assert "ACNT 7722337" in text and "ICN 119932404007801" in text
    assert "PT RESP" in text and "CLAIM  BILLED" in text and "NET" in text
    assert "TOTALS  # OF CLAIMS 9" in text and "CHECK AMT 810.80" in text
    assert "Co-payment amount" in text  # PR-3 in plain words
    assert "Claim specific negotiated discount" in text  # CO-131
    assert max(len(line) for line in text.splitlines()) <= 100


def test_plb_and_states() -> None:
    postings = _postings(CORPUS / "cob-contractural-adjustment.835")
    (claim,) = postings[0].claims
    assert claim.state == "partly paid"  # OA-23 (prior payer) left over
    with_plb = [p for path in FILES for p in _postings(path) if p.plb]
    assert with_plb, "the corpus has a PLB"
    text = remittance_text(with_plb[:1]).decode()
    assert "PROVIDER ADJUSTMENT DETAILS (PLB)" in text


def test_unknown_codes_read_as_themselves() -> None:
    assert carc_words("45") == CARC["45"]
    assert carc_words("Z9") == "CARC Z9"
    assert rarc_words("XX1") == "RARC XX1"


def test_every_code_the_simulated_payers_use_has_plain_words() -> None:
    import re

    from gateway.payers import adjudicate

    source = Path(adjudicate.__file__).read_text()
    for group, carc, remarks in re.findall(r'_Denial\("(\w+)", "(\w+)"(?:, \(([^)]*)\))?', source):
        assert group in GROUPS and carc_words(carc) != f"CARC {carc}", carc
        for rarc in re.findall(r'"(\w+)"', remarks):
            assert rarc_words(rarc) != f"RARC {rarc}", rarc
    for carc in ("1", "2", "3", "45", "16"):
        assert carc in CARC


def test_pdf_has_the_text_remittance(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from gateway.payers.remit_pdf import remittance_pdf

    postings = _postings(CORPUS / "stupidedi-multiple-claims-single-check.edi")
    pdf = remittance_pdf(postings)
    assert pdf.startswith(b"%PDF-") and pdf == remittance_pdf(postings)  # deterministic
    assert b"/Count 2" in pdf  # two pages
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: text not checked")
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf")], check=True)
    text = (tmp_path / "r.txt").read_text()
    assert "CHECK/EFT # 12345" in text and "CHECK AMT 810.80" in text
    assert "PAGE 2 OF 2" in text and "Co-payment amount" in text
