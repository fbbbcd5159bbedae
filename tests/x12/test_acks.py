"""999 and TA1 builders: content, caps, cleaning, and validity (pyx12 + our own tokenizer)."""

from __future__ import annotations

import itertools
from datetime import datetime

from gateway.x12.acks import MAX_IK3_PER_SET, Gateway, build_999, build_ta1, clean
from gateway.x12.results import GroupResult, IgError, InterchangeResult, TransactionResult
from gateway.x12.segments import Segment
from gateway.x12.tokenizer import IsaHeader, tokenize
from tests.x12.conftest import pyx12_check

NOW = datetime(2024, 1, 15, 9, 5)
GW = Gateway("ZZ", "GATEWAY")


def inbound(groups: tuple[GroupResult, ...] = (), **kw: object) -> InterchangeResult:
    base: dict[str, object] = {
        "sender_qualifier": "ZZ",
        "sender_id": "SUBMITTER",
        "receiver_qualifier": "ZZ",
        "receiver_id": "GATEWAY",
        "control_number": "000000905",
        "date": "240115",
        "time": "1253",
        "usage_indicator": "T",
        "ack_requested": False,
        "version": "00501",
        "groups": groups,
    }
    base.update(kw)
    return InterchangeResult(**base)  # type: ignore[arg-type]


def group(*sets: TransactionResult, codes: tuple[str, ...] = ()) -> GroupResult:
    return GroupResult("HC", "SENDERAPP", "RECEIVERAPP", "17", "005010X222A1", sets, codes)


def ok_set(st02: str = "0001") -> TransactionResult:
    return TransactionResult("837", st02, "005010X222A1", claim_count=2)


def element_error(pos: int, value: str | None = "BAD", code: str = "7") -> IgError:
    return IgError(
        segment_id="CLM",
        segment_position=23,
        loop_id="2300",
        segment_error="8",
        element_position=pos,
        element_reference="1325",
        element_error=code,
        bad_value=value,
        claim_id="PCN*1~",
    )


def bad_set(st02: str = "0002", errors: tuple[IgError, ...] = ()) -> TransactionResult:
    errors = errors or (element_error(5, "1A"), element_error(7, None, "1"))
    return TransactionResult("837", st02, "005010X222A1", errors, ("5",), claim_count=1)


def counter() -> itertools.count[int]:
    return itertools.count(41)


def segs(content: bytes) -> list[Segment]:
    return [t for t in tokenize(content) if isinstance(t, Segment)]


def assert_valid(content: bytes) -> None:
    ok, report, log = pyx12_check(content)
    assert ok, (report, log)
    tokens = list(tokenize(content))
    (header,) = [t for t in tokens if isinstance(t, IsaHeader)]
    assert header.fixed_width
    body = segs(content)
    # SE01 counts ST..SE; GE01 counts sets; IEA01 counts groups
    start = 0
    for i, s in enumerate(body):
        if s.id == "ST":
            start = i
        if s.id == "SE":
            assert int(s.elements[0]) == i - start + 1
            assert s.elements[1] == body[start].elements[1]
    gs = [s for s in body if s.id == "GS"]
    ge = [s for s in body if s.id == "GE"]
    assert [g.elements[5] for g in gs] == [g.elements[1] for g in ge]
    iea = body[-1]
    assert iea.id == "IEA" and int(iea.elements[0]) == len(gs)
    assert iea.elements[1] == header.segment.elements[12]


def test_accepted_999() -> None:
    c = counter()
    ack = build_999(inbound((group(ok_set()),)), gateway=GW, next_control=lambda: next(c), now=NOW)
    assert_valid(ack.content)
    text = ack.content.decode()
    assert "*ZZ*GATEWAY        *ZZ*SUBMITTER      *240115*0905*^*00501*000000041*0*T*:~" in text
    assert "GS*FA*RECEIVERAPP*SENDERAPP*20240115*0905*42*X*005010X231A1~" in text
    assert "ST*999*0043*005010X231A1~" in text
    assert "AK1*HC*17*005010X222A1~" in text
    assert "AK2*837*0001*005010X222A1~\nIK5*A~\nAK9*A*1*1*1~" in text
    assert ack.control_number == "000000041"
    assert (ack.sets_received, ack.sets_accepted, ack.claims_accepted) == (1, 1, 2)


