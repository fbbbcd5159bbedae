"""The compiled claim path (gateway/_native.py, scripts/build_native.py): used only when it
matches its sources, GATEWAY_PURE=1 forces pure Python, and both give the same answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import _native

ROOT = Path(__file__).resolve().parent.parent

built = pytest.mark.skipif(
    not _native.MANIFEST.exists()
    or json.loads(_native.MANIFEST.read_text()).get("status") != "built",
    reason="the compiled modules are not built (`make native`)",
)

# a process that loads gateway._native with MANIFEST pointed elsewhere before `import gateway`
_PROBE = """
import importlib.util, sys, warnings
from pathlib import Path
spec = importlib.util.spec_from_file_location("gateway._native", sys.argv[1])
native = importlib.util.module_from_spec(spec)
sys.modules["gateway._native"] = native
spec.loader.exec_module(native)
native.MANIFEST = Path(sys.argv[2])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    native.install()
import gateway.x12.claims, gateway.x12.frontend
print(native.state)
print(Path(gateway.x12.claims.__file__).suffix, Path(gateway.x12.frontend.__file__).suffix)
print(len(caught), *[str(w.message) for w in caught])
"""


def _probe(manifest: Path, **env: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "gateway" / "_native.py"), str(manifest)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
        env={**os.environ, "GATEWAY_PURE": "", **env},
    )  # fmt: skip
    return result.stdout.splitlines()


def _manifest(tmp_path: Path, **changes: object) -> Path:
    manifest = json.loads(_native.MANIFEST.read_text())
    manifest.update(changes)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


@built
def test_the_built_modules_are_used_when_they_match(tmp_path: Path) -> None:
    state, suffixes, warned = _probe(_manifest(tmp_path))
    assert state == "compiled" and suffixes == ".so .so" and warned == "0"


@built
def test_gateway_pure_forces_python(tmp_path: Path) -> None:
    state, suffixes, warned = _probe(_manifest(tmp_path), GATEWAY_PURE="1")
    assert state == "pure: GATEWAY_PURE is set" and suffixes == ".py .py" and warned == "0"


@built
def test_a_changed_source_is_never_run_compiled(tmp_path: Path) -> None:
    """One module edited since the build: all of them pure (they call each other directly),
    with one warning that names it."""
    sources = dict(json.loads(_native.MANIFEST.read_text())["sources"])
    sources["gateway.x12.edits"] = "0" * 64
    state, suffixes, warned = _probe(_manifest(tmp_path, sources=sources))
    assert state == "pure: changed since the build: gateway.x12.edits"
    assert suffixes == ".py .py"
    assert warned.startswith("1 ") and "gateway.x12.edits" in warned and "make" in warned


@built
def test_another_interpreter_or_a_failed_build_runs_pure(tmp_path: Path) -> None:
    state, suffixes, warned = _probe(_manifest(tmp_path, abi="cpython-310-other"))
    assert state.startswith("pure: built for cpython-310-other") and suffixes == ".py .py"
    state, suffixes, warned = _probe(_manifest(tmp_path, status="failed"))
    assert (state, suffixes, warned) == ("pure: the build failed", ".py .py", "0")


def test_without_a_manifest_the_modules_are_python(tmp_path: Path) -> None:
    state, suffixes, warned = _probe(tmp_path / "none.json")
    assert (state, suffixes, warned) == ("pure: not built", ".py .py", "0")


def test_the_make_rule_and_the_build_cover_the_same_modules() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "gateway/_native.py" in makefile and "scripts/build_native.py" in makefile
    result = subprocess.run(
        ["make", "-s", "-p", "-n", "native"], capture_output=True, text=True, cwd=ROOT
    )
    line = next(s for s in result.stdout.splitlines() if s.startswith("NATIVE_SOURCES :="))
    listed = line.split(":=", 1)[1].split()
    assert listed == [str(_native.source_path(m).relative_to(ROOT)) for m in _native.MODULES]


_ANSWERS = """
import hashlib, sys
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
import gateway._native
from gateway.config import DEFAULT_CONFIG_PATH, load_config
from gateway.profiles import partner_directory
from gateway.profiles import load_partners
from gateway.validate import check_file
config = load_config(DEFAULT_CONFIG_PATH, env={}, services=False)
partners = load_partners(str(config.partners_dir), check_keys=False)
acks = []
check_file(Path(sys.argv[1]), partners=partners, directory=partner_directory(config, partners),
           controls=count(1).__next__, now=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
           ack_dir=Path(sys.argv[2]), acks=acks)
print(gateway._native.state)
for path in sorted(Path(a) for a in acks):
    print(path.name, hashlib.sha256(path.read_bytes()).hexdigest())
"""


@built
def test_compiled_and_pure_answer_alike(tmp_path: Path) -> None:
    """``gateway validate``'s path on a generated batch with damaged claims: the same 999 and
    277CA bytes compiled and pure (tests/x12/test_answers_unchanged.py pins them too, and
    `make test` runs it both ways)."""
    data = subprocess.run(
        [sys.executable, "scripts/gen_837.py", "--seed=5", "--claims=300", "--control=88"],
        capture_output=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    text = data.decode().replace("*HC:99213*", "*HC:9921*", 40).replace("*11:B:1*", "*99:B:1*", 9)
    source = tmp_path / "batch.837"
    source.write_text(text)
    outputs = []
    for pure in ("", "1"):
        acks = tmp_path / f"acks{pure}"
        result = subprocess.run(
            [sys.executable, "-c", _ANSWERS, str(source), str(acks)],
            capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
            env={**os.environ, "GATEWAY_PURE": pure},
        )  # fmt: skip
        state, *answers = result.stdout.splitlines()
        assert state == ("compiled" if not pure else "pure: GATEWAY_PURE is set")
        assert len(answers) == 2  # 999 + 277CA
        outputs.append(answers)
    assert outputs[0] == outputs[1]
    assert b"STC*A7" in (tmp_path / "acks" / "batch.837.277CA.x12").read_bytes()


def test_records_cross_process_boundaries(tmp_path: Path) -> None:
    """The daemon's workers receive and return the claim path's records pickled: frozen
    dataclasses compiled by mypyc unpickle too (gateway._native.repair_pickling)."""
    import pickle
    from datetime import date

    from gateway.config import DEFAULT_CONFIG_PATH, load_config
    from gateway.profiles import edit_context, load_partners, partner_directory
    from gateway.x12 import analyze
    from gateway.x12.frontend import edit_file

    data = subprocess.run(
        [sys.executable, "scripts/gen_837.py", "--seed=2", "--claims=5", "--control=89"],
        capture_output=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    config = load_config(DEFAULT_CONFIG_PATH, env={}, services=False)
    partners = load_partners(str(config.partners_dir), check_keys=False)
    directory = partner_directory(config, partners)
    analysis = analyze(data, uploader="demo-billing", directory=directory)
    context = edit_context(partners, "demo-billing", date(2026, 11, 20))
    assert context is not None
    edited = edit_file(data, analysis, context)
    for value in (analysis, context, edited):
        assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes
