"""X12 tokenizer: bytes in, a stream of ISA headers, segments and stray text out.

* Delimiters come from each ISA: the element separator is the character right after ``ISA``,
  the component separator is ISA16 and the segment terminator the character after it; for
  00501 ISA11 is the repetition separator (when it is not a letter/digit).  A fixed-width
  106-character ISA is read by position; a non-conforming one is read by counting element
  separators, so that the envelope check can still say *which* ISA element is wrong.
* Every interchange in a file gets its own delimiters.
* CR/LF and other blanks between segments are tolerated; line numbers count LF.
* Bytes are decoded as latin-1, so any byte sequence tokenises without an exception.
* Streaming: :func:`tokenize_stream` takes the file as chunks (:func:`read_chunks` reads a
  path or a binary file 1 MiB at a time) and carries the unfinished tail of a chunk over to
  the next, so memory does not grow with the file; the tokens (offsets, line numbers) are
  the same wherever the chunks are cut. :func:`tokenize` is the same over bytes in memory.
* Speed: stretches of complete segments are cut in bulk (``str.split`` on the terminator,
  then on the element separator), and line numbers are counted per stretch when every
  newline follows a terminator; only a segment that may be an ``ISA`` or an ``IEA`` (and the
  last, unterminated one) is cut one at a time.
* Binary data: ``BIN*<length>*<exactly length bytes>~`` is read by its declared length (the
  payload may hold the separators, the terminator, newlines, NULs): BIN02 is those bytes as
  latin-1 text (``.encode("latin-1")`` gives them back). A payload may straddle chunks; the
  stream then holds the payload (plus at most one chunk) and nothing more. A ``BIN`` whose
  BIN01 is not a number (at most :data:`MAX_BIN_LENGTH`), or whose payload is not followed by
  the segment terminator (it runs past the end of the file, or the length is wrong), is cut
  on delimiters like any other segment: the guide pass then reports it (BIN01 not numeric,
  or BIN02 not of the length BIN01 says: 999 IK3/IK4), never an exception. Files without a
  ``BIN`` pay one substring search per run of segments.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, repeat
from itertools import count as count_from
from operator import itemgetter, not_
from os import PathLike
from typing import BinaryIO

from gateway.x12.segments import Delimiters, Segment

ISA_LENGTH = 106
"""A conforming ISA, from ``I`` to the segment terminator inclusive."""
ISA_ELEMENT_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
"""Fixed widths of ISA01..ISA16."""
_ISA_SEPARATOR_OFFSETS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_MAX_ISA_SCAN = 400
"""How far (characters) a non-conforming ISA is searched for its 16 element separators."""
ISA_LOOKAHEAD = _MAX_ISA_SCAN + 3
"""Characters from an ``ISA`` that decide whether (and how) it reads as a header."""
CHUNK_SIZE = 1 << 20
"""Bytes per read when tokenising a file or a byte string (1 MiB)."""
RUN_CHARS = 1 << 13
"""About how much text one run of segments covers (see :func:`tokenize_runs`). Small runs
keep the young objects young: with 64 KiB runs the garbage collector's work alone made the
tokenizer ~20% slower, with 1 MiB runs ~2x (measured on a 5,000-claim 837P)."""
BLANKS = " \t\r\n\x0b\x0c\x00\x1a"
"""Tolerated between segments and around interchanges (incl. NUL and DOS EOF)."""
_UTF8_BOM = "\xef\xbb\xbf"
"""A UTF-8 byte-order mark as latin-1 text."""
MAX_BIN_LENGTH = 1 << 30
"""The largest BIN01 read by length (1 GiB); a larger one is cut on delimiters (and reported)."""
_BIN_DIGITS = 16
"""Characters after ``BIN*`` within which BIN01's element separator must come (15 digits)."""


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
Run = IsaHeader | Stray | list[Segment]
"""What :func:`tokenize_runs` yields: a header, stray text, or consecutive segments."""
Chunk = bytes | str
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_CACHE_LIMIT = 20_000
"""Distinct segment texts remembered (then forgotten all at once) by a tokenizer."""


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


