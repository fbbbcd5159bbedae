"""Streaming: chunked tokenising equals whole-text tokenising; analyze_file equals analyze;
the envelope's streaming sessions agree with the list path; memory does not grow with size."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.x12.engine import analyze, analyze_file, analyze_stream
from gateway.x12.igvalidator import PyX12Validator
from gateway.x12.report import describe_start
from gateway.x12.results import FileAnalysis, IgError
from gateway.x12.segments import Delimiters, Segment
from gateway.x12.tokenizer import (
    BLANKS,
    ISA_LENGTH,
    IsaHeader,
    Stray,
    Token,
    _is_isa_start,
    _sixteenth_separator,
    decode,
    find_isa,
    read_isa,
    tokenize,
    tokenize_stream,
)
from tests.x12.conftest import (
    CORPUS,
    DIRECTORY,
    UPLOADER,
    corpus,
    make_group,
    make_interchange,
    make_isa,
    make_set,
    retarget,
)
from tests.x12.test_engine import mutated

# it patches a module internal, which compiled callers do not see: pure Python only
# (`make test` runs this file again with GATEWAY_PURE=1)
PURE_ONLY = pytest.mark.skipif(_native.compiled(), reason="patches a compiled module's internals")

# ------------------------------------------------------------------ the reference tokenizer
# The whole-text tokenizer as it was before streaming (commit 404dea7), kept as the oracle:
# one segment at a time with str.find, line numbers counted per segment.

_UTF8_BOM = "\xef\xbb\xbf"


def _is_blank(text: str, start: int, end: int) -> bool:
    chunk = text[start:end]
    if chunk.startswith(_UTF8_BOM) and start == 0:
        chunk = chunk[len(_UTF8_BOM) :]
    return not chunk.strip(BLANKS)


class _Reference:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def run(self) -> Iterator[Token]:
        header: IsaHeader | None = None
        while self.pos < len(self.text):
            if header is None:
                header = yield from self._outside()
                if header is None:
                    return
            elif not header.usable:
                header = yield from self._skip_unusable()
            else:
                header = yield from self._inside(header)

    def _advance_to(self, new_pos: int) -> None:
        self.line += self.text.count("\n", self.pos, new_pos)
        self.pos = new_pos

    def _outside(self):  # type: ignore[no-untyped-def]
        start, start_line = self.pos, self.line
        cand, header = find_isa(self.text, self.pos, self.line)
        end = len(self.text) if cand < 0 else cand
        if not _is_blank(self.text, start, end):
            yield Stray(offset=start, line=start_line, length=end - start)
        self._advance_to(end)
        if header is None:
            return None
        yield header
        self._advance_to(self._isa_end(header))
        return header

    def _isa_end(self, header: IsaHeader) -> int:
        if header.fixed_width:
            return header.offset + ISA_LENGTH
        last_sep = _sixteenth_separator(self.text, header.offset, header.delimiters.element)
        return last_sep + 3

    def _skip_unusable(self):  # type: ignore[no-untyped-def]
        cand, header = find_isa(self.text, self.pos, self.line)
        self._advance_to(len(self.text) if cand < 0 else cand)
        if header is None:
            return None
        yield header
        self._advance_to(self._isa_end(header))
        return header

    def _inside(self, header: IsaHeader):  # type: ignore[no-untyped-def]
        text, n = self.text, len(self.text)
        element, terminator = header.delimiters.element, header.delimiters.segment
        while self.pos < n:
            end = text.find(terminator, self.pos)
            if end < 0:
                end = n
            raw = text[self.pos : end]
            body = raw.lstrip(BLANKS)
            seg_start = self.pos + len(raw) - len(body)
            seg_line = self.line + text.count("\n", self.pos, seg_start)
            if _is_isa_start(text, seg_start):
                new = read_isa(text, seg_start, seg_line)
                if new is not None:
                    self._advance_to(seg_start)
                    yield new
                    self._advance_to(self._isa_end(new))
                    return new
            self._advance_to(min(end + 1, n))
            body = body.rstrip("\r\n")
            if not body:
                continue
            parts = body.split(element)
            yield Segment(parts[0], tuple(parts[1:]), line=seg_line)
            if parts[0] == "IEA":
                return None
        return None


def reference(data: bytes) -> list[Token]:
    return list(_Reference(decode(data)).run())


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({p % (len(data) + 1) for p in points})
    out, last = [], 0
    for b in bounds:
        out.append(data[last:b])  # empty chunks included on purpose
        last = b
    out.append(data[last:])
    return out


# ------------------------------------------------------------------ inputs

_PIECES = [
    b"ISA",
    b"IEA*1*000000905~",
    b"~",
    b"\n",
    b"\r\n",
    b"\r",
    b" ",
    b"*",
    b"\xef\xbb\xbf",
    b"GS*",
    b"ST*837*0002~",
    b"SE*2*0002~",
    b"LISA~",
    b"\x00",
    b"~\n",
    b"~\r\n",
]


def _interchanges() -> list[bytes]:
    two_sets = [make_group([make_set("0001"), make_set("0002")])]
    return [
        make_interchange(),
        make_interchange(newline="\r\n"),
        make_interchange(newline=""),
        make_interchange(newline="\n\n  "),
        make_interchange(two_sets, control="000000906"),
        make_interchange(trailer=False),
        make_interchange(newline="").replace(b"~", b"\n"),
        (make_isa(terminator="\n") + "GS*HC\nST*837*1\nIEA*1*1\n").encode(),
        (make_isa(terminator="\r") + "GS*HC\rST*837*1\r\nIEA*1*1\r").encode(),
        (make_isa(terminator="A") + "GS*HC~ISA*00").encode(),
        make_interchange().replace(b"*00501*", b"*00501**", 1),  # not fixed width
    ]


@st.composite
def x12ish(draw: st.DrawFn) -> bytes:
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(_interchanges()),
                st.sampled_from(_PIECES),
                st.binary(max_size=20),
            ),
            min_size=1,
            max_size=6,
        )
    )
    data = b"".join(parts)
    if draw(st.booleans()) and data:
        # one random edit: delete, duplicate or flip a stretch
        a = draw(st.integers(0, len(data) - 1))
        b = draw(st.integers(a, min(len(data), a + 8)))
        data = draw(
            st.sampled_from([data[:a] + data[b:], data[:b] + data[a:], data[:a] + b"~" + data[b:]])
        )
    return data


# ------------------------------------------------------------------ tokenizer equivalence


def test_whole_text_matches_reference_on_corpus_like_files() -> None:
    for data in _interchanges():
        assert list(tokenize(data)) == reference(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x12ish(), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_chunking_gives_the_reference_tokens(data: bytes, points: list[int]) -> None:
    expected = reference(data)
    assert list(tokenize(data)) == expected
    assert list(tokenize_stream(cut(data, points))) == expected


@settings(max_examples=100, deadline=None)
@given(x12ish())
def test_one_byte_chunks(data: bytes) -> None:
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert list(tokenize_stream(chunks)) == reference(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 700), max_size=6))
def test_random_bytes_any_chunking(data: bytes, points: list[int]) -> None:
    expected = reference(data)
    assert list(tokenize_stream(cut(data, points))) == expected
    tail = make_isa().encode() + data
    assert list(tokenize_stream(cut(tail, points))) == reference(tail)


def test_isa_split_across_chunks_at_every_position() -> None:
    data = b"junk\r\n" + make_interchange(newline="\r\n") + make_interchange(control="000000906")
    expected = reference(data)
    for at in range(len(data)):
        assert list(tokenize_stream([data[:at], data[at:]])) == expected, at


def test_corpus_files_any_chunk_size() -> None:
    for name in (
        "837p/imsweb-x12_many_claims.txt",
        "837p/imsweb-x12_valid_different_separators.txt",
        "837p-negative/imsweb-x12_multiple_isa.txt",
        "837p-negative/imsweb-x12_bad_first_line.txt",
    ):
        data = corpus(name)
        expected = reference(data)
        for size in (1, 7, 106, 403, 4096):
            chunks = [data[i : i + size] for i in range(0, len(data), size)]
            assert list(tokenize_stream(chunks)) == expected, (name, size)


@settings(max_examples=100, deadline=None)
@given(x12ish(), st.integers(1, 64))
def test_small_runs(data: bytes, run_chars: int) -> None:
    import gateway.x12.tokenizer as tokenizer

    saved = tokenizer.RUN_CHARS
    tokenizer.RUN_CHARS = run_chars
    try:
        assert list(tokenize(data)) == reference(data)
    finally:
        tokenizer.RUN_CHARS = saved


# ------------------------------------------------------------------ envelope + sessions


class ListOnly:
    """PyX12Validator without ``begin``: the envelope falls back to the list path."""

    def __init__(self) -> None:
        self.inner = PyX12Validator()

    def supports(self, implementation: str) -> bool:
        return self.inner.supports(implementation)

    def validate(
        self, segments: Sequence[Segment], delimiters: Delimiters, implementation: str
    ) -> tuple[list[IgError], int]:
        return self.inner.validate(segments, delimiters, implementation)


STREAMING = PyX12Validator()
LISTING = ListOnly()

CORPUS_837 = sorted(
    str(p.relative_to(CORPUS))
    for folder in ("837p", "837p-negative", "837i")
    for p in (CORPUS / folder).glob("*")
    if p.is_file()
)


def both(data: bytes) -> tuple[FileAnalysis, FileAnalysis]:
    streamed = analyze(data, uploader=UPLOADER, directory=DIRECTORY, validator=STREAMING)
    listed = analyze(data, uploader=UPLOADER, directory=DIRECTORY, validator=LISTING)
    return streamed, listed


@pytest.mark.parametrize("name", CORPUS_837)
def test_sessions_agree_with_the_list_path_on_the_corpus(name: str) -> None:
    streamed, listed = both(retarget(corpus(name)))
    assert streamed == listed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_sessions_agree_with_the_list_path_on_mutations(data: bytes) -> None:
    streamed, listed = both(data)
    assert streamed == listed


def test_ik502_from_counters_beyond_the_stored_errors() -> None:
    """Errors past MAX_STORED_ERRORS still decide 5 / I5."""
    body = ["BHT*0019*00*0123*20240115*0932*CH"] + ["ZZZ*1"] * 1100
    data = make_interchange([make_group([make_set(body=body)])])
    result = analyze(data, uploader=UPLOADER, directory=DIRECTORY, validator=STREAMING)
    (transaction,) = result.interchanges[0].groups[0].transactions
    assert len(transaction.errors) == 1000
    assert "5" in transaction.set_error_codes


# ------------------------------------------------------------------ analyze_file


@pytest.mark.parametrize("name", CORPUS_837[::3])
def test_analyze_file_equals_analyze(name: str, tmp_path: Path) -> None:
    data = retarget(corpus(name))
    path = tmp_path / "in.837"
    path.write_bytes(data)
    expected = analyze(data, uploader=UPLOADER, directory=DIRECTORY, validator=STREAMING)
    kwargs = {"uploader": UPLOADER, "directory": DIRECTORY, "validator": STREAMING}
    assert analyze_file(path, **kwargs) == expected  # type: ignore[arg-type]
    assert analyze_file(str(path), **kwargs) == expected  # type: ignore[arg-type]
    assert analyze_file(io.BytesIO(data), **kwargs) == expected  # type: ignore[arg-type]
    pieces = [data[i : i + 97] for i in range(0, len(data), 97)]
    assert analyze_stream(pieces, **kwargs) == expected  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda a, b, c: a + b + c,
            st.sampled_from([b"", b"\xef\xbb\xbf", b"\xef\xbb", b" \r\n\t" * 30]),
            st.sampled_from([b"", b"%PDF-1.4", b"NM1*41", b"ISA*00*", b"{}", b"\x00\x01" * 40]),
            st.binary(max_size=80),
        ),
    ),
    st.lists(st.integers(0, 300), max_size=5),
)
def test_unreadable_report_from_the_first_bytes_only(data: bytes, points: list[int]) -> None:
    whole = analyze(data, uploader=UPLOADER, directory=DIRECTORY, validator=STREAMING)
    chunked = analyze_stream(
        cut(data, points), uploader=UPLOADER, directory=DIRECTORY, validator=STREAMING
    )
    assert chunked == whole
    if not whole.readable:
        expected = describe_start(data)
        assert whole.reject_reason.startswith(expected)
        assert ("'ISA' occurs" in whole.reject_reason) == (b"ISA" in data)


# ------------------------------------------------------------------ memory


def _big_stream(claims: int) -> Iterator[bytes]:
    """One 837P set of ``claims`` claims (one billing provider HL each), generated lazily."""
    head = make_isa() + "\n" + "GS*HC*SENDERAPP*RECEIVERAPP*20240115*1253*1*X*005010X222A1~\n"
    header = [
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*0123*20240115*0932*CH",
        "NM1*41*2*BILLING*****46*999999999",
        "PER*IC*CONTACT*TE*3015551234",
        "NM1*40*2*RECEIVER*****46*111222333",
    ]
    yield (head + "".join(s + "~\n" for s in header)).encode()
    count = len(header)
    for k in range(claims):
        block = [
            f"HL*{2 * k + 1}**20*1",
            "NM1*85*2*GROUP*****XX*1234567893",
            "N3*1 MAIN ST",
            "N4*CITY*MD*212345678",
            "REF*EI*123456789",
            f"HL*{2 * k + 2}*{2 * k + 1}*22*0",
            "SBR*P*18*******CI",
            f"NM1*IL*1*DOE*JOHN****MI*ABC{k}",
            "NM1*PR*2*PAYER*****PI*12345",
            f"CLM*PCN{k}*100***11:B:1*Y*A*Y*I",
            "HI*ABK:J20",
            "LX*1",
            "SV1*HC:99213*100*UN*1***1",
            "DTP*472*D8*20240110",
        ]
        count += len(block)
        yield "".join(s + "~\n" for s in block).encode()
    yield f"SE*{count + 1}*0001~\nGE*1*1~\nIEA*1*000000905~\n".encode()


def _peak(claims: int) -> tuple[int, FileAnalysis]:
    import tracemalloc

    # Outside the measurement: compile the guide, fill the interpreter's free lists.
    analyze_stream(_big_stream(claims), uploader=UPLOADER, directory=DIRECTORY, validator=STREAMING)
    tracemalloc.start()
    try:
        result = analyze_stream(
            _big_stream(claims), uploader=UPLOADER, directory=DIRECTORY, validator=STREAMING
        )
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@PURE_ONLY
def test_memory_does_not_grow_with_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the bounded caches (made small here: the tokenizer's segment texts, the
    validator's fast-check memos), peak memory stays flat as the file grows fourfold."""
    import gateway.x12.ig_fastcheck
    import gateway.x12.igvalidator
    import gateway.x12.tokenizer

    monkeypatch.setattr(gateway.x12.tokenizer, "_CACHE_LIMIT", 100)
    monkeypatch.setattr(gateway.x12.igvalidator, "_MEMO_LIMIT", 100)
    monkeypatch.setattr(gateway.x12.ig_fastcheck, "_MEMO_LIMIT", 100)
    small, first = _peak(1000)
    large, second = _peak(4000)
    for result, claims in ((first, 1000), (second, 4000)):
        (transaction,) = result.interchanges[0].groups[0].transactions
        assert transaction.accepted, transaction.errors[:3]
        assert transaction.claim_count == claims
    assert large < small * 1.2, (small, large)
