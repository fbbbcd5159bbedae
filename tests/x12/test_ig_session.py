"""The incremental API (PyX12Validator.begin -> ValidationSession): same answers as validate(),
bounded error storage, and memory that does not grow with the claims of a set."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import _native
from gateway.x12 import igvalidator
from gateway.x12.igvalidator import DEFAULT_MAX_ERRORS, PyX12Validator
from gateway.x12.segments import Delimiters, Segment
from tests.x12.test_igvalidator import corpus_files, guide_of, split_sets

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = PyX12Validator()
DELIMS = Delimiters("*", "~", ":", "^")

# it patches a module internal, which compiled callers do not see: pure Python only
# (`make test` runs this file again with GATEWAY_PURE=1)
PURE_ONLY = pytest.mark.skipif(_native.compiled(), reason="patches a compiled module's internals")


def generated(claims: int, *, mutate: bool = False) -> Iterator[Segment]:
    """The ST..SE segments of a gen_837 interchange, produced lazily."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from gen_837 import interchange
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    for line, text in enumerate(interchange(claims, 3), start=1):
        parts = text.split("*")
        if parts[0] in ("ISA", "GS", "GE", "IEA"):
            continue
        if mutate and parts[0] == "CLM":
            parts[7] = "Q"  # CLM07: not a code of the guide -> one IK4 per claim
        yield Segment(parts[0], tuple(parts[1:]), line)


@pytest.mark.parametrize("path", list(corpus_files("837p", "837i", "837p-negative")), ids=str)
def test_session_equals_validate(path: Path) -> None:
    text = path.read_text(encoding="latin-1")
    if not text.startswith("ISA"):
        pytest.skip("no ISA")
    delims, sets = split_sets(text)
    for segments in sets:
        guide = guide_of(segments[0])
        if not VALIDATOR.supports(guide):
            continue
        expected = VALIDATOR.validate(segments, delims, guide)
        session = VALIDATOR.begin(delims, guide)
        for seg in segments:
            session.feed(seg)
        errors, claims = session.finish()
        assert (errors, claims) == (expected[0][:DEFAULT_MAX_ERRORS], expected[1])
        assert session.error_total == len(expected[0])
        assert session.finish() == (errors, claims)  # idempotent


def test_error_cap_counts_the_rest() -> None:
    session = VALIDATOR.begin(DELIMS, "005010X222A1", max_errors=10)
    for seg in generated(40, mutate=True):
        session.feed(seg)
    errors, claims = session.finish()
    assert claims == 40
    assert len(errors) == 10 and session.error_total == 40
    assert all(e.segment_id == "CLM" and e.element_error == "7" for e in errors)
    assert session.implementation_errors == 0
    unbounded, _ = VALIDATOR.validate(list(generated(40, mutate=True)), DELIMS, "005010X222A1")
    assert len(unbounded) == 40 and unbounded[:10] == errors
    assert DEFAULT_MAX_ERRORS == 1000


def test_implementation_errors_are_counted_past_the_cap() -> None:
    session = VALIDATOR.begin(DELIMS, "005010X222A1", max_errors=0)
    for seg in generated(3):
        if seg.id == "CLM":  # CLM03 is 'not used' in 837P: IK403 I10
            seg = Segment("CLM", (*seg.elements[:2], "X", *seg.elements[3:]), seg.line)
        session.feed(seg)
    assert session.finish() == ([], 3)
    assert session.error_total == session.implementation_errors == 3


def test_unsupported_guide() -> None:
    with pytest.raises(ValueError):
        VALIDATOR.begin(DELIMS, "005010X220A1")


def _retained_bytes(claims: int) -> int:
    """Bytes the session holds after ``claims`` claims (allocated by the validator's modules;
    interpreter free lists and the bounded date memos of the fast checks are left out)."""
    segments = list(generated(claims))  # allocated before tracing: only the session counts
    session = VALIDATOR.begin(DELIMS, "005010X222A1")
    tracemalloc.start()
    for seg in segments:
        session.feed(seg)
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert session.error_total == 0 and session.claims == claims
    assert session.memo_size <= igvalidator._MEMO_LIMIT
    ours = snapshot.filter_traces(
        [
            tracemalloc.Filter(True, "*/gateway/x12/igvalidator.py"),
            tracemalloc.Filter(True, "*/gateway/x12/ig_model.py"),
        ]
    )
    return sum(stat.size for stat in ours.statistics("filename"))


@PURE_ONLY
def test_memory_does_not_grow_with_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast-check memo is bounded (_MEMO_LIMIT entries, then it starts over); a small
    # bound keeps its share of the measurement small and the test about growth.
    monkeypatch.setattr(igvalidator, "_MEMO_LIMIT", 200)
    VALIDATOR.begin(DELIMS, "005010X222A1")  # guide compiled outside the measurement
    small, large = _retained_bytes(5_000), _retained_bytes(20_000)
    # 4x the claims: only ~1 byte per HL (HL02 parent checks) may grow.
    assert large < small + 20_000, (small, large)
    assert large < 100_000


class _AlwaysScanFrame(igvalidator._Frame):
    """A frame that never knows its required children were all seen: the walker then scans
    for missing ones at every group change and loop close (the walker before the shortcut)."""

    __slots__ = ()

    @property  # type: ignore[override]
    def required_seen(self) -> int:
        return -1

    @required_seen.setter
    def required_seen(self, value: int) -> None:
        pass


def _errors(segments: list[Segment]) -> list[tuple[object, ...]]:
    session = VALIDATOR.begin(DELIMS, "005010X222A1", max_errors=None)
    for seg in segments:
        session.feed(seg)
    errors, claims = session.finish()
    return [
        (
            claims,
            e.segment_id,
            e.segment_position,
            e.loop_id,
            e.segment_error,
            e.element_position,
            e.element_error,
            e.claim_id,
            e.message,
        )
        for e in errors
    ]


@PURE_ONLY
def test_missing_scan_shortcut_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The walker skips the missing-segment scan when its count of required children seen
    says nothing can be missing: dropping, repeating, swapping or replacing (by the one before)
    any one segment of a 2-claim set gives the same errors as a walker that always scans."""
    clean = list(generated(2))
    variants = [clean]
    for i in range(1, len(clean) - 1):
        variants.append(clean[:i] + clean[i + 1 :])  # one segment dropped
        variants.append(clean[: i + 1] + clean[i:])  # one segment twice
        variants.append([*clean[:i], clean[i - 1], *clean[i + 1 :]])  # dropped for the previous
        variants.append(clean[:i] + clean[i + 1 : i + 2] + clean[i : i + 1] + clean[i + 2 :])
    fast = [_errors(v) for v in variants]
    monkeypatch.setattr(igvalidator, "_Frame", _AlwaysScanFrame)
    slow = [_errors(v) for v in variants]
    assert fast == slow
    assert sum(1 for found in fast if any(e[4] == "3" for e in found)) > 10  # misses seen
