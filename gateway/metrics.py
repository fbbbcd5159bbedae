"""Prometheus metrics, driven by the audit log.

:class:`GatewayMetrics` owns its own :class:`~prometheus_client.CollectorRegistry` (never the
process-global one, so two services in one test process do not collide) and is fed by
:meth:`gateway.audit.AuditLog.subscribe`: every number here comes from an audit event, so no
other module has to know that metrics exist. The HTTP edge adds its own request counters
(:meth:`http_request`).

Exposed at ``GET /metrics`` in the Prometheus text format.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Pipeline latency buckets (seconds): acks are expected within a second or two.
ELIGIBILITY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 20.0)
"""Real time: CORE allows 20 s; the gateway aims at tens of milliseconds."""
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

_TERMINAL = {"file.processed": "processed", "file.rejected": "rejected", "file.failed": "failed"}


def _int(value: object) -> int:
    try:
        return max(0, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def ack_result(event: str, fields: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, result) of an ``ack.<kind>.written`` / ``report.written`` event.

    999 and 277CA: ``accepted`` (every claim and set accepted), ``partial`` (some),
    ``rejected`` (none); TA1: ``accepted`` or ``rejected`` as the event says. An event without
    an ``accepted`` field is counted as ``unknown``: the metrics never guess a verdict.
    """
    if event == "report.written":
        return "REJECT", "rejected"
    kind = event.split(".")[1].upper()
    if "accepted" not in fields:
        return kind, "unknown"
    if not fields["accepted"]:
        return kind, "rejected"
    if kind not in ("999", "277CA"):
        return kind, "accepted"
    partial = _int(fields.get("sets_rejected")) > 0 or _int(fields.get("claims_accepted")) < _int(
        fields.get("claims_received")
    )
    return kind, "partial" if partial else "accepted"


