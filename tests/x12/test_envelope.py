"""Envelope checks: a crafted defect for each TA1 code, GS/GE (AK9) and ST/SE (IK5) codes."""

from __future__ import annotations

import pytest

from gateway.x12.engine import analyze
from gateway.x12.envelope import normalize_implementation, set_accepted, set_implementation
from gateway.x12.results import FileAnalysis, InterchangeResult
from tests.x12.conftest import (
    CORPUS,
    DIRECTORY,
    UPLOADER,
    FakeValidator,
    corpus,
    make_group,
    make_interchange,
    make_isa,
    make_set,
    retarget,
)


def run(data: bytes, uploader: str = UPLOADER) -> FileAnalysis:
    return analyze(data, uploader=uploader, directory=DIRECTORY, validator=FakeValidator())


def only(data: bytes, uploader: str = UPLOADER) -> InterchangeResult:
    analysis = run(data, uploader)
    assert analysis.readable
    (interchange,) = analysis.interchanges
    return interchange


def test_clean_interchange_has_no_codes() -> None:
    result = only(make_interchange())
    assert result.ta1_code is None
    assert result.partner_id == UPLOADER
    (group,) = result.groups
    assert group.group_error_codes == ()
    (transaction,) = group.transactions
    assert transaction.accepted and transaction.claim_count == 1
    assert transaction.segment_count == len(make_set())


def swap_isa(data: bytes, index: int, value: str) -> bytes:
    """Replace ISA element ``index`` (1-based) in a '*'-separated file."""
    text = data.decode("latin-1")
    head, rest = text[:106], text[106:]
    parts = head.split("*")
    parts[index] = value
    return ("*".join(parts) + rest).encode("latin-1")


@pytest.mark.parametrize(
    ("index", "value", "code"),
    [
        (1, "99", "010"),
        (2, "SHORT", "011"),
        (3, "77", "012"),
        (4, "SHORT", "013"),
        (5, "QQ", "005"),
        (7, "QQ", "007"),
        (9, "241399", "014"),
        (10, "2561", "015"),
        (12, "00401", "003"),
        (12, "0050X", "017"),
        (13, "00000090A", "018"),
        (14, "2", "019"),
        (15, "X", "020"),
    ],
)
def test_isa_element_codes(index: int, value: str, code: str) -> None:
    assert only(swap_isa(make_interchange(), index, value)).ta1_code == code


def test_unknown_sender_006() -> None:
    assert only(make_interchange(sender=("ZZ", "STRANGER"))).ta1_code == "006"


def test_sender_of_another_partner_006() -> None:
    result = only(make_interchange(sender=("ZZ", "OTHER")))
    assert result.ta1_code == "006"
    assert result.partner_id == "other"


def test_wrong_receiver_008() -> None:
    assert only(make_interchange(receiver=("ZZ", "SOMEONEELSE"))).ta1_code == "008"


def test_usage_not_allowed_for_partner_020() -> None:
    data = make_interchange(sender=("ZZ", "PRODONLY"), usage="T")
    assert only(data, "prodco").ta1_code == "020"
    assert only(make_interchange(sender=("ZZ", "PRODONLY"), usage="P"), "prodco").ta1_code is None


def test_control_mismatch_001() -> None:
    assert only(make_interchange(iea_control="000000999")).ta1_code == "001"


def test_group_count_021() -> None:
    assert only(make_interchange(iea_count=2)).ta1_code == "021"


def test_missing_iea_at_eof_023() -> None:
    assert only(make_interchange(trailer=False)).ta1_code == "023"


def test_missing_iea_before_next_isa_022() -> None:
    data = make_interchange(trailer=False) + make_interchange(control="000000906")
    first, second = run(data).interchanges
    assert first.ta1_code == "022" and second.ta1_code is None


def test_segment_outside_group_024() -> None:
    data = make_interchange(groups=[["REF*XX*1"], make_group([make_set()])], iea_count=1)
    assert only(data).ta1_code == "024"


def test_no_groups_024() -> None:
    assert only(make_interchange(groups=[])).ta1_code == "024"


def test_invalid_gs_024() -> None:
    assert only(make_interchange(groups=[["GS*HC*A*B", "GE*0*1"]])).ta1_code == "024"


