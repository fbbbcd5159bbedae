"""Tokenizer: delimiters per ISA, blanks between segments, line numbers, any bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.x12.segments import Segment
from gateway.x12.tokenizer import IsaHeader, Stray, read_isa, split_components, tokenize
from tests.x12.conftest import corpus, make_interchange, make_isa


def segments(data: bytes) -> list[Segment]:
    return [t for t in tokenize(data) if isinstance(t, Segment)]


def headers(data: bytes) -> list[IsaHeader]:
    return [t for t in tokenize(data) if isinstance(t, IsaHeader)]


def test_fixed_width_isa_gives_delimiters() -> None:
    (header,) = headers(make_interchange())
    d = header.delimiters
    assert (d.element, d.component, d.segment, d.repetition) == ("*", ":", "~", "^")
    assert header.fixed_width and header.usable
    assert header.segment.elements[12] == "000000905"
    assert len(header.segment.elements) == 16


def test_segments_lines_and_ids() -> None:
    segs = segments(make_interchange())
    assert segs[0].id == "GS" and segs[0].line == 2
    assert segs[-1].id == "IEA" and segs[-1].line == len(segs) + 1
    assert segs[1].elements[:2] == ("837", "0001")


def test_crlf_and_stray_whitespace_tolerated() -> None:
    data = make_interchange(newline="\r\n  ")
    segs = segments(data)
    assert [s.id for s in segs][:2] == ["GS", "ST"]
    assert all(not s.id.startswith((" ", "\r", "\n")) for s in segs)
    assert not any(isinstance(t, Stray) for t in tokenize(data))


def test_single_line_file() -> None:
    segs = segments(make_interchange(newline=""))
    assert {s.line for s in segs} == {1}
    assert segs[-1].id == "IEA"


def test_unusual_separators() -> None:
    data = make_interchange(newline="").decode().replace("*", "|").replace("~", "\n")
    data = data.replace(":", ">")
    (header,) = headers(data.encode())
    assert (header.delimiters.element, header.delimiters.segment) == ("|", "\n")
    assert header.delimiters.component == ">"
    segs = segments(data.encode())
    assert segs[0].id == "GS" and segs[0].line == 2


def test_two_interchanges_with_their_own_delimiters() -> None:
    first = corpus("837p/uhin-837.edi")
    second = corpus("837p/imsweb-x12_valid_different_separators.txt")
    hs = headers(first + b"\n" + second)
    assert [h.delimiters.element for h in hs] == ["*", "~"]
    assert [h.delimiters.segment for h in hs] == ["~", "_"]
    assert hs[1].delimiters.repetition is None  # ISA11 'U'
    ids = [s.id for s in segments(first + b"\n" + second)]
    assert ids.count("IEA") == 2 and ids.count("CLM") >= 2


def test_multiple_isa_corpus_file() -> None:
    hs = headers(corpus("837p-negative/imsweb-x12_multiple_isa.txt"))
    assert [h.segment.elements[12] for h in hs] == ["000000905", "000000906"]
    assert hs[1].segment.line == 39


def test_non_fixed_isa_read_by_separator_count() -> None:
    (header,) = headers(corpus("837p-negative/imsweb-x12_bad_first_line.txt"))
    assert not header.fixed_width and header.usable
    assert header.delimiters.segment == "~"
    assert len(header.segment.elements[1]) == 9  # the short ISA02


def test_utf8_bom_is_not_stray() -> None:
    data = corpus("999/stupidedi-response-to-functional-group-containing-3-837s.edi")
    tokens = list(tokenize(data))
    assert isinstance(tokens[0], IsaHeader)
    assert not any(isinstance(t, Stray) for t in tokens)


def test_stray_text_outside_interchanges() -> None:
    data = b"hello\n" + make_interchange() + b"trailing junk\n"
    tokens = list(tokenize(data))
    strays = [t for t in tokens if isinstance(t, Stray)]
    assert (strays[0].offset, strays[0].line) == (0, 1)
    assert len(strays) == 2


def test_missing_iea_then_new_isa_opens_new_interchange() -> None:
    data = make_interchange(trailer=False) + make_interchange(control="000000906")
    assert [h.segment.elements[12] for h in headers(data)] == ["000000905", "000000906"]


def test_truncated_isa_is_not_a_header() -> None:
    assert read_isa("ISA*00*  *", 0, 1) is None
    assert headers(b"ISA*00*") == []


def test_unusable_terminator_is_flagged() -> None:
    isa = make_isa(terminator="A")
    (header,) = headers((isa + "GS*HC").encode())
    assert not header.usable


def test_split_components() -> None:
    (header,) = headers(make_interchange())
    assert split_components("11:B:1", header.delimiters) == ["11", "B", "1"]


def test_large_file_is_fast_enough() -> None:
    data = corpus("837p/imsweb-x12_many_claims.txt")
    segs = segments(data)
    assert sum(1 for s in segs if s.id == "CLM") == 820


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_tokenise(data: bytes) -> None:
    list(tokenize(data))
    list(tokenize(make_isa().encode() + data))
