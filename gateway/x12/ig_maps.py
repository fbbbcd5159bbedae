"""Map XML (pyx12's format) -> the compiled guide of :mod:`gateway.x12.ig_model`.

Where the maps come from
------------------------
* pyx12's packaged 5010 maps, ``dataele.xml`` (types, lengths) and ``codes.xml`` (external code
  sets), read with lxml; nothing of pyx12 runs.
* ``schemas/`` of this repository, for guides pyx12 lacks and corrected copies of pyx12 maps
  (each with a top comment naming its sources, defects and approximations). A map in
  ``schemas/`` wins over pyx12's file of the same name. Generated, deterministically, by the
  ``schemas/build_*.py`` scripts from pyx12's maps plus the documented changes of the TR3:

  - 837D ``005010X224A2`` (build_837d_map.py: pyx12's 5010 837P + 4010 837D);
  - 270/271 ``005010X279A1`` (build_279_maps.py: pyx12's 4010 X092A1 270/271 + 5010
    definitions);
  - 276 ``005010X212`` (build_212_maps.py: pyx12's 4010 X093A1 276 + its 5010 277 X212) and
    277 ``005010X212`` (the same script: pyx12's 5010 X212 map, which it ships but does not
    register, with SE put back into the set and 2000C-E nested as in the TR3);
  - 835 ``005010X221A1``: pyx12's map corrected (FOOTER/PLB, ST03);
  - attachments (issue 9), by build_213_210_maps.py: 277 ``005010X213`` (Request for
    Additional Information: 2000A-D payer, receiver, provider, patient; 2200D TRN, STC with
    the LOINC codes asked for, REF 1K, DTP 106 response due date) from the X213 TR3's
    published structure (tr3-4hx.pages.dev) and the X212 map's envelope; 275 ``005010X210``
    (1000A-D payer, submitter, provider, patient; 2000A LX/TRN/STC; 2100A CAT, EFI and the
    BIN attachment) from the X210 structure published by Stedi (275-A9); both lean
    permissive where the public sources were not certain (the script lists every
    approximation); and ``999.5010X231.A1.xml``, pyx12's 999 map with AK101 ``PI`` and AK201
    ``275`` added, so that 999s about 275s validate.
* Binary data: BIN01/BIN02 (784/785) are not in pyx12's ``dataele.xml``; they are added here
  (:data:`_EXTRA_DATA_ELEMENTS`), BIN02 with type ``B``, which the tokenizer reads by its
  declared length and :func:`gateway.x12.ig_model.check_binary` checks against BIN01 (never
  as text, never echoed in a 999).
* Request and answer share one guide for eligibility (270/271) and claim status (276/277):
  :func:`load_guide` takes ST01 for those (:func:`guide_sets`), and a validation session
  switches to the map of the ST01 it is fed.

Compiling
---------
* wrapper loops (``HEADER``/``DETAIL``/``FOOTER``) are flattened into the transaction root;
* a loop is entered by its first ("trigger") segment; segments are identified by ID plus the
  qualifier code the map uses to tell them apart (``NM1*85`` vs ``NM1*87``, ``HL`` by HL03),
  precomputed per loop into a dispatch table keyed by (segment ID, qualifier); where two
  children share the ID *and* the qualifier code (837P 2400: ``PWK*CT`` is a report type of
  "Line Supplemental Information" and the whole PWK01 of the "DME Certificate of Medical
  Necessity Indicator"), the table says so and the walker picks the child whose other coded
  elements fit (PWK02 ``AD`` is the DME indicator's, ``FX`` the supplemental one's);
* children of a loop are ordered in *position groups*: consecutive children with the same
  X12 position (all the ``REF``\\ s of 2010AA, the 2310A-F loops...) may come in any order,
  later groups may not precede earlier ones;
* a loop's position is taken from its trigger segment, not from the loop's ``<pos>``:
  pyx12's 837P map gives 2330D-G, 2410 and 2420G/H loop positions that differ from their
  NM1/LIN position (3650, 4650, ... for what X12 places at 325), which would impose an order
  the standard does not;
* every segment definition gets a fast check (:mod:`gateway.x12.ig_fastcheck`);
* TR3 situational rules the map format cannot state (ZIP+4 for U.S. billing and service
  facility addresses, PWK05/06 for attachments sent separately) are added from
  :mod:`gateway.x12.ig_overrides`.

A guide compiles in about 0.3-0.5 s (lxml parse + fast checks) and is kept per process
(``functools.cache``). Across processes (``gateway validate`` on one claim must start fast) the
compiled guide is also pickled to a cache directory (``$GATEWAY_CACHE_DIR``, else
``$XDG_CACHE_HOME/edi-gateway`` or ``~/.cache/edi-gateway``; ``GATEWAY_CACHE_DIR=""`` turns
it off), the fast checks as their programs' plain data. The cache file's name is a hash of
the Python version, the source of the modules that compile guides (this one,
:mod:`~gateway.x12.ig_model`, :mod:`~gateway.x12.ig_fastcheck`,
:mod:`~gateway.x12.ig_overrides`) and the map files' paths, sizes and mtimes: any change to
either compiles afresh. A cache file that cannot be read is ignored (and rewritten).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
import tempfile
from dataclasses import replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final

from lxml import etree

from gateway.x12 import ig_fastcheck, ig_model, ig_overrides
from gateway.x12.ig_fastcheck import FastProgram, compile_fast_check, program_from_state
from gateway.x12.ig_model import (
    AMBIGUOUS,
    CHECK_HL,
    CHECK_LX,
    MAXINT,
    ChildPlan,
    Comp,
    Dispatch,
    Elem,
    Guide,
    Loop,
    Seg,
    Syntax,
)
from gateway.x12.ig_overrides import OVERRIDES
from gateway.x12.ig_overrides import apply as apply_overrides

__all__ = ["guide_for", "guide_sets", "known_segment_ids", "load_guide", "map_path"]

SCHEMAS_DIR: Final = Path(__file__).resolve().parents[2] / "schemas"
"""Our own and corrected maps (see the module docstring)."""

_MAP_FILES: Final[dict[str, str]] = {
    "005010X222A1": "837.5010.X222.A1.xml",
    # pyx12 registers X223A2 against a file it names "...X223.A1.xml" (see its maps.xml).
    "005010X223A2": "837Q3.I.5010.X223.A1.xml",
    # 837D: pyx12 has no map; ours lives in schemas/.
    "005010X224A2": "837.5010.X224.A2.xml",
    # What external payers send back. 835: our copy in schemas/ (FOOTER/PLB repeat; ST03 "not
    # used" as the TR3 says, tolerated when it repeats GS08); 277CA: pyx12's X214 map; 999:
    # pyx12's X231 map.
    "005010X221A1": "835.5010.X221.A1.xml",
    "005010X214": "277.5010.X214.xml",
    "005010X231A1": "999.5010X231.A1.xml",
    # Guides of two transaction sets (request and answer share ST03/GS08): the request's
    # map here, every set's in _SET_MAP_FILES; the session picks by ST01.
    "005010X279A1": "270.5010.X279.A1.xml",
    "005010X212": "276.5010.X212.xml",
    # Attachments (issue 9): ours in schemas/ (build_213_210_maps.py); pyx12 has neither.
    # 277 Request for Additional Information (from a payer) and the 275 answering it.
    "005010X213": "277.5010.X213.xml",
    "005010X210": "275.5010.X210.xml",
}
_SET_MAP_FILES: Final[dict[str, dict[str, str]]] = {
    # 270/271 eligibility: ours in schemas/ (pyx12 has only the 4010 X092A1 maps).
    "005010X279A1": {"270": "270.5010.X279.A1.xml", "271": "271.5010.X279.A1.xml"},
    # 276/277 claim status: the 276 is ours; the 277 is a corrected copy of pyx12's X212 map
    # (shipped but not registered in its maps.xml). Both in schemas/.
    "005010X212": {"276": "276.5010.X212.xml", "277": "277.5010.X212.xml"},
}
_ALIASES: Final[dict[str, str]] = {"005010X223A1": "005010X223A2"}


def _pyx12_map_dir() -> Path:
    import pyx12  # untyped; only used to find its data files

    return Path(str(pyx12.__file__)).parent / "map"


def guide_sets(implementation: str) -> tuple[str, ...]:
    """The transaction sets (ST01) a guide key has maps for, when it has more than one
    (``005010X279A1``: 270 and 271); empty for single-set guides."""
    return tuple(_SET_MAP_FILES.get(implementation, ()))


def map_path(implementation: str, st01: str | None = None) -> Path:
    """The map file a guide key (and, for guides of several sets, ST01) compiles from:
    ``schemas/`` first, then pyx12's."""
    name = _SET_MAP_FILES.get(implementation, {}).get(st01 or "") or _MAP_FILES[implementation]
    ours = SCHEMAS_DIR / name
    return ours if ours.is_file() else _pyx12_map_dir() / name


