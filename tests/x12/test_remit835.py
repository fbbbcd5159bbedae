"""835 builder (005010X221A1): every 835 balances at line, claim and payment level (checked by
reading it back with remit_read), carries no ST03 (the TR3 marks it "not used"; GS08 names the
guide), validates with pyx12's stock 835 map (one PLB) and with our copy in schemas/ (which
also allows a repeated PLB), and the builder refuses inputs that would not balance."""

from __future__ import annotations

import io
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.payers.model import (
    Adjustment,
    ClaimDecision,
    ClaimStatus,
    LineDecision,
    Outcome,
    Payment,
    ProviderAdjustment,
    reversal_of,
)
from gateway.x12.remit835 import (
    Address,
    BankAccounts,
    PayerRemitInfo,
    UnbalancedRemittance,
    build_835,
    filing_indicator_835,
    with_forward_balance,
)
from gateway.x12.remit_read import read_835
from gateway.x12.segments import Segment
from gateway.x12.tokenizer import IsaHeader, tokenize

D = Decimal
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
NOW = datetime(2026, 11, 21, 9, 30)
PAYER = PayerRemitInfo(
    Address("1 PAYER PLAZA", "SPRINGFIELD", "IL", "627010001"),
    tin="36-1234567",
    contact_name="SIM01 EDI",
    contact_phone="555-555-0199",
)
SENDER = ("ZZ", "SIM01PAYER")
RECEIVER = ("ZZ", "DEMOBILLING")


# ----------------------------------------------------------------------- pyx12 maps


@pytest.fixture(scope="session")
def corrected_maps(tmp_path_factory: pytest.TempPathFactory) -> str:
    """pyx12's map directory with schemas/835.5010.X221.A1.xml in place of its own."""
    import pyx12

    source = Path(str(pyx12.__file__)).parent / "map"
    overlay = tmp_path_factory.mktemp("pyx12-maps")
    for item in source.iterdir():
        if item.is_file():
            (overlay / item.name).symlink_to(item)
    target = overlay / "835.5010.X221.A1.xml"
    target.unlink()
    target.symlink_to(SCHEMAS / "835.5010.X221.A1.xml")
    return str(overlay)


def pyx12_run(content: bytes, map_path: str | None = None) -> tuple[bool, dict[str, Any], str]:
    import pyx12.params
    import pyx12.x12n_document

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        out = io.StringIO()
        ok = pyx12.x12n_document.x12n_document(
            pyx12.params.params(),
            io.StringIO(content.decode("ascii")),
            None,
            None,
            fd_json=out,
            map_path=map_path,
        )
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    return bool(ok), (json.loads(text) if text.strip() else {}), log.getvalue()


def assert_valid_835(content: bytes, corrected_maps: str) -> None:
    """Valid with our map copy, and with pyx12's stock map unless a PLB repeats (the one
    pyx12 defect our copy works around)."""
    ok, _report, log = pyx12_run(content, corrected_maps)
    assert ok, log
    if sum(1 for seg in content.split(b"~") if seg.strip().startswith(b"PLB*")) <= 1:
        ok, _report, log = pyx12_run(content)
        assert ok, log


# ------------------------------------------------------------------------ samples


def controls(start: int = 101) -> Callable[[], int]:
    counter = itertools.count(start)
    return lambda: next(counter)


def line(
    number: int,
    code: str,
    charge: str,
    paid: str,
    *adjustments: Adjustment,
    allowed: str | None = None,
    remarks: tuple[str, ...] = (),
    control: str | None = None,
) -> LineDecision:
    return LineDecision(
        line_number=number,
        procedure_qualifier="HC",
        procedure_code=code,
        modifiers=(),
        charge=D(charge),
        paid=D(paid),
        units=D(1),
        allowed=None if allowed is None else D(allowed),
        adjustments=adjustments,
        remarks=remarks,
        service_date=date(2026, 10, 5),
        control_number=control,
    )


