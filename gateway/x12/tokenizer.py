"""X12 tokenizer: bytes in, a stream of ISA headers, segments and stray text out.

* Delimiters come from each ISA: the element separator is the character right after ``ISA``,
  the component separator is ISA16 and the segment terminator the character after it; for
  00501 ISA11 is the repetition separator (when it is not a letter/digit).  A fixed-width
  106-character ISA is read by position; a non-conforming one is read by counting element
  separators, so that the envelope check can still say *which* ISA element is wrong.
* Every interchange in a file gets its own delimiters.
* CR/LF and other blanks between segments are tolerated; line numbers count LF.
* Bytes are decoded as latin-1, so any byte sequence tokenises without an exception.
* Streaming: :func:`tokenize` is a generator; segments are cut with ``str.find``/``str.split``
  (no per-segment regular expressions).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

from gateway.x12.segments import Delimiters, Segment

ISA_LENGTH = 106
"""A conforming ISA, from ``I`` to the segment terminator inclusive."""
ISA_ELEMENT_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
"""Fixed widths of ISA01..ISA16."""
_ISA_SEPARATOR_OFFSETS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_MAX_ISA_SCAN = 400
"""How far (characters) a non-conforming ISA is searched for its 16 element separators."""
BLANKS = " \t\r\n\x0b\x0c\x00\x1a"
"""Tolerated between segments and around interchanges (incl. NUL and DOS EOF)."""
_UTF8_BOM = "\xef\xbb\xbf"
"""A UTF-8 byte-order mark as latin-1 text."""


@dataclass(frozen=True, slots=True)
class IsaHeader:
    """An ISA segment and the delimiters it declares."""

    segment: Segment
    """The ISA itself; ``elements`` are ISA01..ISA16, unstripped (ISA16 = component separator)."""
    delimiters: Delimiters
    offset: int
    """Character (= byte) offset of the ``I`` in the file."""
    fixed_width: bool
    """True when the ISA is exactly 106 characters with every separator in place."""
    usable: bool
    """False when the delimiters cannot cut segments (e.g. the segment terminator is a
    letter or equals the element separator); the interchange body is then skipped."""


@dataclass(frozen=True, slots=True)
class Stray:
    """Non-blank text outside any interchange (before an ISA or after an IEA)."""

    offset: int
    line: int
    length: int


Token = IsaHeader | Segment | Stray
_Steps = Generator[Token, None, IsaHeader | None]
"""Yields tokens; returns the header of the interchange now open (None: outside one)."""


def decode(data: bytes | str) -> str:
    """Bytes as text, one character per byte (latin-1 never fails)."""
    if isinstance(data, str):
        return data
    return data.decode("latin-1")


def _usable(element: str, component: str, segment: str) -> bool:
    if segment.isalnum() or element.isalnum():
        return False
    return segment not in (element, component) and element != component


def _repetition(isa11: str, element: str, component: str, segment: str) -> str | None:
    if len(isa11) != 1 or isa11.isalnum() or isa11 in (" ", element, component, segment):
        return None
    return isa11


def _is_isa_start(text: str, pos: int) -> bool:
    if not text.startswith("ISA", pos) or pos + 3 >= len(text):
        return False
    sep = text[pos + 3]
    return not sep.isalnum() and sep not in BLANKS


def read_isa(text: str, pos: int, line: int) -> IsaHeader | None:
    """The ISA starting at ``text[pos]``, or None when no delimiters can be read from it."""
    if not _is_isa_start(text, pos):
        return None
    element = text[pos + 3]
    fixed = len(text) >= pos + ISA_LENGTH and all(
        text[pos + off] == element for off in _ISA_SEPARATOR_OFFSETS
    )
    if fixed:
        last_sep = pos + 103
    else:
        last_sep = _sixteenth_separator(text, pos, element)
        if last_sep < 0:
            return None
    if last_sep + 2 >= len(text):
        return None
    component = text[last_sep + 1]
    segment = text[last_sep + 2]
    elements = (*text[pos + 4 : last_sep].split(element), component)
    if len(elements) != 16:  # pragma: no cover - guaranteed by the separator count
        return None
    delimiters = Delimiters(
        element=element,
        segment=segment,
        component=component,
        repetition=_repetition(elements[10], element, component, segment),
    )
    return IsaHeader(
        segment=Segment("ISA", elements, line),
        delimiters=delimiters,
        offset=pos,
        fixed_width=fixed and segment not in (element, component),
        usable=_usable(element, component, segment),
    )


def _sixteenth_separator(text: str, pos: int, element: str) -> int:
    """Offset of the 16th element separator of the ISA at ``pos`` (the one before ISA16)."""
    limit = min(len(text), pos + _MAX_ISA_SCAN)
    idx = pos + 3
    for _ in range(15):
        idx = text.find(element, idx + 1, limit)
        if idx < 0:
            return -1
    return idx


def find_isa(text: str, pos: int, line: int) -> tuple[int, IsaHeader | None]:
    """The next readable ISA at or after ``pos`` (with its line), scanning past false starts."""
    while True:
        cand = text.find("ISA", pos)
        if cand < 0:
            return -1, None
        cand_line = line + text.count("\n", pos, cand)
        header = read_isa(text, cand, cand_line)
        if header is not None:
            return cand, header
        line = cand_line
        pos = cand + 1


def _is_blank(text: str, start: int, end: int) -> bool:
    chunk = text[start:end]
    if chunk.startswith(_UTF8_BOM) and start == 0:
        chunk = chunk[len(_UTF8_BOM) :]
    return not chunk.strip(BLANKS)


def tokenize(data: bytes | str) -> Iterator[Token]:
    """Yield :class:`IsaHeader`, :class:`Segment` and :class:`Stray` tokens, in file order.

    After an ``IsaHeader`` come that interchange's segments (ISA excluded, IEA included);
    a segment starting ``ISA`` inside an interchange opens a new one (the caller notices
    the missing IEA). Text outside interchanges that is not blank comes as ``Stray``.
    """
    text = decode(data)
    yield from _Tokenizer(text).run()


class _Tokenizer:
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

    def _outside(self) -> _Steps:
        """From ``pos`` to the next readable ISA; returns its header (None at EOF)."""
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
        """Offset just after the ISA's segment terminator."""
        if header.fixed_width:
            return header.offset + ISA_LENGTH
        last_sep = _sixteenth_separator(self.text, header.offset, header.delimiters.element)
        return last_sep + 3

    def _skip_unusable(self) -> _Steps:
        """Delimiters cannot cut segments: swallow everything up to the next readable ISA."""
        cand, header = find_isa(self.text, self.pos, self.line)
        self._advance_to(len(self.text) if cand < 0 else cand)
        if header is None:
            return None
        yield header
        self._advance_to(self._isa_end(header))
        return header

    def _inside(self, header: IsaHeader) -> _Steps:
        """Segments of the current interchange until its IEA (returns None) or a new ISA."""
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
            segment = Segment(parts[0], tuple(parts[1:]), seg_line)
            yield segment
            if parts[0] == "IEA":
                return None
        return None


def split_components(value: str, delimiters: Delimiters) -> list[str]:
    """A composite element's components."""
    return value.split(delimiters.component)


def split_repetitions(value: str, delimiters: Delimiters) -> list[str]:
    """A repeating element's repetitions (the value itself when there is no separator)."""
    if delimiters.repetition is None:
        return [value]
    return value.split(delimiters.repetition)