def _text(node: etree._Element, tag: str, default: str = "") -> str:
    value = node.findtext(tag)
    return value.strip() if value is not None else default


def _max(value: str) -> int:
    value = value.strip()
    if not value or value.startswith(">"):
        return MAXINT
    return int(value)


_EXTRA_DATA_ELEMENTS: Final[dict[str, tuple[str, int, int]]] = {
    # The BIN segment (275 X210), absent from pyx12's dataele.xml: 784 Length of Binary
    # Data (N0 1-15), 785 Binary Data (type B: any bytes, read by the tokenizer by length;
    # checked by ig_model.check_binary against BIN01, never as text).
    "784": ("N0", 1, 15),
    "785": ("B", 1, 999_999_999_999_999),
}


@lru_cache(maxsize=1)
def _data_elements() -> dict[str, tuple[str, int, int]]:
    tree = etree.parse(str(_pyx12_map_dir() / "dataele.xml"))
    out: dict[str, tuple[str, int, int]] = dict(_EXTRA_DATA_ELEMENTS)
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
def known_segment_ids() -> frozenset[str]:
    """Every segment ID any map (pyx12's or ours) knows: a stand-in for the X12 segment
    directory."""
    ids: set[str] = set()
    pattern = re.compile(r'<segment xid="([A-Z0-9]{2,3})"')
    for path in (*_pyx12_map_dir().glob("*.xml"), *SCHEMAS_DIR.glob("*.xml")):
        ids.update(pattern.findall(path.read_text(encoding="utf-8")))
    return frozenset(ids)


