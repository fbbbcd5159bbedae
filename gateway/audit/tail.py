"""``gateway audit tail``: show, filter and follow the audit log."""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from gateway.audit import _parse


def matches(
    event: Mapping[str, Any],
    partner: str | None = None,
    event_glob: str | None = None,
    file_id: str | None = None,
) -> bool:
    if partner is not None and event.get("partner") != partner:
        return False
    if event_glob is not None and not fnmatch.fnmatchcase(str(event.get("event")), event_glob):
        return False
    return file_id is None or event.get("file_id") == file_id


def format_event(event: Mapping[str, Any]) -> str:
    ts = str(event.get("ts", ""))
    name = str(event.get("event", ""))
    rest = " ".join(
        f"{key}={json.dumps(value) if not isinstance(value, str) else value}"
        for key, value in event.items()
        if key not in ("ts", "event", "prev")  # prev: the hash chain, for verify
    )
    return f"{ts} {name:<22} {rest}".rstrip()


def _rotated(handle: TextIO, path: Path) -> bool:
    """True when ``path`` is now another file than ``handle`` (the log was rotated)."""
    try:
        return os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def _follow(handle: TextIO, poll: float, path: Path | None = None) -> Iterator[str]:
    buffer = ""
    while True:
        chunk = handle.readline()
        if not chunk:
            if path is not None and _rotated(handle, path):
                chunk = handle.readline()  # the old file's last words, then the new file
                if not chunk:
                    handle.close()
                    handle = open(path, encoding="utf-8", errors="replace")
                    continue
            else:
                time.sleep(poll)
                continue
        buffer += chunk
        if buffer.endswith("\n"):
            yield buffer
            buffer = ""


def tail(
    path: Path,
    *,
    follow: bool = False,
    partner: str | None = None,
    event_glob: str | None = None,
    file_id: str | None = None,
    as_json: bool = False,
    lines: int = 50,
    out: TextIO | None = None,
    poll: float = 0.25,
) -> int:
    out = out or sys.stdout

    def show(event: Mapping[str, Any]) -> None:
        text = json.dumps(event, separators=(",", ":")) if as_json else format_event(event)
        out.write(text + "\n")
        out.flush()

    if not path.exists() and not follow:
        print(f"no audit log at {path}", file=sys.stderr)
        return 1
    while follow and not path.exists():
        time.sleep(poll)
    with open(path, encoding="utf-8", errors="replace") as handle:
        recent: deque[Mapping[str, Any]] = deque(maxlen=max(lines, 0) or None)
        for line in handle:
            event = _parse(line)
            if event is not None and matches(event, partner, event_glob, file_id):
                recent.append(event)
        for event in recent if lines > 0 else ():
            show(event)
        if not follow:
            return 0
        try:
            for line in _follow(handle, poll, path):
                event = _parse(line)
                if event is not None and matches(event, partner, event_glob, file_id):
                    show(event)
        except KeyboardInterrupt:
            return 0
    return 0