def claim(
    claim_id: str,
    lines: tuple[LineDecision, ...],
    *,
    status: ClaimStatus = ClaimStatus.PAID_PRIMARY,
    adjustments: tuple[Adjustment, ...] = (),
    remarks: tuple[str, ...] = (),
    payer_claim_id: str | None = None,
) -> ClaimDecision:
    charge = sum((ln.charge for ln in lines), D("0.00"))
    paid = sum((ln.paid for ln in lines), D("0.00"))
    all_adj = [*adjustments, *(a for ln in lines for a in ln.adjustments)]
    return ClaimDecision(
        claim_id=claim_id,
        payer_claim_id=payer_claim_id or f"SIM01-{claim_id}",
        outcome=Outcome.ADJUDICATED,
        status=status,
        charge=charge,
        paid=paid - sum((a.amount for a in adjustments), D("0.00")),
        patient_responsibility=sum((a.amount for a in all_adj if a.group == "PR"), D("0.00")),
        filing_indicator="CI",
        facility_code="11",
        frequency_code="1",
        lines=lines,
        adjustments=adjustments,
        remarks=remarks,
        billing_npi="1234567893",
        billing_tin="123456789",
        patient_last="SMITH",
        patient_first="ALEX",
        member_id="MBR000000001",
        service_date=date(2026, 10, 5),
        received=date(2026, 11, 20),
    )


def paid_claim() -> ClaimDecision:
    """Paid with CO-45 above the fee schedule and deductible + coinsurance."""
    return claim(
        "C1X1",
        (
            line(1, "99213", "95.00", "52.00", Adjustment("CO", "45", D("15.00")),
                 Adjustment("PR", "1", D("20.00")), Adjustment("PR", "2", D("8.00")),
                 allowed="80.00", control="L1"),
            line(2, "90471", "25.00", "5.00", Adjustment("PR", "3", D("20.00")),
                 allowed="25.00", control="L2"),
        ),
    )  # fmt: skip


def denied_claim() -> ClaimDecision:
    return claim(
        "C1X2",
        (
            line(1, "97110", "45.00", "0.00", Adjustment("CO", "197", D("45.00")),
                 remarks=("N54",), control="L1"),
        ),
        status=ClaimStatus.DENIED,
        remarks=("MA130",),
    )  # fmt: skip


def payment(
    *claims: ClaimDecision,
    method: str = "CHK",
    plb: tuple[ProviderAdjustment, ...] = (),
) -> Payment:
    return Payment(
        payer_id="SIM01",
        payer_name="SIM PAYER ONE",
        payee_npi="1234567893",
        payee_tin="123456789",
        payee_name="DEMO FAMILY PRACTICE",
        method=method,  # type: ignore[arg-type]
        trace_number="CHK000123",
        payment_date=date(2026, 11, 21),
        production_date=date(2026, 11, 21),
        claims=claims,
        provider_adjustments=plb,
    )


def build(pay: Payment, **kwargs: Any) -> bytes:
    return build_835(
        pay,
        sender=SENDER,
        receiver=RECEIVER,
        usage="T",
        next_control=controls(),
        now=NOW,
        payer=PAYER,
        **kwargs,
    ).content


def segments_of(content: bytes) -> list[Segment]:
    tokens = list(tokenize(content))
    assert isinstance(tokens[0], IsaHeader)
    segments = [t for t in tokens[1:] if isinstance(t, Segment)]
    assert len(segments) == len(tokens) - 1
    sts = [i for i, s in enumerate(segments) if s.id == "ST"]
    for start in sts:
        end = next(i for i in range(start, len(segments)) if segments[i].id == "SE")
        assert segments[end].elements == (str(end - start + 1), segments[start].elements[1])
    gs = segments[0]
    assert segments[-2].elements == (str(len(sts)), gs.elements[5])
    assert segments[-1].elements == ("1", tokens[0].segment.elements[12])
    return segments


