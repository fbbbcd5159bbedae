"""One state model for files: every state the code can write is documented (gateway/states.py,
the README, the OpenAPI document), and a file ends in the state that describes it."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.api.openapi import openapi_document
from gateway.pipeline.routing import route_file
from gateway.states import FILE_STATES, TRANSITIONS
from tests.pipeline.test_routing import GEN, NOW, Env, batch

ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _values(node: ast.expr, module: object) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Name):
        yield getattr(module, node.id)
    elif isinstance(node, ast.IfExp):
        yield from _values(node.body, module)
        yield from _values(node.orelse, module)
    else:
        raise AssertionError(f"cannot tell which state {ast.unparse(node)} is")


def written_states() -> dict[str, list[str]]:
    """Every file state a ``set_state(file_id, STATE)`` call in gateway/ can write, with where."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "set_state"
            and len(n.args) >= 2
        ]
        if not calls:
            continue
        module = importlib.import_module(_module_name(path))
        for call in calls:
            for state in _values(call.args[1], module):
                found.setdefault(state, []).append(f"{path.name}:{call.lineno}")
    return found


def test_every_state_the_code_writes_is_documented() -> None:
    written = written_states()
    assert {"processed", "routed", "rejected", "failed"} <= set(written)  # the scan works
    undocumented = {s: where for s, where in written.items() if s not in FILE_STATES}
    assert not undocumented
    assert set(TRANSITIONS) == set(FILE_STATES)
    assert all(set(targets) <= set(FILE_STATES) for targets in TRANSITIONS.values())


def test_readme_and_api_list_the_same_states() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## File states", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", section, re.M))
    assert set(rows) == set(FILE_STATES)
    schema = openapi_document()["components"]["schemas"]["FileStatus"]["properties"]["state"]
    assert schema["enum"] == list(FILE_STATES)
    # nowhere else in the README promises a state list of its own
    assert "(`received`, `processed`, `failed`)" not in readme


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.store.close()


def _route(env: Env, data: bytes) -> str:
    record = env.upload(data)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    stored = env.store.get_file(record.id)
    assert stored is not None
    return stored.state


def test_files_end_routed_or_rejected(env: Env) -> None:
    assert _route(env, batch(2, 801)) == "routed"
    assert _route(env, batch(2, 801)) == "rejected"  # TA1 025: a duplicate interchange
    assert _route(env, b"member,amount\n1,2\n") == "rejected"  # a CSV: REJECT report
    other: bytes = GEN.render(GEN.interchange(2, 802, member_base=5000))  # type: ignore[attr-defined]
    assert _route(env, other.replace(b"PI*SIM01", b"PI*NOPE1")) == "routed"  # one claim went on
