"""The virtual file system a partner sees over SFTP: pure path logic, no I/O, no Twisted.

Every partner sees the same tree::

    /            (read-only, lists the two directories)
    /inbound     upload only (write-only drop box)
    /outbound    download + delete only (delete = pick-up)

Paths from the client are bytes; they are decoded as UTF-8, made absolute against ``/``
(SFTP has no working directory: the home is ``/``), normalised (``.``, empty components and
``..`` inside the tree are collapsed), and refused when ``..`` would climb above ``/``.
Host paths never leak: anything outside the two directories simply does not exist.
"""

from __future__ import annotations

import enum
import errno
from dataclasses import dataclass

INBOUND = "inbound"
OUTBOUND = "outbound"
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096

#: Suffixes that mark an upload as a temporary name, kept in staging until renamed.
TEMP_SUFFIXES = (".tmp", ".part", ".filepart")


class PathError(OSError):
    """A path the client may not use; carries an errno the SFTP layer maps to a status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)


class Area(enum.Enum):
    ROOT = "root"
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True)
class VirtualPath:
    """A normalised path inside the jail: an area and, for files, one name."""

    area: Area
    name: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.name is None

    def __str__(self) -> str:
        if self.area is Area.ROOT:
            return "/"
        base = "/" + self.area.value
        return base if self.name is None else f"{base}/{self.name}"


def normalise(raw: bytes | str) -> tuple[str, ...]:
    """Split ``raw`` into normalised components (``()`` is ``/``).

    Raises :class:`PathError` (EACCES) for ``..`` above the root, NUL bytes, undecodable or
    overlong paths.
    """
    if isinstance(raw, bytes):
        if len(raw) > MAX_PATH_BYTES:
            raise PathError(errno.ENAMETOOLONG, f"path too long (at most {MAX_PATH_BYTES} bytes)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise PathError(errno.EINVAL, "path is not valid UTF-8") from None
    else:
        text = raw
    if "\x00" in text:
        raise PathError(errno.EINVAL, "path contains a NUL byte")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise PathError(errno.EACCES, "path escapes the root")
            parts.pop()
            continue
        parts.append(part)
    return tuple(parts)


def resolve(raw: bytes | str) -> VirtualPath:
    """The :class:`VirtualPath` ``raw`` names.

    Raises :class:`PathError`: ENOENT for anything outside ``/``, ``/inbound``,
    ``/outbound`` and files directly inside those two.
    """
    parts = normalise(raw)
    if not parts:
        return VirtualPath(Area.ROOT)
    head, rest = parts[0], parts[1:]
    if head == INBOUND:
        area = Area.INBOUND
    elif head == OUTBOUND:
        area = Area.OUTBOUND
    else:
        raise PathError(errno.ENOENT, "no such file or directory")
    if not rest:
        return VirtualPath(area)
    if len(rest) > 1:
        raise PathError(errno.ENOENT, "no such file or directory")
    return VirtualPath(area, check_name(rest[0]))


def check_name(name: str) -> str:
    """``name`` if it is usable as a single file name, else :class:`PathError`."""
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise PathError(
            errno.ENAMETOOLONG, f"file name too long (at most {MAX_NAME_BYTES} bytes of UTF-8)"
        )
    if any(ord(c) < 0x20 or c in "/\\\x7f" for c in name) or name in (".", ".."):
        raise PathError(
            errno.EACCES,
            "file name not allowed: control characters, DEL and backslash are refused",
        )
    return name


def is_temporary_name(name: str) -> bool:
    """Whether an upload under ``name`` is a temporary name awaiting a rename.

    Hidden names (``.x``) and ``*.tmp``/``*.part``/``*.filepart`` are parked in staging and
    only handed to intake once renamed (inside ``/inbound``) to a regular name.
    """
    return name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES)


def real_path(raw: bytes | str) -> str:
    """The normalised virtual path (for SSH_FXP_REALPATH); never a host path."""
    parts = normalise(raw)
    return "/" + "/".join(parts)


def denied(message: str) -> PathError:
    return PathError(errno.EACCES, message)


def not_found(message: str = "no such file or directory") -> PathError:
    return PathError(errno.ENOENT, message)


__all__ = [
    "INBOUND",
    "OUTBOUND",
    "Area",
    "PathError",
    "VirtualPath",
    "check_name",
    "denied",
    "is_temporary_name",
    "normalise",
    "not_found",
    "real_path",
    "resolve",
]
