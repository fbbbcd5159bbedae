"""analyze() + build_responses(): corpus files, response policy, PHI-free details, robustness."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.x12.engine import analyze, build_responses
from gateway.x12.report import describe_start, interchange_report
from gateway.x12.results import FileAnalysis, IgError, Response
from gateway.x12.segments import Delimiters, Segment
from tests.x12.conftest import (
    CLAIM_BODY,
    CORPUS,
    DIRECTORY,
    UPLOADER,
    FakeValidator,
    corpus,
    make_group,
    make_interchange,
    make_set,
    pyx12_check,
    retarget,
)

NOW = datetime(2024, 1, 15, 9, 5)


def respond(
    analysis: FileAnalysis, duplicates: Sequence[int] = ()
) -> tuple[list[Response], list[int]]:
    issued: list[int] = []
    numbers = itertools.count(500)

    def next_control() -> int:
        issued.append(next(numbers))
        return issued[-1]

    responses = build_responses(
        analysis, directory=DIRECTORY, duplicates=duplicates, next_control=next_control, now=NOW
    )
    return responses, issued


def run(data: bytes, validator: FakeValidator | None = None) -> FileAnalysis:
    return analyze(
        data, uploader=UPLOADER, directory=DIRECTORY, validator=validator or FakeValidator()
    )


def assert_pyx12_valid(responses: Sequence[Response]) -> None:
    for response in responses:
        if response.kind == "REJECT":
            continue
        ok, report, log = pyx12_check(response.content)
        assert ok, (response.content, report, log)
        if response.kind == "999":
            assert "GS_LOOP" not in log, log


CORPUS_837 = sorted(
    str(p.relative_to(CORPUS))
    for folder in ("837p", "837p-negative", "837i")
    for p in (CORPUS / folder).glob("*")
    if p.is_file()
)


@pytest.mark.parametrize("name", CORPUS_837)
def test_every_corpus_file_gets_valid_answers(name: str) -> None:
    responses, _ = respond(run(retarget(corpus(name))))
    assert responses
    assert_pyx12_valid(responses)


def test_clean_file_gets_one_accepting_999() -> None:
    analysis = run(retarget(corpus("837p/uhin-837.edi")))
    (response,) = respond(analysis)[0]
    assert response.kind == "999" and response.accepted
    assert response.interchange_control == "800000372"
    assert response.outbound_control == "000000500"
    assert response.details["claims_accepted"] == 1
    assert b"AK9*A*1*1*1~" in response.content


def test_ack_requested_gets_separate_ta1_then_999() -> None:
    responses, issued = respond(run(make_interchange(ack="1")))
    assert [r.kind for r in responses] == ["TA1", "999"]
    assert responses[0].accepted and b"*A*000~" in responses[0].content
    assert issued == [500, 501, 502, 503]  # TA1 ISA13, 999 ISA13, GS06, ST02
    assert_pyx12_valid(responses)


def test_envelope_rejected_gets_ta1_and_no_999() -> None:
    analysis = run(make_interchange(sender=("ZZ", "STRANGER"), ack="1"))
    (response,) = respond(analysis)[0]
    assert response.kind == "TA1" and not response.accepted
    assert b"TA1*000000905*240115*1253*R*006~" in response.content
    assert b"*ZZ*STRANGER       *" in response.content  # answered to the inbound sender


def test_duplicate_from_store_gets_025() -> None:
    analysis = run(make_interchange() + make_interchange(control="000000906"))
    responses, _ = respond(analysis, duplicates=[1])
    assert [r.kind for r in responses] == ["999", "TA1"]
    assert b"*R*025~" in responses[1].content
    assert responses[1].interchange_control == "000000906"


def test_multiple_isa_file_gets_one_answer_each() -> None:
    responses, _ = respond(run(retarget(corpus("837p-negative/imsweb-x12_multiple_isa.txt"))))
    assert [(r.kind, r.interchange_control) for r in responses] == [
        ("TA1", "000000905"),
        ("999", "000000905"),
        ("TA1", "000000906"),
        ("999", "000000906"),
    ]
    assert len({r.outbound_control for r in responses}) == 4


def test_no_isa_file_gets_plain_reject_report() -> None:
    data = corpus("837p-negative/imsweb-x12_no_isa_line.txt")
    analysis = run(data)
    assert not analysis.readable
    (response,) = respond(analysis)[0]
    assert response.kind == "REJECT" and response.interchange_control is None
    text = response.content.decode()
    assert "'GS'" in text and "What to do" in text
    assert "ANGELASZEK" not in text and "SENDER CODE" not in text


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 ...", "PDF"),
        (b"PK\x03\x04zzzz", "ZIP"),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07", "binary"),
        (b"Dear billing team, John Smith DOB 01/02/1950", "not an X12"),
        (b"ISA*00*", "ISA"),
    ],
)
def test_unreadable_descriptions_never_echo_content(data: bytes, words: str) -> None:
    analysis = run(data)
    assert not analysis.readable
    assert words in analysis.reject_reason
    assert "Smith" not in analysis.reject_reason
    assert describe_start(data)


def claim_error_rule(segments: Sequence[Segment], _d: Delimiters) -> list[IgError]:
    errors = []
    claim = None
    for position, seg in enumerate(segments, start=1):
        if seg.id == "CLM":
            claim = seg.elements[0]
        if seg.id == "SV1":
            errors.append(
                IgError(
                    "SV1",
                    position,
                    "2400",
                    "8",
                    2,
                    None,
                    None,
                    "782",
                    "7",
                    seg.elements[1] if len(seg.elements) > 1 else "",  # a mutation may drop it
                    claim_id=claim,
                    line=seg.line,
                    message="charge invalid",
                )
            )
    return errors


def test_ig_errors_reach_the_999_with_claim_context() -> None:
    analysis = run(make_interchange(), FakeValidator(rule=claim_error_rule))
    (response,) = respond(analysis)[0]
    assert not response.accepted
    text = response.content.decode()
    assert "IK3*SV1*18*2400*8~\nCTX*CLM01:PCN1~\nIK4*2*782*7*100~\nIK5*R*5~" in text
    assert "AK9*R*1*1*0~" in text
    assert response.details["sets_rejected"] == 1
    assert_pyx12_valid([response])
    assert "charge invalid" in interchange_report(analysis.interchanges[0])


def test_details_carry_no_element_values() -> None:
    analysis = run(make_interchange(), FakeValidator(rule=claim_error_rule))
    (response,) = respond(analysis)[0]
    flat = repr(response.details)
    for value in ("PCN1", "DOE", "ABC123", "100"):
        assert value not in flat


def test_lfh_x222a2_file_validated_under_x222a1_policy() -> None:
    fake = FakeValidator()
    response = respond(run(retarget(corpus("837p/lfh-demo-file.837")), fake))[0][-1]
    assert response.kind == "999"
    assert {impl for impl, _ in fake.calls} == {"005010X222A1"}
    assert b"AK1*HC*" in response.content and b"*005010X222A2~" in response.content


def test_many_claims_file() -> None:
    analysis = run(retarget(corpus("837p/imsweb-x12_many_claims.txt")))
    responses, _ = respond(analysis)
    assert sum(r.details.get("claims_received", 0) for r in responses) == 820  # type: ignore[misc]


# ---------------------------------------------------------------------- robustness

SEEDS = [retarget(corpus(n)) for n in CORPUS_837[:8]] if CORPUS.is_dir() else [make_interchange()]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 40))]
        elif op == "insert":
            data[i:i] = draw(
                st.sampled_from([b"~", b"*", b"ISA", b"IEA*1*", b"\r\n", b"GS*", b"SE*"])
            )
        else:
            del data[i:]
    return bytes(data)


def check_never_raises(data: bytes) -> None:
    analysis = run(data, FakeValidator(rule=claim_error_rule))
    responses, _ = respond(analysis, duplicates=[0])
    assert responses
    for response in responses:
        response.content.decode("ascii")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    check_never_raises(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_corpus_never_raises(data: bytes) -> None:
    check_never_raises(data)


# ---------------------------------------------------------------------- igvalidator


def test_igvalidator_integration() -> None:
    try:
        from gateway.x12.igvalidator import PyX12Validator
    except Exception as exc:  # pragma: no cover - the validator is another module's work
        pytest.skip(f"igvalidator not importable: {exc}")
    analysis = analyze(
        retarget(corpus("837p/uhin-837.edi")),
        uploader=UPLOADER,
        directory=DIRECTORY,
        validator=PyX12Validator(),
    )
    responses, _ = respond(analysis)
    assert [r.kind for r in responses] == ["999"]
    assert_pyx12_valid(responses)


# ------------------------------------------------------------------ CLM01 counts


def _claim(number: int, clm01: str) -> list[str]:
    return [
        f"HL*{number + 1}*1*22*0",
        "SBR*P*18*******CI",
        f"NM1*IL*1*DOE*JOHN****MI*ABC{number}",
        "NM1*PR*2*PAYER*****PI*12345",
        f"CLM*{clm01}*100***11:B:1*Y*A*Y*I",
        "HI*ABK:J20",
        "LX*1",
        "SV1*HC:99213*100*UN*1***1",
        "DTP*472*D8*20240110",
    ]


def test_the_guide_pass_names_the_repeated_claim_ids_of_accepted_sets() -> None:
    from gateway.x12.engine import analyze_stream

    header = CLAIM_BODY[: CLAIM_BODY.index("HL*2*1*22*0")]
    first = make_set("0001", [*header, *_claim(1, "PCN1"), *_claim(2, "PCN1"), *_claim(3, "X")])
    second = make_set("0002", [*header, *_claim(1, "PCN2"), *_claim(2, "X")])
    rejected = make_set("0003", [*header, *_claim(1, "PCN2")], se_count=99)
    data = make_interchange([make_group([first, second, rejected])])
    counted = analyze_stream([data], uploader=UPLOADER, directory=DIRECTORY, claim_ids=True)
    transactions = counted.interchanges[0].groups[0].transactions
    assert [t.accepted for t in transactions] == [True, True, False]
    # PCN2 twice, but once in a set the 999 rejects: only the accepted sets count
    assert counted.repeated_claim_ids == {"PCN1": 2, "X": 2}
    plain = analyze_stream([data], uploader=UPLOADER, directory=DIRECTORY)
    assert plain.repeated_claim_ids is None and plain == counted
    # a validator whose sessions do not collect CLM01s: unknown, never "no repeats"
    fake = analyze_stream(
        [data], uploader=UPLOADER, directory=DIRECTORY, validator=FakeValidator(), claim_ids=True
    )
    assert fake.repeated_claim_ids is None