def _compile_elem(node: etree._Element) -> Elem:
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
    repeat = _text(node, "repeat")
    return Elem(
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
        repeat=_max(repeat) if repeat else 1,
    )


def _segment_key(
    elems: tuple[Elem | Comp | None, ...], seg_id: str
) -> tuple[int, int | None, frozenset[str]] | None:
    """Which element tells same-ID segments apart (pyx12's rule, is_match)."""
    c0 = elems[0] if elems else None
    if isinstance(c0, Elem) and c0.dtype == "ID" and c0.usage == "R" and c0.codes:
        return (0, None, c0.codes)
    if isinstance(c0, Comp) and c0.parts and c0.parts[0].dtype == "ID" and c0.parts[0].codes:
        return (0, 0, c0.parts[0].codes)
    if seg_id == "HL" and len(elems) > 2:
        c2 = elems[2]
        if isinstance(c2, Elem) and c2.codes:
            return (2, None, c2.codes)
    if isinstance(c0, Comp) and c0.parts and c0.parts[0].codes:
        # 999 CTX: "Segment Context" (CTX01-1 SITUATIONAL TRIGGER) and "Business Unit
        # Identifier" (CTX01-1 CLM01, TRN02...) differ only by an AN component's codes.
        return (0, 0, c0.parts[0].codes)
    return None


def _compile_seg(node: etree._Element) -> Seg:
    seg_id = node.get("xid", "")
    children: dict[int, Elem | Comp] = {}
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
            c = Comp(
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
    syntax: list[Syntax] = []
    for s in node.findall("syntax"):
        txt = (s.text or "").strip()
        if len(txt) >= 5 and txt[0] in "PRCEL":
            syntax.append(
                Syntax(txt[0], tuple(int(txt[i : i + 2]) for i in range(1, len(txt) - 1, 2)))
            )
    seg = Seg(
        id=seg_id,
        name=_text(node, "name"),
        usage=_text(node, "usage", "S"),
        pos=int(_text(node, "pos", "0")),
        max_use=_max(_text(node, "max_use", "1")),
        elems=elems,
        syntax=tuple(syntax),
        key=_segment_key(elems, seg_id),
    )
    return replace(seg, fast=compile_fast_check(seg))


def _child_pos(child: Seg | Loop) -> int:
    # A loop sits where its trigger segment sits (see the module docstring).
    return child.pos if isinstance(child, Seg) else child.trigger.pos


def _flatten(node: etree._Element) -> list[Seg | Loop]:
    out: list[Seg | Loop] = []
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
    loop_id: str | None, name: str, usage: str, repeat: int, children: list[Seg | Loop]
) -> Loop:
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
        sid = child.id if isinstance(child, Seg) else child.trigger.id
        by_id.setdefault(sid, []).append(i)
    return Loop(
        id=loop_id,
        name=name,
        usage=usage,
        repeat=repeat,
        children=tuple(children),
        groups=tuple(groups),
        group_start=tuple(starts),
        by_id={k: tuple(v) for k, v in by_id.items()},
        dispatch={
            k: _dispatch(loop_id, children, starts, v)
            for k, v in by_id.items()
            if v != [0] or not loop_id
        },
        required=tuple(i for i, c in enumerate(children) if c.usage == "R"),
        required_before=tuple(
            sum(1 for i, c in enumerate(children) if c.usage == "R" and groups[i] < g)
            for g in range(len(starts) + 1)
        ),
        plan=tuple(_plan(c, g) for c, g in zip(children, groups, strict=True)),
    )