def assert_round_trip(content: bytes, pay: Payment) -> None:
    """Re-read with remit_read: balanced at all levels, same money and identifiers."""
    (read,) = read_835(content)
    assert read.errors == (), read.errors
    assert read.total == pay.total
    got = read.payment
    assert got.payer_id == pay.payer_id and got.trace_number == pay.trace_number
    assert got.payee_npi == pay.payee_npi and got.payee_tin == pay.payee_tin
    assert got.provider_adjustments == pay.provider_adjustments
    assert len(got.claims) == len(pay.claims)
    # claims are grouped under LX by facility code: compare by (CLP01, CLP02) in order
    for mine, back in zip(pay.claims, got.claims, strict=True):
        assert back.claim_id == mine.claim_id and back.status == mine.status
        assert (back.charge, back.paid, back.patient_responsibility) == (
            mine.charge,
            mine.paid,
            mine.patient_responsibility,
        )
        assert back.adjustments == mine.adjustments
        assert back.remarks == mine.remarks
        assert back.filing_indicator == filing_indicator_835(mine.filing_indicator)
        for ml, bl in zip(mine.lines, back.lines, strict=True):
            assert (bl.charge, bl.paid, bl.allowed) == (ml.charge, ml.paid, ml.allowed)
            assert bl.adjustments == ml.adjustments and bl.remarks == ml.remarks
            assert bl.control_number == ml.control_number
            assert bl.procedure_code == ml.procedure_code


# -------------------------------------------------------------------------- tests


def test_paid_and_denied_claims_balance_and_validate(corrected_maps: str) -> None:
    pay = payment(paid_claim(), denied_claim())
    content = build(pay)
    segments = segments_of(content)
    assert_valid_835(content, corrected_maps)
    assert_round_trip(content, pay)
    ids = [s.id for s in segments]
    assert ids[:5] == ["GS", "ST", "BPR", "TRN", "DTM"]
    assert segments[0].elements[7] == "005010X221A1"  # GS08 names the guide
    assert segments[1].elements == ("835", segments[1].elements[1])  # no ST03: "not used"
    bpr = segments[2]
    assert bpr.elements[:4] == ("I", "57", "C", "CHK") and bpr.elements[15] == "20261121"
    assert segments[3].elements == ("1", "CHK000123", "1361234567")
    clps = [s for s in segments if s.id == "CLP"]
    assert [c.elements[:7] for c in clps] == [
        ("C1X1", "1", "120", "57", "48", "ZZ", "SIM01-C1X1"),
        ("C1X2", "4", "45", "0", "", "ZZ", "SIM01-C1X2"),
    ]
    # CAS grouped by group code: one CO and one PR segment for line 1
    cas = [s.elements for s in segments if s.id == "CAS"]
    assert ("CO", "45", "15") in cas and ("PR", "1", "20", "", "2", "8") in cas
    assert [s.elements for s in segments if s.id == "LQ"] == [("HE", "N54")]
    assert [s.elements for s in segments if s.id == "MOA"] == [("", "", "MA130")]
    refs = [s.elements for s in segments if s.id == "REF"]
    assert ("2U", "SIM01") in refs and ("TJ", "123456789") in refs and ("6R", "L2") in refs


def test_stock_pyx12_map_accepts_what_we_emit() -> None:
    """pyx12 4.0.0's own map, which follows the TR3 on ST03 ("not used"), accepts our 835."""
    content = build(payment(paid_claim(), denied_claim()))
    ok, _report, log = pyx12_run(content)
    assert ok and not log.strip(), log


