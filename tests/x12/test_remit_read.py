"""Reading external payers' 835s: the corpus (stupidedi's TR3 scenarios all balance; the
LinuxForHealth samples' defects are pinned), identifiers, and balance errors that name the
failing CLP/SVC by position without echoing CLP01 in the message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.payers.model import ClaimStatus
from gateway.x12.remit_read import Remittance, read_835
from tests.x12.conftest import CORPUS, corpus

D = Decimal
FILES = sorted(p.name for p in (CORPUS / "835").iterdir()) if (CORPUS / "835").is_dir() else []

EXPECTED_PROBLEMS: dict[str, list[tuple[str, str, int]]] = {
    # SVC*HC*24599.00*1766.50*187.50**1: SVC01's ':' became '*', every amount shifts one
    # element left, so SVC02 - CAS != SVC03 (stupidedi's copy of the scenario is right)
    "tertiary-payment.835": [("structure", "SVC", 18), ("line-balance", "SVC", 18)],
    # SVC*HC>55669 while ISA16 declares ':' -> SVC01 has no procedure code (money balances)
    "cob-contractural-adjustment.835": [("structure", "SVC", 19)],
    "secondary-payment.835": [("structure", "SVC", 27), ("structure", "SVC", 32)],
}


def only(data: bytes) -> Remittance:
    (read,) = read_835(data)
    return read


@pytest.mark.parametrize("name", FILES)
def test_corpus(name: str) -> None:
    read = only(corpus(f"835/{name}"))
    problems = [(e.code, e.segment_id, e.position) for e in read.errors]
    assert problems == EXPECTED_PROBLEMS.get(name, []), read.errors
    assert read.total is not None and read.total == read.payment.total
    for item in read.claims:
        for problem in read.errors:
            assert item.decision.claim_id not in problem.message
    if name.startswith("stupidedi-"):
        assert read.balanced and read.ok


def test_identifiers_and_amounts() -> None:
    read = only(corpus("835/managed-care.835"))
    pay = read.payment
    assert (pay.payee_npi, pay.payee_tin, pay.payee_name) == (
        "5544667733",
        "777667755",
        "ACME MEDICAL CENTER",
    )
    # TRN03 is "1" + the payer's EIN, not a payer ID: no REF*2U or N1*PR N104 here, no payer ID
    assert read.payer_identifier == "1935665544"
    assert pay.payer_id == "" and read.payer_id_source == "" and read.payer_ids_named == ()
    assert pay.method == "ACH" and read.handling_code == "I" and pay.trace_number == "7170066655"
    assert (read.isa13, read.gs06, read.st02) == ("000000907", "1", "112233")
    assert read.sender == ("30", "000000005") and read.usage == "T"
    first = pay.claims[0]
    assert (first.claim_id, first.payer_claim_id) == ("5554555444", "94060555410000")
    assert (first.charge, first.paid, first.patient_responsibility) == (
        D("800.00"),
        D("450.00"),
        D("300.00"),
    )
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [("CO", "A2", D("50.00"))]
    (line,) = first.lines
    assert (line.procedure_qualifier, line.procedure_code) == ("HC", "99211")
    assert line.service_date is not None and line.service_date_end is not None
    assert [(a.group, a.reason) for a in line.adjustments] == [("PR", "1")]


def test_payer_id_from_ref_2u_and_plb() -> None:
    read = only(corpus("835/lfh-demo.835"))
    assert read.payment.payer_id == "999" and read.payer_id_source == "REF*2U"
    assert read.payer_ids_named == (("REF*2U", "999"),) and read.payer_identifier == "1512345678"
    (plb,) = read.payment.provider_adjustments
    assert (plb.reason, plb.reference, plb.amount) == ("CV", "CP", D("-1.27"))
    assert read.payment.total == D("150000.00") and read.balanced
    assert read.claims[0].decision.remarks == ()
    assert read.claims[1].decision.remarks == ("MA02",)


@pytest.mark.parametrize(
    ("n1", "named"),
    [
        (b"N1*PR*RUSHMORE LIFE*XV*PLAN01~", (("N1*PR", "PLAN01"),)),
        (b"N1*PR*RUSHMORE LIFE*PI*PAYER9~", (("N1*PR", "PAYER9"),)),
        # N103 that is not a payer-ID qualifier: N104 is not a payer ID
        (b"N1*PR*RUSHMORE LIFE*FI*361234567~", ()),
        (b"N1*PR*RUSHMORE LIFE~", ()),
    ],
)
def test_payer_id_only_under_a_payer_id_qualifier(n1: bytes, named: tuple[object, ...]) -> None:
    read = only(_tamper(corpus("835/managed-care.835"), b"N1*PR*RUSHMORE LIFE~", n1))
    assert read.payer_ids_named == named
    assert read.payment.payer_id == (named[0][1] if named else "")  # type: ignore[index]
    assert read.payer_identifier == "1935665544"  # TRN03, whatever N1*PR says


def test_ref_2u_comes_first() -> None:
    data = _tamper(
        corpus("835/lfh-demo.835"),
        b"N1*PR*INSURANCE COMPANY OF TIMBUCKTU~",
        b"N1*PR*INSURANCE COMPANY OF TIMBUCKTU*XV*PLAN01~",
    )
    read = only(data)
    assert read.payer_ids_named == (("REF*2U", "999"), ("N1*PR", "PLAN01"))
    assert (read.payment.payer_id, read.payer_id_source) == ("999", "REF*2U")


def test_many_claims_with_statuses() -> None:
    read = only(corpus("835/stupidedi-multiple-claims-single-check.edi"))
    assert len(read.claims) == 9 and read.ok
    assert {c.decision.status for c in read.claims} <= set(ClaimStatus)
    assert all(c.position > 0 and c.line > 0 for c in read.claims)


def _tamper(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def test_line_and_claim_imbalance_named_by_position() -> None:
    data = _tamper(
        corpus("835/managed-care.835"),
        b"SVC*HC:99211*800.00*500.00~",
        b"SVC*HC:99211*800.00*510.00~",
    )
    read = only(data)
    codes = [(e.code, e.segment_id, e.position, e.line) for e in read.errors]
    assert codes == [("line-balance", "SVC", 14, 16)]
    (err,) = read.errors
    assert err.claim_id == "5554555444" and "5554555444" not in err.message
    assert "CLP at segment 11 (line 13), SVC at segment 14 (line 16)" in err.message
    assert "SVC02 800.00 - line CAS 300.00 = 500.00, but SVC03 is 510.00" in err.message

    data = _tamper(
        corpus("835/managed-care.835"), b"*800.00*450.00*300.00*", b"*800.00*460.00*300.00*"
    )
    read = only(data)
    assert [(e.code, e.segment_id, e.position) for e in read.errors] == [
        ("claim-balance", "CLP", 11),
        ("payment-balance", "BPR", 2),
    ]
    assert not read.balanced


def test_payment_imbalance_and_bad_amounts() -> None:
    data = _tamper(corpus("835/managed-care.835"), b"BPR*I*945.00*", b"BPR*I*954.00*")
    read = only(data)
    (err,) = read.errors
    assert err.code == "payment-balance" and "BPR02 is 954.00" in err.message
    data = _tamper(corpus("835/managed-care.835"), b"CAS*CO*A2*50.00~", b"CAS*CO*A2*5O.00~")
    read = only(data)
    # the unreadable CAS amount counts as 0: the claim no longer balances, the payment does
    assert [e.code for e in read.errors] == ["amount", "claim-balance"]


def test_not_an_835_is_reported() -> None:
    reads = read_835(corpus("277ca/stupidedi-x214-business-scenario-1.edi"))
    assert reads and all(r.errors[0].code == "not-835" for r in reads)


def test_garbage_never_raises() -> None:
    assert read_835(b"not x12 at all") == []
    truncated = corpus("835/managed-care.835")[:700]
    reads = read_835(truncated)
    assert len(reads) == 1
