"""Which log events from Twisted Conch are noise (for the log bridge's filter)."""

from __future__ import annotations

from typing import Any

from twisted.logger import LogLevel

#: Conch reports ordinary disconnects and refused requests at error/warn level.
_NOISY_FORMATS = (
    "Got remote error",
    "Disconnecting with error",
    "other side refused open",
    "Failed to get subsystem",
    "unhandled request",
    "other side unimplemented packet",
)


def is_conch_noise(event: dict[str, Any]) -> bool:
    """True for Twisted Conch events an operator does not want to see.

    Drops everything below warning from ``twisted.conch.*`` (Conch logs every SFTP packet at
    info) and the routine error/warn-level messages about normal disconnects; keeps real
    failures (tracebacks, ``log.failure``) and everything from other namespaces.
    """
    namespace = str(event.get("log_namespace") or "")
    level = event.get("log_level")
    if namespace.startswith("twisted.conch"):
        if event.get("log_failure") is not None:
            return False
        if level in (LogLevel.debug, LogLevel.info):
            return True
        return str(event.get("log_format") or "").startswith(_NOISY_FORMATS)
    if namespace == "log_legacy":
        # twisted.python.log users inside Conch (SSHChannel, SSHService) log via `system`.
        system = str(event.get("system") or "")
        return ("SSH" in system or "Conch" in system) and not event.get("isError")
    return False
