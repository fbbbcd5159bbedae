"""The claims of 837 sets our 999/TA1 rejected, read best-effort for the record
(gateway/x12/rejected.py): CLM01, charge, frequency, the billing NPI and the claim's own
payer (not a COB payer named after the CLM)."""

from __future__ import annotations

from gateway.x12.rejected import rejected_sets, scan_rejected_claims
from gateway.x12.results import (
    FileAnalysis,
    GroupResult,
    InterchangeResult,
    TransactionResult,
)
from tests.x12.conftest import CORPUS

COB = CORPUS / "837p" / "demo.cob.example4.837"


def _analysis(*, set_rejected: bool = True, ta1: str | None = None) -> FileAnalysis:
    transaction = TransactionResult("837", "0002", "005010X222A2",
                                    set_error_codes=("5",) if set_rejected else ())  # fmt: skip
    group = GroupResult("HC", "000000005", "54321", "1", "005010X222A2", (transaction,))
    interchange = InterchangeResult(
        "30", "000000005", "30", "12345", "000000907", "131031", "1147", "T", True, "00501",
        ta1_code=ta1, groups=() if ta1 else (group,),
    )  # fmt: skip
    return FileAnalysis(readable=True, interchanges=(interchange,))


def test_a_rejected_sets_claims_name_their_own_payer_not_the_cob_payer() -> None:
    claims = scan_rejected_claims([COB.read_bytes()], _analysis())
    assert [(c.clm01, c.charge, c.frequency_code, c.payer_id, c.billing_npi, c.reason)
            for c in claims] == [
        ("101KEN6055", "120.00", "1", "10234", "0100000009", "999"),
    ]  # fmt: skip
    assert claims[0].isa13 == "000000907" and claims[0].st02 == "0002" and claims[0].index == 0


def test_an_interchange_the_ta1_rejected_gives_all_its_claim_sets() -> None:
    claims = scan_rejected_claims([COB.read_bytes()], _analysis(ta1="006"))
    assert [c.reason for c in claims] == ["TA1:006"]


def test_accepted_sets_cost_nothing() -> None:
    analysis = _analysis(set_rejected=False)
    assert rejected_sets(analysis) == {}
    assert scan_rejected_claims(iter(()), analysis) == ()


def test_garbage_never_raises() -> None:
    data = COB.read_bytes()
    for cut in (10, 200, 700, len(data) - 5):
        scan_rejected_claims([data[:cut]], _analysis())
    scan_rejected_claims([b"ISA*garbage~ST*837~CLM~NM1~"], _analysis(ta1="001"))