def read_isa(text: str, pos: int, line: int, base: int = 0) -> IsaHeader | None:
    """The ISA starting at ``text[pos]``, or None when no delimiters can be read from it.

    ``base`` is the file offset of ``text[0]`` (for :attr:`IsaHeader.offset`). The answer
    depends on at most :data:`ISA_LOOKAHEAD` characters from ``pos``."""
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
        offset=base + pos,
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


def tokenize(data: bytes | str) -> Iterator[Token]:
    """Yield :class:`IsaHeader`, :class:`Segment` and :class:`Stray` tokens, in file order.

    After an ``IsaHeader`` come that interchange's segments (ISA excluded, IEA included);
    a segment starting ``ISA`` inside an interchange opens a new one (the caller notices
    the missing IEA). Text outside interchanges that is not blank comes as ``Stray``.
    ``data`` is cut into windows of :data:`CHUNK_SIZE` (see :func:`tokenize_stream`).
    """
    return tokenize_stream(windows(data))


def tokenize_stream(chunks: Iterable[Chunk]) -> Iterator[Token]:
    """:func:`tokenize` over ``chunks`` of a file (bytes are read as latin-1): the tokens
    (offsets, line numbers) are those of the chunks joined, wherever they are cut."""
    for item in tokenize_runs(chunks):
        if isinstance(item, list):
            yield from item
        else:
            yield item


def tokenize_runs(chunks: Iterable[Chunk]) -> Iterator[Run]:
    """Like :func:`tokenize_stream`, with consecutive segments delivered as lists (one per
    stretch of at most about :data:`RUN_CHARS` characters): the engine's hot path."""
    return _Stream(chunks).run()


def windows(data: bytes | str, size: int = CHUNK_SIZE) -> Iterator[Chunk]:
    """``data`` in pieces of ``size`` (no copy of the whole: at most one window at a time)."""
    if isinstance(data, str):
        for start in range(0, len(data), size):
            yield data[start : start + size]
        return
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield str(view[start : start + size], "latin-1")


