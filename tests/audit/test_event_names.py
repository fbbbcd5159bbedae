"""Every audit event the code emits by name is in the documented list (stable names)."""

from __future__ import annotations

import ast
from pathlib import Path

from gateway.audit import EVENTS

ROOT = Path(__file__).resolve().parents[2] / "gateway"


def _emitted() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name == "audit" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found[first.value] = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
    return found


def test_every_emitted_event_is_listed() -> None:
    emitted = _emitted()
    assert len(emitted) > 30
    missing = {name: where for name, where in emitted.items() if name not in EVENTS}
    assert missing == {}


def test_event_names_are_dotted_lowercase() -> None:
    for name in EVENTS:
        assert name == name.lower() and "." in name and " " not in name, name
