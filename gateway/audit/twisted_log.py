"""Twisted's own log on the operator console, through the audit log's structlog renderer.

Twisted (and Conch in particular) logs at levels that do not match what an operator needs:
every SSH packet and connection at info, and a client's ordinary goodbye ("Got remote error,
code 11 / disconnected by user") at error. This bridge re-levels those events — per-connection
chatter to debug, normal disconnects and refused requests to info — keeps real failures
(tracebacks, ``log.failure``) at error, and renders everything with the same structlog console
renderer as the audit events, with the Twisted namespace as the logger name. Events below the
configured level are dropped.

``gateway run`` installs it; under twistd use ``twistd --logger
gateway.audit.twisted_log.observer -n gateway``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from twisted.logger import ILogObserver, LogLevel, formatEvent
from zope.interface import implementer

from gateway.audit import _drop_phi, _LineSink, console_stream

#: SSH_MSG_DISCONNECT reason codes that end a session normally (RFC 4253 section 11.1):
#: 10 connection lost, 11 by application ("disconnected by user"), 13 too many connections
#: (a client's own limit), 14 no more auth methods (the client gave up: the audit log has
#: the failed login).
_NORMAL_DISCONNECTS = frozenset({10, 11, 13, 14})

#: Conch messages that describe ordinary client behaviour, logged by Conch at warn/error.
_ROUTINE = (
    "Disconnecting with error",
    "other side refused open",
    "Failed to get subsystem",
    "unhandled request",
    "other side unimplemented packet",
)

_NAMES = {
    LogLevel.debug: "debug",
    LogLevel.info: "info",
    LogLevel.warn: "warning",
    LogLevel.error: "error",
    LogLevel.critical: "critical",
}
_ORDER = [LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical]
_BY_NAME = {name: level for level, name in _NAMES.items()} | {"warn": LogLevel.warn}


def operator_level(event: dict[str, Any]) -> LogLevel:
    """The level an operator should see ``event`` at."""
    raw: Any = event.get("log_level")  # LogLevel's members are NamedConstants, not instances
    level: LogLevel = raw if raw in _ORDER else LogLevel.info
    if event.get("log_failure") is not None:
        return max(level, LogLevel.error, key=_ORDER.index)
    namespace = str(event.get("log_namespace") or "")
    text = str(event.get("log_format") or "")
    if _from_conch(namespace, event.get("log_source")):
        if text.startswith("Got remote error"):
            code = event.get("code")
            return LogLevel.info if code in _NORMAL_DISCONNECTS else LogLevel.warn
        if text.startswith(_ROUTINE):
            return LogLevel.info
        if level in (LogLevel.debug, LogLevel.info):
            return LogLevel.debug  # per packet, per channel, per connection
        return level
    if namespace == "log_legacy":  # twisted.python.log users (Conch's SSHChannel...)
        if event.get("isError"):
            return LogLevel.error
        system = str(event.get("system") or "")
        if "SSH" in system or "Conch" in system:
            return LogLevel.debug
    return level


def _from_conch(namespace: str, source: object) -> bool:
    """Conch's own classes, or ours built on them (the gateway's SSH transport, SFTP session
    and file-transfer server log under their own module names)."""
    if namespace.startswith("twisted.conch"):
        return True
    if source is None:
        return False
    cls = source if isinstance(source, type) else type(source)
    return any(c.__module__.startswith("twisted.conch") for c in cls.__mro__)


def _message(event: dict[str, Any]) -> str:
    text = formatEvent(event) or str(event.get("log_format") or "")
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


@implementer(ILogObserver)
class TwistedLogBridge:
    """A Twisted log observer writing ``[level] message [namespace] ts=...`` lines."""

    def __init__(self, stream: TextIO, level: str | LogLevel = "info") -> None:
        self.minimum = _BY_NAME.get(level, LogLevel.info) if isinstance(level, str) else level
        self._logger = structlog.wrap_logger(
            _LineSink([stream], threading.Lock()),
            processors=[
                _drop_phi,
                structlog.processors.add_log_level,
                structlog.dev.ConsoleRenderer(colors=False),
            ],
        )

    def __call__(self, event: dict[str, Any]) -> None:
        level = operator_level(event)
        if _ORDER.index(level) < _ORDER.index(self.minimum):
            return
        fields: dict[str, Any] = {
            "logger": str(event.get("log_namespace") or "twisted"),
            "ts": _timestamp(event.get("log_time")),
        }
        failure = event.get("log_failure")
        if failure is not None:
            fields["exception"] = failure.getTraceback()
        getattr(self._logger, _NAMES[level])(_message(event), **fields)


def _timestamp(when: object) -> str:
    if isinstance(when, int | float):
        moment = datetime.fromtimestamp(float(when), UTC)
    else:
        moment = datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds")


def observer(level: str = "info") -> TwistedLogBridge:
    """Factory for ``twistd --logger gateway.audit.twisted_log.observer``."""
    return TwistedLogBridge(console_stream(), level)
