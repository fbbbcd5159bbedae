"""Implementation-guide (TR3) validation of transaction sets (837, 835, 277, 270/271, 276...),
driven by map XML.

pyx12's own walker is slow and untyped, so this package only borrows pyx12's *data* (its 5010
map XML, ``dataele.xml``, ``codes.xml``), plus maps of our own in ``schemas/`` (837D, corrected
copies). :mod:`gateway.x12.ig_maps` compiles a map once into the immutable tree of
:mod:`gateway.x12.ig_model`, with per-loop dispatch tables and a generated fast check per
segment definition (:mod:`gateway.x12.ig_fastcheck`). This module walks segments over it.

Streaming
---------
Validation is incremental: :meth:`PyX12Validator.begin` returns a :class:`ValidationSession`
that takes one segment at a time (:meth:`~ValidationSession.feed`, ST first, SE last) and
answers at :meth:`~ValidationSession.finish`. It keeps only the open loops (one frame per
nesting level), one byte per HL for HL02 parent checks, and at most ``max_errors`` errors (the
rest are counted): memory does not grow with the claims in the set. :meth:`validate` is the
list-in wrapper the :class:`gateway.x12.segments.Validator` protocol asks for.

Hot path
--------
Per segment: a dict lookup per open loop (segment ID, then its qualifier) finds the matching
child, and the segment's generated fast check confirms that its elements are clean. Only when
that check says "not certain" does the detailed (slow) check of :func:`ig_model.check_segment`
run, so every error code and message comes from one place.

Public API: :class:`PyX12Validator` (implements :class:`gateway.x12.segments.Validator`, plus
``begin``), :class:`ValidationSession`, :func:`guide_for`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Final

from gateway.x12.ig_fastcheck import FastProgram, delimiters_allow_fast_path
from gateway.x12.ig_maps import guide_for, guide_sets, known_segment_ids, load_guide
from gateway.x12.ig_model import (
    AMBIGUOUS,
    CHECK_HL,
    ChildPlan,
    Dispatch,
    EleIssue,
    Guide,
    Loop,
    Seg,
    check_segment,
)
from gateway.x12.results import IgError
from gateway.x12.segments import Delimiters, Segment

__all__ = ["DEFAULT_MAX_ERRORS", "PyX12Validator", "ValidationSession", "guide_for"]

DEFAULT_MAX_ERRORS: Final = 1000
"""Errors a streaming session stores; later ones are only counted (see ``error_total``)."""

_SEG_ID_RE: Final = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
_MEMO_LIMIT: Final = 20_000
"""Fast-check answers a session remembers (all definitions together) before starting over."""
_MAX_ODD_HL: Final = 100_000
"""HL01 values out of sequence that are remembered for HL02 checks (each one is an error)."""


class _Frame:
    """One open loop instance: where in the loop we are, and how often each child was seen."""

    __slots__ = (
        "claim_id", "counts", "dispatch", "group", "loop", "lx_next", "plan", "required_seen",
    )  # fmt: skip

    def __init__(self, loop: Loop, counts: list[int], required_seen: int = 0) -> None:
        self.loop = loop
        # the loop's tables the walker reads per segment, read once here (Loop is not a
        # compiled class: each attribute read is a generic look-up)
        self.dispatch: dict[str, Dispatch] = loop.dispatch
        self.plan: tuple[ChildPlan, ...] = loop.plan
        self.group = 0
        """Current position group (children of earlier groups may not come any more)."""
        self.counts = counts
        self.required_seen = required_seen
        """Distinct required children seen (those are all in groups up to ``group``): when
        it equals ``loop.required_before[g]`` none before group ``g`` is missing."""
        self.claim_id: str | None = None
        """CLM01, on the 2300 frame."""
        self.lx_next = 1
        """The LX01 expected next, on the 2300 frame."""


class _HlIndex:
    """HL01 -> (HL03, HL04) of every HL seen, in about one byte per HL.

    HL01 values in sequence (1, 2, 3...: the only valid ones) live in a bytearray holding an
    index into the distinct (HL03, HL04) pairs; others in a bounded dict. First one wins, as
    HL01 values must be unique.
    """

    __slots__ = ("odd", "pair_index", "pairs", "seq")

    def __init__(self) -> None:
        self.seq = bytearray()
        self.pairs: list[tuple[str, str]] = []
        self.pair_index: dict[tuple[str, str], int] = {}
        self.odd: dict[str, tuple[str, str]] = {}

    def get(self, hl01: str) -> tuple[str, str] | None:
        # In ``seq`` when a canonical positive number within range (and recorded there).
        if hl01.isdigit() and hl01.isascii() and hl01[0] != "0" and len(hl01) < 12:
            n = int(hl01)
            seq = self.seq
            if n <= len(seq) and seq[n - 1]:
                return self.pairs[seq[n - 1] - 1]
        return self.odd.get(hl01)

    def add(self, hl01: str, count: int, pair: tuple[str, str]) -> None:
        """Record ``hl01`` of the ``count``-th HL (unless that HL01 is already known)."""
        seq = self.seq
        if len(seq) == count - 1 and hl01 == str(count) and hl01 not in self.odd:
            # The usual case: every HL so far in sequence, so this HL01 is new.
            code = self.pair_index.get(pair, 0)
            if not code and len(self.pairs) < 255:
                self.pairs.append(pair)
                code = self.pair_index[pair] = len(self.pairs)
            if not code:
                self.odd[hl01] = pair
            seq.append(code)
            return
        known = self.get(hl01) is not None if hl01 else True
        if hl01 == str(count):
            if len(self.seq) < count - 1:  # after HLs out of sequence: keep slot = HL01 - 1
                self.seq.extend(bytes(count - 1 - len(self.seq)))
            code = 0
            if not known:
                code = self.pair_index.get(pair, 0)
                if not code and len(self.pairs) < 255:
                    self.pairs.append(pair)
                    code = self.pair_index[pair] = len(self.pairs)
                if not code:  # more than 255 distinct (HL03, HL04): rare and invalid anyway
                    self.odd[hl01] = pair
            self.seq.append(code)
        elif not known and len(self.odd) < _MAX_ODD_HL:
            self.odd[hl01] = pair


class ValidationSession:
    """Incremental validation of one transaction set: :meth:`feed` each segment from ST to SE
    inclusive, then :meth:`finish`. Segment positions count ST as 1."""

    def __init__(
        self, guide: Guide, delimiters: Delimiters, max_errors: int | None = DEFAULT_MAX_ERRORS
    ) -> None:
        self.guide = guide
        self.delims = delimiters
        self.component = delimiters.component
        self.repetition = delimiters.repetition or "\x00"
        self.fast = delimiters_allow_fast_path(delimiters.component, delimiters.repetition)
        self.memo: dict[tuple[str, ...], Seg] = {}
        """Elements -> the segment definition whose fast check found them clean (bounded,
        see feed)."""
        root = guide.root
        self.stack: list[_Frame] = [_Frame(root, [0] * len(root.children))]
        self.max_errors = max_errors
        self.errors: list[IgError] = []
        self.error_total = 0
        """Errors found, stored or not."""
        self.implementation_errors = 0
        """Errors whose code starts with ``I`` (999 IK502 ``I5``), stored or not."""
        self.hl = _HlIndex()
        self.hl_count = 0
        self.claims = 0
        self.claim_ids: list[str] | None = None
        """When a list (the caller's choice: it grows with the claims), the CLM01 of every
        CLM is appended, in order: the front-end edits' CLM01 uniqueness check needs the
        counts of the whole file, and taken here the file is not tokenized again for them."""
        self.position = 0
        """Segments fed so far (the last one's position)."""
        self.last_line: int | None = None
        self.finished = False

    # ----------------------------------------------------------------- public

    @property
    def memo_size(self) -> int:
        """Fast-check answers remembered now (at most ``_MEMO_LIMIT``)."""
        return len(self.memo)

    def feed(self, data: Segment) -> None:
        """Validate the next segment of the set (ST first)."""
        self.position = position = self.position + 1
        self.last_line = data.line
        sid = data.id
        el = data.elements
        if position == 1 and el and el[0] != self.guide.st01 and sid == "ST":
            self._pick_set(el[0])
        if sid == "CLM":
            self.claims += 1
            if self.claim_ids is not None:
                self.claim_ids.append(el[0] if el else "")
        stack = self.stack
        top = depth = len(stack) - 1
        frame = stack[depth]
        # Innermost loop first: the first open loop with a child for this segment takes it.
        while True:
            entry = frame.dispatch.get(sid)
            if entry is not None:
                eidx, sub, keyed, firsts = entry
                if eidx >= 0:
                    if eidx < len(el):
                        qual = el[eidx]
                        if sub >= 0:
                            comp = self.component
                            if comp in qual:
                                qual = qual.split(comp)[sub]
                        firsts = keyed.get(qual, firsts)
                elif eidx == -2:
                    firsts = self._mixed(frame, data)
                index = firsts[frame.group]
                if index >= 0:
                    break
                if index == AMBIGUOUS:
                    index = self._refine(frame, data)
                    if index >= 0:
                        break
            if not depth:
                self._unmatched(data, position)
                return
            depth -= 1
            frame = stack[depth]
        while top > depth:
            self._close(stack[top], position, data.line)
            stack.pop()
            top -= 1
        loop = frame.loop
        group, seg, sub_loop, required, allowed, check = frame.plan[index]
        if group > frame.group:
            if frame.required_seen != loop.required_before[group]:
                # a required child of the groups left behind may be missing
                self._report_missing(frame, loop.group_start[group], position, data.line)
            frame.group = group
        counts = frame.counts
        count = counts[index] = counts[index] + 1
        if count == 1 and required:
            frame.required_seen += 1
        if sub_loop is not None:
            counts = [0] * len(sub_loop.children)
            counts[0] = 1
            new = _Frame(sub_loop, counts, sub_loop.plan[0][3])
            stack.append(new)
            if sid == "CLM" and sub_loop.id == "2300":
                new.claim_id = el[0] if el else ""
            if count > allowed:  # 'not used', or too many
                if sub_loop.usage == "N":
                    self._seg_error(
                        seg.id,
                        position,
                        sub_loop.id,
                        "I4",
                        data.line,
                        f"loop {sub_loop.id} ({sub_loop.name}) is 'not used' in this "
                        "implementation",
                    )
                    return
                self._seg_error(
                    seg.id,
                    position,
                    sub_loop.id,
                    "4",
                    data.line,
                    f"loop {sub_loop.id} ({sub_loop.name}) exceeds its maximum of "
                    f"{sub_loop.repeat}",
                )
        elif count > allowed:  # 'not used', or too many
            if seg.usage == "N":
                self._seg_error(
                    seg.id,
                    position,
                    loop.id,
                    "I4",
                    data.line,
                    f"segment {seg.id} ({seg.name}) is 'not used' in this implementation",
                )
                return
            self._max_use_error(seg, loop, position, data.line)
        # _check_elements, inlined: this is the hot path. The fast check is a pure function
        # of the elements (delimiters are fixed per session) and batches repeat many segments
        # verbatim (SBR, N3/N4, DTP, SV1, LX...): the memo maps elements to the definition
        # they were last found clean for (answers "not clean" go to the slow check anyway).
        memo = self.memo
        if memo.get(el) is not seg:
            fast = seg.fast
            if self.fast and (
                fast.check(el, self.component, self.repetition)
                if isinstance(fast, FastProgram)  # a native call when compiled
                else fast(el, self.component, self.repetition)
            ):
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[el] = seg
            else:
                for issue in check_segment(seg, data, self.delims):
                    self._ele_error(data, position, issue)
        if check:
            if check == CHECK_HL:
                self._check_hl(data, position)
            else:
                self._check_lx(data, position)

    def finish(self) -> tuple[list[IgError], int]:
        """Close every open loop (reporting required parts never seen); the stored errors and
        the claim count. Call once, after SE."""
        if not self.finished:
            self.finished = True
            while self.stack:
                self._close(self.stack[-1], self.position, self.last_line)
                self.stack.pop()
        return self.errors, self.claims

    def _pick_set(self, st01: str) -> None:
        """A guide of several sets (270/271 share 005010X279A1): the map ST01 names. An ST01
        it has no map for stays with the default map, whose ST01 check reports it."""
        key = self.guide.implementation
        if st01 in guide_sets(key):
            self.guide = guide = load_guide(key, st01)
            self.stack = [_Frame(guide.root, [0] * len(guide.root.children))]

    # ----------------------------------------------------------------- errors

    def _claim(self) -> str | None:
        for frame in reversed(self.stack):
            if frame.claim_id is not None:
                return frame.claim_id
        return None

    def _add(self, error: IgError) -> None:
        self.error_total += 1
        code = error.element_error if error.element_position is not None else error.segment_error
        if code and code.startswith("I"):
            self.implementation_errors += 1
        if self.max_errors is None or len(self.errors) < self.max_errors:
            self.errors.append(error)

    def _seg_error(
        self,
        seg_id: str,
        position: int,
        loop_id: str | None,
        code: str,
        line: int | None,
        message: str,
        claim_id: str | None = None,
    ) -> None:
        self._add(
            IgError(
                segment_id=seg_id,
                segment_position=position,
                loop_id=loop_id,
                segment_error=code,
                claim_id=claim_id if claim_id is not None else self._claim(),
                line=line,
                message=message,
            )
        )

    def _ele_error(self, data: Segment, position: int, issue: EleIssue) -> None:
        self._add(
            IgError(
                segment_id=data.id,
                segment_position=position,
                loop_id=self.stack[-1].loop.id,
                segment_error="8",
                element_position=issue.position,
                component_position=issue.component,
                repetition_position=issue.repetition,
                element_reference=issue.ref or None,
                element_error=issue.code,
                bad_value=issue.bad,
                claim_id=self._claim(),
                line=data.line,
                message=issue.text,
            )
        )

    def _max_use_error(self, seg: Seg, loop: Loop, position: int, line: int) -> None:
        self._seg_error(
            seg.id,
            position,
            loop.id,
            "5",
            line,
            f"segment {seg.id} ({seg.name}) exceeds its maximum use of {seg.max_use}",
        )

    # ----------------------------------------------------------------- structure

    def _report_missing(self, frame: _Frame, upto: int, position: int, line: int | None) -> None:
        """Required children of ``frame`` (always the innermost frame) from its current
        position group up to child index ``upto`` that this loop instance never saw."""
        loop = frame.loop
        start = loop.group_start[frame.group]
        counts = frame.counts
        claim: str | None = None
        required = loop.required
        for k in range(bisect_left(required, start), len(required)):
            i = required[k]
            if i >= upto:
                break
            if counts[i]:
                continue
            if claim is None:
                claim = self._claim()
            child = loop.children[i]
            if isinstance(child, Seg):
                self._seg_error(
                    child.id,
                    position,
                    loop.id,
                    "3",
                    line,
                    f"required segment {child.id} ({child.name}) is missing"
                    + (f" in loop {loop.id}" if loop.id else ""),
                    claim,
                )
            else:
                self._seg_error(
                    child.trigger.id,
                    position,
                    child.id,
                    "3",
                    line,
                    f"required loop {child.id} ({child.name}) is missing",
                    claim,
                )

    def _close(self, frame: _Frame, position: int, line: int | None) -> None:
        loop = frame.loop
        if frame.required_seen != len(loop.required):
            self._report_missing(frame, len(loop.children), position, line)

    def _mixed(self, frame: _Frame, data: Segment) -> tuple[int, ...]:
        """Dispatch by trying each candidate (same-ID children keyed in different ways):
        the best match at or after the current group's start (see :meth:`_refine`), for
        that group only."""
        found = [-1] * len(frame.loop.group_start)
        found[frame.group] = self._refine(frame, data)
        return tuple(found)

    def _refine(self, frame: _Frame, data: Segment) -> int:
        """Among the children at or after the current group's start that take ``data`` by
        its qualifier, the first whose coded elements all fit (:meth:`Seg.fits`), else the
        first (whose check then says what is wrong); -1 when none takes it."""
        loop = frame.loop
        start = loop.group_start[frame.group]
        comp = self.component
        first = -1
        for i in loop.by_id.get(data.id, ()):
            if i < start or (i == 0 and loop.id is not None):
                continue
            child = loop.children[i]
            seg = child if isinstance(child, Seg) else child.trigger
            if seg.matches(data, comp):
                if seg.fits(data, comp):
                    return i
                if first < 0:
                    first = i
        return first

    def _fallback(self, data: Segment) -> int | None:
        """A same-ID, non-trigger segment ahead in the innermost loop, whatever its qualifier."""
        frame = self.stack[-1]
        loop = frame.loop
        start = loop.group_start[frame.group]
        first: int | None = None
        for i in loop.by_id.get(data.id, ()):
            child = loop.children[i]
            if i >= start and isinstance(child, Seg) and not (i == 0 and loop.id is not None):
                if frame.counts[i] < child.max_use:
                    return i  # prefer a definition that still has room
                if first is None:
                    first = i
        return first

    def _classify_unmatched(self, data: Segment) -> tuple[str, str]:
        sid = data.id
        if not _SEG_ID_RE.match(sid) or sid not in known_segment_ids():
            return "1", f"segment ID {sid[:8]!r} is not a recognised X12 segment"
        if sid not in self.guide.segment_ids:
            return "6", f"segment {sid} is not defined in this transaction set"
        comp = self.component
        for frame in self.stack:
            loop = frame.loop
            start = loop.group_start[frame.group]
            for i in loop.by_id.get(sid, ()):
                child = loop.children[i]
                seg = child if isinstance(child, Seg) else child.trigger
                if i < start and seg.matches(data, comp):
                    return "7", f"segment {sid} is not in the proper sequence"
        return "2", f"segment {sid} is not expected here"

    def _unmatched(self, data: Segment, position: int) -> None:
        """No child accepts ``data``: judge it against a same-ID definition ahead in the
        innermost loop, or report it as unexpected/out of sequence/unknown."""
        fb = self._fallback(data)
        if fb is None:
            code, words = self._classify_unmatched(data)
            self._seg_error(data.id, position, self.stack[-1].loop.id, code, data.line, words)
            if data.id == "HL":
                self._check_hl(data, position)
            return
        frame = self.stack[-1]
        loop = frame.loop
        group = loop.groups[fb]
        if group > frame.group:
            self._report_missing(frame, loop.group_start[group], position, data.line)
            frame.group = group
        frame.counts[fb] += 1
        if frame.counts[fb] == 1 and loop.plan[fb][3]:
            frame.required_seen += 1
        seg = loop.children[fb]
        assert isinstance(seg, Seg)
        if frame.counts[fb] > seg.max_use:
            self._max_use_error(seg, loop, position, data.line)
        self._check_elements(seg, data, position)

    # ----------------------------------------------------------------- elements, HL, LX

    def _check_elements(self, seg: Seg, data: Segment, position: int) -> None:
        if not (self.fast and seg.fast(data.elements, self.component, self.repetition)):
            for issue in check_segment(seg, data, self.delims):
                self._ele_error(data, position, issue)
        sid = data.id
        if sid == "HL":
            self._check_hl(data, position)
        elif sid == "LX":
            self._check_lx(data, position)

    def _hl_issue(self, data: Segment, position: int, el: int, ref: str, text: str) -> None:
        value = data.elements[el - 1] if len(data.elements) >= el else None
        self._ele_error(data, position, EleIssue(el, None, None, ref, "7", value or None, text))

    def _check_hl(self, data: Segment, position: int) -> None:
        el = data.elements
        if len(el) >= 4:
            hl01, hl02, hl03, hl04 = el[:4]
        else:
            hl01, hl02, hl03, hl04 = (*el, "", "", "", "")[:4]
        self.hl_count += 1
        if hl01 != str(self.hl_count):
            again = " (it repeats an earlier HL01)" if hl01 and self.hl.get(hl01) else ""
            self._hl_issue(
                data,
                position,
                1,
                "628",
                f"HL01 (hierarchical ID) should be {self.hl_count}{again}: HL numbering "
                "must start at 1 and increase by 1",
            )
        if hl02:
            parent = self.hl.get(hl02)
            if parent is None:
                self._hl_issue(
                    data,
                    position,
                    2,
                    "734",
                    "HL02 (parent ID) does not refer to an earlier HL segment",
                )
            else:
                level, child_code = parent
                wanted = self.guide.hl_parents.get(hl03)
                if wanted is not None and level != wanted:
                    self._hl_issue(
                        data,
                        position,
                        2,
                        "734",
                        f"HL02 (parent ID) points to a level {level} HL; a level {hl03} HL "
                        f"must be under a level {wanted} HL",
                    )
                elif child_code == "0":
                    self._hl_issue(
                        data,
                        position,
                        2,
                        "734",
                        "HL02 (parent ID) points to an HL whose HL04 says it has no children",
                    )
        elif hl03 in self.guide.hl_parents:
            self._hl_issue(
                data, position, 2, "734", f"HL02 (parent ID) is required for a level {hl03} HL"
            )
        self.hl.add(hl01, self.hl_count, (hl03, hl04))

    def _check_lx(self, data: Segment, position: int) -> None:
        stack = self.stack
        claim_frame: _Frame | None = stack[-2] if len(stack) > 1 else None  # 2400 in 2300
        if claim_frame is None or claim_frame.loop.id != "2300":
            claim_frame = next((f for f in reversed(stack) if f.loop.id == "2300"), None)
        if claim_frame is None:
            return
        lx01 = data.elements[0] if data.elements else ""
        if self.component in lx01:
            lx01 = lx01.split(self.component)[0]
        if lx01 != str(claim_frame.lx_next):
            self._ele_error(
                data,
                position,
                EleIssue(
                    1,
                    None,
                    None,
                    "554",
                    "7",
                    lx01 or None,
                    f"LX01 (assigned number) should be {claim_frame.lx_next}: service lines "
                    "are numbered from 1 by 1 within each claim",
                ),
            )
        claim_frame.lx_next += 1


class PyX12Validator:
    """IG validator for every guide :mod:`gateway.x12.ig_maps` has a map for: 837P/I/D, 835,
    277CA, 999, and 270/271 (005010X279A1) and 276/277 (005010X212), whose session picks the
    set's map by ST01."""

    def supports(self, implementation: str) -> bool:
        return guide_for(implementation) is not None

    def begin(
        self,
        delimiters: Delimiters,
        implementation: str,
        *,
        max_errors: int | None = DEFAULT_MAX_ERRORS,
    ) -> ValidationSession:
        """A session validating one set incrementally (see the module docstring).
        ``max_errors=None`` stores every error."""
        key = guide_for(implementation)
        if key is None:
            raise ValueError(f"unsupported implementation guide {implementation!r}")
        return ValidationSession(load_guide(key), delimiters, max_errors)

    def validate(
        self,
        segments: Sequence[Segment] | Iterable[Segment],
        delimiters: Delimiters,
        implementation: str,
    ) -> tuple[list[IgError], int]:
        """Every IG error of the set (ST..SE) and its claim count."""
        session = self.begin(delimiters, implementation, max_errors=None)
        for data in segments:
            session.feed(data)
        return session.finish()
