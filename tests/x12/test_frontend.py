"""``analyze_and_spill`` (``gateway validate``'s one reading of a file): the same analysis as
the guide pass alone and the same spill, record for record, as :func:`spill_edits` after it —
in one reading when the sets walked are the sets accepted and no CLM01 repeats, in two
otherwise."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import _native
from gateway.x12 import frontend
from gateway.x12.engine import analyze_file
from gateway.x12.frontend import (
    AnalyzedSpill,
    ClaimRendering,
    SpilledSetEdits,
    analyze_and_spill,
    never_seen,
    recheck_spill,
    spill_edits,
    spilled_as_final,
    write_277cas,
)
from gateway.x12.segments import Segment
from gateway.x12.tokenizer import read_chunks
from tests.pipeline.test_spill import FILES, _context, _directory, _gen

PURE_ONLY = pytest.mark.skipif(_native.compiled(), reason="patches a compiled module's internals")

UPLOADER = "demo-billing"


def _rejected_set() -> bytes:
    """Two interchanges; the second's set breaks the guide (a CLM without its charge)."""
    second = _gen(3, 62).decode().split("~\n")
    clm = next(n for n, s in enumerate(second) if s.startswith("CLM*"))
    parts = second[clm].split("*")
    parts[2] = ""
    second[clm] = "*".join(parts)
    return _gen(4, 61) + "~\n".join(second).encode()


def _unreadable() -> bytes:
    return b"Dear clearinghouse, please find our claims attached.\n"


CASES: dict[str, tuple[Callable[[], bytes], bool]] = {
    **{name: (make, name not in ("mixed", "two_sets")) for name, make in FILES.items()},
    "rejected_set": (_rejected_set, False),
    "unreadable": (_unreadable, True),
}
"""name → (file, read once): CLM01s repeat in "mixed" and "two_sets"."""


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_analysis_and_spill_as_two_passes(name: str, tmp_path: Path) -> None:
    make, once = CASES[name]
    source = tmp_path / "in.x12"
    source.write_bytes(make())
    directory = _directory(tmp_path)
    context = _context()
    expected = analyze_file(source, uploader=UPLOADER, directory=directory, claim_ids=True)
    spilled = spill_edits(
        read_chunks(source), expected, context, str(tmp_path / "two.edits"),
        recount=lambda: read_chunks(source), plan=True,
    )  # fmt: skip
    calls: list[int] = []
    got = analyze_and_spill(
        str(source), uploader=UPLOADER, directory=directory, context=context,
        path=str(tmp_path / "one.edits"), loaded=lambda: calls.append(1),
    )  # fmt: skip
    assert got.analysis == expected
    assert got.spill.sets == spilled.sets
    assert Path(got.spill.path).read_bytes() == Path(spilled.path).read_bytes()
    assert got.single_reading is once
    assert calls == [1]
    if name != "unreadable":
        assert spilled.claims > 0


@PURE_ONLY
def test_a_set_the_claim_reader_cannot_take_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim reader sees sets before the guide has judged them: one it cannot take (here
    it raises on the first set) makes the second reading, never an error."""
    source = tmp_path / "in.x12"
    source.write_bytes(_gen(5, 71))
    directory = _directory(tmp_path)
    feed = frontend.ClaimStream.feed
    raised: list[int] = []

    def flaky(self: frontend.ClaimStream, segment: Segment) -> object:
        if not raised:
            raised.append(1)
            raise ValueError("cannot read")
        return feed(self, segment)

    monkeypatch.setattr(frontend.ClaimStream, "feed", flaky)
    got = analyze_and_spill(
        str(source), uploader=UPLOADER, directory=directory, context=_context(),
        path=str(tmp_path / "one.edits"),
    )  # fmt: skip
    monkeypatch.undo()
    expected = spill_edits(
        read_chunks(source), got.analysis, _context(), str(tmp_path / "two.edits"), plan=True
    )
    assert raised and not got.single_reading
    assert got.spill.sets == expected.sets and got.spill.claims == 5
    assert Path(got.spill.path).read_bytes() == Path(expected.path).read_bytes()


@pytest.mark.parametrize("name", sorted(CASES))
def test_spilled_as_final_is_the_recheck_without_history(name: str, tmp_path: Path) -> None:
    """No claim history: the spill read where it is gives what recheck_spill writes anew —
    the same verdicts, counts and 277CA plans; an interchange to skip is left out."""
    source = tmp_path / "in.x12"
    source.write_bytes(CASES[name][0]())
    got = analyze_and_spill(
        str(source), uploader=UPLOADER, directory=_directory(tmp_path), context=_context(),
        path=str(tmp_path / "one.edits"),
    )  # fmt: skip
    for skip in ((), {s.isa13 for s in got.spill.sets[:1]}):
        final = spilled_as_final(got.spill, skip_isa13=skip)
        rechecked = recheck_spill(got.spill, never_seen, str(tmp_path / "final"), skip_isa13=skip)
        assert final is not None
        assert len(final) == len(rechecked)
        for a, b in zip(final, rechecked, strict=True):
            assert (a.interchange_index, a.group_index, a.set_index, a.isa13, a.st02) == (
                b.interchange_index, b.group_index, b.set_index, b.isa13, b.st02,
            )  # fmt: skip
            assert (a.accepted_count, a.rejected_count) == (b.accepted_count, b.rejected_count)
            assert list(a.verdicts) == list(b.verdicts)
            assert [a.verdicts[i] for i in reversed(range(len(a.verdicts)))] == list(
                reversed(list(b.verdicts))
            )
            assert a.plan is not None and b.plan is not None
            assert a.plan.totals == b.plan.totals and a.plan.count == b.plan.count
            assert [(k, g[0], g[1]) for k, g in a.plan.groups.items()] == [
                (k, g[0], g[1]) for k, g in b.plan.groups.items()
            ]
            a.close()
            b.close()


def test_a_spill_without_plans_is_rechecked(tmp_path: Path) -> None:
    source = tmp_path / "in.x12"
    source.write_bytes(_gen(3, 81))
    analysis = analyze_file(source, uploader=UPLOADER, directory=_directory(tmp_path),
                            claim_ids=True)  # fmt: skip
    spill = spill_edits(read_chunks(source), analysis, _context(), str(tmp_path / "e"))
    assert spill.claims == 3 and spilled_as_final(spill) is None


NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
RENDER_CASES: dict[str, Callable[[], bytes]] = {
    **{name: make for name, (make, _) in CASES.items()},
    "providers_in_turn": lambda: _gen(30, 23, claims_per_provider=20),
}
""""gen" and "mixed" come back to a billing provider after another (claims_per_provider):
the 277CA lists a provider's claims together, out of file order."""