class GatewayMetrics:
    """The gateway's metrics; call :meth:`observe` with every audit event."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.files_received = Counter(
            "gateway_files_received",
            "Files accepted into durable intake, by channel (sftp, http, as2)",
            ["channel"],
            registry=r,
        )
        self.files_completed = Counter(
            "gateway_files_completed",
            "Files that left the pipeline, by outcome (processed, rejected, failed)",
            ["outcome"],
            registry=r,
        )
        self.file_retries = Counter(
            "gateway_file_retries", "Pipeline steps retried after an error", registry=r
        )
        self.acks = Counter(
            "gateway_acks",
            "Acknowledgments written to mailboxes, by kind (TA1, 999, 277CA, REJECT) and result "
            "(accepted, partial, rejected)",
            ["kind", "result"],
            registry=r,
        )
        self.claims = Counter(
            "gateway_claims",
            "Claims (CLM) by stage and result: stage=guide from the 999s (implementation "
            "guide), stage=edits from the front-end edits (claim.accepted / claim.rejected)",
            ["stage", "result"],
            registry=r,
        )
        self.interchanges_rejected = Counter(
            "gateway_interchanges_duplicate",
            "Interchanges rejected as duplicates (TA1 025)",
            registry=r,
        )
        self.pickups = Counter(
            "gateway_mailbox_pickups",
            "Mailbox files picked up (SFTP delete or API DELETE), by kind",
            ["kind"],
            registry=r,
        )
        self._pending: dict[str, float | None] = {}
        self.backlog = Gauge(
            "gateway_pipeline_backlog",
            "Files received or being processed whose answers are not committed yet",
            registry=r,
        )
        self.backlog.set_function(lambda: len(self._pending))
        self.latency = Histogram(
            "gateway_pipeline_latency_seconds",
            "From file.received to file.processed/file.rejected (answers in the mailbox)",
            ["outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sftp_logins = Counter(
            "gateway_sftp_logins",
            "SFTP login attempts by result (ok, failed, locked)",
            ["result"],
            registry=r,
        )
        self.sftp_sessions_closed = Counter(
            "gateway_sftp_sessions_closed",
            "SFTP sessions ended (open sessions = logins{result=ok} - this)",
            registry=r,
        )
        self.as2_mdns = Counter(
            "gateway_as2_mdns",
            "AS2 MDNs sent, by disposition (processed, processed/error:..., failed/...)",
            ["disposition"],
            registry=r,
        )
        self.http_requests = Counter(
            "gateway_http_requests",
            "HTTP API requests answered, by route and status code",
            ["route", "code"],
            registry=r,
        )
        self.eligibility = Counter(
            "gateway_eligibility_requests",
            "Eligibility requests answered, by channel (api-json, api-x12, core-soap, core-mime, "
            "batch), payer ID and outcome (active, inactive, aaa:<code>, forwarded; rejected: "
            "a 270 failing the guide)",
            ["channel", "payer", "outcome"],
            registry=r,
        )
        self.eligibility_latency = Histogram(
            "gateway_eligibility_latency_seconds",
            "Real-time eligibility: request received to answer ready, by channel",
            ["channel"],
            buckets=ELIGIBILITY_BUCKETS,
            registry=r,
        )
        self.claim_status = Counter(
            "gateway_claim_status_requests",
            "Real-time claim status requests answered (one per claim asked about), by channel "
            "(api-json, api-x12), status category (F1, P3, A4...) and source (payer, "
            "clearinghouse)",
            ["channel", "outcome", "source"],
            registry=r,
        )
        self.claim_status_latency = Histogram(
            "gateway_claim_status_latency_seconds",
            "Real-time claim status: request received to answer ready, by channel",
            ["channel"],
            buckets=ELIGIBILITY_BUCKETS,
            registry=r,
        )
        self.core_errors = Counter(
            "gateway_core_errors",
            "CAQH CORE envelopes answered with an error, by channel and CORE ErrorCode "
            "(UnAuthorized, PayloadIDIllegal, ChecksumMismatch, ...)",
            ["channel", "error"],
            registry=r,
        )
        self.eligibility_forward_failures = Counter(
            "gateway_eligibility_forward_failures",
            "Real-time inquiries an external payer's CORE endpoint did not answer in time or "
            "usefully (answered AAA 42), by payer ID",
            ["payer"],
            registry=r,
        )
        self.rfai = Counter(
            "gateway_rfai_events",
            "Requests for more information and their attachments, by event (rfai.sent, "
            "attachment.received, attachment.forwarded, rfai.expired)",
            ["event"],
            registry=r,
        )
        self.attachment_bytes = Counter(
            "gateway_attachment_bytes",
            "Bytes of 275 attachments taken (matched to an open request)",
            registry=r,
        )
        self.audit_events = Counter(
            "gateway_audit_events", "Audit events emitted, by event name", ["event"], registry=r
        )

    # feeding ------------------------------------------------------------------------------
    def observe(self, event: str, fields: Mapping[str, Any]) -> None:
        """An :meth:`AuditLog.subscribe` listener."""
        self.audit_events.labels(event=event).inc()
        handler = self._handlers.get(event)
        if handler is None and event.startswith("ack.") and event.endswith(".written"):
            handler = GatewayMetrics._ack
        if handler is not None:
            handler(self, event, fields)

    def http_request(self, route: str, code: int) -> None:
        self.http_requests.labels(route=route, code=str(code)).inc()

    def _file_received(self, event: str, fields: Mapping[str, Any]) -> None:
        self.files_received.labels(channel=str(fields.get("channel") or "unknown")).inc()
        file_id = fields.get("file_id")
        if isinstance(file_id, str):
            self._pending[file_id] = self.clock()

    def _file_processing(self, event: str, fields: Mapping[str, Any]) -> None:
        # Files resumed after a restart were received by an earlier process: in the backlog,
        # but without a start time for the latency histogram.
        file_id = fields.get("file_id")
        if isinstance(file_id, str):
            self._pending.setdefault(file_id, None)

    def _file_done(self, event: str, fields: Mapping[str, Any]) -> None:
        outcome = _TERMINAL[event]
        self.files_completed.labels(outcome=outcome).inc()
        file_id = fields.get("file_id")
        started = self._pending.pop(file_id, None) if isinstance(file_id, str) else None
        if started is not None and outcome != "failed":
            self.latency.labels(outcome=outcome).observe(max(0.0, self.clock() - started))

    def _ack(self, event: str, fields: Mapping[str, Any]) -> None:
        kind, result = ack_result(event, fields)
        self.acks.labels(kind=kind, result=result).inc()
        if kind == "999":
            received = _int(fields.get("claims_received"))
            accepted = min(received, _int(fields.get("claims_accepted")))
            if accepted:
                self.claims.labels(stage="guide", result="accepted").inc(accepted)
            if received - accepted:
                self.claims.labels(stage="guide", result="rejected").inc(received - accepted)

    def _claim(self, event: str, fields: Mapping[str, Any]) -> None:
        self.claims.labels(stage="edits", result=event.split(".")[1]).inc()

    def _interchange_rejected(self, event: str, fields: Mapping[str, Any]) -> None:
        if "025" in str(fields.get("reason", "")):
            self.interchanges_rejected.inc()

    def _picked_up(self, event: str, fields: Mapping[str, Any]) -> None:
        self.pickups.labels(kind=str(fields.get("kind") or "unknown")).inc()

    def _login(self, event: str, fields: Mapping[str, Any]) -> None:
        result = event.rsplit(".", 1)[1]
        self.sftp_logins.labels(result=result).inc()

    def _session_closed(self, event: str, fields: Mapping[str, Any]) -> None:
        self.sftp_sessions_closed.inc()

    def _mdn(self, event: str, fields: Mapping[str, Any]) -> None:
        disposition = " ".join(str(fields.get("disposition") or "unknown").split()).lower()
        self.as2_mdns.labels(disposition=disposition[:100]).inc()

    def _retry(self, event: str, fields: Mapping[str, Any]) -> None:
        self.file_retries.inc()

    def _eligibility(self, event: str, fields: Mapping[str, Any]) -> None:
        channel = str(fields.get("channel") or "unknown")
        outcome = "rejected" if event == "eligibility.rejected" else str(fields.get("outcome"))
        # a payer ID nobody answers for is the caller's text: not a label value (cardinality)
        known = outcome not in ("aaa:79", "aaa:T4", "rejected")
        payer = str(fields.get("payer") or "-")[:20] if known else "unknown"
        self.eligibility.labels(channel=channel, payer=payer, outcome=outcome[:12]).inc()
        elapsed = fields.get("elapsed_ms")
        if isinstance(elapsed, int | float) and not isinstance(elapsed, bool):
            self.eligibility_latency.labels(channel=channel).observe(max(0.0, elapsed / 1000))

    def _claim_status(self, event: str, fields: Mapping[str, Any]) -> None:
        channel = str(fields.get("channel") or "unknown")
        outcome = str(fields.get("outcome") or "none")[:4]
        source = "clearinghouse" if fields.get("source") == "clearinghouse" else "payer"
        self.claim_status.labels(channel=channel, outcome=outcome, source=source).inc()
        elapsed = fields.get("elapsed_ms")
        if isinstance(elapsed, int | float) and not isinstance(elapsed, bool):
            self.claim_status_latency.labels(channel=channel).observe(max(0.0, elapsed / 1000))

    def _core_error(self, event: str, fields: Mapping[str, Any]) -> None:
        error = "UnAuthorized" if event == "core.auth.failed" else str(fields.get("error"))
        channel = str(fields.get("channel") or "unknown")
        self.core_errors.labels(channel=channel, error=error[:40]).inc()

    def _forward_failed(self, event: str, fields: Mapping[str, Any]) -> None:
        self.eligibility_forward_failures.labels(payer=str(fields.get("payer") or "-")[:20]).inc()

    def _rfai(self, event: str, fields: Mapping[str, Any]) -> None:
        self.rfai.labels(event=event).inc()
        if event == "attachment.received":
            self.attachment_bytes.inc(_int(fields.get("size")))

    _handlers: dict[str, Callable[[GatewayMetrics, str, Mapping[str, Any]], None]] = {
        "rfai.sent": _rfai,
        "rfai.expired": _rfai,
        "attachment.received": _rfai,
        "attachment.forwarded": _rfai,
        "file.received": _file_received,
        "file.processing": _file_processing,
        "file.processed": _file_done,
        "file.rejected": _file_done,
        "file.failed": _file_done,
        "file.retry": _retry,
        "file.picked_up": _picked_up,
        "ack.ta1.written": _ack,
        "ack.999.written": _ack,
        "report.written": _ack,
        "claim.accepted": _claim,
        "claim.rejected": _claim,
        "interchange.rejected": _interchange_rejected,
        "sftp.login.ok": _login,
        "sftp.login.failed": _login,
        "sftp.login.locked": _login,
        "sftp.session.closed": _session_closed,
        "as2.mdn.sent": _mdn,
        "eligibility.answered": _eligibility,
        "eligibility.rejected": _eligibility,
        "claim_status.answered": _claim_status,
        "core.rejected": _core_error,
        "core.auth.failed": _core_error,
        "eligibility.forward.failed": _forward_failed,
    }

    # exposition ---------------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(self.registry)
