"""Uploads parked under a temporary name (``x.tmp``, ``.x``...) until the client renames them.

On disk, in the partner's ``staging/<partner>/parked/`` directory, each parked upload is two
files::

    u-<32 hex>         the bytes
    u-<32 hex>.name    the name the client chose (UTF-8)

so the host name never depends on the client's name: a name of 255 bytes, or of any
characters the jail lets through, can never exceed the file system's limits (an encoded name
did: a 140-character name became 282 bytes). The side file is written before the bytes are
moved in, so a crash leaves at worst a side file without bytes, which :func:`clean_parked`
removes. Files named ``p-<hex of the name>`` (the earlier layout) are still listed, renamed
and removed.

Plain file-system code, no Twisted: the SFTP server calls it, the core's start-up cleanup
calls :func:`clean_parked`.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

PREFIX = "u-"
SIDE = ".name"
LEGACY_PREFIX = "p-"
_DATA = re.compile(r"^u-[0-9a-f]{32}$")
_SIDE = re.compile(r"^u-[0-9a-f]{32}\.name$")
_SIDE_TEMP = re.compile(r"^u-[0-9a-f]{32}\.name\.tmp$")


@dataclass(frozen=True)
class Parked:
    name: str
    """The client's name."""
    path: Path
    """The bytes."""
    side: Path | None
    """The ``.name`` file (None for the earlier ``p-`` layout)."""


def _legacy_name(host_name: str) -> str | None:
    if not host_name.startswith(LEGACY_PREFIX):
        return None
    try:
        return bytes.fromhex(host_name[len(LEGACY_PREFIX) :]).decode("utf-8")
    except ValueError:
        return None


def _write_side(side: Path, name: str) -> None:
    temp = side.with_name(side.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, name.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, side)


class ParkedDir:
    """The parked uploads of one partner."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def entries(self) -> list[Parked]:
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        present = set(names)
        out: list[Parked] = []
        for host_name in names:
            path = self.directory / host_name
            if _DATA.match(host_name):
                side_name = host_name + SIDE
                if side_name not in present:
                    continue
                try:
                    name = (self.directory / side_name).read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                out.append(Parked(name, path, self.directory / side_name))
            else:
                legacy = _legacy_name(host_name)
                if legacy is not None:
                    out.append(Parked(legacy, path, None))
        return out

    def find(self, name: str) -> Parked | None:
        for entry in self.entries():
            if entry.name == name:
                return entry
        return None

    def park(self, source: Path, name: str) -> None:
        """Move ``source`` in under ``name`` (replacing a parked file of that name)."""
        existing = self.find(name)
        if existing is not None:
            os.replace(source, existing.path)
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = PREFIX + uuid.uuid4().hex
        _write_side(self.directory / (stem + SIDE), name)
        os.replace(source, self.directory / stem)

    def rename(self, entry: Parked, new_name: str) -> None:
        """Give a parked file another (temporary) name, replacing one of that name."""
        target = self.find(new_name)
        if target is not None and target.path != entry.path:
            os.replace(entry.path, target.path)
            self._drop_side(entry)
            return
        if entry.side is not None:
            _write_side(entry.side, new_name)
            return
        self.park(entry.path, new_name)  # the earlier layout: move into the new one

    def remove(self, entry: Parked) -> None:
        entry.path.unlink(missing_ok=True)
        self._drop_side(entry)

    def take(self, entry: Parked, target: Path) -> None:
        """Move the bytes out to ``target`` (the side file stays until :meth:`forget`)."""
        os.replace(entry.path, target)

    def forget(self, entry: Parked) -> None:
        self._drop_side(entry)

    def _drop_side(self, entry: Parked) -> None:
        if entry.side is not None:
            entry.side.unlink(missing_ok=True)


def clean_parked(directory: Path, cutoff: float) -> int:
    """Remove parked uploads last written before ``cutoff`` (POSIX time), and what a crash
    left half-made; the number of parked *uploads* removed (a side file is not counted)."""
    try:
        names = set(os.listdir(directory))
    except FileNotFoundError:
        return 0
    removed = 0
    for host_name in sorted(names):
        path = directory / host_name
        if _SIDE_TEMP.match(host_name):
            path.unlink(missing_ok=True)
            continue
        if _SIDE.match(host_name):
            if host_name[: -len(SIDE)] not in names:  # bytes never moved in
                path.unlink(missing_ok=True)
            continue
        try:
            if not path.is_file() or path.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        path.unlink(missing_ok=True)
        (directory / (host_name + SIDE)).unlink(missing_ok=True)
        removed += 1
    return removed