def test_group_no_999_can_answer_024() -> None:
    group = make_group([make_set()])
    group[0] = group[0].replace("GS*HC", "GS*FA")
    assert only(make_interchange(groups=[group])).ta1_code == "024"


def test_stray_text_before_isa_024() -> None:
    assert only(b"garbage\n" + make_interchange()).ta1_code == "024"


def test_duplicate_isa13_in_file_025() -> None:
    first, second = run(make_interchange() + make_interchange()).interchanges
    assert first.ta1_code is None and second.ta1_code == "025"


def test_bad_terminator_004() -> None:
    data = (make_isa(terminator="A") + "GS*HC~IEA*0*000000905~").encode()
    assert only(data).ta1_code == "004"


def test_bad_component_separator_027() -> None:
    data = make_interchange(component="A")
    assert only(data).ta1_code == "027"


def test_corpus_bad_first_line_names_the_short_element() -> None:
    data = retarget(corpus("837p-negative/imsweb-x12_bad_first_line.txt"))
    assert only(data).ta1_code == "011"


def test_corpus_multiple_gs() -> None:
    result = only(retarget(corpus("837p-negative/imsweb-x12_multiple_gs.txt")))
    assert result.ta1_code == "021"  # IEA*1 for three groups: a real defect of the file
    assert [g.group_error_codes for g in result.groups] == [(), ("19",), ("19",)]


def test_corpus_multiple_st_duplicate_control_and_count() -> None:
    result = only(retarget(corpus("837p-negative/imsweb-x12_multiple_st.txt")))
    (group,) = result.groups
    assert group.group_error_codes == ("5",)  # GE*1 but two sets
    assert [t.set_error_codes for t in group.transactions] == [("4",), ("23", "4")]


# ------------------------------------------------------------------------- GS / GE


def test_ge_count_5_and_control_4() -> None:
    result = only(make_interchange(groups=[make_group([make_set()], ge_count=3, ge_control="9")]))
    assert result.groups[0].group_error_codes == ("4", "5")


def test_ge_missing_3() -> None:
    result = only(make_interchange(groups=[make_group([make_set()], trailer=False)]))
    assert result.groups[0].group_error_codes == ("3",)


def test_gs06_syntax_6() -> None:
    result = only(make_interchange(groups=[make_group([make_set()], gs06="A1")]))
    assert "6" in result.groups[0].group_error_codes


def test_unsupported_group_version_2() -> None:
    group = make_group([make_set(st03="")], gs08="005010X999")
    result = only(make_interchange(groups=[group]))
    assert result.groups[0].group_error_codes == ("2",)
    assert result.groups[0].transactions[0].set_error_codes == ("1",)


# ------------------------------------------------------------------------- ST / SE


def test_se_count_4_and_control_3() -> None:
    group = make_group([make_set(se_count=99, se_control="0002")])
    (transaction,) = only(make_interchange(groups=[group])).groups[0].transactions
    assert transaction.set_error_codes == ("4", "3")
    assert not transaction.accepted


def test_se_missing_2() -> None:
    group = make_group([make_set(trailer=False)])
    (transaction,) = only(make_interchange(groups=[group])).groups[0].transactions
    assert transaction.set_error_codes == ("2",)


def test_st02_syntax_7() -> None:
    group = make_group([make_set(st02="1")])
    (transaction,) = only(make_interchange(groups=[group])).groups[0].transactions
    assert "7" in transaction.set_error_codes


def test_unsupported_st03_i6() -> None:
    group = make_group([make_set(st03="005010X224A2")])
    result = only(make_interchange(groups=[group]))
    assert result.groups[0].transactions[0].set_error_codes == ("I6",)
    assert result.groups[0].group_error_codes == ()  # GS08 itself is supported


def test_x222a2_is_validated_as_x222a1() -> None:
    assert normalize_implementation("005010X222A2") == "005010X222A1"
    fake = FakeValidator()
    data = make_interchange(
        groups=[make_group([make_set(st03="005010X222A2")], gs08="005010X222A2")]
    )
    analysis = analyze(data, uploader=UPLOADER, directory=DIRECTORY, validator=fake)
    (transaction,) = analysis.interchanges[0].groups[0].transactions
    assert transaction.accepted
    assert transaction.st03 == "005010X222A2"  # echoed as received
    assert fake.calls == [("005010X222A1", len(make_set()))]