def test_our_map_differs_from_pyx12_only_in_st03_and_footer() -> None:
    """schemas/ keeps the PLB/FOOTER fix and tolerates ST03 (usage S, one valid code): the
    two differences its header comment names, nothing else."""
    import difflib

    stock = (Path(__import__("pyx12").__file__).parent / "map" / "835.5010.X221.A1.xml").read_text()
    ours = (SCHEMAS / "835.5010.X221.A1.xml").read_text()
    start = ours.index("<!--\n  edi-gateway")
    end = ours.index("-->", start) + 4
    header, body = ours[start:end], ours[:start] + ours[end:]
    assert "ST03" in header and "FOOTER" in header
    changed = [
        line[0] + line[1:].strip()
        for line in difflib.unified_diff(stock.splitlines(), body.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == [
        "-<usage>N</usage>",
        "+<usage>S</usage>",
        "-<repeat>1</repeat>",
        "+<repeat>&gt;1</repeat>",
    ]


def test_stock_pyx12_map_rejects_a_second_plb(corrected_maps: str) -> None:
    """The pyx12 defect the map in schemas/ works around: a second PLB (more than 6
    provider adjustments) re-enters the FOOTER wrapper loop, whose repeat is 1."""
    plb = tuple(ProviderAdjustment("WO", f"OVP{n}", D("0.10")) for n in range(7))
    content = build(payment(paid_claim(), plb=plb))
    ok, _report, log = pyx12_run(content)
    lines = [ln for ln in log.splitlines() if ln.strip()]
    assert not ok and len(lines) == 1
    assert "Loop FOOTER exceeded max count" in lines[0]
    assert_valid_835(content, corrected_maps)


def test_reversal_and_corrected_claim(corrected_maps: str) -> None:
    original = paid_claim()
    reversal = reversal_of(original)
    corrected = replace(
        claim(
            "C1X1",
            (line(1, "99213", "95.00", "75.00", Adjustment("CO", "45", D("15.00")),
                  Adjustment("PR", "3", D("5.00")), allowed="80.00", control="L1"),),
            payer_claim_id="SIM01-C1X1-2",
        ),
        frequency_code="7",
        original_payer_claim_id="SIM01-C1X1",
    )  # fmt: skip
    assert reversal.status is ClaimStatus.REVERSAL and reversal.paid == D("-57.00")
    pay = payment(reversal, corrected)
    content = build(pay)
    segments = segments_of(content)
    assert_valid_835(content, corrected_maps)
    assert_round_trip(content, pay)
    clps = [s.elements for s in segments if s.id == "CLP"]
    assert clps[0][:7] == ("C1X1", "22", "-120", "-57", "-48", "ZZ", "SIM01-C1X1")
    assert clps[1][:7] == ("C1X1", "1", "95", "75", "5", "ZZ", "SIM01-C1X1-2")
    assert ("F8", "SIM01-C1X1") in [s.elements for s in segments if s.id == "REF"]
    assert segments[2].elements[1] == "18"  # 75 - 57


def test_negative_net_needs_a_forwarding_balance(corrected_maps: str) -> None:
    pay = payment(reversal_of(paid_claim()))
    with pytest.raises(UnbalancedRemittance, match="forward"):
        build(pay)
    carried = with_forward_balance(pay, "C1X1REV")
    assert carried.total == 0
    content = build(carried)
    segments = segments_of(content)
    assert_valid_835(content, corrected_maps)
    assert_round_trip(content, carried)
    assert segments[2].elements[:4] == ("H", "0", "C", "NON")
    (plb,) = [s.elements for s in segments if s.id == "PLB"]
    assert plb == ("1234567893", "20261231", "FB:C1X1REV", "-57")


def test_ach_payment_with_plb(corrected_maps: str) -> None:
    plb = tuple(ProviderAdjustment("WO", f"OVP{n}", D("1.10")) for n in range(7))
    plb += (ProviderAdjustment("L6", "INTEREST", D("-2.35")),)
    pay = payment(paid_claim(), method="ACH", plb=plb)
    bank = BankAccounts("071000013", "12345678", "021000021", "87654321")
    with pytest.raises(UnbalancedRemittance, match="bank"):
        build(pay)
    content = build(pay, bank=bank)
    segments = segments_of(content)
    assert_valid_835(content, corrected_maps)
    assert_round_trip(content, pay)
    bpr = segments[2].elements
    assert bpr[:10] == ("C", "51.65", "C", "ACH", "CCP", "01", "071000013", "DA", "12345678",
                        "1361234567")  # fmt: skip
    assert bpr[11:16] == ("01", "021000021", "DA", "87654321", "20261121")
    plbs = [s.elements for s in segments if s.id == "PLB"]
    assert [len(p) for p in plbs] == [2 + 12, 2 + 4]  # 6 pairs, then 2


def test_many_adjustments_split_cas_and_lx_by_facility(corrected_maps: str) -> None:
    reasons = ("45", "59", "97", "B10", "131", "253", "94")
    big = line(1, "99214", "140.00", "133.00", *(Adjustment("CO", r, D("1.00")) for r in reasons))
    inst = replace(claim("C2", (big,)), facility_code="13", frequency_code="1")
    pay = payment(paid_claim(), inst, denied_claim())
    content = build(pay)
    segments = segments_of(content)
    assert_valid_835(content, corrected_maps)
    cas = [s.elements for s in segments if s.id == "CAS" and s.elements[1] == "45"]
    assert [len(c) for c in cas if len(c) > 6] == [18]  # 6 triplets, empty CAS19 dropped
    assert [s.elements[0] for s in segments if s.id == "LX"] == ["1", "2"]
    (read,) = read_835(content)
    assert read.errors == ()
    # grouped by facility code: 11, 11, then 13
    assert [c.claim_id for c in read.payment.claims] == ["C1X1", "C1X2", "C2"]


def test_several_payments_one_interchange(corrected_maps: str) -> None:
    first = payment(paid_claim())
    second = replace(payment(denied_claim()), trace_number="CHK000124")
    built = build_835(
        [first, second],
        sender=SENDER,
        receiver=RECEIVER,
        usage="P",
        next_control=controls(7),
        now=NOW,
        payer=PAYER,
        payee_address=Address("100 MAIN STREET", "SPRINGFIELD", "IL", "627010001"),
    )
    assert built.control_number == "000000007" and built.sets_received == 2
    assert built.claims_received == 2 and built.claims_accepted == 1
    segments_of(built.content)
    assert_valid_835(built.content, corrected_maps)
    reads = read_835(built.content)
    assert [r.total for r in reads] == [D("57"), D("0")]
    assert all(r.errors == () for r in reads)
    other = replace(second, payee_npi="1987654328")
    with pytest.raises(UnbalancedRemittance, match="mix payees"):
        build_835([first, other], sender=SENDER, receiver=RECEIVER, usage="P",
                  next_control=controls(), now=NOW, payer=PAYER)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: replace(c, paid=c.paid + 1), "does not balance"),
        (
            lambda c: replace(c, lines=(replace(c.lines[0], paid=D("51.00")), *c.lines[1:])),
            "line 1",
        ),
        (lambda c: replace(c, patient_responsibility=D("0.00")), "CLP05"),
        (lambda c: replace(c, outcome=Outcome.PENDED), "pended"),
        (
            lambda c: replace(c, adjustments=(Adjustment("CR", "45", D("0.00")),)),
            "not valid in 5010",
        ),
        (lambda c: replace(c, charge=D("120.001")), "2 decimals"),
    ],
)
def test_unbalanced_inputs_are_refused(
    change: Callable[[ClaimDecision], ClaimDecision], message: str
) -> None:
    bad = change(paid_claim())
    with pytest.raises(UnbalancedRemittance, match=message) as info:
        build(payment(denied_claim(), bad))
    assert info.value.claim_index == 1 and info.value.claim_id == "C1X1"
    assert "C1X1" not in str(info.value)  # CLM01 only as a hash in messages


