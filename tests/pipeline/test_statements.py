"""The patient statement cycle (gateway/pipeline/statements.py): a patient with a deductible
claim and a coinsurance claim gets one statement whose amounts match the 835s; after a
patient payment the next statement shows the payment and the new balance. The PDF is read
back as a patient would: rendered to PNG (pdftoppm) and to text (pdftotext)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.payers.statement import MANIFEST_HEADER
from gateway.pipeline import billing
from gateway.pipeline.statements import run_statements
from gateway.x12.remit_read import read_835
from tests.pipeline.test_routing import GEN, NOW, Env

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed",
)
MEMBER = 900_000_006  # member base: claim 1 is MBR900000007, GRACE HALFWAY (sim01 roster)


def one_visit(
    control: int,
    day: int,
    lines: list[tuple[str, str]],
    member_base: int = MEMBER,
    name: str = "HALFWAY*GRACE",
    authorization: str = "",
) -> bytes:
    """A one-claim 837P to SIM01 for member ``MBR`` + ``member_base + 1`` (default GRACE
    HALFWAY) with these (CPT, charge) lines on 2026-10-``day``."""
    text = GEN.render(  # type: ignore[attr-defined]
        GEN.interchange(  # type: ignore[attr-defined]
            1, control, date="20261120", payers=["SIM01"], member_base=member_base
        )
    ).decode()
    head, _, _ = text.partition("LX*1~")
    total = sum(Decimal(c) for _, c in lines)
    head = re.sub(r"(CLM\*[^*]+\*)[0-9.]+", lambda m: f"{m.group(1)}{total:.2f}", head)
    head = head.replace("NM1*IL*1*SMITH*ALEX", f"NM1*IL*1*{name}")
    head = re.sub(r"HI\*[^~]*", "HI*ABK:M5450*ABF:R519", head)  # back pain: therapy is paid
    if authorization:  # 2300 REF*G1 (prior authorization) before HI
        head = head.replace("HI*ABK:", f"REF*G1*{authorization}~\nHI*ABK:")
    body = "".join(
        f"LX*{n}~\nSV1*HC:{code}*{charge}*UN*1***1~\nDTP*472*D8*202610{day:02d}~\n"
        for n, (code, charge) in enumerate(lines, start=1)
    )
    st_start = head.index("ST*837")
    count = (head[st_start:] + body).count("~") + 1  # ST..SE
    tail = f"SE*{count}*0001~\nGE*1*{control}~\nIEA*1*{control:09d}~\n"
    return (head + body + tail).encode()


def pdf_text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "s.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip


def pdf_png(pdf: bytes, out: Path) -> Path:
    """Page 1 of ``pdf`` as ``out`` (PNG, 100 dpi): to look at as a patient would."""
    src = out.with_suffix(".pdf")
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile",
                    str(src), str(out.with_suffix(""))], check=True)  # fmt: skip
    return out


def _statements(env: Env) -> list[tuple[str, bytes]]:
    return [(m.name, env.blobs.read(m.sha256)) for m in env.store.list_mailbox("demo-billing")
            if m.kind == "STATEMENT"]  # fmt: skip


@needs_poppler
def test_deductible_and_coinsurance_on_one_statement_then_a_payment(
    env: Env, tmp_path: Path
) -> None:
    env.route(one_visit(8501, 1, [("97110", "45.00")]))
    env.cycle("sim01")
    env.route(one_visit(8502, 8, [("97110", "45.00"), ("99213", "95.00")]))
    env.cycle("sim01", now=NOW + 120)
    # what the 835s said the patient owes, by reason
    owed: dict[str, Decimal] = {}
    for m in env.store.list_mailbox("demo-billing"):
        if m.kind == "835":
            for remit in read_835(env.blobs.read(m.sha256)):
                for claim in remit.claims:
                    for line in claim.decision.lines:
                        for a in line.adjustments:
                            if a.group == "PR":
                                owed[a.reason] = owed.get(a.reason, Decimal(0)) + a.amount
    assert owed.get("1") and owed.get("2"), owed  # a deductible and a coinsurance
    total = sum(owed.values(), Decimal(0))

    run = run_statements(env.store, env.blobs, env.partners, NOW + 200)
    assert run.statements == 1
    ((name, pdf),) = _statements(env)
    assert re.fullmatch(r"\d{14}_S\d{9}_STATEMENT\.pdf", name)
    text = pdf_text(pdf, tmp_path)
    for words in ("GRACE HALFWAY", "DEMO FAMILY PRACTICE", "200 ELM STREET",
                  "Physical therapy: therapeutic", "(97110)", "deductible", "coinsurance",
                  "copay", "How to pay", f"${total:,.2f}", "Amount due"):  # fmt: skip
        assert words in text, words
    (record,) = env.store.statements("demo-billing")
    assert record.amount_due == total and record.previous_balance == 0
    document = json.loads(env.blobs.read(record.sha256))
    assert document["amount_due"] == f"{total:.2f}" and len(document["visits"]) == 2
    for visit in document["visits"]:  # never bills the contractual adjustment
        assert Decimal(visit["patient_owes"]) + Decimal(visit["adjustment"]) + Decimal(
            visit["insurance_paid"]) == Decimal(visit["billed"])  # fmt: skip
    (manifest,) = [env.blobs.read(m.sha256) for m in env.store.list_mailbox("demo-billing")
                   if m.kind == "STATEMENTS-CSV"]  # fmt: skip
    rows = list(csv.reader(io.StringIO(manifest.decode())))
    assert tuple(rows[0]) == MANIFEST_HEADER and rows[1][1] == name
    assert rows[1][MANIFEST_HEADER.index("amount_due")] == f"{total:.2f}"
    png = pdf_png(pdf, tmp_path / "statement.png")
    assert png.stat().st_size > 10_000

    # nothing new: no second statement
    assert run_statements(env.store, env.blobs, env.partners, NOW + 300).statements == 0
    # a patient payment on the account: the next statement shows it and the new balance
    status, _ = billing.post_patient_payment(env.store, env.partners.get("demo-billing"), {
        "account": record.account, "amount": "20.00", "reference": "CASH-1",
        "method": "cash", "date": "2026-12-01"}, NOW + 400)  # type: ignore[arg-type]  # fmt: skip
    assert status == 201
    again = run_statements(env.store, env.blobs, env.partners, NOW + 500)
    assert again.statements == 1
    second = env.store.statements("demo-billing")[-1]
    assert second.previous_balance == total and second.payments == Decimal("20.00")
    assert second.amount_due == total - Decimal("20.00")
    (pdf2,) = [p for n, p in _statements(env) if second.id in n]
    text2 = pdf_text(pdf2, tmp_path)
    assert "-$20.00" in text2 and f"${total - 20:,.2f}" in text2
    assert "Your payments on this visit" in text2
    samples = os.environ.get("GATEWAY_WRITE_SAMPLES")  # the README's sample: docs/
    if samples:
        (Path(samples) / "statement-sample.pdf").write_bytes(pdf2)
        pdf_png(pdf2, Path(samples) / "statement-sample.png")
