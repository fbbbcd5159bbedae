"""The on-disk cache of compiled guides (gateway.x12.ig_maps): same guide, never stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.x12 import ig_fastcheck, ig_maps, ig_model, ig_overrides
from gateway.x12.ig_model import Loop, Seg


def _segments(loop: Loop) -> list[Seg]:
    out: list[Seg] = []
    for child in loop.children:
        out.extend(_segments(child) if isinstance(child, Loop) else [child])
    return out


def _load_uncached(key: str) -> ig_maps.Guide:
    ig_maps.load_guide.cache_clear()
    return ig_maps.load_guide(key)


def test_cached_guide_equals_the_compiled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CACHE_DIR", str(tmp_path))
    try:
        fresh = _load_uncached("005010X222A1")  # compiles, writes the cache
        (written,) = tmp_path.glob("005010X222A1-*.pickle")
        cached = _load_uncached("005010X222A1")  # reads it
    finally:
        ig_maps.load_guide.cache_clear()
    assert cached is not fresh and cached == fresh
    pairs = list(zip(_segments(fresh.root), _segments(cached.root), strict=True))
    assert len(pairs) > 300
    for a, b in pairs:
        assert a.fast.state() == b.fast.state()  # type: ignore[attr-defined]
        for elements in (("",) * len(a.elems), ("X",) * len(a.elems), ()):
            assert a.fast(elements, ":", "^") == b.fast(elements, ":", "^")
    assert written.stat().st_size > 0


def test_damaged_or_stale_cache_is_recompiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CACHE_DIR", str(tmp_path))
    try:
        first = ig_maps._cache_file("005010X223A2")
        assert first is not None
        first.parent.mkdir(parents=True, exist_ok=True)
        first.write_bytes(b"not a pickle")
        guide = _load_uncached("005010X223A2")
        assert guide.implementation == "005010X223A2"
        assert first.read_bytes() != b"not a pickle"  # rewritten
        monkeypatch.setenv("GATEWAY_CACHE_DIR", "")
        assert ig_maps._cache_file("005010X223A2") is None
    finally:
        ig_maps.load_guide.cache_clear()


def test_cache_name_follows_the_map_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CACHE_DIR", str(tmp_path))
    before = ig_maps._cache_file("005010X222A1")
    real = ig_maps.map_path("005010X222A1")
    copy = tmp_path / real.name
    copy.write_bytes(real.read_bytes() + b"\n")
    monkeypatch.setattr(ig_maps, "map_path", lambda key, st01=None: copy)
    assert ig_maps._cache_file("005010X222A1") != before


def test_guides_of_two_sets_are_cached_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """270 and 271 share ST03 005010X279A1: each map has its own cache file."""
    monkeypatch.setenv("GATEWAY_CACHE_DIR", str(tmp_path))
    ig_maps.load_guide.cache_clear()
    try:
        request = ig_maps.load_guide("005010X279A1", "270")
        answer = ig_maps.load_guide("005010X279A1", "271")
        assert (request.st01, answer.st01) == ("270", "271")
        assert len(list(tmp_path.glob("005010X279A1-27?-*.pickle"))) == 2
        ig_maps.load_guide.cache_clear()  # read back from the files
        assert ig_maps.load_guide("005010X279A1", "271").st01 == "271"
        assert ig_maps.load_guide("005010X279A1").st01 == "270"
    finally:
        ig_maps.load_guide.cache_clear()


def test_cache_name_follows_the_sources_also_when_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module compiled with mypyc has a ``.so`` as its ``__file__`` that stays the same when
    its source changes: the cache's name hashes the ``.py`` sources, so a changed fast-check
    module never reads a guide compiled by the old one."""
    folder = Path(ig_maps.__file__).parent
    for module in (ig_maps, ig_model, ig_fastcheck, ig_overrides):
        short = module.__name__.rpartition(".")[2]
        shim = "/elsewhere/x.cpython-311-x86_64-linux-gnu.so"
        assert ig_maps._source_of(module.__name__, shim) == folder / f"{short}.py"
    monkeypatch.setenv("GATEWAY_CACHE_DIR", str(tmp_path))
    before = ig_maps._cache_file("005010X222A1")
    changed = tmp_path / "ig_fastcheck.py"
    changed.write_bytes((folder / "ig_fastcheck.py").read_bytes() + b"\n# changed\n")
    real = ig_maps._source_of
    monkeypatch.setattr(
        ig_maps, "_source_of",
        lambda name, file: changed if name.endswith(".ig_fastcheck") else real(name, file),
    )  # fmt: skip
    assert ig_maps._cache_file("005010X222A1") not in (None, before)
