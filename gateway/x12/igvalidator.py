"""Implementation-guide (TR3) validation of one 837 transaction set, driven by pyx12's map XML.

Design
------
pyx12's own walker is slow and untyped, so this module only borrows pyx12's *data*: the
5010 map XML (loops, segments, elements, usage, repeat/max use, code lists, syntax notes),
``dataele.xml`` (data types and lengths) and ``codes.xml`` (external code sets). The XML is
read once with lxml and compiled into small immutable Python structures (:class:`_Loop`,
:class:`_Seg`, :class:`_Elem`, :class:`_Comp`), cached at module level per guide. A small
deterministic walker then matches each segment against the compiled tree:

* wrapper loops (``HEADER``/``DETAIL``/``FOOTER``) are flattened into the transaction root;
* a loop is entered by its first ("trigger") segment; segments are identified by ID plus the
  qualifier code the map uses to tell them apart (``NM1*85`` vs ``NM1*87``, ``HL`` by HL03);
* children of a loop are ordered in *position groups*: consecutive children with the same
  X12 position (all the ``REF``\\ s of 2010AA, the 2310A-F loops...) may come in any order,
  later groups may not precede earlier ones;
* a loop's position is taken from its trigger segment, not from the loop's ``<pos>``:
  pyx12's 837P map gives 2330D-G, 2410 and 2420G/H loop positions that differ from their
  NM1/LIN position (3650, 4650, ... for what X12 places at 325), which would impose an order
  the standard does not.

This compiled form is what a later, faster validator can serialise; nothing here touches
pyx12 at run time beyond locating its package directory.

Public API: :class:`PyX12Validator` (implements :class:`gateway.x12.segments.Validator`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Final

from lxml import etree

from gateway.x12.results import IgError
from gateway.x12.segments import Delimiters, Segment

__all__ = ["PyX12Validator", "guide_for"]

_MAP_FILES: Final[dict[str, str]] = {
    "005010X222A1": "837.5010.X222.A1.xml",
    # pyx12 registers X223A2 against a file it names "...X223.A1.xml" (see its maps.xml).
    "005010X223A2": "837Q3.I.5010.X223.A1.xml",
}
_ALIASES: Final[dict[str, str]] = {"005010X223A1": "005010X223A2"}

_MAXINT: Final = 1 << 30
_DATE_QUALIFIERS: Final = frozenset({"D8", "RD8", "DT", "D6", "TM"})
_SEG_ID_RE: Final = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
_NUM_RE: Final = re.compile(r"-?[0-9]+\Z")
_REAL_RE: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
# X12 5010 extended character set (pyx12's rec_ID_E5 complement), for AN and ID values.
_BAD_CHAR_RE: Final = re.compile(r"""[^A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>^`#$]""")
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")


def _pyx12_map_dir() -> Path:
    import pyx12  # untyped; only used to find its data files

    return Path(str(pyx12.__file__)).parent / "map"


# --------------------------------------------------------------------------- compiled map


@dataclass(frozen=True, slots=True)
class _Elem:
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


@dataclass(frozen=True, slots=True)
class _Comp:
    xid: str
    ref: str
    name: str
    usage: str
    seq: int
    parts: tuple[_Elem, ...]


@dataclass(frozen=True, slots=True)
class _Syntax:
    kind: str
    positions: tuple[int, ...]
    """1-based element positions."""


@dataclass(frozen=True, slots=True)
class _Seg:
    id: str
    name: str
    usage: str
    pos: int
    max_use: int
    elems: tuple[_Elem | _Comp | None, ...]
    syntax: tuple[_Syntax, ...]
    key: tuple[int, int | None, frozenset[str]] | None
    """(element index 0-based, component index 0-based or None, codes) identifying the segment."""

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


@dataclass(frozen=True, slots=True)
class _Loop:
    id: str | None
    """None for the transaction root (ST_LOOP)."""
    name: str
    usage: str
    repeat: int
    children: tuple[_Seg | _Loop, ...]
    groups: tuple[int, ...]
    """Position group of each child (same group: any order)."""
    group_start: tuple[int, ...]
    """First child index of each group."""
    by_id: dict[str, tuple[int, ...]] = field(hash=False, compare=False)
    """Segment ID -> child indexes whose segment (or loop trigger) has that ID."""

    @property
    def trigger(self) -> _Seg:
        first = self.children[0]
        assert isinstance(first, _Seg)
        return first


@dataclass(frozen=True, slots=True)
class _Guide:
    implementation: str
    root: _Loop
    segment_ids: frozenset[str]


def _text(node: etree._Element, tag: str, default: str = "") -> str:
    value = node.findtext(tag)
    return value.strip() if value is not None else default


def _max(value: str) -> int:
    value = value.strip()
    if not value or value.startswith(">"):
        return _MAXINT
    return int(value)


@lru_cache(maxsize=1)
def _data_elements() -> dict[str, tuple[str, int, int]]:
    tree = etree.parse(str(_pyx12_map_dir() / "dataele.xml"))
    out: dict[str, tuple[str, int, int]] = {}
    for de in tree.getroot().iter("data_ele"):
        out[de.get("ele_num", "")] = (
            de.get("data_type", "AN"),
            int(de.get("min_len", "1")),
            int(de.get("max_len", "99999")),
        )
    return out


@lru_cache(maxsize=1)
def _external_codes() -> dict[str, frozenset[str]]:
    tree = etree.parse(str(_pyx12_map_dir() / "codes.xml"))
    out: dict[str, frozenset[str]] = {}
    for cs in tree.getroot().iter("codeset"):
        cid = _text(cs, "id")
        out[cid] = frozenset((c.text or "").strip() for c in cs.iter("code"))
    return out


@lru_cache(maxsize=1)
def _known_segment_ids() -> frozenset[str]:
    """Every segment ID any pyx12 map knows: a stand-in for the X12 segment directory."""
    ids: set[str] = set()
    pattern = re.compile(r'<segment xid="([A-Z0-9]{2,3})"')
    for path in _pyx12_map_dir().glob("*.xml"):
        ids.update(pattern.findall(path.read_text(encoding="utf-8")))
    return frozenset(ids)


def _compile_elem(node: etree._Element) -> _Elem:
    ref = _text(node, "data_ele")
    dtype, min_len, max_len = _data_elements().get(ref, ("AN", 1, 99999))
    codes: frozenset[str] | None = None
    external: frozenset[str] | None = None
    vc = node.find("valid_codes")
    if vc is not None:
        listed = frozenset((c.text or "").strip() for c in vc.findall("code"))
        codes = listed or None
        ext = vc.get("external")
        if ext:
            external = _external_codes().get(ext)
    rx = _text(node, "regex")
    return _Elem(
        xid=node.get("xid", ""),
        ref=ref,
        name=_text(node, "name"),
        usage=_text(node, "usage", "S"),
        seq=int(_text(node, "seq", "0")),
        dtype=dtype,
        min_len=min_len,
        max_len=max_len,
        codes=codes,
        external=external,
        regex=re.compile(rx, re.S) if rx else None,
    )


def _segment_key(
    elems: tuple[_Elem | _Comp | None, ...], seg_id: str
) -> tuple[int, int | None, frozenset[str]] | None:
    """Which element tells same-ID segments apart (pyx12's rule, is_match)."""
    c0 = elems[0] if elems else None
    if isinstance(c0, _Elem) and c0.dtype == "ID" and c0.usage == "R" and c0.codes:
        return (0, None, c0.codes)
    if isinstance(c0, _Comp) and c0.parts and c0.parts[0].dtype == "ID" and c0.parts[0].codes:
        return (0, 0, c0.parts[0].codes)
    if seg_id == "HL" and len(elems) > 2:
        c2 = elems[2]
        if isinstance(c2, _Elem) and c2.codes:
            return (2, None, c2.codes)
    return None


def _compile_seg(node: etree._Element) -> _Seg:
    seg_id = node.get("xid", "")
    children: dict[int, _Elem | _Comp] = {}
    for child in node:
        if child.tag == "element":
            e = _compile_elem(child)
            if seg_id == "ST" and e.seq == 3:
                # The caller picks the guide from ST03/GS08 (and maps X222A2/X223A3 onto the
                # guides pyx12 has): ST03 is not re-judged against the map's single code.
                e = replace(e, codes=None)
            children[e.seq] = e
        elif child.tag == "composite":
            parts = tuple(
                sorted((_compile_elem(p) for p in child.findall("element")), key=lambda p: p.seq)
            )
            c = _Comp(
                xid=child.get("xid", ""),
                ref=_text(child, "data_ele"),
                name=_text(child, "name"),
                usage=_text(child, "usage", "S"),
                seq=int(_text(child, "seq", "0")),
                parts=parts,
            )
            children[c.seq] = c
    count = max(children) if children else 0
    elems = tuple(children.get(i + 1) for i in range(count))
    syntax: list[_Syntax] = []
    for s in node.findall("syntax"):
        txt = (s.text or "").strip()
        if len(txt) >= 5 and txt[0] in "PRCEL":
            syntax.append(
                _Syntax(txt[0], tuple(int(txt[i : i + 2]) for i in range(1, len(txt) - 1, 2)))
            )
    return _Seg(
        id=seg_id,
        name=_text(node, "name"),
        usage=_text(node, "usage", "S"),
        pos=int(_text(node, "pos", "0")),
        max_use=_max(_text(node, "max_use", "1")),
        elems=elems,
        syntax=tuple(syntax),
        key=_segment_key(elems, seg_id),
    )


def _child_pos(child: _Seg | _Loop) -> int:
    # A loop sits where its trigger segment sits (see the module docstring).
    return child.pos if isinstance(child, _Seg) else child.trigger.pos


def _flatten(node: etree._Element) -> list[_Seg | _Loop]:
    out: list[_Seg | _Loop] = []
    for child in node:
        if child.tag == "segment":
            out.append(_compile_seg(child))
        elif child.tag == "loop":
            if child.get("type") == "wrapper":
                out.extend(_flatten(child))
            else:
                out.append(_compile_loop(child, child.get("xid", "")))
    return out


def _make_loop(
    loop_id: str | None, name: str, usage: str, repeat: int, children: list[_Seg | _Loop]
) -> _Loop:
    groups: list[int] = []
    starts: list[int] = []
    prev: int | None = None
    for i, child in enumerate(children):
        pos = _child_pos(child)
        if prev is None or pos != prev:
            starts.append(i)
        groups.append(len(starts) - 1)
        prev = pos
    by_id: dict[str, list[int]] = {}
    for i, child in enumerate(children):
        sid = child.id if isinstance(child, _Seg) else child.trigger.id
        by_id.setdefault(sid, []).append(i)
    return _Loop(
        id=loop_id,
        name=name,
        usage=usage,
        repeat=repeat,
        children=tuple(children),
        groups=tuple(groups),
        group_start=tuple(starts),
        by_id={k: tuple(v) for k, v in by_id.items()},
    )


def _compile_loop(node: etree._Element, loop_id: str) -> _Loop:
    children = _flatten(node)
    if not children or not isinstance(children[0], _Seg):
        raise ValueError(f"loop {loop_id} does not start with a segment")
    return _make_loop(
        loop_id,
        _text(node, "name"),
        _text(node, "usage", "S"),
        _max(_text(node, "repeat", "1")),
        children,
    )


@cache
def _load_guide(implementation: str) -> _Guide:
    path = _pyx12_map_dir() / _MAP_FILES[implementation]
    tree = etree.parse(str(path))
    st_loop = tree.getroot().find(".//loop[@xid='ST_LOOP']")
    if st_loop is None:
        raise ValueError(f"{path.name}: no ST_LOOP")
    root = _make_loop(None, _text(st_loop, "name"), "R", 1, _flatten(st_loop))
    seg_ids = frozenset(s.get("xid", "") for s in st_loop.iter("segment"))
    return _Guide(implementation, root, seg_ids)


def guide_for(implementation: str) -> str | None:
    """The guide key this module validates ``implementation`` with, or None."""
    key = _ALIASES.get(implementation, implementation)
    return key if key in _MAP_FILES else None


# --------------------------------------------------------------------------- value checks


def _is_date(value: str) -> bool:
    if len(value) not in (6, 8) or not value.isdigit():
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


def _is_time(value: str) -> bool:
    if len(value) not in (4, 6, 7, 8) or not value.isdigit():
        return False
    return value[:2] <= "23" and value[2:4] <= "59" and (len(value) < 6 or value[4:6] <= "59")


def _check_format(value: str, fmt: str) -> bool:
    """A date/time value against a date-time format qualifier (DE 1250)."""
    if fmt == "D8":
        return len(value) == 8 and _is_date(value)
    if fmt == "D6":
        return len(value) == 6 and _is_date(value)
    if fmt == "DT":
        return len(value) == 12 and _is_date(value[:8]) and _is_time(value[8:])
    if fmt == "TM":
        return _is_time(value)
    if fmt == "RD8":
        start, sep, end = value.partition("-")
        return bool(sep) and _check_format(start, "D8") and _check_format(end, "D8")
    return True


def _value_error(elem: _Elem, value: str, fmt: str | None) -> tuple[str, str] | None:
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
        if not _is_date(value):
            return "8", "is not a valid date"
    elif dtype == "TM" and not _is_time(value):
        return "9", "is not a valid time"
    if fmt is not None and not _check_format(value, fmt):
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
class _EleIssue:
    position: int
    component: int | None
    repetition: int | None
    ref: str
    code: str
    bad: str | None
    text: str


def _describe(seg_id: str, pos: int, comp: int | None, name: str, ref: str) -> str:
    where = f"{seg_id}{pos:02d}" + (f"-{comp:02d}" if comp else "")
    return f"{where} ({name}, element {ref})" if ref else f"{where} ({name})"


def _check_simple(
    seg_id: str, pos: int, comp: int | None, elem: _Elem, value: str, fmt: str | None
) -> _EleIssue | None:
    if value == "":
        if elem.usage == "R":
            return _EleIssue(
                pos,
                comp,
                None,
                elem.ref,
                "1",
                None,
                f"{_describe(seg_id, pos, comp, elem.name, elem.ref)} is required but missing",
            )
        return None
    if elem.usage == "N":
        return _EleIssue(
            pos,
            comp,
            None,
            elem.ref,
            "I10",
            value,
            f"{_describe(seg_id, pos, comp, elem.name, elem.ref)} is marked 'not used' "
            "in this implementation but is present",
        )
    found = _value_error(elem, value, fmt)
    if found is None:
        return None
    code, words = found
    return _EleIssue(
        pos,
        comp,
        None,
        elem.ref,
        code,
        value,
        f"{_describe(seg_id, pos, comp, elem.name, elem.ref)} {words}",
    )


def _check_segment(seg: _Seg, data: Segment, delims: Delimiters) -> list[_EleIssue]:
    issues: list[_EleIssue] = []
    elements = data.elements
    defs = seg.elems
    comp_sep = delims.component
    rep_sep = delims.repetition
    fmt: str | None = None
    for i, raw in enumerate(elements[: len(defs)]):
        d = defs[i]
        if isinstance(d, _Elem) and d.ref == "1250" and raw in _DATE_QUALIFIERS:
            fmt = raw
    for i in range(len(defs), len(elements)):
        if elements[i] != "":
            issues.append(
                _EleIssue(
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
        if raw and rep_sep and rep_sep in raw:
            issues.append(
                _EleIssue(
                    pos,
                    None,
                    2,
                    d.ref,
                    "12",
                    raw,
                    f"{_describe(data.id, pos, None, d.name, d.ref)} repeats but "
                    "is not a repeating element",
                )
            )
            raw = raw.split(rep_sep, 1)[0]
        if isinstance(d, _Elem):
            if raw and comp_sep in raw:
                issues.append(
                    _EleIssue(
                        pos,
                        2,
                        None,
                        d.ref,
                        "13",
                        raw,
                        f"{_describe(data.id, pos, None, d.name, d.ref)} has components "
                        "but is a simple element",
                    )
                )
                continue
            issue = _check_simple(data.id, pos, None, d, raw, fmt if d.ref == "1251" else None)
            if issue is not None:
                issues.append(issue)
            continue
        # composite
        if raw.strip(comp_sep) == "":
            if d.usage == "R":
                issues.append(
                    _EleIssue(
                        pos,
                        None,
                        None,
                        d.ref,
                        "1",
                        None,
                        f"{_describe(data.id, pos, None, d.name, d.ref)} is required but missing",
                    )
                )
            continue
        if d.usage == "N":
            issues.append(
                _EleIssue(
                    pos,
                    None,
                    None,
                    d.ref,
                    "I10",
                    raw,
                    f"{_describe(data.id, pos, None, d.name, d.ref)} is marked 'not used' "
                    "in this implementation but is present",
                )
            )
            continue
        parts = raw.split(comp_sep)
        for j in range(len(d.parts), len(parts)):
            if parts[j] != "":
                issues.append(
                    _EleIssue(
                        pos,
                        j + 1,
                        None,
                        d.ref,
                        "13",
                        raw,
                        f"{_describe(data.id, pos, None, d.name, d.ref)} has more than "
                        f"{len(d.parts)} components",
                    )
                )
                break
        for j, part in enumerate(d.parts):
            value = parts[j] if j < len(parts) else ""
            issue = _check_simple(data.id, pos, j + 1, part, value, None)
            if issue is not None:
                issues.append(issue)
    if seg.syntax:
        # One IK4 per element: a syntax note on an element already reported adds nothing.
        flagged = {i.position for i in issues}
        issues.extend(i for i in _check_syntax(seg, data, comp_sep) if i.position not in flagged)
    return issues


def _check_syntax(seg: _Seg, data: Segment, comp_sep: str) -> list[_EleIssue]:
    elements = data.elements

    def present(p: int) -> bool:
        return p <= len(elements) and elements[p - 1].strip(comp_sep) != ""

    def ref(p: int) -> str:
        d = seg.elems[p - 1] if p <= len(seg.elems) else None
        return d.ref if d is not None else ""

    out: list[_EleIssue] = []
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
            out.append(_EleIssue(bad, None, None, ref(bad), code, value, text))
    return out


# --------------------------------------------------------------------------- the walker


@dataclass(slots=True, eq=False)
class _Frame:
    loop: _Loop
    group: int
    counts: list[int]
    claim_id: str | None = None
    lx_next: int = 1


class _Run:
    """Validation of one transaction set."""

    def __init__(self, guide: _Guide, delims: Delimiters) -> None:
        self.guide = guide
        self.delims = delims
        root = guide.root
        self.stack: list[_Frame] = [_Frame(root, 0, [0] * len(root.children))]
        self.errors: list[IgError] = []
        self.hl_levels: dict[str, tuple[str, str]] = {}
        """HL01 -> (HL03 level, HL04 child code)."""
        self.hl_count = 0
        self.claims = 0

    # -- helpers
    def claim(self) -> str | None:
        for frame in reversed(self.stack):
            if frame.claim_id is not None:
                return frame.claim_id
        return None

    def loop_id(self) -> str | None:
        return self.stack[-1].loop.id

    def seg_error(
        self,
        seg_id: str,
        position: int,
        loop_id: str | None,
        code: str,
        line: int | None,
        message: str,
        claim_id: str | None = None,
    ) -> None:
        self.errors.append(
            IgError(
                segment_id=seg_id,
                segment_position=position,
                loop_id=loop_id,
                segment_error=code,
                claim_id=claim_id if claim_id is not None else self.claim(),
                line=line,
                message=message,
            )
        )

    def ele_error(self, data: Segment, position: int, issue: _EleIssue) -> None:
        self.errors.append(
            IgError(
                segment_id=data.id,
                segment_position=position,
                loop_id=self.loop_id(),
                segment_error="8",
                element_position=issue.position,
                component_position=issue.component,
                repetition_position=issue.repetition,
                element_reference=issue.ref or None,
                element_error=issue.code,
                bad_value=issue.bad,
                claim_id=self.claim(),
                line=data.line,
                message=issue.text,
            )
        )

    def report_missing(self, frame: _Frame, upto: int, position: int, line: int | None) -> None:
        """Required children of ``frame`` (always the innermost frame) before child index
        ``upto`` that this loop instance never saw."""
        loop = frame.loop
        start = loop.group_start[frame.group]
        claim = self.claim()
        for i in range(start, upto):
            if frame.counts[i]:
                continue
            child = loop.children[i]
            if child.usage != "R":
                continue
            if isinstance(child, _Seg):
                self.seg_error(
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
                self.seg_error(
                    child.trigger.id,
                    position,
                    child.id,
                    "3",
                    line,
                    f"required loop {child.id} ({child.name}) is missing",
                    claim,
                )

    def advance(self, frame: _Frame, index: int, position: int, line: int | None) -> None:
        group = frame.loop.groups[index]
        if group > frame.group:
            self.report_missing(frame, frame.loop.group_start[group], position, line)
            frame.group = group

    def close(self, frame: _Frame, position: int, line: int | None) -> None:
        self.report_missing(frame, len(frame.loop.children), position, line)

    # -- matching
    def find(self, data: Segment) -> tuple[int, int] | None:
        """(stack depth, child index) of the first acceptable match, innermost first."""
        comp = self.delims.component
        for depth in range(len(self.stack) - 1, -1, -1):
            frame = self.stack[depth]
            loop = frame.loop
            candidates = loop.by_id.get(data.id)
            if not candidates:
                continue
            start = loop.group_start[frame.group]
            for i in candidates:
                if i < start or (i == 0 and loop.id is not None):
                    continue  # behind us, or this loop's own trigger (a repeat is the parent's)
                child = loop.children[i]
                seg = child if isinstance(child, _Seg) else child.trigger
                if seg.matches(data, comp):
                    return depth, i
        return None

    def fallback(self, data: Segment) -> int | None:
        """A same-ID, non-trigger segment ahead in the innermost loop, whatever its qualifier."""
        frame = self.stack[-1]
        loop = frame.loop
        start = loop.group_start[frame.group]
        first: int | None = None
        for i in loop.by_id.get(data.id, ()):
            child = loop.children[i]
            if i >= start and isinstance(child, _Seg) and not (i == 0 and loop.id is not None):
                if frame.counts[i] < child.max_use:
                    return i  # prefer a definition that still has room
                if first is None:
                    first = i
        return first

    def classify_unmatched(self, data: Segment) -> tuple[str, str]:
        sid = data.id
        if not _SEG_ID_RE.match(sid) or sid not in _known_segment_ids():
            return "1", f"segment ID {sid[:8]!r} is not a recognised X12 segment"
        if sid not in self.guide.segment_ids:
            return "6", f"segment {sid} is not defined in this transaction set"
        comp = self.delims.component
        for frame in self.stack:
            loop = frame.loop
            start = loop.group_start[frame.group]
            for i in loop.by_id.get(sid, ()):
                child = loop.children[i]
                seg = child if isinstance(child, _Seg) else child.trigger
                if i < start and seg.matches(data, comp):
                    return "7", f"segment {sid} is not in the proper sequence"
        return "2", f"segment {sid} is not expected here"

    # -- one segment
    def step(self, data: Segment, position: int) -> None:
        if data.id == "CLM":
            self.claims += 1
        found = self.find(data)
        seg: _Seg
        if found is None:
            fb = self.fallback(data)
            if fb is None:
                code, words = self.classify_unmatched(data)
                self.seg_error(data.id, position, self.loop_id(), code, data.line, words)
                self.check_hl_lx(data, position, None)
                return
            frame = self.stack[-1]
            self.advance(frame, fb, position, data.line)
            frame.counts[fb] += 1
            child = frame.loop.children[fb]
            assert isinstance(child, _Seg)
            seg = child
            if frame.counts[fb] > seg.max_use:
                self.seg_error(
                    seg.id,
                    position,
                    frame.loop.id,
                    "5",
                    data.line,
                    f"segment {seg.id} ({seg.name}) exceeds its maximum use of {seg.max_use}",
                )
        else:
            depth, index = found
            while len(self.stack) - 1 > depth:
                frame = self.stack[-1]
                self.close(frame, position, data.line)
                self.stack.pop()
            frame = self.stack[-1]
            self.advance(frame, index, position, data.line)
            frame.counts[index] += 1
            child = frame.loop.children[index]
            if isinstance(child, _Loop):
                new = _Frame(child, 0, [0] * len(child.children))
                new.counts[0] = 1
                self.stack.append(new)
                seg = child.trigger
                if data.id == "CLM" and child.id in ("2300",):
                    new.claim_id = data.elements[0] if data.elements else ""
                if child.usage == "N":
                    self.seg_error(
                        seg.id,
                        position,
                        child.id,
                        "I4",
                        data.line,
                        f"loop {child.id} ({child.name}) is 'not used' in this implementation",
                    )
                    return
                if frame.counts[index] > child.repeat:
                    self.seg_error(
                        seg.id,
                        position,
                        child.id,
                        "4",
                        data.line,
                        f"loop {child.id} ({child.name}) exceeds its maximum of {child.repeat}",
                    )
            else:
                seg = child
                if seg.usage == "N":
                    self.seg_error(
                        seg.id,
                        position,
                        frame.loop.id,
                        "I4",
                        data.line,
                        f"segment {seg.id} ({seg.name}) is 'not used' in this implementation",
                    )
                    return
                if frame.counts[index] > seg.max_use:
                    self.seg_error(
                        seg.id,
                        position,
                        frame.loop.id,
                        "5",
                        data.line,
                        f"segment {seg.id} ({seg.name}) exceeds its maximum use of {seg.max_use}",
                    )
        for issue in _check_segment(seg, data, self.delims):
            self.ele_error(data, position, issue)
        self.check_hl_lx(data, position, seg)

    def check_hl_lx(self, data: Segment, position: int, seg: _Seg | None) -> None:
        if data.id == "HL":
            self.check_hl(data, position)
        elif data.id == "LX" and seg is not None:
            self.check_lx(data, position)

    def _hl_issue(self, data: Segment, position: int, el: int, ref: str, text: str) -> None:
        value = data.elements[el - 1] if len(data.elements) >= el else None
        self.ele_error(data, position, _EleIssue(el, None, None, ref, "7", value or None, text))

    def check_hl(self, data: Segment, position: int) -> None:
        el = data.elements
        hl01 = el[0] if el else ""
        hl02 = el[1] if len(el) > 1 else ""
        hl03 = el[2] if len(el) > 2 else ""
        hl04 = el[3] if len(el) > 3 else ""
        self.hl_count += 1
        if hl01 != str(self.hl_count):
            again = " (it repeats an earlier HL01)" if hl01 in self.hl_levels else ""
            self._hl_issue(
                data,
                position,
                1,
                "628",
                f"HL01 (hierarchical ID) should be {self.hl_count}{again}: HL numbering "
                "must start at 1 and increase by 1",
            )
        if hl02:
            parent = self.hl_levels.get(hl02)
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
                wanted = {"22": "20", "23": "22"}.get(hl03)
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
        elif hl03 in ("22", "23"):
            self._hl_issue(
                data, position, 2, "734", f"HL02 (parent ID) is required for a level {hl03} HL"
            )
        if hl01 and hl01 not in self.hl_levels:
            self.hl_levels[hl01] = (hl03, hl04)

    def check_lx(self, data: Segment, position: int) -> None:
        claim_frame = next((f for f in reversed(self.stack) if f.loop.id == "2300"), None)
        if claim_frame is None:
            return
        lx01 = data.elements[0].split(self.delims.component)[0] if data.elements else ""
        if lx01 != str(claim_frame.lx_next):
            self.ele_error(
                data,
                position,
                _EleIssue(
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

    def finish(self, position: int, line: int | None) -> None:
        while self.stack:
            self.close(self.stack[-1], position, line)
            self.stack.pop()


class PyX12Validator:
    """IG validator for 837P (005010X222A1) and 837I (005010X223A2) from pyx12's maps."""

    def supports(self, implementation: str) -> bool:
        return guide_for(implementation) is not None

    def validate(
        self,
        segments: Sequence[Segment],
        delimiters: Delimiters,
        implementation: str,
    ) -> tuple[list[IgError], int]:
        key = guide_for(implementation)
        if key is None:
            raise ValueError(f"unsupported implementation guide {implementation!r}")
        run = _Run(_load_guide(key), delimiters)
        for position, data in enumerate(segments, start=1):
            run.step(data, position)
        last = segments[-1].line if segments else None
        run.finish(len(segments), last)
        return run.errors, run.claims