def test_hostile_values_are_cleaned(corrected_maps: str) -> None:
    odd = replace(paid_claim(), claim_id="A*B~C:D^E", patient_last="O~BRIEN*")
    pay = replace(payment(odd), payer_name="PAYER*ONE~", trace_number="T^1")
    content = build(pay)
    segments_of(content)
    assert_valid_835(content, corrected_maps)
    (read,) = read_835(content)
    assert read.payment.claims[0].claim_id == "ABCDE" and read.errors == ()


def test_own_engine_835_support() -> None:
    """Our IG validator compiles pyx12-format maps from schemas/ first; 835 is not registered
    in gateway.x12.ig_maps yet. When it is, built 835s must pass it too."""
    from gateway.x12.ig_maps import guide_for

    if guide_for("005010X221A1") is None:
        pytest.skip("gateway.x12 IG validator has no 835 guide registered yet")
    from gateway.x12.claims import iter_transaction_sets
    from gateway.x12.igvalidator import PyX12Validator

    content = build(payment(paid_claim(), denied_claim()))
    validator = PyX12Validator()
    for ts in iter_transaction_sets(content):
        errors, _ = validator.validate(ts.segments, ts.delimiters, "005010X221A1")
        assert errors == []


# ------------------------------------------------- with the adjudication engine


