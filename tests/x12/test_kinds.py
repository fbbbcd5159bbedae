"""The registry of transaction kinds: one answer per (ST01, guide)."""

from __future__ import annotations

from gateway.x12.ca277 import IMPLEMENTATION_277CA
from gateway.x12.kinds import (
    Handling,
    carries_claims,
    kind_of,
    kinds_for,
    payer_answer_names,
)


def test_kinds() -> None:
    for guide in ("005010X222A1", "005010X223A2", "005010X224A2", ""):
        found = kind_of("837", guide)
        assert found is not None and found.handling is Handling.CLAIMS
    eligibility = kind_of("270", "005010X279A1")
    assert eligibility is not None and eligibility.handling is Handling.ELIGIBILITY
    assert kind_of("270", "004010X092A1") is None  # 5010 only
    ack = kind_of("277", IMPLEMENTATION_277CA)
    assert ack is not None and ack.name == "277CA" and ack.handling is Handling.PAYER_ANSWER
    status = kind_of("276", "005010X212")
    assert status is not None and status.handling is Handling.CLAIM_STATUS
    answer = kind_of("277", "005010X212")  # an external payer's answer to routed 276s
    assert answer is not None and answer.handling is Handling.PAYER_ANSWER
    assert answer.answer_to == "276" and answer.name == "277"
    assert kind_of("276", "004010X093A1") is None
    assert [k.guide for k in kinds_for("277", Handling.PAYER_ANSWER)] == [
        IMPLEMENTATION_277CA,
        "005010X212",
        "005010X213",
    ]
    assert payer_answer_names() == ["999", "277CA", "835", "271", "277", "277RFAI"]
    rfai = kind_of("277", "005010X213")  # an external payer's request for information
    assert rfai is not None and rfai.name == "277RFAI" and not rfai.answer_to
    assert carries_claims("837") and not carries_claims("270") and not carries_claims("835")
    assert kind_of("834", "005010X220A1") is None


def test_inquiries_are_answered_one_to_one() -> None:
    from gateway.x12.kinds import is_inquiry

    found = is_inquiry("270", "005010X279A1")
    assert found is not None and found.answer == "271"
    assert found.handling is Handling.INQUIRY is Handling.ELIGIBILITY
    status = is_inquiry("276", "005010X212")
    assert status is not None and status.answer == "277"
    assert status.handling is Handling.CLAIM_STATUS is Handling.INQUIRY
    assert is_inquiry("837", "005010X222A1") is None


def test_a_275_is_an_attachment() -> None:
    from gateway.x12.kinds import is_attachment

    found = is_attachment("275", "005010X210")
    assert found is not None and found.handling is Handling.ATTACHMENT and found.name == "275"
    assert is_attachment("275", "004010X107") is None
    assert is_attachment("837", "005010X222A1") is None