def _plan(child: Seg | Loop, group: int) -> ChildPlan:
    seg = child if isinstance(child, Seg) else child.trigger
    allowed = 0 if child.usage == "N" else child.max_use if isinstance(child, Seg) else child.repeat
    check = CHECK_HL if seg.id == "HL" else CHECK_LX if seg.id == "LX" else 0
    return (
        group,
        seg,
        child if isinstance(child, Loop) else None,
        1 if child.usage == "R" else 0,
        allowed,
        check,
    )


def _dispatch(
    loop_id: str | None, children: list[Seg | Loop], starts: list[int], indexes: list[int]
) -> Dispatch:
    """How a segment ID finds its child in each position group (see :data:`ig_model.Dispatch`)."""
    # A non-root loop's own trigger is never a candidate inside it (a repeat is the parent's).
    candidates = [i for i in indexes if i != 0 or loop_id is None]
    segs = [(i, c if isinstance(c, Seg) else c.trigger) for i in candidates for c in [children[i]]]

    def firsts(found: list[int], refine: bool = False) -> tuple[int, ...]:
        out: list[int] = []
        for start in starts:
            ahead = [i for i in sorted(found) if i >= start]
            out.append(AMBIGUOUS if refine and len(ahead) > 1 else ahead[0] if ahead else -1)
        return tuple(out)

    unkeyed = [i for i, s in segs if s.key is None]
    specs = {(s.key[0], s.key[1]) for _, s in segs if s.key is not None}
    if not specs:
        return (-1, -1, {}, firsts(unkeyed))
    if len(specs) > 1:
        return (-2, -1, {}, ())
    ((element, component),) = specs
    by_code: dict[str, list[int]] = {}
    for i, s in segs:
        if s.key is not None:
            for code in s.key[2]:
                by_code.setdefault(code, []).append(i)
    # Same ID and same qualifier code (2400 PWK*CT): the walker looks further (Seg.fits).
    keyed = {code: firsts([*found, *unkeyed], refine=True) for code, found in by_code.items()}
    return (element, -1 if component is None else component, keyed, firsts(unkeyed))


def _compile_loop(node: etree._Element, loop_id: str) -> Loop:
    children = _flatten(node)
    if not children or not isinstance(children[0], Seg):
        raise ValueError(f"loop {loop_id} does not start with a segment")
    return _make_loop(
        loop_id,
        _text(node, "name"),
        _text(node, "usage", "S"),
        _max(_text(node, "repeat", "1")),
        children,
    )


@cache
def load_guide(implementation: str, st01: str | None = None) -> Guide:
    """The compiled guide for a key of :func:`guide_for` (compiled once per process, and
    kept across processes in the guide cache: see the module docstring). For a guide of
    several transaction sets (:func:`guide_sets`) ``st01`` picks the set's map; the default
    is the first (the request: 270, 276)."""
    sets = _SET_MAP_FILES.get(implementation)
    if sets is None:
        st01 = ""
    else:
        if st01 is None:
            st01 = next(iter(sets))
        if st01 not in sets:
            raise ValueError(f"{implementation} has no map for transaction set {st01!r}")
    cached = _cache_file(implementation, st01)
    if cached is not None:
        guide = _read_cache(cached, implementation, st01)
        if guide is not None:
            return guide
    guide = compile_guide(implementation, st01)
    if cached is not None:
        _write_cache(cached, guide)
    return guide


