"""The audit log: one structlog JSON line per state change, in ``<data dir>/log/audit.jsonl``.

Events have stable dotted names (``file.received``, ``ack.999.written``...) and carry
identifiers only — file id, sha256, partner, control numbers — never PHI. The same events go
to the console in a readable form when asked.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog

#: Fields that must never reach an operational log (defence in depth: callers pass ids only).
PHI_FIELDS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "patient",
        "patient_name",
        "member_id",
        "subscriber_id",
        "dob",
        "date_of_birth",
        "birth_date",
        "diagnosis",
        "diagnoses",
        "patient_address",
        "street_address",
        "password",
        "ssn",
    }
)

#: Event names the gateway emits (documentation and a check in tests).
EVENTS = frozenset(
    {
        "gateway.started",
        "gateway.stopping",
        "gateway.stopped",
        "config.reloaded",
        "config.reload_failed",
        "sftp.login.ok",
        "sftp.login.failed",
        "sftp.login.locked",
        "sftp.session.closed",
        "sftp.upload.aborted",
        "sftp.upload.failed",
        "sftp.download",
        "sftp.upload",
        "staging.cleaned",
        "file.received",
        "file.processing",
        "file.processed",
        "file.rejected",
        "file.failed",
        "file.retry",
        "file.picked_up",
        "interchange.accepted",
        "interchange.rejected",
        "ack.ta1.written",
        "ack.999.written",
        "ack.277ca.written",
        "claim.accepted",
        "claim.rejected",
        "claims.routed",
        "file.routed",
        "route.warning",
        "route.unroutable",
        "claim.adjudicated",
        "remit.835.built",
        "payer.cycle",
        "payer.answer.forwarded",
        "payer.answer.rejected",
        "payer.report.written",
        "payer.cycle_failed",
        "report.written",
        "api.auth.failed",
        "api.download",
        "api.error",
        "as2.mdn.sent",
        "as2.received",
        "as2.rejected",
        "as2.duplicate",
        "as2.mdn.failed",
        "as2.mdn.rejected",
        "as2.send.ok",
        "as2.send.failed",
        "as2.error",
    }
)


def _drop_phi(
    logger: object, method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    for key in list(event_dict):
        if key in PHI_FIELDS:
            event_dict[key] = "[redacted]"
    return event_dict


def _timestamp(
    logger: object, method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    event_dict.setdefault("ts", datetime.now(UTC).isoformat(timespec="milliseconds"))
    return event_dict


class _LineSink:
    """A structlog logger that writes rendered lines to files, thread-safely."""

    def __init__(self, streams: list[TextIO], lock: threading.Lock) -> None:
        self._streams = streams
        self._lock = lock

    def msg(self, message: str) -> None:
        with self._lock:
            for stream in self._streams:
                stream.write(message + "\n")
                stream.flush()

    info = warning = error = debug = critical = msg


class AuditLog:
    """Callable audit sink: ``audit("file.received", file_id=..., partner=...)``."""

    def __init__(self, path: Path, console: TextIO | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO = open(path, "a", encoding="utf-8")
        self._json = structlog.wrap_logger(
            _LineSink([self._file], self._lock),
            processors=[
                _drop_phi,
                _timestamp,
                structlog.processors.JSONRenderer(sort_keys=False),
            ],
        )
        self._console = None
        if console is not None:
            self._console = structlog.wrap_logger(
                _LineSink([console], threading.Lock()),
                processors=[
                    _drop_phi,
                    _timestamp,
                    structlog.dev.ConsoleRenderer(colors=False),
                ],
            )
        self._listeners: list[Callable[[str, Mapping[str, Any]], None]] = []

    def subscribe(self, listener: Callable[[str, Mapping[str, Any]], None]) -> None:
        """Also hand every event to ``listener(event, fields)`` (metrics, tests).

        A listener that raises breaks nothing: the error is swallowed so that observing the
        gateway can never stop it.
        """
        self._listeners.append(listener)

    def __call__(self, event: str, **fields: Any) -> None:
        if self._file.closed:  # a late callback after shutdown: nothing to write to
            return
        self._json.info(event, **fields)
        if self._console is not None:
            self._console.info(event, **fields)
        for listener in self._listeners:
            try:
                listener(event, fields)
            except Exception:  # noqa: S110 - observers must not break the gateway
                pass

    def close(self) -> None:
        with self._lock:
            self._file.close()


def console_stream() -> TextIO:
    """stderr through a dup'ed descriptor: under twistd, a logger bound to the original stdout
    loops into twistd's own redirect (see ARCHITECTURE.md)."""
    return os.fdopen(os.dup(sys.stderr.fileno()), "w", encoding="utf-8", buffering=1)


def read_events(path: Path) -> Iterable[Mapping[str, Any]]:
    """Parse the audit file, skipping torn or foreign lines."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            event = _parse(line)
            if event is not None:
                yield event


def _parse(line: str) -> Mapping[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "event" in value else None
