"""Payer 277CA (005010X214 with NM1*PR as information source): accepted (A2:20), rejected and
pended claims echo CLM01 (TRN*2) and the payer claim control number (REF*1K); valid with
pyx12's X214 map; the clearinghouse 277CA is unchanged (tests/x12/test_ca277.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

import pytest

from gateway.payers.model import ClaimDecision, ClaimStatus, Outcome
from gateway.x12.claims import Claim, extract_claims, iter_transaction_sets
from gateway.x12.payer277 import PayerAckBatch, PayerIdentity, build_payer_277ca, claim_answer
from gateway.x12.segments import Segment
from tests.x12.conftest import corpus, pyx12_check
from tests.x12.test_ca277 import check_structure, claim_statuses
from tests.x12.test_reenvelope import gen_three_payers

PAYER = PayerIdentity("SIM01", "SIM PAYER ONE", ("ZZ", "SIM01PAYER"))
NOW = datetime(2026, 11, 20, 12, 40)
RECEIVED = date(2026, 11, 20)


def controls(start: int = 71) -> Callable[[], int]:
    counter = itertools.count(start)
    return lambda: next(counter)


def claims_of(data: bytes) -> list[Claim]:
    return [
        claim
        for ts in iter_transaction_sets(data)
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08)
    ]


def decide(claim: Claim, outcome: Outcome, category: str = "", text: str = "") -> ClaimDecision:
    charge = claim.charge or Decimal(0)
    return ClaimDecision(
        claim_id=claim.claim_id,
        payer_claim_id=f"SIM01-{claim.index:05d}",
        outcome=outcome,
        status=ClaimStatus.PAID_PRIMARY,
        charge=charge,
        paid=charge,
        patient_responsibility=Decimal("0.00"),
        filing_indicator=claim.filing_indicator,
        facility_code=claim.facility_code,
        frequency_code=claim.frequency_code,
        status_category=category,
        status_text=text,
    )


def mixed(claims: Sequence[Claim]) -> list[ClaimDecision]:
    out = []
    for claim in claims:
        match claim.index % 3:
            case 0:
                out.append(decide(claim, Outcome.ADJUDICATED))
            case 1:
                out.append(decide(claim, Outcome.REJECTED, "A3:33:IL", "Subscriber not found."))
            case _:
                out.append(decide(claim, Outcome.PENDED, "P2:21", "Records requested."))
    return out


def build(batches: list[PayerAckBatch]) -> bytes:
    return build_payer_277ca(
        batches,
        payer=PAYER,
        receiver=("ZZ", "CLEARINGHOUSE"),
        usage="T",
        next_control=controls(),
        now=NOW,
    ).content


def test_accepted_rejected_pended() -> None:
    claims = claims_of(gen_three_payers(9, 5))
    decisions = mixed(claims)
    batch = PayerAckBatch(claims, decisions, RECEIVED, "SIM01-RCPT-1",
                          clearinghouse_ids=[f"GW-{n}" for n in range(len(claims))])  # fmt: skip
    built = build_payer_277ca(
        [batch], payer=PAYER, receiver=("ZZ", "CLEARINGHOUSE"), usage="T",
        next_control=controls(), now=NOW,
    )  # fmt: skip
    assert built.claims_received == 9 and built.claims_accepted == 6
    segments = check_structure(built.content)
    ok, _report, log = pyx12_check(built.content)
    assert ok, log
    statuses = claim_statuses(segments)
    for claim, decision in zip(claims, decisions, strict=True):
        expected = {
            Outcome.ADJUDICATED: ["A2:20"],
            Outcome.REJECTED: ["A3:33:IL"],
            Outcome.PENDED: ["A2:20"],  # X214: A* categories only (RFI 1942)
        }[decision.outcome]
        assert statuses[claim.claim_id] == expected
    # information source is the payer; GS02/ISA06 are the payer's
    nm1 = [s.elements for s in segments if s.id == "NM1"]
    assert nm1[0] == ("PR", "2", "SIM PAYER ONE", "", "", "", "", "PI", "SIM01")
    assert segments[0].elements[1] == "SIM01PAYER"
    refs = [s.elements for s in segments if s.id == "REF"]
    assert ("1K", "SIM01-00000") in refs and ("D9", "GW-0") in refs
    stcs = {s.elements[0]: s for s in segments if s.id == "STC"}
    assert stcs["A1:19:PR"].elements[2] == "WQ"
    assert stcs["A3:33:IL"].elements[2] == "U"
    assert stcs["A3:33:IL"].elements[11] == "Subscriber not found."
    pended = [s.elements for s in segments if s.id == "STC" and len(s.elements) > 11]
    assert any(e[11] == "Pended, status P2-21. Records requested." for e in pended)
    assert all(s.elements[0].split(":")[0] in ("A1", "A2", "A3") for s in segments if s.id == "STC")
    qty = {s.elements[0]: s.elements[1] for s in segments if s.id == "QTY"}
    assert qty["90"] == "6" and qty["AA"] == "3"
    # REF*1K comes before REF*D9 in each 2200D (X214 order)
    order = [s.elements[0] for s in segments if s.id == "REF" and s.elements[0] in ("1K", "D9")]
    assert order[:2] == ["1K", "D9"]


def test_institutional_and_several_batches() -> None:
    institutional = claims_of(corpus("837i/institutional-claim.837i"))
    professional = claims_of(corpus("837p/demo.example1.837"))
    batches = [
        PayerAckBatch(institutional, mixed(institutional), RECEIVED, "R-1"),
        PayerAckBatch(professional, [decide(professional[0], Outcome.REJECTED)], RECEIVED, "R-2"),
    ]
    content = build(batches)
    segments = check_structure(content)
    ok, _report, log = pyx12_check(content)
    assert ok, log
    assert sum(1 for s in segments if s.id == "ST") == 2
    assert ("BLT", "141") in [s.elements for s in segments if s.id == "REF"]
    statuses = claim_statuses(segments)
    assert statuses[professional[0].claim_id] == ["A3:21"]  # default rejection


def test_defaults_and_entity_filter() -> None:
    (claim,) = claims_of(corpus("837p/demo.example1.837"))
    assert claim_answer(decide(claim, Outcome.PENDED)).statuses == (
        ("A2:20", "Pended, status P1-0."),
    )
    odd = claim_answer(decide(claim, Outcome.REJECTED, "A3:33:ZZZ"))
    content = build([PayerAckBatch([claim], [decide(claim, Outcome.REJECTED, "A3:33:ZZZ")],
                                   RECEIVED, "R")])  # fmt: skip
    assert odd.statuses[0][0] == "A3:33:ZZZ"
    # an entity code the 2200D may not carry is dropped rather than sent invalid
    assert claim_statuses(check_structure(content))[claim.claim_id] == ["A3:33"]
    ok, _report, log = pyx12_check(content)
    assert ok, log


def test_mismatched_decisions_refused() -> None:
    claims = claims_of(gen_three_payers(2, 6))
    with pytest.raises(ValueError, match="decisions"):
        build([PayerAckBatch(claims, mixed(claims)[:1], RECEIVED, "R")])
    with pytest.raises(ValueError, match="CLM01"):
        build([PayerAckBatch(claims, list(reversed(mixed(claims))), RECEIVED, "R")])


def _ids(segments: Sequence[Segment]) -> list[str]:
    return [s.id for s in segments]


def test_same_shape_as_clearinghouse_277ca() -> None:
    claims = claims_of(gen_three_payers(3, 8))
    segments = check_structure(build([PayerAckBatch(claims, mixed(claims), RECEIVED, "R")]))
    ids = _ids(segments)
    assert ids[:4] == ["GS", "ST", "BHT", "HL"]
    assert [s.elements[2] for s in segments if s.id == "HL"][:3] == ["20", "21", "19"]
    assert segments[0].elements[0] == "HN" and segments[0].elements[7] == "005010X214"