def compile_guide(implementation: str, st01: str = "") -> Guide:
    """The guide compiled from its map file (no cache)."""
    path = map_path(implementation, st01 or None)
    tree = etree.parse(str(path))
    st_loop = tree.getroot().find(".//loop[@xid='ST_LOOP']")
    if st_loop is None:
        raise ValueError(f"{path.name}: no ST_LOOP")
    root = _make_loop(None, _text(st_loop, "name"), "R", 1, _flatten(st_loop))
    overrides = OVERRIDES.get(implementation, ())
    if overrides:
        root, used = apply_overrides(root, overrides, _make_loop)
        if len(used) != len(overrides):
            raise ValueError(f"{implementation}: an override matches no segment definition")
    seg_ids = frozenset(s.get("xid", "") for s in st_loop.iter("segment"))
    st = root.children[0]
    st01_def = st.elems[0] if isinstance(st, Seg) and st.elems else None
    st01_codes = st01_def.codes if isinstance(st01_def, Elem) else None
    set_id = next(iter(st01_codes)) if st01_codes and len(st01_codes) == 1 else st01
    return Guide(implementation, root, seg_ids, set_id, _hl_parents(root, None))


def _hl_level(loop: Loop) -> frozenset[str]:
    """HL03 codes of a loop triggered by HL (empty for other loops)."""
    trigger = loop.trigger
    if trigger.id != "HL" or len(trigger.elems) < 3:
        return frozenset()
    hl03 = trigger.elems[2]
    return (hl03.codes or frozenset()) if isinstance(hl03, Elem) else frozenset()


def _hl_parents(loop: Loop, parent: str | None) -> dict[str, str]:
    """HL03 -> parent HL03, from how the map nests its HL loops (837: 2000C in 2000B)."""
    out: dict[str, str] = {}
    for child in loop.children:
        if isinstance(child, Loop):
            level = _hl_level(child)
            if parent is not None:
                for code in level:
                    out.setdefault(code, parent)
            inner = next(iter(level)) if len(level) == 1 else parent
            out.update({k: v for k, v in _hl_parents(child, inner).items() if k not in out})
    return out


def _cache_dir() -> Path | None:
    configured = os.environ.get("GATEWAY_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edi-gateway"


def _cache_file(implementation: str, st01: str = "") -> Path | None:
    """Where the compiled ``implementation`` is cached (None: no cache), named by a hash of
    everything the compiled guide depends on."""
    folder = _cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{sys.version}\0{implementation}\0{st01}\0".encode())
    try:
        for module in (sys.modules[__name__], ig_model, ig_fastcheck, ig_overrides):
            digest.update(_source_of(module.__name__, str(module.__file__)).read_bytes())
        maps = _pyx12_map_dir()
        for source in (
            map_path(implementation, st01 or None),
            maps / "dataele.xml",
            maps / "codes.xml",
        ):
            stat = source.stat()
            digest.update(f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    except OSError:
        return None
    name = f"{implementation}-{st01}" if st01 else implementation
    return folder / f"{name}-{digest.hexdigest()[:32]}.pickle"


def _source_of(module: str, file: str) -> Path:
    """The module's ``.py`` source: a module compiled with mypyc (``gateway/_native.py``)
    has a small ``.so`` as its ``__file__`` that stays the same when its source changes."""
    source = Path(__file__).parent / f"{module.rpartition('.')[2]}.py"
    return source if source.is_file() else Path(file)


class _GuidePickler(pickle.Pickler):
    """Pickles the fast checks as their programs' plain data (compiled or pure, the same)."""

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, FastProgram):
            return program_from_state, (obj.state(),)
        return NotImplemented


def _read_cache(path: Path, implementation: str, st01: str = "") -> Guide | None:
    """The cached guide, or None (absent, unreadable, from another version)."""
    try:
        with open(path, "rb") as handle:
            # Our own file, in the user's cache directory, named by the hash of the code
            # that wrote it (see the module docstring).
            guide = pickle.load(handle)  # noqa: S301
    except FileNotFoundError:
        return None
    except Exception:  # a damaged cache is recompiled, never fatal
        return None
    if not isinstance(guide, Guide) or guide.implementation != implementation:
        return None
    if st01 and guide.st01 != st01:
        return None
    return guide


def _write_cache(path: Path, guide: Guide) -> None:
    """Write atomically (a concurrent reader sees the old file or the whole new one);
    a cache that cannot be written is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False)
        try:
            with handle:
                _GuidePickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump(guide)
            os.replace(handle.name, path)
        except BaseException:
            os.unlink(handle.name)
            raise
    except (OSError, pickle.PicklingError):
        return


def guide_for(implementation: str) -> str | None:
    """The guide key ``implementation`` validates with, or None (no map, or map missing)."""
    key = _ALIASES.get(implementation, implementation)
    if key not in _MAP_FILES or not map_path(key).is_file():
        return None
    return key
