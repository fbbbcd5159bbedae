"""Tokenizer: BIN segments read by their declared length (275 attachments), in memory and
streamed, wherever the chunks are cut; bad lengths fall back to delimiter cutting."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.x12.segments import Segment
from gateway.x12.tokenizer import Token, tokenize, tokenize_stream
from tests.x12.conftest import make_isa

NASTY = b"%PDF-1.4\n~*:^\x00\r\n~~**BIN*3*abc~IEA*1*000000905~\xff\xfe" + bytes(range(256))


def interchange(payload: bytes, *, declared: int | None = None, newline: bytes = b"") -> bytes:
    length = len(payload) if declared is None else declared
    segs = [
        b"GS*PI*SENDER*RECEIVER*20240115*1253*1*X*005010X210",
        b"ST*275*0001*005010X210",
        b"LX*1",
        b"BIN*" + str(length).encode() + b"*" + payload,
        b"SE*4*0001",
        b"GE*1*1",
        b"IEA*1*000000905",
    ]
    return make_isa().encode() + newline + (b"~" + newline).join(segs) + b"~" + newline


def segments(tokens: list[Token]) -> list[Segment]:
    return [t for t in tokens if isinstance(t, Segment)]


def bin_of(data: bytes) -> Segment:
    (seg,) = [s for s in segments(list(tokenize(data))) if s.id == "BIN"]
    return seg


def test_bin_payload_with_delimiters_newlines_and_nul_read_by_length() -> None:
    seg = bin_of(interchange(NASTY))
    assert seg.elements[0] == str(len(NASTY))
    assert seg.elements[1].encode("latin-1") == NASTY
    ids = [s.id for s in segments(list(tokenize(interchange(NASTY))))]
    assert ids == ["GS", "ST", "LX", "BIN", "SE", "GE", "IEA"]


def test_bin_with_newline_layout_and_lines() -> None:
    data = interchange(b"a\nb~c", newline=b"\n")
    segs = segments(list(tokenize(data)))
    assert [s.id for s in segs] == ["GS", "ST", "LX", "BIN", "SE", "GE", "IEA"]
    assert segs[3].elements[1] == "a\nb~c"
    assert [s.line for s in segs] == [2, 3, 4, 5, 7, 8, 9]  # the payload's LF is a line


def test_empty_bin_payload() -> None:
    assert bin_of(interchange(b"")).elements == ("0", "")


def test_every_chunk_boundary_gives_the_same_tokens() -> None:
    data = interchange(b"x~y*z\n:^\x00~", newline=b"\r\n")
    expected = list(tokenize(data))
    assert segments(expected)[3].elements[1] == "x~y*z\n:^\x00~"
    for at in range(len(data) + 1):
        assert list(tokenize_stream([data[:at], data[at:]])) == expected, at
    for size in (1, 2, 3, 7, 64):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert list(tokenize_stream(chunks)) == expected, size


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=400), max_size=4))
def test_any_payload_any_cuts(payload: bytes, cuts: list[int]) -> None:
    data = interchange(payload)
    expected = list(tokenize(data))
    assert bin_of(data).elements[1].encode("latin-1") == payload
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert list(tokenize_stream(chunks)) == expected


def test_large_payload_streamed_in_small_chunks() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value, many "~" and "*"
    data = interchange(payload)
    chunks = (data[i : i + 4093] for i in range(0, len(data), 4093))
    seg = next(s for s in segments(list(tokenize_stream(chunks))) if s.id == "BIN")
    assert seg.elements[1].encode("latin-1") == payload


def test_non_numeric_length_is_cut_on_delimiters() -> None:
    data = make_isa().encode() + b"ST*275*0001~BIN*X1*ab~SE*3*0001~IEA*1*000000905~"
    segs = segments(list(tokenize(data)))
    assert [s.id for s in segs] == ["ST", "BIN", "SE", "IEA"]
    assert segs[1].elements == ("X1", "ab")


def test_length_too_short_or_too_long_is_cut_on_delimiters() -> None:
    short = bin_of(interchange(b"abcdef", declared=3))  # "abc" then "d", not the terminator
    assert short.elements == ("3", "abcdef")
    data = interchange(b"ab~cd", declared=4)
    segs = segments(list(tokenize(data)))
    assert [s.id for s in segs][3:5] == ["BIN", "cd"]
    assert segs[3].elements == ("4", "ab")


def test_length_past_the_end_of_the_file() -> None:
    data = make_isa().encode() + b"ST*275*0001~BIN*999999*abc~SE*3*0001~IEA*1*000000905~"
    segs = segments(list(tokenize(data)))
    assert [s.id for s in segs] == ["ST", "BIN", "SE", "IEA"]
    assert segs[1].elements == ("999999", "abc")
    huge = make_isa().encode() + b"ST*275*0001~BIN*99999999999999*abc~IEA*1*000000905~"
    assert [s.id for s in segments(list(tokenize(huge)))] == ["ST", "BIN", "IEA"]


def test_bin_inside_element_text_is_not_a_bin() -> None:
    data = make_isa().encode() + b"ST*275*0001~NM1*QC*1*ROBIN*X~SE*3*0001~IEA*1*000000905~"
    segs = segments(list(tokenize(data)))
    assert [s.id for s in segs] == ["ST", "NM1", "SE", "IEA"]
    assert segs[1].elements == ("QC", "1", "ROBIN", "X")


def test_bad_lengths_after_reading_ahead_lose_nothing() -> None:
    """A BIN whose payload is not where its length says, after the stream read ahead for
    it: the rest of the interchange is still all there, wherever the chunks are cut."""
    data = interchange(b"secret~*", declared=9999)
    expected = list(tokenize(data))
    assert [s.id for s in segments(expected)] == [
        "GS", "ST", "LX", "BIN", "", "SE", "GE", "IEA"
    ]  # fmt: skip
    for at in range(0, len(data) + 1, 7):
        assert list(tokenize_stream([data[:at], data[at:]])) == expected, at
    long = interchange(b"x" * 5000, declared=4000)
    ids = [s.id for s in segments(list(tokenize_stream([long[:3000], long[3000:]])))]
    assert ids == ["GS", "ST", "LX", "BIN", "SE", "GE", "IEA"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=12),
            st.sampled_from([b"~", b"*", b"\n", b"BIN*", b"BIN*3*", b"BIN*0*~", b"IEA*1*1~"]),
            st.integers(min_value=0, max_value=40).map(lambda n: b"BIN*%d*" % n),
        ),
        max_size=20,
    ),
    st.integers(min_value=1, max_value=50),
)
def test_random_bins_never_raise_and_do_not_depend_on_chunking(
    pieces: list[bytes], size: int
) -> None:
    data = make_isa().encode() + b"ST*275*0001~" + b"".join(pieces) + b"~SE*2*0001~"
    expected = list(tokenize(data))
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert list(tokenize_stream(chunks)) == expected
