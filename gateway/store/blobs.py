"""Content-addressed payload store: ``<root>/<sha[:2]>/<sha256>``, every write fsynced."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

_CHUNK = 1024 * 1024


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._tmp = root / ".tmp"
        self._tmp.mkdir(exist_ok=True)
        # All 256 prefix directories exist (and their entries are durable) before any blob is
        # renamed into one: fsyncing the prefix directory then makes the blob itself durable.
        created = False
        for n in range(256):
            prefix = root / f"{n:02x}"
            if not prefix.is_dir():
                prefix.mkdir(exist_ok=True)
                created = True
        if created:
            fsync_dir(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def adopt(self, temp_path: Path) -> tuple[str, int]:
        """Move a complete file (same filesystem) into the store; returns (sha256, size).

        The file's data is fsynced before the rename and the directory after it, so once this
        returns the bytes survive a crash.
        """
        sha, size = sha256_file(temp_path)
        with open(temp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        target = self.path(sha)
        if target.exists():
            temp_path.unlink()
            return sha, size
        target.parent.mkdir(exist_ok=True)
        os.replace(temp_path, target)
        fsync_dir(target.parent)
        return sha, size

    def temp_path(self) -> Path:
        """A fresh name in the store's temp directory (same filesystem: :meth:`adopt` it)."""
        return self._tmp / f"new.{secrets.token_hex(8)}"

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists():
            return sha
        temp = self._tmp / f"{sha}.{secrets.token_hex(4)}"
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        target.parent.mkdir(exist_ok=True)
        os.replace(temp, target)
        fsync_dir(target.parent)
        return sha

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