def test_partial_999_with_ik3_ctx_ik4() -> None:
    c = counter()
    ack = build_999(
        inbound((group(ok_set(), bad_set()),)), gateway=GW, next_control=lambda: next(c), now=NOW
    )
    assert_valid(ack.content)
    text = ack.content.decode()
    # one IK3 for both element errors of the segment, CTX right after it
    assert "IK3*CLM*23*2300*8~\nCTX*CLM01:PCN1~\nIK4*5*1325*7*1A~\nIK4*7*1325*1~\nIK5*R*5~" in text
    assert "AK9*P*2*2*1~" in text
    assert ack.errors_reported == 1


def test_rejected_group_codes() -> None:
    c = counter()
    ack = build_999(
        inbound((group(ok_set(), codes=("5",)),)), gateway=GW, next_control=lambda: next(c), now=NOW
    )
    assert_valid(ack.content)
    assert "AK9*R*1*1*0*5~" in ack.content.decode()
    assert ack.sets_accepted == 0


def test_composite_and_repetition_positions() -> None:
    error = IgError("HI", 30, "2300", "8", 1, 2, 3, "1271", "7", "X:Y")
    c = counter()
    ack = build_999(
        inbound((group(bad_set(errors=(error,))),)),
        gateway=GW,
        next_control=lambda: next(c),
        now=NOW,
    )
    assert_valid(ack.content)
    assert "IK4*1:2:3*1271*7*XY~" in ack.content.decode()


def test_segment_level_error_and_long_loop_id() -> None:
    error = IgError("NM1", 5, "2010AA", "3")
    c = counter()
    ack = build_999(
        inbound((group(bad_set(errors=(error,))),)),
        gateway=GW,
        next_control=lambda: next(c),
        now=NOW,
    )
    assert_valid(ack.content)
    assert "IK3*NM1*5*2010*3~" in ack.content.decode()  # IK303 is AN 1-4


def test_ik3_cap_keeps_ik5_rejected() -> None:
    errors = tuple(IgError("REF", 10 + i, "2300", "2") for i in range(MAX_IK3_PER_SET + 20))
    c = counter()
    ack = build_999(
        inbound((group(bad_set(errors=errors)),)), gateway=GW, next_control=lambda: next(c), now=NOW
    )
    assert_valid(ack.content)
    text = ack.content.decode()
    assert text.count("IK3*") == MAX_IK3_PER_SET
    assert (ack.errors_reported, ack.errors_omitted) == (MAX_IK3_PER_SET, 20)
    assert "IK5*R*5~" in text


def test_one_st999_per_group() -> None:
    c = counter()
    two = (group(ok_set()), group(bad_set("0003")))
    ack = build_999(inbound(two), gateway=GW, next_control=lambda: next(c), now=NOW)
    assert_valid(ack.content)
    ids = [s.id for s in segs(ack.content)]
    assert ids.count("GS") == 2 and ids.count("ST") == 2


def test_ta1_reject_and_accept() -> None:
    for code, verdict in (("006", "R*006"), (None, "A*000")):
        ack = build_ta1(inbound(), code=code, gateway=GW, control=7, now=NOW)
        text = ack.content.decode()
        assert f"TA1*000000905*240115*1253*{verdict}~\nIEA*0*000000007~" in text
        ok, _, log = pyx12_check(ack.content)
        # pyx12's control map wants a GS loop in every interchange; X12 allows TA1 only.
        assert ok
        assert all("GS_LOOP" in line for line in log.splitlines() if line.strip())


def test_ta1_with_garbage_inbound_values_is_still_valid() -> None:
    bad = inbound(
        control_number="12AB", date="99", time="x", sender_id="A*B~C", usage_indicator="Q"
    )
    ack = build_ta1(bad, code="018", gateway=GW, control=8, now=NOW)
    text = ack.content.decode()
    assert "TA1*000000012*240115*0905*R*018~" in text
    assert "*ZZ*ABC            *" in text and "*0*P*:~" in text
    assert pyx12_check(ack.content)[0]


def test_clean_strips_delimiters_and_controls() -> None:
    assert clean("a*b~c:d^e\x00\xe9f", 99) == "abcdef"
    assert clean("x" * 200, 99) == "x" * 99
