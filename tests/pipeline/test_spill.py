"""The daemon's bounded-memory path (edits spilled to a file, the 277CA streamed) gives the
same verdicts, claim rows and answer bytes as the in-memory path."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.pipeline.steps import analyze_blob, commit_answers
from gateway.profiles import edit_context, load_partners, partner_directory
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import Store
from gateway.x12 import analyze
from gateway.x12.edits import EditContext
from gateway.x12.frontend import (
    RECHECK_WINDOW,
    SlimVerdict,
    build_277cas,
    edit_file,
    never_seen,
    recheck_duplicates,
    recheck_spill,
    spill_edits,
    write_277cas,
)
from gateway.x12.tokenizer import windows
from tests import dbs
from tests.x12files import corpus_file, readdress

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = load_partners(str(ROOT / "partners"))


def _gen(claims: int, control: int, **kwargs: object) -> bytes:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_837", ROOT / "scripts" / "gen_837.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    data: bytes = gen.render(gen.interchange(claims, control, date="20261120", **kwargs))
    return data


def _mixed() -> bytes:
    """Bad claims, a CLM01 used twice, an in-file duplicate, small provider groups."""
    text = _gen(12, 31, claims_per_provider=5).decode()
    lines = text.split("~\n")
    clm = [n for n, s in enumerate(lines) if s.startswith("CLM*")]
    parts = lines[clm[2]].split("*")
    parts[2] = "999.99"  # CLM02 != sum of lines
    lines[clm[2]] = "*".join(parts)
    lines[clm[4]] = "CLM*" + lines[clm[3]].split("*")[1] + "*" + lines[clm[4]].split("*", 2)[2]
    return "~\n".join(lines).encode()


def _two_sets() -> bytes:
    """Two interchanges in one file, a CLM01 shared between them (file-wide uniqueness)."""
    first = _gen(3, 51)
    second = _gen(3, 52).replace(b"C52X3", b"C51X1")
    return first + second


CORPUS = [
    "uhin-837.edi", "lfh-demo-file.837", "demo.example1.837", "demo.example2.837",
    "demo.example7.837", "demo.example8.837", "demo.drug.example10.1.837",
    "demo.cob.example3.B.837", "demo.autoaccident.837",
]  # fmt: skip
FILES = {
    **{name: (lambda name=name: readdress(corpus_file(f"837p/{name}"), control=7))
       for name in CORPUS},
    "gen": lambda: _gen(40, 21, claims_per_provider=7),
    "mixed": _mixed,
    "two_sets": _two_sets,
}  # fmt: skip


def _context(today: date = date(2026, 11, 20)) -> EditContext:
    context = edit_context(PARTNERS, "demo-billing", today)
    assert context is not None
    return context


def _directory(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = GatewayConfig(
        source="test", data_dir=tmp_path, partners_dir=ROOT / "partners", **dbs.settings(tmp_path)
    )
    return partner_directory(config, PARTNERS)


@pytest.mark.parametrize("name", sorted(FILES))
def test_spilled_verdicts_equal_the_in_memory_ones(name: str, tmp_path: Path) -> None:
    data = FILES[name]()
    directory = _directory(tmp_path)
    analysis = analyze(data, uploader="demo-billing", directory=directory)
    context = _context()
    expected = edit_file(data, analysis, context)
    spill = spill_edits(windows(data), analysis, context, str(tmp_path / "s.edits"))
    assert [(s.interchange_index, s.group_index, s.set_index, s.isa13, s.st02, s.count)
            for s in spill.sets] == [
        (e.interchange_index, e.group_index, e.set_index, e.isa13, e.st02, len(e.verdicts))
        for e in expected
    ]  # fmt: skip
    final = recheck_spill(spill, never_seen, str(tmp_path / "s.final"))
    assert sum(len(e.verdicts) for e in expected) > 0 and spill.claims > 0
    for edited, got in zip(expected, final, strict=True):
        want = [SlimVerdict.of(v) for v in edited.verdicts]
        want = [
            dataclasses.replace(
                v,
                claim=dataclasses.replace(
                    v.claim, header=dataclasses.replace(v.claim.header, segment_count=0)
                ),
            )
            for v in want
        ]
        assert list(got.verdicts) == want
        assert [got.verdicts[i] for i in range(len(want))] == want
        got.close()
    # and the streamed 277CA is byte for byte the built one
    now = datetime(2026, 11, 21, 12, 0)
    counter = iter(range(100, 10_000))
    built = build_277cas(expected, analysis, directory=directory, next_control=counter.__next__,
                         now=now, received=date(2026, 11, 20), trace_prefix="F1")  # fmt: skip
    chunks: list[str] = []
    counter = iter(range(100, 10_000))
    streamed = write_277cas(final, analysis, chunks.append, directory=directory,
                            next_control=counter.__next__, now=now,
                            received=date(2026, 11, 20), trace_prefix="F1")  # fmt: skip
    assert "".join(chunks).encode("ascii") == b"".join(r.content for r in built)
    assert [dataclasses.replace(r, content=b"") for r in built] == streamed


def test_file_wide_clm01_uniqueness_is_kept(tmp_path: Path) -> None:
    data = _two_sets()
    directory = _directory(tmp_path)
    analysis = analyze(data, uploader="demo-billing", directory=directory)
    spill = spill_edits(windows(data), analysis, _context(), str(tmp_path / "s.edits"))
    final = recheck_spill(spill, never_seen, str(tmp_path / "s.final"))
    shared = [v for e in final for v in e.verdicts if v.claim_id == "C51X1"]
    assert len(shared) == 2 and not any(v.accepted for v in shared)
    assert all(any("used by 2 claims" in f.message for f in v.failures) for v in shared)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[list[tuple[Store, BlobStore]]]:
    out = []
    for name in ("memory", "spill"):
        store = Store(dbs.location(tmp_path / name / "g.sqlite3"))
        out.append((store, BlobStore(tmp_path / name / "blobs")))
    yield out
    for store, _ in out:
        store.close()


def test_commit_from_a_spill_equals_commit_from_memory(
    stores: list[tuple[Store, BlobStore]], tmp_path: Path
) -> None:
    directory = _directory(tmp_path)
    results = []
    for (store, blobs), spill in zip(stores, (False, True), strict=True):
        placed = []
        # a file, then a second one repeating its claims (store duplicates, A3:78)
        for n, data in enumerate((_mixed(), _mixed().replace(b"000000031", b"000000032"))):
            sha = blobs.put(data)
            record = store.add_file("demo-billing", "sftp", f"{n}.837", sha, len(data))
            spill_to = str(tmp_path / f"{record.id}.edits") if spill else None
            found = analyze_blob(
                str(blobs.path(sha)), "demo-billing", directory, _context(), spill_to
            )
            assert (found.spill is not None) == spill
            outcome = commit_answers(store, blobs, record, found, directory, 1_800_000_000.0 + n)
            audit = [v.audit() for e in outcome.edits for v in e.verdicts]
            rows = [dataclasses.replace(r, file_id="") for r in store.claims_for(record.id)]
            placed.append(
                (
                    [(p.kind, blobs.read(p.sha256), p.size) for p in outcome.placed],
                    [(r.kind, r.accepted, r.details) for p in outcome.placed for r in p.responses],
                    rows,
                    audit,
                )
            )
        results.append(placed)
    memory, spilled = results
    # file ids differ between the stores: compare with them blanked out
    assert _blank(memory, stores[0][0]) == _blank(spilled, stores[1][0])
    second_rows = memory[1][2]
    assert any(r.codes == ("A3:78",) for r in second_rows)


def _blank(placed: list, store: Store) -> list:  # type: ignore[type-arg]
    ids = [f.id for f in store.files_in_state("processed")]
    out = []
    for files, responses, rows, audit in placed:
        contents = []
        for kind, content, size in files:
            for file_id in ids:
                content = content.replace(file_id.encode(), b"<FILE>")
            contents.append((kind, content, size))
        out.append((contents, responses, rows, audit))
    return out


def test_duplicate_recheck_asks_the_store_per_window(tmp_path: Path) -> None:
    """The A3:78 re-check of a spill asks for the accepted claims' fingerprints a window at a
    time (one store query per window, not per claim) and gives the same verdicts as the
    in-memory re-check with the same history."""
    claims = RECHECK_WINDOW * 2 + 3
    data = _gen(claims, 61)
    directory = _directory(tmp_path)
    analysis = analyze(data, uploader="demo-billing", directory=directory)
    context = _context()
    spill = spill_edits(windows(data), analysis, context, str(tmp_path / "s.edits"))
    calls: list[int] = []

    def seen(fingerprints: Sequence[str]) -> set[str]:
        calls.append(len(fingerprints))
        return {fp for fp in fingerprints if fp[-1] in "05"}

    final = recheck_spill(spill, seen, str(tmp_path / "s.final"))
    assert calls == [RECHECK_WINDOW, RECHECK_WINDOW, 3]
    expected = recheck_duplicates(edit_file(data, analysis, context), seen, date(2026, 11, 20))
    assert calls[3:] == [claims]  # the in-memory path: one call per set
    want = [SlimVerdict.of(v) for e in expected for v in e.verdicts]
    got = [v for e in final for v in e.verdicts]
    assert [(v.claim_id, v.accepted, v.failures) for v in got] == [
        (v.claim_id, v.accepted, v.failures) for v in want
    ]
    rejected = [v for v in got if not v.accepted]
    assert rejected and all(f.stc_code == "A3:78" for v in rejected for f in v.failures)
    for e in final:
        e.close()
