"""The generated fast checks (gateway.x12.ig_fastcheck) must be conservative: whenever one says
"clean", the detailed check (ig_model.check_segment) finds nothing. And they must be useful:
guide-clean data takes the fast path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import _native
from gateway.x12.ig_fastcheck import (
    _date_ok,
    _fast_codes,
    _format_ok,
    _num_len,
    _real_len,
    _time_ok,
    delimiters_allow_fast_path,
)
from gateway.x12.ig_maps import guide_for, load_guide
from gateway.x12.ig_model import (
    DATE_QUALIFIERS,
    Comp,
    Elem,
    FastCheck,
    Loop,
    Seg,
    check_segment,
)
from gateway.x12.segments import Delimiters, Segment

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
if not CORPUS.is_dir():  # pragma: no cover - alternate checkout layout
    CORPUS = Path("/work/shared/corpus")
DELIMS = Delimiters("*", "~", ":", "^")
GUIDES: tuple[tuple[str, str | None], ...] = (
    ("005010X222A1", None),
    ("005010X223A2", None),
    ("005010X224A2", None),
    ("005010X279A1", "270"),  # EQ01 and EB03 repeat: the repetition branch of the checks
    ("005010X279A1", "271"),
    ("005010X212", "276"),
    ("005010X212", "277"),
)

# it patches a module internal, which compiled callers do not see: pure Python only
# (`make test` runs this file again with GATEWAY_PURE=1)
PURE_ONLY = pytest.mark.skipif(_native.compiled(), reason="patches a compiled module's internals")


def all_segs(loop: Loop) -> Iterator[Seg]:
    for child in loop.children:
        if isinstance(child, Loop):
            yield from all_segs(child)
        else:
            yield child


def defs_by_id() -> dict[str, list[Seg]]:
    out: dict[str, list[Seg]] = {}
    for key, st01 in GUIDES:
        if guide_for(key) is None:
            continue
        for seg in all_segs(load_guide(key, st01).root):
            out.setdefault(seg.id, []).append(seg)
    return out


DEFS = defs_by_id()


def corpus_segments() -> list[tuple[str, tuple[str, ...]]]:
    """Distinct (ID, elements) of the 837, 270/271 and 276/277 corpus files that use
    ``*``/``:``/``^``/``~``."""
    seen: dict[tuple[str, tuple[str, ...]], None] = {}
    for folder in ("837p", "837i", "837p-negative", "270-271", "276", "277"):
        for path in sorted((CORPUS / folder).iterdir()):
            text = path.read_text(encoding="latin-1")
            if not text.startswith("ISA*") or text[105:106] != "~":
                continue
            for raw in text.split("~"):
                parts = raw.strip("\r\n ").split("*")
                if parts[0] in DEFS:
                    seen[(parts[0], tuple(parts[1:]))] = None
    return list(seen)


SEGMENTS = corpus_segments()

# Values that probe every branch of the generated checks: types, lengths, separators,
# characters outside the X12 set, dates, code-like values.
PROBES = (
    "",
    "X",
    "1",
    "0",
    "-1",
    "1.5",
    "-.5",
    ".",
    "5.",
    "1.2.3",
    "--1",
    "12345678901234567890",
    "A" * 81,
    "20240229",
    "20230229",
    "20241301",
    "2024",
    "1259",
    "2460",
    "20240101-20240102",
    "20240102-2024010",
    "HC:99213",
    "HC:99213:25",
    "ABK:R69",
    "11:B:1",
    "A^B",
    "Y",
    "N",
    "D8",
    "RD8",
    "XX",
    "ab\x01",
    "caf\xe9",
    " ",
    "::",
)


# ------------------------------------------------------------------ the reference checks
# The fast checks were Python source generated per definition and run by the interpreter
# until they became programs run by compiled code (gateway.x12.ig_fastcheck.FastProgram).
# The generator is kept here, as it was, as the reference: every program must answer as the
# generated function did, for every input these tests make.


class _Writer:
    def __init__(self, seg: Seg) -> None:
        self.seg = seg
        self.lines: list[str] = []
        self.env: dict[str, object] = {
            "_date_ok": _date_ok,
            "_time_ok": _time_ok,
            "_format_ok": _format_ok,
            "_real_len": _real_len,
            "_num_len": _num_len,
            "_DQ": DATE_QUALIFIERS,
        }
        self.counter = 0

    def const(self, value: object) -> str:
        self.counter += 1
        name = f"_k{self.counter}"
        self.env[name] = value
        return name

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def simple(self, depth: int, elem: Elem, var: str, separators: bool, fmt: bool) -> None:
        """Checks of a simple element (or component) whose value is in ``var``."""
        if elem.usage == "N":
            self.emit(depth, f"if {var}: return False")
            return
        if elem.usage == "R":
            self.emit(depth, f"if not {var}: return False")
        else:
            self.emit(depth, f"if {var}:")
            depth += 1
        codes = _fast_codes(elem)
        if codes is not None:
            self.emit(depth, f"if {var} not in {self.const(codes)}: return False")
        else:
            if separators:
                self.emit(depth, f"if C in {var} or RP in {var}: return False")
            lo, hi = elem.min_len, elem.max_len
            dtype = elem.dtype
            if dtype in ("AN", "ID"):
                size = f"len({var})"
            elif dtype.startswith("N"):
                size = f"_num_len({var})"
                lo = max(lo, 0)
            elif dtype == "R":
                size = f"_real_len({var})"
                lo = max(lo, 0)
            elif dtype == "DT":
                self.emit(depth, f"if not _date_ok({var}): return False")
                size = f"len({var})"
            elif dtype == "TM":
                self.emit(depth, f"if not _time_ok({var}): return False")
                size = f"len({var})"
            else:  # a type we do not fast-check: let the slow path judge
                self.emit(depth, "return False")
                return
            # N/R lengths are -1 when malformed: a lower bound of 0 still rejects them.
            self.emit(depth, f"if not {lo} <= {size} <= {hi}: return False")
        if elem.regex is not None:
            self.emit(depth, f"if not {self.const(elem.regex)}.search({var}): return False")
        if fmt:
            self.emit(depth, f"if fmt is not None and not _format_ok({var}, fmt): return False")

    def composite(self, depth: int, comp: Comp, var: str) -> None:
        self.emit(depth, f"if RP in {var}: return False")
        self.emit(depth, f"if {var}.strip(C):")
        if comp.usage == "N":
            self.emit(depth + 1, "return False")
        else:
            count = len(comp.parts)
            self.emit(depth + 1, f"p = {var}.split(C)")
            self.emit(depth + 1, "np = len(p)")
            self.emit(depth + 1, f"if np > {count} and any(p[{count}:]): return False")
            for j, part in enumerate(comp.parts):
                self.emit(depth + 1, f"v{j} = p[{j}] if np > {j} else ''")
                self.simple(depth + 1, part, f"v{j}", separators=False, fmt=False)
        if comp.usage == "R":
            self.emit(depth, "else: return False")

    def build(self) -> str:
        seg = self.seg
        defs = seg.elems
        ndef = len(defs)
        required = [i for i, d in enumerate(defs) if d is not None and d.usage == "R"]
        need = required[-1] + 1 if required else 0
        self.emit(0, "def check(el, C, RP):")
        self.emit(1, "n = len(el)")
        if need:
            self.emit(1, f"if n < {need}: return False")
        self.emit(1, f"if n > {ndef} and any(el[{ndef}:]): return False")
        self.emit(1, "j = ''.join(el)")
        self.emit(1, "if not (j.isascii() and j.isprintable()): return False")
        qualifiers = [i for i, d in enumerate(defs) if isinstance(d, Elem) and d.ref == "1250"]
        has_fmt = any(isinstance(d, Elem) and d.ref == "1251" for d in defs)
        if has_fmt:
            self.emit(1, "fmt = None")
            for i in qualifiers:
                self.emit(1, f"if n > {i} and el[{i}] in _DQ: fmt = el[{i}]")
        if ndef > need:
            # Short segments are padded once so that no element needs a length guard.
            self.emit(
                1, f"if n < {ndef}: el = el + {self.const(('',) * (ndef - need))}[n - {need}:]"
            )
        i = 0
        while i < ndef:
            d = defs[i]
            if d is None:
                i += 1
                continue
            if d.usage == "N":  # a run of 'not used' elements: one test
                end = i
                while end < ndef:
                    nxt = defs[end]
                    if nxt is not None and nxt.usage != "N":
                        break
                    end += 1
                if end - i > 1:
                    self.emit(1, f"if any(el[{i}:{end}]): return False")
                    i = end
                    continue
            depth = 1
            self.emit(depth, f"v = el[{i}]")
            if isinstance(d, Elem) and d.repeat > 1:
                # each repetition on its own (an empty one: let the slow path judge)
                self.emit(depth, "if RP in v:")
                self.emit(depth + 1, "vs = v.split(RP)")
                self.emit(depth + 1, f"if len(vs) > {d.repeat} or not all(vs): return False")
                self.emit(depth, "else: vs = (v,)")
                self.emit(depth, "for v in vs:")
                self.simple(depth + 1, d, "v", separators=True, fmt=has_fmt and d.ref == "1251")
            elif isinstance(d, Elem):
                self.simple(depth, d, "v", separators=True, fmt=has_fmt and d.ref == "1251")
            else:
                self.composite(depth, d, "v")
            i += 1
        for rule in seg.syntax:
            flags = [
                f"(el[{p - 1}].strip(C) != '')" if p <= ndef else "False" for p in rule.positions
            ]
            first, rest = flags[0], flags[1:]
            if rule.kind == "P":
                cond = f"({' or '.join(flags)}) and not ({' and '.join(flags)})"
            elif rule.kind == "R":
                cond = f"not ({' or '.join(flags)})"
            elif rule.kind == "E":
                cond = f"({' + '.join(flags)}) > 1"
            elif rule.kind == "C":
                cond = f"{first} and not ({' and '.join(rest)})"
            else:  # L
                cond = f"{first} and not ({' or '.join(rest)})"
            self.emit(1, f"if {cond}: return False")
        for sit in seg.situational:
            # el is padded to ndef here; a rule never names an element past the definition
            w, p = sit.when - 1, sit.position - 1
            if sit.values is None:
                applies = f"not el[{w}]"
            else:
                applies = f"el[{w}] in {self.const(sit.values)}"
            self.emit(1, f"if {applies} and not el[{p}].strip(C): return False")
        self.emit(1, "return True")
        return "\n".join(self.lines) + "\n"


def _reference_check(seg: Seg) -> FastCheck:
    writer = _Writer(seg)
    source = writer.build()
    namespace = dict(writer.env)
    exec(compile(source, f"<fast check {seg.id}>", "exec"), namespace)  # noqa: S102 - ours
    check = namespace["check"]
    check.__source__ = source  # type: ignore[attr-defined]
    return check  # type: ignore[return-value]


_REFERENCES: dict[int, tuple[Seg, FastCheck]] = {}


def reference(seg: Seg) -> FastCheck:
    found = _REFERENCES.get(id(seg))
    if found is None or found[0] is not seg:
        found = _REFERENCES[id(seg)] = (seg, _reference_check(seg))
    return found[1]


def agree(seg: Seg, elements: tuple[str, ...]) -> None:
    """The fast check answers as the generated reference did, and says "clean" only when the
    detailed check finds nothing."""
    component, repetition = DELIMS.component, DELIMS.repetition or "\x00"
    clean = seg.fast(elements, component, repetition)
    expected = reference(seg)
    assert clean == expected(elements, component, repetition), (
        seg.id, elements, expected.__source__, seg.fast.describe(),  # type: ignore[attr-defined]
    )  # fmt: skip
    if clean:
        issues = check_segment(seg, Segment(seg.id, elements, 1), DELIMS)
        assert not issues, (seg.id, elements, issues, seg.fast.describe())  # type: ignore[attr-defined]


def test_corpus_segments_and_one_element_probes() -> None:
    checked = 0
    for sid, elements in SEGMENTS:
        for seg in DEFS[sid]:
            agree(seg, elements)
            for i in range(len(elements) + 2):
                for probe in PROBES:
                    mutated = list(elements) + [""] * max(0, i + 1 - len(elements))
                    mutated[i] = probe
                    agree(seg, tuple(mutated))
                    checked += 1
            for cut in range(len(elements)):
                agree(seg, elements[:cut])
    assert checked > 100_000


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    st.sampled_from(SEGMENTS),
    st.lists(
        st.tuples(
            st.integers(0, 25),
            st.one_of(
                st.sampled_from(PROBES),
                st.text(alphabet="AZaz09.-:^ *\x00\x7f\xe9", max_size=12),
            ),
        ),
        max_size=4,
    ),
)
def test_random_mutations(
    segment: tuple[str, tuple[str, ...]], edits: list[tuple[int, str]]
) -> None:
    sid, elements = segment
    mutated = list(elements)
    for index, value in edits:
        mutated += [""] * max(0, index + 1 - len(mutated))
        mutated[index] = value
    for seg in DEFS[sid]:
        agree(seg, tuple(mutated))


@PURE_ONLY
def test_generated_clean_file_never_takes_the_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from gen_837 import interchange
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    import gateway.x12.igvalidator as iv

    slow: list[str] = []
    real = check_segment

    def spy(seg: Seg, data: Segment, delims: Delimiters) -> object:
        slow.append(seg.id)
        return real(seg, data, delims)

    monkeypatch.setattr(iv, "check_segment", spy)
    segments = [s.split("*") for s in interchange(50, 7)][2:-2]
    errors, claims = iv.PyX12Validator().validate(
        [Segment(s[0], tuple(s[1:]), n) for n, s in enumerate(segments, 1)], DELIMS, "005010X222A1"
    )
    assert (errors, claims) == ([], 50)
    assert slow == []


def test_delimiters_that_disable_the_fast_path() -> None:
    assert delimiters_allow_fast_path(":", "^")
    assert delimiters_allow_fast_path(">", None)
    assert not delimiters_allow_fast_path("A", "^")  # a code could contain it
    assert not delimiters_allow_fast_path(":", " ")


def test_situational_rules_in_the_fast_check() -> None:
    """PWK05/06 required when PWK02 = BM, EL, EM, FX or FT (ig_overrides): the fast check
    never says clean when the detailed check would object, and takes clean ones."""
    pwks = [seg for seg in DEFS["PWK"] if seg.situational]
    # 837P 2300/2400 (under 2000B and 2000C), 837I 2300/2400, 837D 2300; not the DME one
    assert {seg.name for seg in pwks} == {
        "Claim Supplemental Information",
        "Line Supplemental Information",
    }
    for seg in pwks:
        for transmission in ("", "AA", "BM", "EL", "EM", "FT", "FX", "AD", "XX"):
            for qualifier in ("", "AC", "XX"):
                for control in ("", "ATT1", ":", " "):
                    for tail in ((), ("",), ("", "", "")):
                        agree(seg, ("OZ", transmission, "", "", qualifier, control, *tail))
                agree(seg, ("OZ", transmission, "", "", qualifier))
            agree(seg, ("OZ", transmission))
        assert seg.fast(("OZ", "BM", "", "", "AC", "ATT1"), ":", "^")
        assert not seg.fast(("OZ", "BM"), ":", "^")
        assert seg.fast(("OZ", "AA"), ":", "^")
