"""``gateway attach``: a 275 that validates against the X210 map and carries the document's
exact bytes; clear errors for a missing or empty file."""

from __future__ import annotations

from pathlib import Path

from gateway.cli import main
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.rfai import read_275
from tests.x12.test_rfai import errors_of

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj ~*:^\ntrailer<<>>\n%%EOF\n"


def _args(pdf: Path, out: Path) -> list[str]:
    return [
        "attach", "--claim", "PCN1", "--payer-claim", "SIM010000000007", "--control",
        "RFAI00000001", "--loinc", "11506-3", "--pdf", str(pdf), "--out", str(out),
        "--member", "MBR900000005", "--last-name", "DOE", "--first-name", "JANE",
        "--service-date", "2026-11-20",
    ]  # fmt: skip


def test_attach_writes_a_valid_275(tmp_path: Path, capsys: object) -> None:
    pdf, out = tmp_path / "note.pdf", tmp_path / "note.x12"
    pdf.write_bytes(PDF)
    assert main(_args(pdf, out)) == 0
    content = out.read_bytes()
    assert errors_of(content, "005010X210") == []
    (ts,) = iter_transaction_sets(content)
    (attachment,) = read_275(ts.segments, ts.delimiters)
    assert attachment.data == PDF and attachment.format == "PDF"
    assert attachment.payer_claim_number == "SIM010000000007"
    assert attachment.attachment_control == "RFAI00000001"
    assert attachment.loinc == ("11506-3",)


def test_attach_refuses_a_missing_or_empty_file(tmp_path: Path) -> None:
    out = tmp_path / "x.x12"
    assert main(_args(tmp_path / "missing.pdf", out)) == 2
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert main(_args(empty, out)) == 2
    assert not out.exists()