def read_chunks(source: str | PathLike[str] | BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The bytes of a file (a path, or a binary file object read from where it stands) in
    pieces of ``size``; a path is opened and closed here."""
    if isinstance(source, (str, PathLike)):
        with open(source, "rb") as handle:
            yield from read_chunks(handle, size)
        return
    while True:
        chunk = source.read(size)
        if not chunk:
            return
        yield chunk


_Steps = Generator[Run, None, IsaHeader | None]
"""Yields tokens and runs; returns the header of the interchange now open (None: outside)."""


class _Stream:
    """The tokenizer's state over a stream of chunks.

    ``buf[pos:]`` is the text not consumed yet (the unfinished tail of earlier chunks plus the
    latest chunk); ``base`` is the file offset of ``buf[0]`` and ``line`` the line at ``pos``.
    A decision that needs text beyond the end of ``buf`` (the rest of a segment, or up to
    :data:`ISA_LOOKAHEAD` characters after an ``ISA``) waits for the next chunk, so the
    tokens are exactly those of the whole text.
    """

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        self.chunks = iter(chunks)
        self.buf = ""
        self.pos = 0
        self.base = 0
        self.line = 1
        self.eof = False
        self._cache: dict[str, tuple[str, tuple[str, ...]]] = {}
        """Segment text -> (ID, elements), see :meth:`_layout_run`."""
        self._cache_element = ""
        self._special: dict[str, re.Pattern[str]] = {}
        """Per separator: where a segment that may be an ISA or IEA starts (_layout_run)."""
        self._bin_start: dict[str, re.Pattern[str]] = {}
        """Per element separator: blanks then ``BIN`` + separator (a segment read by length)."""

    # ---------------------------------------------------------------- buffer

    def _more(self) -> bool:
        """Append the next non-empty chunk, dropping consumed text; False at end of file."""
        for chunk in self.chunks:
            text = chunk if isinstance(chunk, str) else str(chunk, "latin-1")
            if text:
                self.base += self.pos
                self.buf = self.buf[self.pos :] + text
                self.pos = 0
                return True
        self.eof = True
        return False

    def _fill(self, wanted: int) -> None:
        """Read until ``buf[pos:]`` holds ``wanted`` characters (or the file ends); the
        chunks are joined once, so a long BIN payload is not copied once per chunk."""
        have = len(self.buf) - self.pos
        if have >= wanted or self.eof:
            return
        parts = [self.buf[self.pos :]]
        for chunk in self.chunks:
            text = chunk if isinstance(chunk, str) else str(chunk, "latin-1")
            if text:
                parts.append(text)
                have += len(text)
                if have >= wanted:
                    break
        else:
            self.eof = True
        self.base += self.pos
        self.buf = "".join(parts)
        self.pos = 0

    def _advance_to(self, new_pos: int) -> None:
        self.line += self.buf.count("\n", self.pos, new_pos)
        self.pos = new_pos

    def _isa_end(self, header: IsaHeader) -> int:
        """Offset in ``buf`` just after the ISA's segment terminator."""
        start = header.offset - self.base
        if header.fixed_width:
            return start + ISA_LENGTH
        return _sixteenth_separator(self.buf, start, header.delimiters.element) + 3

    # ---------------------------------------------------------------- states

    def run(self) -> Iterator[Run]:
        header: IsaHeader | None = None
        self._more()
        while True:
            if header is None:
                header = yield from self._outside(strays=True)
                if header is None:
                    return
            elif not header.usable:
                # Delimiters cannot cut segments: swallow everything up to the next ISA.
                header = yield from self._outside(strays=False)
                if header is None:
                    return
            else:
                header = yield from self._inside(header)

    def _outside(self, strays: bool) -> _Steps:
        """From ``pos`` to the next readable ISA; returns its header (None at EOF). With
        ``strays``, non-blank text on the way is reported as one :class:`Stray`."""
        start, start_line = self.base + self.pos, self.line
        bom = start == 0
        if bom:
            self._fill(ISA_LOOKAHEAD)  # the BOM rule looks at the region's first characters
        blank = True
        scan = self.pos
        header: IsaHeader | None = None
        while True:
            buf = self.buf
            cand = buf.find("ISA", scan)
            if cand >= 0 and (self.eof or len(buf) - cand >= ISA_LOOKAHEAD):
                header = read_isa(buf, cand, self.line + buf.count("\n", self.pos, cand), self.base)
                if header is None:
                    scan = cand + 1
                    continue
                keep = cand
            elif self.eof:
                keep = len(buf)
            else:
                keep = cand if cand >= 0 else max(scan, len(buf) - 2)
            if strays and blank:
                text = buf[self.pos : keep]
                if bom and text.startswith(_UTF8_BOM):
                    text = text[len(_UTF8_BOM) :]
                blank = not text.strip(BLANKS)
            bom = False
            self._advance_to(keep)
            if header is not None or (self.eof and keep == len(buf)):
                break
            self._more()
            scan = self.pos
        if not blank:
            end = self.base + self.pos
            yield Stray(offset=start, line=start_line, length=end - start)
        if header is None:
            return None
        yield header
        self._advance_to(self._isa_end(header))
        return header

    def _inside(self, header: IsaHeader) -> _Steps:
        """Segments of the current interchange until its IEA (returns None), a new ISA
        (returns its header) or the end of the file (None)."""
        element, terminator = header.delimiters.element, header.delimiters.segment
        while True:
            buf, pos = self.buf, self.pos
            # Complete segments before the first one that might be an IEA or an ISA go in
            # bulk; that one, and an unterminated last one, go one at a time below.
            limit = buf.rfind(terminator, pos, pos + RUN_CHARS) + 1
            if limit <= pos:
                limit = buf.rfind(terminator, pos) + 1
            if limit > pos:
                run = self._bulk(buf, pos, limit - 1, element, terminator)
                if run is not None:
                    if run:
                        yield run
                    continue
            # One segment at ``pos``.
            n = len(buf)
            if pos >= n:
                if self.eof or not self._more():
                    return None
                continue
            binary = self._binary(element, terminator)
            if binary is not None:
                yield [binary]
                continue
            if self.buf is not buf:
                continue  # more was read looking for a BIN's payload: start over
            end = buf.find(terminator, pos)
            if end < 0:
                if self._more():
                    continue
                end = n
            raw = buf[pos:end]
            body = raw.lstrip(BLANKS)
            seg_start = end - len(body)
            seg_line = self.line + buf.count("\n", pos, seg_start)
            if _is_isa_start(buf, seg_start):
                if not self.eof and n - seg_start < ISA_LOOKAHEAD:
                    self._more()
                    continue
                new = read_isa(buf, seg_start, seg_line, self.base)
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
            yield [Segment(parts[0], tuple(parts[1:]), seg_line)]
            if parts[0] == "IEA":
                return None

    def _bulk(
        self, buf: str, pos: int, stop: int, element: str, terminator: str
    ) -> list[Segment] | None:
        """The complete segments of ``buf[pos:stop]`` (``buf[stop]`` is a terminator) up to
        the first one that may be an ISA or an IEA, consumed; None when that is the first
        one (the caller takes it alone)."""
        text = buf[pos:stop]
        cand = text.find("BIN" + element)
        if cand >= 0:
            # Segments up to (not including) the one holding a possible BIN: a BIN is read
            # alone, by its length (see _binary).
            stop = text.rfind(terminator, 0, cand)
            if stop < 0:
                return None
            text = text[:stop]
        if terminator not in "\r\n":
            run = self._layout_run(text, pos, element, terminator)
            if run is not None:
                return run
        cand = text.find("IEA")
        other = text.find("ISA")
        if cand < 0 or 0 <= other < cand:
            cand = other
        if cand >= 0:
            stop = text.rfind(terminator, 0, cand)
            if stop < 0:
                return None
            text = text[:stop]
        return self._loop_run(text, pos + len(text), element, terminator)

    def _binary(self, element: str, terminator: str) -> Segment | None:
        """The BIN segment at ``pos`` (after blanks) read by its declared length, consumed;
        None (nothing consumed) when the segment there is not a BIN that can be read so."""
        start_re = self._bin_start.get(element)
        if start_re is None:
            start_re = self._bin_start[element] = re.compile(
                "[" + re.escape(BLANKS) + "]*BIN" + re.escape(element)
            )
        found = start_re.match(self.buf, self.pos)
        if found is None:
            return None
        lead = found.end() - self.pos  # blanks + "BIN*"
        # BIN01: digits, then the element separator, within _BIN_DIGITS characters.
        self._fill(lead + _BIN_DIGITS)
        buf, pos = self.buf, self.pos  # (the buffer may have been rebased)
        digits_at = pos + lead
        sep = buf.find(element, digits_at, digits_at + _BIN_DIGITS)
        digits = buf[digits_at:sep] if sep > digits_at else ""
        if not (digits.isascii() and digits.isdigit()) or int(digits) > MAX_BIN_LENGTH:
            return None
        data_at = sep + 1 - pos
        end_at = data_at + int(digits)  # relative to pos: where the terminator must be
        self._fill(end_at + 1)
        buf, pos = self.buf, self.pos
        if len(buf) - pos <= end_at or buf[pos + end_at] != terminator:
            return None
        seg_start = pos + lead - 3 - len(element)
        line = self.line + buf.count("\n", pos, seg_start)
        segment = Segment("BIN", (digits, buf[pos + data_at : pos + end_at]), line)
        self._advance_to(pos + end_at + 1)
        return segment

    def _layout_run(
        self, text: str, pos: int, element: str, terminator: str
    ) -> list[Segment] | None:
        """:meth:`_bulk` for the usual layouts, with no Python loop at all; None when
        ``text`` is not in one of them.

        The layouts: every segment ends with terminator + ``newline`` (LF or CR LF; or no
        newline at all, everything on one line), and there is no other CR or LF, no blank
        before a segment and no empty segment. Then cutting on terminator + newline gives
        the segments, the n-th on the n-th line, and ISA/IEA candidates are found by one
        search for terminator + newline + ``I[SE]A``."""
        newlines = text.count("\n")
        returns = text.count("\r")
        newline = "\r\n" if returns else "\n" if newlines else ""
        leading = newline != "" and text.startswith(newline)
        body = text[len(newline) :] if leading else text
        if not body or body.startswith(("ISA", "IEA")):
            return None
        separator = terminator + newline
        pieces = body.split(separator)
        count = len(pieces) - 1
        if newline:
            if newlines - leading != count or body.count(terminator) != count:
                return None
            if returns - (leading and newline == "\r\n") != (count if newline == "\r\n" else 0):
                return None
        if min(pieces) < "!":  # an empty segment, or one starting with a blank (or control)
            return None
        special = self._special.get(separator)
        if special is None:
            special = self._special[separator] = re.compile(re.escape(separator) + "I[SE]A")
        found = special.search(body)
        first = self.line + leading
        if found is None:
            self.pos = pos + len(text) + 1
        else:
            count = body.count(separator, 0, found.start())
            del pieces[count + 1 :]
            self.pos = pos + len(newline) * leading + found.start() + 1
        self.line = first + count if newline else first
        # Segments repeat verbatim (SBR, N3/N4, DTP, SV1, LX...): cut each distinct text once.
        # Besides the splitting, this hands the validator the same element strings again,
        # whose hashes are then already known (its fast-check memo is keyed on elements).
        cache = self._cache
        if element != self._cache_element or len(cache) > _CACHE_LIMIT:
            cache.clear()
            self._cache_element = element
        cut = list(map(cache.get, pieces))
        for i in compress(count_from(), map(not_, cut)):  # the new ones, in C until here
            piece = pieces[i]
            parts = piece.split(element)
            cut[i] = cache[piece] = (parts[0], tuple(parts[1:]))
        lines = range(first, first + len(pieces)) if newline else repeat(first)
        return list(map(Segment, map(_FIRST, cut), map(_SECOND, cut), lines))  # type: ignore[arg-type]

    def _loop_run(self, text: str, end: int, element: str, terminator: str) -> list[Segment]:
        """The segments of ``text`` (complete, none an ISA/IEA, ending at ``buf[end]``, a
        terminator) one at a time; consumes up to ``end + 1``.

        When every LF (or CR LF) directly follows a terminator, a segment's line is the
        previous one's plus one if it starts with that newline; otherwise each segment's
        newlines are counted."""
        newlines = text.count("\n")
        returns = text.count("\r")
        line = self.line
        pieces = text.split(terminator)
        out: list[Segment] = []
        append = out.append
        seg = Segment
        blanks = BLANKS
        lead = ""
        if terminator in "\r\n":
            pass  # the general loop below
        elif not returns and newlines == text.count(terminator + "\n") + text.startswith("\n"):
            lead = "\n"  # (also when there is no newline at all)
        elif newlines == returns == text.count(terminator + "\r\n") + text.startswith("\r\n"):
            lead = "\r"
        if lead:
            for raw in pieces:
                body = raw.lstrip(blanks)
                if body is not raw:
                    if raw[0] == lead:
                        line += 1
                    if not body:
                        continue
                elif not raw:
                    continue
                parts = body.split(element)
                append(seg(parts[0], tuple(parts[1:]), line))
        else:
            after = terminator == "\n"
            for raw in pieces:
                body = raw.lstrip(blanks)
                if body is not raw:
                    line += raw.count("\n", 0, len(raw) - len(body))
                seg_line = line
                line += body.count("\n") + after
                body = body.rstrip("\r\n")
                if body:
                    parts = body.split(element)
                    append(seg(parts[0], tuple(parts[1:]), seg_line))
        self.line = line
        self.pos = end + 1
        return out


def split_components(value: str, delimiters: Delimiters) -> list[str]:
    """A composite element's components."""
    return value.split(delimiters.component)


def split_repetitions(value: str, delimiters: Delimiters) -> list[str]:
    """A repeating element's repetitions (the value itself when there is no separator)."""
    if delimiters.repetition is None:
        return [value]
    return value.split(delimiters.repetition)
