"""The audit file as a hash chain: every line carries ``"prev"``, the SHA-256 (hex) of the bytes
of the line before it (without its newline). The first line ever carries :data:`GENESIS`.

Changing, removing or inserting a line breaks the chain at the next line, and
:func:`verify` names it. Rotation keeps the chain: the full file is renamed
``audit.jsonl.<UTC stamp>`` and the first line of the new file carries the hash of the old
file's last line. Every process that writes the file (the daemon, ``gateway payers
run-cycle``) takes an exclusive ``flock`` on a lock file beside it and re-reads the last line
when someone else wrote since, so their lines chain too.

Not detectable from the file alone: lines cut from the END of the newest file (keep the last
hash elsewhere — ``gateway audit verify`` prints it — to anchor it).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

GENESIS = "0" * 64
#: The audit file is rotated once it would pass this size.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_TAIL_CHUNK = 64 * 1024


def line_hash(line: bytes) -> str:
    """The hash the next line carries: SHA-256 of ``line`` without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def last_line(path: Path) -> bytes | None:
    """The last complete-or-not line of ``path`` (None if empty or missing)."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return None
    with handle:
        end = handle.seek(0, os.SEEK_END)
        if end == 0:
            return None
        data = b""
        position = end
        while position > 0:
            step = min(_TAIL_CHUNK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
            body = data[:-1] if data.endswith(b"\n") else data
            cut = body.rfind(b"\n")
            if cut >= 0:
                return body[cut + 1 :]
        return data[:-1] if data.endswith(b"\n") else data


def rotated_files(path: Path) -> list[Path]:
    """The rotated siblings of ``path``, oldest first."""
    prefix = path.name + "."
    found = [
        p
        for p in path.parent.glob(prefix + "*")
        if p.is_file() and p.name[len(prefix) :][:1].isdigit()
    ]
    return sorted(found, key=lambda p: p.name)


def chain_files(path: Path) -> list[Path]:
    """Every file of the chain ending in ``path``, oldest first (what verify reads)."""
    files = rotated_files(path)
    if path.exists():
        files.append(path)
    return files


def _with_prev(message: str, prev: str) -> bytes:
    """``{"event": ...}`` → ``{"event": ..., "prev": "<hex>"}`` plus a newline."""
    text = message.rstrip("\n")
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError("audit lines are JSON objects")
    inner = text[1:-1].strip()
    joined = f'{inner},"prev":"{prev}"' if inner else f'"prev":"{prev}"'
    return ("{" + joined + "}\n").encode("utf-8")


class ChainedFile:
    """Appends JSON lines to ``path``, chained and rotated; :meth:`write` raises OSError when
    the line could not be written (and leaves the file as it was)."""

    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self._lock_path = path.with_name(f".{path.name}.lock")
        self._thread_lock = threading.Lock()
        self._lock_fd = -1
        self._fd = -1
        self._inode = -1
        self._size = -1
        self._prev = GENESIS
        self.last_hash = GENESIS

    def write(self, message: str) -> None:
        with self._thread_lock:
            if self._lock_fd < 0:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o640)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._write_locked(message)
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _write_locked(self, message: str) -> None:
        self._sync()
        line = _with_prev(message, self._prev)
        if self._size > 0 and self._size + len(line) > self.max_bytes:
            self._rotate()
        start = self._size
        try:
            written = 0
            while written < len(line):
                written += os.write(self._fd, line[written:])
        except OSError:
            # ENOSPC part-way: cut the torn line off so the file stays a clean chain
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                self._size = -1  # unknown now: re-read on the next write
            raise
        self._size = start + len(line)
        self._prev = self.last_hash = line_hash(line)

    def _sync(self) -> None:
        """Open the current file and learn the last hash if someone else wrote or rotated."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            status = None
        if self._fd < 0 or status is None or status.st_ino != self._inode:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            status = os.fstat(self._fd)
            self._inode = status.st_ino
            self._size = -1
        if status.st_size != self._size:
            self._size = status.st_size
            self._prev = self._previous_hash()

    def _previous_hash(self) -> str:
        last = last_line(self.path)
        if last is None:
            older = rotated_files(self.path)
            last = last_line(older[-1]) if older else None
        return GENESIS if last is None else line_hash(last)

    def _rotate(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        os.rename(self.path, self.path.with_name(f"{self.path.name}.{stamp}"))
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._inode = os.fstat(self._fd).st_ino
        self._size = 0  # _prev stays: the old file's last hash starts the new file

    def close(self) -> None:
        with self._thread_lock:
            for fd in (self._fd, self._lock_fd):
                if fd >= 0:
                    os.close(fd)
            self._fd = self._lock_fd = -1


@dataclass(frozen=True)
class Broken:
    file: Path
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.problem}"


@dataclass(frozen=True)
class Verified:
    files: int
    lines: int
    first_prev: str | None
    last_hash: str
    broken: Broken | None


def _lines(path: Path) -> Iterable[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        yield from enumerate(handle, start=1)


def verify(files: Sequence[Path]) -> Verified:
    """Check the chain through ``files`` (oldest first); stop at the first broken line.

    The first line of the first file may carry any ``prev`` (the chain may start in a file
    that was rotated away); every later line must carry the hash of the line before it.
    """
    expected: str | None = None
    first_prev: str | None = None
    previous_at = ""
    count = 0
    for path in files:
        for number, raw in _lines(path):
            count += 1
            problem = None
            if not raw.endswith(b"\n"):
                problem = "incomplete last line (no newline)"
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if not isinstance(value, dict) or "event" not in value:
                problem = problem or "not a JSON audit event"
            elif not isinstance(value.get("prev"), str):
                problem = problem or "no prev hash (line not chained)"
            elif expected is None:
                first_prev = value["prev"]
            elif value["prev"] != expected:
                problem = (
                    f"prev does not match the hash of the line before ({previous_at}): "
                    "a line was changed, removed or inserted"
                )
            if problem is not None:
                return Verified(
                    len(files), count, first_prev, expected or "", Broken(path, number, problem)
                )
            expected = line_hash(raw)
            previous_at = f"{path.name}:{number}"
    return Verified(len(files), count, first_prev, expected or GENESIS, None)
