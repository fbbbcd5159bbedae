"""Compiled (mypyc) modules of the claim path, used only when they match their sources.

``scripts/build_native.py`` (run by ``make``: the install, ``make test``, ``make run``)
compiles the hot pure modules listed in :data:`MODULES` with mypyc, in place (a
``gateway/x12/<name>.cpython-*.so`` beside each ``.py``, and one shared library
``gateway_native__mypyc.*.so`` at the top of the tree), and writes :data:`MANIFEST`: the
SHA-256 of every source it compiled. Python prefers an extension module to a ``.py`` of the
same name, so this module, imported first by ``gateway/__init__.py``, decides before any of
them is imported:

* ``GATEWAY_PURE=1`` in the environment: pure Python;
* no manifest, or the build failed (the manifest says so): pure Python;
* a source changed since the build (its hash differs), or the interpreter is not the one
  built for: pure Python, with one warning (``make`` rebuilds) — stale compiled code never
  runs, and the modules are taken all or none (compiled modules call each other directly);
* otherwise the compiled modules.

"Pure Python" is enforced by a finder placed first on ``sys.meta_path`` that loads these
modules from their ``.py`` files. The answers are the same either way (the test suite runs
compiled, ``tests/x12/test_answers_unchanged.py`` both ways). Imports nothing from the
gateway and nothing heavy (start-up time).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

MODULES: tuple[str, ...] = (
    "gateway.x12.segments",
    "gateway.x12.tokenizer",
    "gateway.x12.results",
    "gateway.x12.identifiers",
    "gateway.x12.envelope",
    "gateway.x12.acks",
    "gateway.x12.kinds",
    "gateway.x12.ig_fastcheck",
    "gateway.x12.igvalidator",
    "gateway.x12.engine",
    "gateway.x12.claims",
    "gateway.x12.edits",
    "gateway.x12.ca277",
    "gateway.x12.frontend",
)
"""The modules compiled together (one mypyc group)."""

GROUP = "gateway_native"
"""The mypyc group: its shared library is ``gateway_native__mypyc.<abi>.so``."""

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "gateway" / "_native_manifest.json"

state = "pure: not built"
"""How the modules above are loaded in this process (for ``gateway --version`` and tests)."""


def source_path(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def source_hashes(modules: Sequence[str] = MODULES) -> dict[str, str]:
    return {m: hashlib.sha256(source_path(m).read_bytes()).hexdigest() for m in modules}


def abi() -> str:
    """The interpreter the extension modules must be built for."""
    return f"{sys.implementation.cache_tag}-{sysconfig.get_config_var('SOABI')}"


class _PureFinder(importlib.abc.MetaPathFinder):
    """Loads :data:`MODULES` from their ``.py`` files, never from an extension module."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


def _decide() -> tuple[bool, str]:
    """(use the compiled modules?, why)."""
    if os.environ.get("GATEWAY_PURE", "") not in ("", "0"):
        return False, "pure: GATEWAY_PURE is set"
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, "pure: not built"
    except (OSError, ValueError):
        return False, "pure: unreadable build manifest"
    if manifest.get("status") != "built":
        return False, f"pure: the build {manifest.get('status', 'is unknown')}"
    if manifest.get("abi") != abi():
        return False, f"pure: built for {manifest.get('abi')}, this is {abi()}"
    try:
        current = source_hashes()
    except OSError:
        return False, "pure: a compiled module's source is missing"
    changed = sorted(m for m in MODULES if manifest.get("sources", {}).get(m) != current[m])
    if changed:
        return False, f"pure: changed since the build: {', '.join(changed)}"
    return True, "compiled"


def install() -> None:
    """Decide once per process (see the module docstring); idempotent."""
    global state
    if any(isinstance(f, _PureFinder) for f in sys.meta_path):
        return
    compiled, state = _decide()
    if compiled:
        return
    if state.startswith("pure: changed") or state.startswith("pure: built for"):
        warnings.warn(
            f"gateway: compiled modules not used ({state[6:]}); running pure Python "
            "(`make` rebuilds them)",
            RuntimeWarning,
            stacklevel=2,
        )
    sys.meta_path.insert(0, _PureFinder())


def _frozen_setstate(self: object, state: dict[str, object]) -> None:
    for name, value in state.items():
        object.__setattr__(self, name, value)


def _reduce_by_fields(self: object) -> tuple[type, tuple[object, ...]]:
    import dataclasses

    fields = dataclasses.fields(self)  # type: ignore[arg-type]
    return type(self), tuple(getattr(self, f.name) for f in fields)


def repair_pickling() -> None:
    """Compiled only (called by ``gateway/x12/__init__.py``): a mypyc class unpickles with
    ``setattr``, which a frozen dataclass refuses (FrozenInstanceError in the daemon's worker
    processes, which receive and return such records); such classes get a ``__setstate__``
    that sets their fields as the dataclass's own ``__init__`` does (frozen dataclasses with
    slots already have one: the dataclass's); a class whose ``__init__`` is written out (see
    gateway/x12/fastinit.py) is made again by calling it."""
    if not compiled():
        return
    import importlib
    import types

    for name in MODULES:
        module = importlib.import_module(name)
        for value in list(vars(module).values()):
            if not isinstance(value, type) or value.__module__ != name:
                continue
            params = value.__dict__.get("__dataclass_params__")
            if "__mypyc_attrs__" not in value.__dict__ or params is None:
                continue
            if not isinstance(value.__dict__.get("__init__"), types.FunctionType):
                # its __init__ written out and compiled: made again by calling it (a compiled
                # class with an __init__ of its own cannot be made empty and then filled)
                value.__reduce__ = _reduce_by_fields  # type: ignore[method-assign,assignment]
            elif params.frozen and not isinstance(
                value.__dict__.get("__setstate__"), types.FunctionType
            ):
                value.__setstate__ = _frozen_setstate  # type: ignore[attr-defined]


def compiled() -> bool:
    """Are the claim path's modules the compiled ones in this process?"""
    return state == "compiled"
