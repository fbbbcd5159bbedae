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
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog

from gateway.audit.chain import DEFAULT_MAX_BYTES, ChainedFile

#: Audit lines kept in memory while the file cannot be written (then the oldest are dropped).
MAX_PENDING = 10_000

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
        "sftp.login.lifted",
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
        "statements.run",
        "statements.failed",
        "patient.payment.posted",
        "claim.appeal.recorded",
        "claim.written_off",
        "payer.answer.forwarded",
        "payer.answer.rejected",
        "payer.report.written",
        "payer.cycle_failed",
        "report.written",
        "api.auth.failed",
        "api.download",
        "api.error",
        "eligibility.answered",
        "eligibility.rejected",
        "eligibility.refused",
        "claim_status.answered",
        "claim_status.forward.failed",
        "eligibility.forward.failed",
        "inquiry.answers.written",
        "inquiries.routed",
        "core.rejected",
        "core.auth.failed",
        "core.batch.received",
        "core.batch.retrieved",
        "core.error",
        "as2.mdn.sent",
        "as2.received",
        "as2.rejected",
        "as2.duplicate",
        "as2.mdn.failed",
        "as2.mdn.rejected",
        "as2.mdn.sync",
        "as2.send.ok",
        "as2.send.failed",
        "as2.error",
        "audit.recovered",
        "intake.storage_full",
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


class _ChainSink:
    """A structlog logger that appends rendered lines to the hash-chained audit file.

    A failed write (a full disk, say) never raises into the caller: the line waits in a
    bounded queue, in order, and goes out before the next line once writing works again.
    """

    def __init__(self, chained: ChainedFile, max_pending: int = MAX_PENDING) -> None:
        self.chained = chained
        self._lock = threading.Lock()
        self._pending: deque[str] = deque()
        self._max_pending = max_pending
        #: Writes that failed, and lines lost because the queue was full (since the start).
        self.failures = 0
        self.dropped = 0
        self._unreported: tuple[int, int] = (0, 0)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def msg(self, message: str) -> None:
        with self._lock:
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(message)
            self._drain()

    def flush(self) -> bool:
        """Write what waits; True when nothing is left waiting."""
        with self._lock:
            return self._drain()

    def _drain(self) -> bool:
        had_failed = self.failures > self._unreported[0] or self.dropped > self._unreported[1]
        try:
            while self._pending:
                self.chained.write(self._pending[0])
                self._pending.popleft()
            if had_failed:
                failed = self.failures - self._unreported[0]
                dropped = self.dropped - self._unreported[1]
                self.chained.write(_recovered_line(failed, dropped))
                self._unreported = (self.failures, self.dropped)
        except (OSError, ValueError):
            self.failures += 1
            return False
        return True

    info = warning = error = debug = critical = msg


def _recovered_line(failures: int, dropped: int) -> str:
    event = {
        "event": "audit.recovered",
        "failed_writes": failures,
        "dropped_events": dropped,
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return json.dumps(event)


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


PER_CLAIM_EVENTS: frozenset[str] = frozenset(
    {"claim.accepted", "claim.rejected", "claim.adjudicated"}
)
"""One line per claim: in the audit file (``gateway trace`` reads them), not on the console,
where a 10,000-claim file would bury everything else (and hold the reactor ~0.3 s longer)."""


class AuditLog:
    """Callable audit sink: ``audit("file.received", file_id=..., partner=...)``.

    Every event goes to the audit file; the console (when given) shows all but ``quiet`` ones.
    """

    def __init__(
        self,
        path: Path,
        console: TextIO | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        quiet: frozenset[str] = PER_CLAIM_EVENTS,
        node: str | None = None,
    ) -> None:
        """``node``: the node id every event carries (``"node"``; see README "Run a
        cluster")."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.node = node
        self.path = path
        self._closed = False
        #: Console lines that could not be written (the audit file is what counts).
        self.console_failures = 0
        self._sink = _ChainSink(ChainedFile(path, max_bytes=max_bytes))
        self._json = structlog.wrap_logger(
            self._sink,
            processors=[
                _drop_phi,
                _timestamp,
                structlog.processors.JSONRenderer(sort_keys=False),
            ],
        )
        self._quiet = quiet
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
        if self._closed:  # a late callback after shutdown: nothing to write to
            return
        # Never raises: a line that cannot be written waits (see _ChainSink); a step of the
        # pipeline must not fail because its audit line did.
        if self.node is not None:
            fields.setdefault("node", self.node)
        self._json.info(event, **fields)
        if self._console is not None and event not in self._quiet:
            try:
                self._console.info(event, **fields)
            except (OSError, ValueError):
                self.console_failures += 1
        for listener in self._listeners:
            try:
                listener(event, fields)
            except Exception:  # noqa: S110 - observers must not break the gateway
                pass

    @property
    def writable(self) -> bool:
        """False while audit lines wait for a write that failed (a full disk)."""
        return self._sink.pending == 0

    @property
    def write_failures(self) -> int:
        return self._sink.failures

    def flush(self) -> bool:
        """Retry the lines that wait; True when none is left."""
        return self._sink.flush()

    def close(self) -> None:
        self._sink.flush()
        self._closed = True
        self._sink.chained.close()


def console_stream() -> TextIO:
    """stderr through a dup'ed descriptor: under twistd, a logger bound to the original stdout
    loops into twistd's own redirect (see ARCHITECTURE.md)."""
    return os.fdopen(os.dup(sys.stderr.fileno()), "w", encoding="utf-8", buffering=1)


def read_all_events(path: Path) -> Iterable[Mapping[str, Any]]:
    """The events of the audit file and of its rotated predecessors, oldest first."""
    from gateway.audit.chain import chain_files

    for each in chain_files(path):
        yield from read_events(each)


def read_events(path: Path) -> Iterable[Mapping[str, Any]]:
    """Parse the audit file, skipping torn or foreign lines (without the chain's ``prev``)."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            event = _parse(line)
            if event is not None:
                yield {k: v for k, v in event.items() if k != "prev"}


def _parse(line: str) -> Mapping[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "event" in value else None