def _277ca(
    sets: tuple[SpilledSetEdits, ...], analysis: object, now: datetime, path: Path,
    prefix: str = "VALIDATE",
) -> str:  # fmt: skip
    out = io.StringIO()
    write_277cas(
        sets, analysis, out.write, directory=_directory(path),  # type: ignore[arg-type]
        next_control=itertools.count(1).__next__, now=now, received=NOW.date(),
        trace_prefix=prefix,
    )  # fmt: skip
    return out.getvalue()


def _spilled_both_ways(
    name: str, tmp_path: Path, keep_accepted: bool
) -> tuple[AnalyzedSpill, AnalyzedSpill]:
    """The case read without and with a ClaimRendering."""
    source = tmp_path / "in.x12"
    source.write_bytes(RENDER_CASES[name]())
    spills = []
    for render in (
        None,
        ClaimRendering(str(tmp_path / "277ca"), "VALIDATE", NOW, NOW.date(), keep_accepted),
    ):
        spill = analyze_and_spill(
            str(source), uploader=UPLOADER, directory=_directory(tmp_path), context=_context(),
            path=str(tmp_path / f"{render is None}.edits"), render=render,
        )  # fmt: skip
        spills.append(spill)
    return spills[0], spills[1]


@pytest.mark.parametrize("name", sorted(RENDER_CASES))
def test_claims_rendered_while_edited_give_the_277ca_of_the_verdicts(
    name: str, tmp_path: Path
) -> None:
    """With a ClaimRendering the 277CA's claim segments are made as the claims are edited;
    the 277CA that copies them is the one made from the verdicts read back, byte for byte —
    and one written for another day, or with another trace prefix, is made from the
    verdicts. The spill itself is the same as without."""
    plain, got = _spilled_both_ways(name, tmp_path, keep_accepted=True)
    assert [replace(s, rendered=None) for s in got.spill.sets] == list(plain.spill.sets)
    assert Path(got.spill.path).read_bytes() == Path(plain.spill.path).read_bytes()
    assert all(s.rendered is not None for s in got.spill.sets)
    assert got.spill.sets or name == "unreadable"
    final = spilled_as_final(got.spill)
    assert final is not None
    without = tuple(replace(s, rendered=None) for s in final)
    for now, prefix in ((NOW, "VALIDATE"), (NOW.replace(day=21), "VALIDATE"), (NOW, "OTHER")):
        assert _277ca(final, got.analysis, now, tmp_path, prefix) == _277ca(
            without, got.analysis, now, tmp_path, prefix
        )
    for s in final:
        s.close()


@pytest.mark.parametrize("name", sorted(RENDER_CASES))
def test_without_the_accepted_verdicts_the_same_277ca_and_rejected_claims(
    name: str, tmp_path: Path
) -> None:
    """``keep_accepted=False`` (``gateway validate`` without a history): only the rejected
    claims' verdicts are spilled; the 277CA (from the rendered claims) and the rejected
    verdicts are those of the full spill. Anything that would read an accepted verdict — a
    re-check, a 277CA for another day — is an error, never a wrong answer."""
    plain, got = _spilled_both_ways(name, tmp_path, keep_accepted=False)
    assert all(s.rejected_only for s in got.spill.sets)
    final, full = spilled_as_final(got.spill), spilled_as_final(plain.spill)
    assert final is not None and full is not None
    assert _277ca(final, got.analysis, NOW, tmp_path) == _277ca(full, plain.analysis, NOW, tmp_path)
    for a, b in zip(final, full, strict=True):
        assert (len(a.verdicts), a.accepted_count, a.rejected_count) == (
            len(b.verdicts), b.accepted_count, b.rejected_count,
        )  # fmt: skip
        assert list(a.rejected_verdicts()) == [v for v in b.verdicts if not v.accepted]
        assert list(b.rejected_verdicts()) == [v for v in b.verdicts if not v.accepted]
        if len(a.verdicts):
            with pytest.raises(LookupError):
                a.verdicts[0]
    assert Path(got.spill.path).stat().st_size <= Path(plain.spill.path).stat().st_size
    if got.spill.sets:
        with pytest.raises(ValueError, match="not kept"):
            recheck_spill(got.spill, never_seen, str(tmp_path / "final"))
        with pytest.raises(ValueError, match="not kept"):
            _277ca(final, got.analysis, NOW.replace(day=21), tmp_path)
    for s in (*final, *full):
        s.close()
