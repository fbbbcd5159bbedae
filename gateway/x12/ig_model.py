"""The compiled form of an implementation guide, and the (slow, exact) element checks.

Produced by :mod:`gateway.x12.ig_maps` from pyx12-format map XML, walked by
:mod:`gateway.x12.igvalidator`. :func:`check_segment` is the authoritative, detailed check of
one segment's elements (it says *what* is wrong, with IK4 codes); the generated fast checks of
:mod:`gateway.x12.ig_fastcheck` only answer "certainly clean?" and defer to it otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from gateway.x12.segments import Delimiters, Segment

MAXINT: Final = 1 << 30
DATE_QUALIFIERS: Final = frozenset({"D8", "RD8", "DT", "D6", "TM"})
_NUM_RE: Final = re.compile(r"-?[0-9]+\Z")
_REAL_RE: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
# X12 5010 extended character set (pyx12's rec_ID_E5 complement), for AN and ID values.
_BAD_CHAR_RE: Final = re.compile(r"""[^A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>^`#$]""")
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")

FastCheck = Callable[[tuple[str, ...], str, str], bool]
"""``check(elements, component_separator, repetition_separator) -> certainly clean``."""


def _never(elements: tuple[str, ...], component: str, repetition: str) -> bool:
    return False


# --------------------------------------------------------------------------- compiled map


@dataclass(frozen=True, slots=True)
class Elem:
    xid: str
    ref: str
    name: str
    usage: str
    seq: int
    dtype: str
    min_len: int
    max_len: int
    codes: frozenset[str] | None
    external: frozenset[str] | None
    regex: re.Pattern[str] | None
    repeat: int = 1
    """Repetitions allowed (the map's ``<repeat>``; 271 EB03, 270 EQ01 repeat up to 99)."""


@dataclass(frozen=True, slots=True)
class Comp:
    xid: str
    ref: str
    name: str
    usage: str
    seq: int
    parts: tuple[Elem, ...]


@dataclass(frozen=True, slots=True)
class Syntax:
    kind: str
    positions: tuple[int, ...]
    """1-based element positions."""


@dataclass(frozen=True, slots=True)
class Situational:
    """A TR3 situational rule that the map XML cannot state (it depends on another element's
    value): when element ``when`` holds one of ``values`` (``None``: when it is empty),
    element ``position`` is required. Comes from :mod:`gateway.x12.ig_overrides`."""

    position: int
    """1-based element the rule is about."""
    when: int
    """1-based element that decides whether the rule applies."""
    values: frozenset[str] | None
    text: str
    """The condition in plain words, for the message (``when PWK02 is BM...``)."""

    def applies(self, elements: tuple[str, ...]) -> bool:
        value = elements[self.when - 1] if self.when <= len(elements) else ""
        return not value if self.values is None else value in self.values


@dataclass(frozen=True, slots=True)
class Seg:
    id: str
    name: str
    usage: str
    pos: int
    max_use: int
    elems: tuple[Elem | Comp | None, ...]
    syntax: tuple[Syntax, ...]
    key: tuple[int, int | None, frozenset[str]] | None
    """(element index 0-based, component index 0-based or None, codes) identifying the segment."""
    situational: tuple[Situational, ...] = ()
    """TR3 rules the map cannot state (:mod:`gateway.x12.ig_overrides`)."""
    fast: FastCheck = field(default=_never, hash=False, compare=False)
    """Generated "certainly clean" check (:mod:`gateway.x12.ig_fastcheck`); False means
    "ask :func:`check_segment`", never "wrong"."""

    def matches(self, seg: Segment, component: str) -> bool:
        key = self.key
        if key is None:
            return True
        idx, sub, codes = key
        if idx >= len(seg.elements):
            return False
        value = seg.elements[idx]
        if sub is not None:
            value = value.split(component)[sub] if component in value else value
        return value in codes

    def fits(self, seg: Segment, component: str) -> bool:
        """Every coded ID value present in ``seg`` is one of this definition's codes.

        Tells apart definitions that share a segment ID *and* a qualifier code (2400
        ``PWK*CT``: "Line Supplemental Information" lists CT among its report types, and the
        "DME Certificate of Medical Necessity Indicator" is PWK01 = CT too; only PWK02 says
        which it is). Not a validity check: lengths, usage and syntax are not looked at."""
        elements = seg.elements
        for d, value in zip(self.elems, elements, strict=False):
            if d is None or not value:
                continue
            if isinstance(d, Elem):
                if not _code_fits(d, value):
                    return False
                continue
            for part, sub in zip(d.parts, value.split(component), strict=False):
                if sub and not _code_fits(part, sub):
                    return False
        return True


def _code_fits(elem: Elem, value: str) -> bool:
    if elem.dtype != "ID" or (elem.codes is None and elem.external is None):
        return True
    return (elem.codes is not None and value in elem.codes) or (
        elem.external is not None and value in elem.external
    )


AMBIGUOUS: Final = -2
"""A :data:`Dispatch` answer meaning "several children take this segment ID and qualifier
from here on": the walker picks the first one whose coded elements all fit
(:meth:`Seg.fits`), else the first."""

Dispatch = tuple[int, int, dict[str, tuple[int, ...]], tuple[int, ...]]
"""``(element index, component index, by qualifier, default)`` for one segment ID in a loop.

The qualifier is ``elements[element index]`` (its component ``component index`` when that is
>= 0). ``by qualifier[q]`` (or ``default`` when ``q`` is not there, the segment is too short,
or element index is -1: nothing keyed) is indexed by the loop's current position group and
gives the first matching child at or after that group's start, -1 for none, or
:data:`AMBIGUOUS` when more than one child there matches (same ID, same qualifier code: the
2400 PWKs). A non-root loop's own
trigger is never a candidate (a repeat belongs to the parent). Element index -2: same-ID
children keyed in different ways; the walker tries each with :meth:`Seg.matches` (and
:meth:`Seg.fits` when several match)."""


ChildPlan = tuple[int, Seg, "Loop | None", int, int, int]
"""One child of a loop as the walker's hot path sees it, in one tuple: ``(position group,
segment definition (a loop's trigger), the loop or None, 1 when required else 0, uses
allowed (max use, or a loop's repeat; 0 when 'not used'), walker check: 1 HL, 2 LX, 0 none)``.
"""

CHECK_HL: Final = 1
CHECK_LX: Final = 2


@dataclass(frozen=True, slots=True)
class Loop:
    id: str | None
    """None for the transaction root (ST_LOOP)."""
    name: str
    usage: str
    repeat: int
    children: tuple[Seg | Loop, ...]
    groups: tuple[int, ...]
    """Position group of each child (same group: any order)."""
    group_start: tuple[int, ...]
    """First child index of each group."""
    by_id: dict[str, tuple[int, ...]] = field(hash=False, compare=False)
    """Segment ID -> child indexes whose segment (or loop trigger) has that ID."""
    dispatch: dict[str, Dispatch] = field(hash=False, compare=False)
    """Segment ID -> how to pick candidate children without trying each (see :data:`Dispatch`)."""
    required: tuple[int, ...] = ()
    """Indexes of the children with usage ``R``."""
    required_before: tuple[int, ...] = ()
    """Per position group g: how many required children sit in groups before g (so that
    moving between groups with none in between needs no missing-segment scan)."""
    plan: tuple[ChildPlan, ...] = ()
    """Per child, what the walker needs when a segment lands on it (see :data:`ChildPlan`)."""

    @property
    def trigger(self) -> Seg:
        first = self.children[0]
        assert isinstance(first, Seg)
        return first


@dataclass(frozen=True, slots=True)
class Guide:
    implementation: str
    root: Loop
    segment_ids: frozenset[str]
    st01: str = ""
    """The transaction set the map is for (ST01's code in the map)."""
    hl_parents: Mapping[str, str] = field(default_factory=dict)
    """HL03 of a level -> HL03 its parent HL must have (837: 22 under 20, 23 under 22; 270:
    21 under 20, 22 under 21...), from the nesting of the map's HL loops."""


# --------------------------------------------------------------------------- value checks


def is_date(value: str) -> bool:
    if len(value) not in (6, 8) or not (value.isascii() and value.isdigit()):
        return False
    if len(value) == 6:
        value = ("20" if int(value[:2]) < 50 else "19") + value
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
    if year < 1800 or not 1 <= month <= 12:
        return False
    if month in (4, 6, 9, 11):
        last = 30
    elif month == 2:
        last = 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    else:
        last = 31
    return 1 <= day <= last


def is_time(value: str) -> bool:
    if len(value) not in (4, 6, 7, 8) or not (value.isascii() and value.isdigit()):
        return False
    return value[:2] <= "23" and value[2:4] <= "59" and (len(value) < 6 or value[4:6] <= "59")


def check_format(value: str, fmt: str) -> bool:
    """A date/time value against a date-time format qualifier (DE 1250)."""
    if fmt == "D8":
        return len(value) == 8 and is_date(value)
    if fmt == "D6":
        return len(value) == 6 and is_date(value)
    if fmt == "DT":
        return len(value) == 12 and is_date(value[:8]) and is_time(value[8:])
    if fmt == "TM":
        return is_time(value)
    if fmt == "RD8":
        start, sep, end = value.partition("-")
        return bool(sep) and check_format(start, "D8") and check_format(end, "D8")
    return True


def value_error(elem: Elem, value: str, fmt: str | None) -> tuple[str, str] | None:
    """(IK403 code, plain words) for a present value, or None. One error per value."""
    if _CONTROL_RE.search(value):
        return "6", "contains a control character"
    dtype = elem.dtype
    if dtype in ("AN", "ID"):
        if _BAD_CHAR_RE.search(value):
            return "6", "contains a character outside the X12 character set"
    elif dtype.startswith("N"):
        if not _NUM_RE.match(value):
            return "6", f"is not a valid numeric ({dtype}) value"
    elif dtype == "R":
        if not _REAL_RE.match(value):
            return "6", "is not a valid decimal number"
    elif dtype == "DT":
        if not is_date(value):
            return "8", "is not a valid date"
    elif dtype == "TM" and not is_time(value):
        return "9", "is not a valid time"
    if fmt is not None and not check_format(value, fmt):
        return ("9" if fmt == "TM" else "8"), f"does not match date format {fmt}"
    if elem.codes is not None or elem.external is not None:
        ok = (elem.codes is not None and value in elem.codes) or (
            elem.external is not None and value in elem.external
        )
        if not ok:
            return "7", "is not a valid code for this implementation"
    length = (
        len(value.replace("-", "").replace(".", ""))
        if dtype == "R" or dtype.startswith("N")
        else len(value)
    )
    if length < elem.min_len:
        return "4", f"is shorter than the minimum length {elem.min_len}"
    if length > elem.max_len:
        return "5", f"is longer than the maximum length {elem.max_len}"
    if elem.regex is not None and not elem.regex.search(value):
        return "I12", "does not match the implementation pattern"
    return None


@dataclass(frozen=True, slots=True)
class EleIssue:
    position: int
    component: int | None
    repetition: int | None
    ref: str
    code: str
    bad: str | None
    text: str


def describe(seg_id: str, pos: int, comp: int | None, name: str, ref: str) -> str:
    where = f"{seg_id}{pos:02d}" + (f"-{comp:02d}" if comp else "")
    return f"{where} ({name}, element {ref})" if ref else f"{where} ({name})"


def check_simple(
    seg_id: str, pos: int, comp: int | None, elem: Elem, value: str, fmt: str | None
) -> EleIssue | None:
    if value == "":
        if elem.usage == "R":
            return EleIssue(
                pos,
                comp,
                None,
                elem.ref,
                "1",
                None,
                f"{describe(seg_id, pos, comp, elem.name, elem.ref)} is required but missing",
            )
        return None
    if elem.usage == "N":
        return EleIssue(
            pos,
            comp,
            None,
            elem.ref,
            "I10",
            value,
            f"{describe(seg_id, pos, comp, elem.name, elem.ref)} is marked 'not used' "
            "in this implementation but is present",
        )
    found = value_error(elem, value, fmt)
    if found is None:
        return None
    code, words = found
    return EleIssue(
        pos,
        comp,
        None,
        elem.ref,
        code,
        value,
        f"{describe(seg_id, pos, comp, elem.name, elem.ref)} {words}",
    )


def check_binary(seg_id: str, pos: int, elem: Elem, value: str, declared: str) -> EleIssue | None:
    """A binary (``B``) element, e.g. BIN02: any bytes (separators, control characters:
    the tokenizer read them by length), of exactly the length the element before it (BIN01)
    declares. Never echoes the value (an attachment's contents stay out of a 999)."""
    if value == "":
        return check_simple(seg_id, pos, None, elem, value, None)
    if elem.usage == "N":
        return EleIssue(
            pos,
            None,
            None,
            elem.ref,
            "I10",
            None,
            f"{describe(seg_id, pos, None, elem.name, elem.ref)} is marked 'not used' "
            "in this implementation but is present",
        )
    where = describe(seg_id, pos, None, elem.name, elem.ref)
    if declared.isascii() and declared.isdigit() and int(declared) != len(value):
        code = "4" if len(value) < int(declared) else "5"
        return EleIssue(
            pos,
            None,
            None,
            elem.ref,
            code,
            None,
            f"{where} is {len(value)} bytes long but its length element says {int(declared)}",
        )
    if len(value) > elem.max_len:
        return EleIssue(
            pos, None, None, elem.ref, "5", None, f"{where} is longer than {elem.max_len} bytes"
        )
    return None


def check_segment(seg: Seg, data: Segment, delims: Delimiters) -> list[EleIssue]:
    issues: list[EleIssue] = []
    elements = data.elements
    defs = seg.elems
    comp_sep = delims.component
    rep_sep = delims.repetition
    fmt: str | None = None
    for i, raw in enumerate(elements[: len(defs)]):
        d = defs[i]
        if isinstance(d, Elem) and d.ref == "1250" and raw in DATE_QUALIFIERS:
            fmt = raw
    for i in range(len(defs), len(elements)):
        if elements[i] != "":
            issues.append(
                EleIssue(
                    i + 1,
                    None,
                    None,
                    "",
                    "3",
                    elements[i],
                    f"{data.id} has more data elements than the {len(defs)} defined",
                )
            )
            break
    for i, d in enumerate(defs):
        pos = i + 1
        raw = elements[i] if i < len(elements) else ""
        if d is None:
            continue
        if isinstance(d, Elem) and d.dtype == "B":
            issue = check_binary(data.id, pos, d, raw, elements[i - 1] if i else "")
            if issue is not None:
                issues.append(issue)
            continue
        if raw and rep_sep and rep_sep in raw:
            if isinstance(d, Elem) and d.repeat > 1:
                issues.extend(_check_repetitions(data.id, pos, d, raw, rep_sep, comp_sep, fmt))
                continue
            issues.append(
                EleIssue(
                    pos,
                    None,
                    2,
                    d.ref,
                    "12",
                    raw,
                    f"{describe(data.id, pos, None, d.name, d.ref)} repeats but "
                    "is not a repeating element",
                )
            )
            raw = raw.split(rep_sep, 1)[0]
        if isinstance(d, Elem):
            if raw and comp_sep in raw:
                issues.append(
                    EleIssue(
                        pos,
                        2,
                        None,
                        d.ref,
                        "13",
                        raw,
                        f"{describe(data.id, pos, None, d.name, d.ref)} has components "
                        "but is a simple element",
                    )
                )
                continue
            issue = check_simple(data.id, pos, None, d, raw, fmt if d.ref == "1251" else None)
            if issue is not None:
                issues.append(issue)
            continue
        # composite
        if raw.strip(comp_sep) == "":
            if d.usage == "R":
                issues.append(
                    EleIssue(
                        pos,
                        None,
                        None,
                        d.ref,
                        "1",
                        None,
                        f"{describe(data.id, pos, None, d.name, d.ref)} is required but missing",
                    )
                )
            continue
        if d.usage == "N":
            issues.append(
                EleIssue(
                    pos,
                    None,
                    None,
                    d.ref,
                    "I10",
                    raw,
                    f"{describe(data.id, pos, None, d.name, d.ref)} is marked 'not used' "
                    "in this implementation but is present",
                )
            )
            continue
        parts = raw.split(comp_sep)
        for j in range(len(d.parts), len(parts)):
            if parts[j] != "":
                issues.append(
                    EleIssue(
                        pos,
                        j + 1,
                        None,
                        d.ref,
                        "13",
                        raw,
                        f"{describe(data.id, pos, None, d.name, d.ref)} has more than "
                        f"{len(d.parts)} components",
                    )
                )
                break
        for j, part in enumerate(d.parts):
            value = parts[j] if j < len(parts) else ""
            issue = check_simple(data.id, pos, j + 1, part, value, None)
            if issue is not None:
                issues.append(issue)
    if seg.syntax:
        # One IK4 per element: a syntax note on an element already reported adds nothing.
        flagged = {i.position for i in issues}
        issues.extend(i for i in check_syntax(seg, data, comp_sep) if i.position not in flagged)
    if seg.situational:
        flagged = {i.position for i in issues}
        issues.extend(
            i for i in check_situational(seg, data, comp_sep) if i.position not in flagged
        )
    if issues and any(isinstance(d, Elem) and d.dtype == "B" for d in defs):
        # A segment with binary data (BIN): whatever is wrong, no value is copied into a
        # 999 (a payload cut on delimiters would otherwise leak into IK404).
        issues = [replace(i, bad=None) for i in issues]
    return issues


def _check_repetitions(
    seg_id: str, pos: int, elem: Elem, raw: str, rep_sep: str, comp_sep: str, fmt: str | None
) -> list[EleIssue]:
    """A repeating simple element (271 EB03...): each repetition on its own, at most
    ``elem.repeat`` of them. Empty repetitions are skipped; all empty counts as missing."""
    out: list[EleIssue] = []
    reps = raw.split(rep_sep)
    if len(reps) > elem.repeat:
        out.append(
            EleIssue(
                pos,
                None,
                elem.repeat + 1,
                elem.ref,
                "12",
                raw,
                f"{describe(seg_id, pos, None, elem.name, elem.ref)} repeats {len(reps)} "
                f"times; at most {elem.repeat} are allowed",
            )
        )
        reps = reps[: elem.repeat]
    if not any(reps):
        issue = check_simple(seg_id, pos, None, elem, "", None)
        return out if issue is None else [*out, issue]
    for k, value in enumerate(reps, 1):
        if not value:
            continue
        if comp_sep in value:
            out.append(
                EleIssue(
                    pos,
                    2,
                    k,
                    elem.ref,
                    "13",
                    value,
                    f"{describe(seg_id, pos, None, elem.name, elem.ref)} has components "
                    "but is a simple element",
                )
            )
            continue
        issue = check_simple(seg_id, pos, None, elem, value, fmt if elem.ref == "1251" else None)
        if issue is not None:
            out.append(replace(issue, repetition=k))
    return out


def check_situational(seg: Seg, data: Segment, comp_sep: str) -> list[EleIssue]:
    """The TR3 situational rules of ``seg`` (IK403 ``I9``: required here, missing)."""
    elements = data.elements
    out: list[EleIssue] = []
    for rule in seg.situational:
        pos = rule.position
        value = elements[pos - 1] if pos <= len(elements) else ""
        if value.strip(comp_sep) == "" and rule.applies(elements):
            d = seg.elems[pos - 1] if pos <= len(seg.elems) else None
            name, ref = (d.name, d.ref) if d is not None else ("", "")
            where = describe(data.id, pos, None, name, ref)
            out.append(
                EleIssue(pos, None, None, ref, "I9", None, f"{where} is required {rule.text}")
            )
    return out


def check_syntax(seg: Seg, data: Segment, comp_sep: str) -> list[EleIssue]:
    elements = data.elements

    def present(p: int) -> bool:
        return p <= len(elements) and elements[p - 1].strip(comp_sep) != ""

    def ref(p: int) -> str:
        d = seg.elems[p - 1] if p <= len(seg.elems) else None
        return d.ref if d is not None else ""

    out: list[EleIssue] = []
    for rule in seg.syntax:
        ps = rule.positions
        have = [p for p in ps if present(p)]
        names = ", ".join(f"{data.id}{p:02d}" for p in ps)
        bad: int | None = None
        code = "2"
        text = ""
        if rule.kind == "P" and have and len(have) != len(ps):
            bad = next(p for p in ps if not present(p))
            text = f"syntax rule P: if any of {names} is present, all are required"
        elif rule.kind == "R" and not have:
            bad = ps[0]
            text = f"syntax rule R: at least one of {names} is required"
        elif rule.kind == "E" and len(have) > 1:
            bad, code = have[1], "10"
            text = f"syntax rule E: only one of {names} may be present"
        elif rule.kind == "C" and present(ps[0]) and not all(present(p) for p in ps[1:]):
            bad = next(p for p in ps[1:] if not present(p))
            text = f"syntax rule C: when {data.id}{ps[0]:02d} is present, the others are required"
        elif rule.kind == "L" and present(ps[0]) and not any(present(p) for p in ps[1:]):
            bad = ps[1]
            text = (
                f"syntax rule L: when {data.id}{ps[0]:02d} is present, "
                "at least one of the others is required"
            )
        if bad is not None:
            value = elements[bad - 1] if code == "10" else None
            out.append(EleIssue(bad, None, None, ref(bad), code, value, text))
    return out
