"""Acknowledgments coming IN (a payer's 999 or TA1): checked, never acknowledged back."""

from __future__ import annotations

import itertools
from datetime import datetime

from gateway.x12 import EnvelopeParty, PartnerDirectory, analyze, build_responses

DIRECTORY = PartnerDirectory(
    "ZZ", "CLEARINGHOUSE", {("ZZ", "EXT01PAYER"): EnvelopeParty("ext01", frozenset({"T", "P"}))}
)


def _from_payer(text: str) -> bytes:
    return text.encode()


def _isa(control: str) -> str:
    return (
        "ISA*00*          *00*          *ZZ*EXT01PAYER     *ZZ*CLEARINGHOUSE  "
        f"*261125*0900*^*00501*{control}*0*T*:~"
    )


def test_a_payers_999_is_accepted_and_gets_no_999_back() -> None:
    data = _from_payer(
        _isa("000000701")
        + "GS*FA*EXT01PAYER*CLEARINGHOUSE*20261125*0900*701*X*005010X231A1~"
        + "ST*999*0001*005010X231A1~AK1*HC*17*005010X222A1~AK2*837*0001*005010X222A1~"
        + "IK5*A~AK9*A*1*1*1~SE*6*0001~GE*1*701~IEA*1*000000701~"
    )
    analysis = analyze(data, uploader="ext01", directory=DIRECTORY)
    (interchange,) = analysis.interchanges
    assert interchange.ta1_code is None
    (group,) = interchange.groups
    assert group.gs01 == "FA" and group.transactions[0].accepted
    responses = build_responses(
        analysis,
        directory=DIRECTORY,
        duplicates=(),
        next_control=itertools.count(1).__next__,
        now=datetime(2026, 11, 25),
    )
    assert responses == []


def test_a_ta1_only_interchange_is_not_a_structure_error() -> None:
    data = _from_payer(_isa("000000702") + "TA1*000000017*261125*0859*A*000~IEA*0*000000702~")
    (interchange,) = analyze(data, uploader="ext01", directory=DIRECTORY).interchanges
    assert interchange.ta1_code is None and interchange.groups == ()


def test_a_999_in_a_claims_group_is_still_content_error() -> None:
    data = _from_payer(
        _isa("000000703")
        + "GS*HC*EXT01PAYER*CLEARINGHOUSE*20261125*0900*703*X*005010X231A1~"
        + "ST*999*0001*005010X231A1~AK1*HC*17*005010X222A1~AK9*A*0*0*0~SE*4*0001~"
        + "GE*1*703~IEA*1*000000703~"
    )
    (interchange,) = analyze(data, uploader="ext01", directory=DIRECTORY).interchanges
    assert interchange.ta1_code == "024"
