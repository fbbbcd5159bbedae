#!/usr/bin/env python3
"""Compile the claim path's pure modules with mypyc (run by ``make``; see gateway/_native.py).

    .venv/bin/python scripts/build_native.py [--force]

Compiles ``gateway._native.MODULES`` in place (one mypyc group, C sources and objects under
``build/native/``, the compiler's output in ``build/native/build.log``) and writes
``gateway/_native_manifest.json`` with the SHA-256 of each source as compiled. Does nothing
when the manifest already matches the sources and this interpreter (unless ``--force``).

A failed build (no C compiler, no Python headers, a mypyc error) is not an error: the
compiled modules are removed, the manifest says ``failed``, one warning goes to stderr and
the gateway runs as pure Python. Exit status 0 either way (2 only for bad arguments).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["GATEWAY_PURE"] = "1"  # this process imports gateway._native only, never a .so

from gateway import _native  # noqa: E402

BUILD = ROOT / "build" / "native"
LOG = BUILD / "build.log"


def _artefacts() -> list[Path]:
    found = []
    for module in _native.MODULES:
        source = _native.source_path(module)
        found += source.parent.glob(f"{source.stem}.*.so")
        found += source.parent.glob(f"{source.stem}.*.pyd")
    found += ROOT.glob(f"{_native.GROUP}__mypyc.*")
    return found


def _remove_artefacts() -> None:
    for path in _artefacts():
        path.unlink(missing_ok=True)


def _write_manifest(status: str, sources: dict[str, str]) -> None:
    manifest = {"status": status, "abi": _native.abi(), "group": _native.GROUP, "sources": sources}
    tmp = _native.MANIFEST.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(_native.MANIFEST)


def _up_to_date(sources: dict[str, str]) -> bool:
    try:
        manifest = json.loads(_native.MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("sources") != sources or manifest.get("abi") != _native.abi():
        return False
    if manifest.get("status") == "built":
        return len(_artefacts()) == len(_native.MODULES) + 1
    return True  # failed for these very sources: not again at every make


def _compile(log: io.TextIOBase) -> None:
    from mypyc.build import mypycify
    from setuptools import Distribution

    paths = [str(_native.source_path(m).relative_to(ROOT)) for m in _native.MODULES]
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        extensions = mypycify(
            paths, opt_level="3", group_name=_native.GROUP, target_dir=str(BUILD / "c")
        )
        dist = Distribution(
            {
                "name": "gateway-native",
                "ext_modules": extensions,
                "script_args": ["build_ext", "--inplace", "--build-temp", str(BUILD / "obj")],
            }
        )
        dist.parse_command_line()
        dist.run_commands()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sources = _native.source_hashes()
    if not args.force and _up_to_date(sources):
        _native.MANIFEST.touch()  # newer than the make rule's prerequisites
        failed = json.loads(_native.MANIFEST.read_text(encoding="utf-8"))["status"] != "built"
        print(
            "native: the build failed for these sources: pure Python (--force tries again)"
            if failed
            else "native: up to date"
        )
        return 0
    _remove_artefacts()
    _native.MANIFEST.unlink(missing_ok=True)
    BUILD.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"native: compiling {len(_native.MODULES)} modules with mypyc (~1-2 min)...", flush=True)
    with open(LOG, "w", encoding="utf-8") as log:
        try:
            _compile(log)
            failure = ""
        except BaseException as exc:  # SystemExit from setuptools, CompileError, ...
            if isinstance(exc, KeyboardInterrupt):
                raise
            failure = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:200]
    if not failure and len(_artefacts()) != len(_native.MODULES) + 1:
        failure = "the build made no extension module for some of the modules"
    if not failure and _native.source_hashes() != sources:
        failure = "a source changed during the build"
    if failure:
        _remove_artefacts()
        _write_manifest("failed", sources)
        print(
            f"WARNING: native build failed ({failure}; see {LOG.relative_to(ROOT)}): "
            "the gateway runs as pure Python (same answers, slower claim path)",
            file=sys.stderr,
        )
        return 0
    _write_manifest("built", sources)
    print(f"native: built in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