def test_lfh_corpus_file_accepted_under_policy() -> None:
    result = only(retarget(corpus("837p/demo.example1.837")))
    assert result.ta1_code is None
    assert result.groups[0].transactions[0].accepted


# ------------------------------------------------------------------ 835: ST03 "not used"


def test_835_guide_comes_from_gs08() -> None:
    """The 835 TR3 marks ST03 "not used": GS08 picks its guide; other sets keep ST03 first."""
    assert set_implementation("835", "", "005010X221A1") == "005010X221A1"
    assert set_implementation("835", "005010X221A1", "005010X221") == "005010X221"
    assert set_implementation("837", "005010X222A2", "") == "005010X222A1"
    assert set_implementation("837", "", "005010X223A2") == "005010X223A2"
    assert set_implementation("837", "005010X222A1", "005010X223A2") == "005010X222A1"


def _interchange(data: bytes) -> InterchangeResult:
    from gateway.x12 import EnvelopeParty, PartnerDirectory
    from tests.x12files import isa_fields

    isa = isa_fields(data)[0]
    directory = PartnerDirectory(
        isa[7], isa[8].strip(), {(isa[5], isa[6].strip()): EnvelopeParty("p", frozenset("TP"))}
    )
    (interchange,) = analyze(data, uploader="p", directory=directory).interchanges
    assert interchange.ta1_code is None
    return interchange


def _guide_verdict(data: bytes) -> tuple[bool, tuple[str, ...], list[str]]:
    """(accepted, IK5 codes, error messages) of the one set in ``data``, real IG validator."""
    interchange = _interchange(data)
    (group,) = interchange.groups
    (tx,) = group.transactions
    messages = [f"{e.segment_id}: {e.message}" for e in tx.errors]
    return set_accepted(group, tx), tx.set_error_codes, messages


STUPIDEDI_835 = sorted(
    p.name for p in (CORPUS / "835").iterdir() if p.name.startswith("stupidedi-")
)


@pytest.mark.parametrize("name", STUPIDEDI_835)
def test_payer_835s_without_st03_pass_the_guide(name: str) -> None:
    """The TR3's 835 scenarios (stupidedi) carry no ST03, as the guide says: accepted.
    (Before: "ST03 ... is required but missing" for every one of them.)"""
    data = corpus(f"835/{name}")
    assert b"~ST*835*" in data.replace(b"\n", b"")
    assert _guide_verdict(data) == (True, (), [])


def _with_st03(st03: str, gs08: str = "005010X221A1") -> bytes:
    data = corpus("835/stupidedi-era-sample.edi")
    data = data.replace(b"~ST*835*35681~", f"~ST*835*35681*{st03}~".encode())
    return data.replace(b"*X*005010X221A1~", f"*X*{gs08}~".encode())


def test_835_st03_tolerated_when_it_equals_gs08() -> None:
    assert _guide_verdict(_with_st03("005010X221A1")) == (True, (), [])


def test_835_st03_other_than_gs08_is_an_error_on_st03() -> None:
    from datetime import datetime

    from gateway.x12.acks import Gateway, build_999
    from tests.x12.conftest import pyx12_check

    data = _with_st03("005010X222A1")
    accepted, codes, messages = _guide_verdict(data)
    assert not accepted and codes == ("I5",)
    assert messages == [
        "ST: ST03 (Implementation Convention Reference) is not used in this transaction set; "
        "when sent it must equal GS08"
    ]
    ack = build_999(
        _interchange(data),
        gateway=Gateway("ZZ", "987654321"),
        next_control=iter(range(1, 9)).__next__,
        now=datetime(2026, 12, 3, 9, 0),
    ).content
    assert b"IK3*ST*1**8~\nIK4*3*1705*7*005010X222A1~\nIK5*R*I5~" in ack
    ok, _, log = pyx12_check(ack)
    assert ok, log


def test_835_st03_cannot_stand_in_for_a_wrong_gs08() -> None:
    accepted, codes, _ = _guide_verdict(_with_st03("005010X221A1", gs08="005010X221"))
    assert not accepted and codes == ("I6",)