@pytest.mark.parametrize("payer_id", ["SIM01", "SIM02"])
def test_engine_decisions_remit_and_acknowledge(payer_id: str, corrected_maps: str) -> None:
    """gen_837 batch → re-enveloped per payer → adjudicated by gateway.payers → payer 277CA
    (pyx12-valid) and one 835 per payee: valid, balanced at all three levels when re-read."""
    from gateway.payers.adjudicate import adjudicate, counter, no_history, no_originals
    from gateway.payers.inputs import claim_inputs
    from gateway.payers.loader import load_payer
    from gateway.x12.acks import Gateway
    from gateway.x12.claims import extract_claims, iter_transaction_sets
    from gateway.x12.payer277 import PayerAckBatch, PayerIdentity, build_payer_277ca
    from gateway.x12.reenvelope import PayerEndpoint, Submitter, reenvelope, source_claims
    from tests.x12.conftest import pyx12_check
    from tests.x12.test_reenvelope import gen_three_payers

    directory = Path(__file__).resolve().parents[2] / "partners" / "payers" / payer_id.lower()
    if not directory.is_dir():
        pytest.skip(f"no demo configuration for {payer_id}")
    sources = [
        s for s in source_claims("F1", gen_three_payers(60, 77)) if s.claim.payer_id == payer_id
    ]
    out = reenvelope(
        sources,
        payer=PayerEndpoint(payer_id, payer_id, ("ZZ", f"{payer_id}PAYER")),
        gateway=Gateway("ZZ", "CLEARINGHOUSE"),
        submitter=Submitter("DEMO CLEARINGHOUSE", "CLEARINGHOUSE"),
        usage="T",
        next_control=controls(1),
        now=NOW,
    )
    store: dict[Any, Any] = {}
    decisions: list[ClaimDecision] = []
    claims = []
    for ts in iter_transaction_sets(out.content):
        extracted = extract_claims(ts.segments, ts.delimiters, ts.gs08)
        result = adjudicate(
            claim_inputs(ts.segments, extracted),
            load_payer(directory),
            store.get,
            received=date(2026, 11, 20),
            paid_history=no_history,
            original=no_originals,
            next_claim_number=counter(f"{payer_id}-"),
        )
        claims += extracted
        decisions += result.decisions
    ack = build_payer_277ca(
        [PayerAckBatch(claims, decisions, date(2026, 11, 20), "RCPT-1")],
        payer=PayerIdentity(payer_id, f"{payer_id} PAYER", ("ZZ", f"{payer_id}PAYER")),
        receiver=("ZZ", "CLEARINGHOUSE"),
        usage="T",
        next_control=controls(),
        now=NOW,
    )
    ok, _report, log = pyx12_check(ack.content)
    assert ok, log
    adjudicated = [d for d in decisions if d.outcome is Outcome.ADJUDICATED]
    assert adjudicated
    payees = sorted({d.billing_npi for d in adjudicated})
    for number, npi in enumerate(payees):
        mine = tuple(d for d in adjudicated if d.billing_npi == npi)
        pay = Payment(
            payer_id=payer_id,
            payer_name=f"{payer_id} PAYER",
            payee_npi=npi,
            payee_tin=mine[0].billing_tin,
            payee_name="DEMO PROVIDER",
            method="CHK",
            trace_number=f"{payer_id}-CHK-{number}",
            payment_date=date(2026, 11, 21),
            production_date=date(2026, 11, 21),
            claims=mine,
        )
        content = build(pay)
        assert_valid_835(content, corrected_maps)
        assert_round_trip(content, pay)
