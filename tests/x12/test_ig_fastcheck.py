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
from gateway.x12.ig_fastcheck import delimiters_allow_fast_path
from gateway.x12.ig_maps import guide_for, load_guide
from gateway.x12.ig_model import Loop, Seg, check_segment
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


def agree(seg: Seg, elements: tuple[str, ...]) -> None:
    if seg.fast(elements, DELIMS.component, DELIMS.repetition or "\x00"):
        issues = check_segment(seg, Segment(seg.id, elements, 1), DELIMS)
        assert not issues, (seg.id, elements, issues, seg.fast.__source__)  # type: ignore[attr-defined]


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
