"""The seams between the transports (edges) and the core: what an SFTP/HTTP/AS2 front end may
ask of the gateway. Implemented by :mod:`gateway.pipeline.intake` over the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from twisted.internet.defer import Deferred


class Audit(Protocol):
    """Emit one audit event: ``audit("file.received", file_id=..., partner=...)``.

    Identifiers only (file id, sha256, partner, control numbers): never PHI.
    """

    def __call__(self, event: str, **fields: Any) -> None: ...


@dataclass(frozen=True)
class MailboxEntry:
    name: str
    size: int
    created_at: float
    """POSIX timestamp."""


class Intake(Protocol):
    def accept_upload(
        self, partner_id: str, channel: str, name: str, temp_path: Path
    ) -> Deferred[str]:
        """Take ownership of the complete upload at ``temp_path`` (same filesystem as the
        data directory): hash it, store it content-addressed and fsynced, commit its row, and
        only then fire with the new file id. The pipeline is started afterwards. If this
        fails, the client must be told the upload failed."""
        ...


class Mailbox(Protocol):
    def list_outbound(self, partner_id: str) -> Deferred[list[MailboxEntry]]:
        """Files waiting in the partner's ``/outbound`` (not yet picked up), oldest first."""
        ...

    def open_outbound(self, partner_id: str, name: str) -> Deferred[Path | None]:
        """Path of the stored bytes of that file (read-only), or None if there is none."""
        ...

    def pick_up(self, partner_id: str, name: str) -> Deferred[bool]:
        """Mark the file picked up (SFTP delete / API DELETE); False if it was not there."""
        ...
