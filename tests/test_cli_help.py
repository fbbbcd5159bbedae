"""The command's help texts (plain words, every option explained) and its manners in a pipe."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from gateway.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent

#: reStructuredText roles and inline literals, as docstrings use them (``x``, :func:`x`).
_RST = re.compile(r"``|:[a-z]+:`|`[^`]+`_")


def _parsers(
    parser: argparse.ArgumentParser, path: str = "gateway", own_help: str | None = None
) -> Iterator[tuple[str, argparse.ArgumentParser, str | None]]:
    yield path, parser, own_help
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}", helps.get(name))


def test_every_option_has_help_and_no_help_text_has_rst_markup() -> None:
    texts: list[tuple[str, str]] = []
    missing: list[str] = []
    for path, parser, own_help in _parsers(build_parser()):
        if path != "gateway" and not own_help:
            missing.append(path)
        texts += [(path, t) for t in (own_help, parser.description, parser.epilog) if t]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            label = f"{path} {'/'.join(action.option_strings) or action.dest}"
            if not action.help:
                missing.append(label)
            else:
                texts.append((label, action.help))
        texts.append((path, parser.format_help()))
    assert not missing, f"no help text: {missing}"
    marked = [(where, text) for where, text in texts if _RST.search(text)]
    assert not marked, marked


def test_a_reader_that_leaves_early_is_no_error(tmp_path: Path) -> None:
    """`gateway ... | head`: quiet, exit 141 (SIGPIPE) like other tools, no traceback."""
    log = tmp_path / "audit.jsonl"
    event = {"ts": "2026-12-03T09:00:00.000+00:00", "event": "file.received", "file_id": "F"}
    log.write_text("".join(json.dumps(event) + "\n" for _ in range(20_000)))
    with subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "audit", "tail", "--log", str(log), "-n", "20000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert b"file.received" in proc.stdout.readline()
        proc.stdout.close()  # like head after its lines
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert code == 141, err
    assert err == "", err
