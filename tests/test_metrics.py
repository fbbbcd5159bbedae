"""Metrics from audit events: each family, the backlog and latency, and the text format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gateway.audit import AuditLog
from gateway.metrics import GatewayMetrics, ack_result


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, tuple(sorted(labels.items()))), 0.0)


def ack999(**fields: Any) -> dict[str, Any]:
    base = {"accepted": True, "claims_received": 3, "claims_accepted": 3, "sets_rejected": 0}
    return {**base, **fields}


def test_ack_results() -> None:
    assert ack_result("ack.ta1.written", {"accepted": True}) == ("TA1", "accepted")
    assert ack_result("ack.ta1.written", {"accepted": False}) == ("TA1", "rejected")
    assert ack_result("report.written", {}) == ("REJECT", "rejected")
    assert ack_result("ack.999.written", ack999()) == ("999", "accepted")
    assert ack_result("ack.999.written", ack999(claims_accepted=1)) == ("999", "partial")
    assert ack_result("ack.999.written", ack999(sets_rejected=1)) == ("999", "partial")
    assert ack_result("ack.999.written", ack999(accepted=False)) == ("999", "rejected")


def test_pipeline_counters_backlog_and_latency() -> None:
    clock = Clock()
    m = GatewayMetrics(clock=clock)
    m.observe("file.received", {"file_id": "A", "channel": "sftp"})
    m.observe("file.received", {"file_id": "B", "channel": "http"})
    m.observe("file.received", {"file_id": "C", "channel": "http"})
    m.observe("file.processing", {"file_id": "R"})  # resumed after a restart
    assert value(m, "gateway_pipeline_backlog") == 4
    assert value(m, "gateway_files_received_total", channel="http") == 2

    clock.now += 0.3
    m.observe("ack.999.written", ack999(claims_received=5, claims_accepted=4))
    m.observe("file.processed", {"file_id": "A"})
    clock.now += 2.0
    m.observe("ack.ta1.written", {"accepted": False})
    m.observe("file.rejected", {"file_id": "B"})
    m.observe("file.retry", {"file_id": "C"})
    m.observe("file.failed", {"file_id": "C"})
    m.observe("file.processed", {"file_id": "R"})
    assert value(m, "gateway_pipeline_backlog") == 0

    assert value(m, "gateway_acks_total", kind="999", result="partial") == 1
    assert value(m, "gateway_acks_total", kind="TA1", result="rejected") == 1
    assert value(m, "gateway_claims_total", stage="guide", result="accepted") == 4
    assert value(m, "gateway_claims_total", stage="guide", result="rejected") == 1
    m.observe("ack.277ca.written", {"accepted": True})
    m.observe("claim.accepted", {"claim": 1})
    m.observe("claim.accepted", {"claim": 2})
    m.observe("claim.rejected", {"claim": 3})
    assert value(m, "gateway_acks_total", kind="277CA", result="accepted") == 1
    assert value(m, "gateway_claims_total", stage="edits", result="accepted") == 2
    assert value(m, "gateway_claims_total", stage="edits", result="rejected") == 1
    assert value(m, "gateway_files_completed_total", outcome="processed") == 2
    assert value(m, "gateway_files_completed_total", outcome="failed") == 1
    assert value(m, "gateway_file_retries_total") == 1
    # latency: A took 0.3 s, B 2.3 s; R (no start time) and C (failed) are not observed
    assert value(m, "gateway_pipeline_latency_seconds_count", outcome="processed") == 1
    assert value(m, "gateway_pipeline_latency_seconds_sum", outcome="processed") == pytest.approx(
        0.3
    )
    assert value(m, "gateway_pipeline_latency_seconds_bucket", outcome="processed", le="0.5") == 1
    assert value(m, "gateway_pipeline_latency_seconds_bucket", outcome="rejected", le="2.5") == 1
    assert value(m, "gateway_pipeline_latency_seconds_bucket", outcome="rejected", le="1.0") == 0


def test_sftp_mailbox_duplicates_and_as2() -> None:
    m = GatewayMetrics()
    for event in ("sftp.login.ok", "sftp.login.ok", "sftp.login.failed", "sftp.login.locked"):
        m.observe(event, {"username": "u"})
    m.observe("sftp.session.closed", {})
    m.observe("file.picked_up", {"kind": "999"})
    m.observe("interchange.rejected", {"reason": "duplicate (025)"})
    m.observe("as2.mdn.sent", {"disposition": "processed"})
    m.observe("as2.mdn.sent", {"disposition": "processed/Error: decryption-failed"})
    m.observe("as2.mdn.sent", {})
    assert value(m, "gateway_sftp_logins_total", result="ok") == 2
    assert value(m, "gateway_sftp_logins_total", result="failed") == 1
    assert value(m, "gateway_sftp_logins_total", result="locked") == 1
    assert value(m, "gateway_sftp_sessions_closed_total") == 1
    assert value(m, "gateway_mailbox_pickups_total", kind="999") == 1
    assert value(m, "gateway_interchanges_duplicate_total") == 1
    assert value(m, "gateway_as2_mdns_total", disposition="processed") == 1
    error = "processed/error: decryption-failed"
    assert value(m, "gateway_as2_mdns_total", disposition=error) == 1
    assert value(m, "gateway_as2_mdns_total", disposition="unknown") == 1
    assert value(m, "gateway_audit_events_total", event="sftp.login.ok") == 2


def test_malformed_fields_do_not_raise() -> None:
    m = GatewayMetrics()
    m.observe(
        "ack.999.written", {"accepted": True, "claims_received": "x", "claims_accepted": None}
    )
    m.observe("file.processed", {})
    m.observe("file.received", {})
    m.observe("made.up.event", {"anything": object()})
    assert value(m, "gateway_acks_total", kind="999", result="accepted") == 1
    assert value(m, "gateway_files_received_total", channel="unknown") == 1


def test_driven_by_the_audit_log_with_an_own_registry(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    m = GatewayMetrics()
    audit.subscribe(m.observe)
    audit("file.received", file_id="A", partner="p", channel="sftp")
    audit.close()
    assert value(m, "gateway_files_received_total", channel="sftp") == 1
    # two instances do not collide, and the process-global registry stays untouched
    other = GatewayMetrics()
    assert value(other, "gateway_files_received_total", channel="sftp") == 0
    assert REGISTRY.get_sample_value("gateway_files_received_total", {"channel": "sftp"}) is None


def test_every_family_is_in_the_exposition() -> None:
    names = {f.name for f in text_string_to_metric_families(GatewayMetrics().render().decode())}
    assert {
        "gateway_files_received",
        "gateway_acks",
        "gateway_claims",
        "gateway_pipeline_backlog",
        "gateway_pipeline_latency_seconds",
        "gateway_sftp_logins",
        "gateway_sftp_sessions_closed",
        "gateway_as2_mdns",
        "gateway_http_requests",
    } <= names


def test_277ca_results_and_no_guessing() -> None:
    def ca(received: int, accepted: int) -> dict[str, Any]:
        return {
            "accepted": accepted > 0,
            "claims_received": received,
            "claims_accepted": accepted,
            "claims_rejected": received - accepted,
        }

    assert ack_result("ack.277ca.written", ca(3, 3)) == ("277CA", "accepted")
    assert ack_result("ack.277ca.written", ca(3, 1)) == ("277CA", "partial")
    assert ack_result("ack.277ca.written", ca(3, 0)) == ("277CA", "rejected")
    # an event that does not say is not counted as a rejection
    assert ack_result("ack.277ca.written", {"claims": 2}) == ("277CA", "unknown")


def test_a_payer_277ca_that_accepts_every_claim_counts_as_accepted(tmp_path: Path) -> None:
    """The payer cycle's own ``ack.277ca.written`` events, through the metrics."""
    from gateway.pipeline.core import report_cycles
    from gateway.pipeline.routing import route_file
    from tests.pipeline.test_routing import NOW, Env, batch

    env = Env(tmp_path)
    try:
        record = env.upload(batch(4, 611))
        route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
        outcome = env.cycle("sim01")
    finally:
        env.store.close()
    events: list[tuple[str, dict[str, Any]]] = []
    report_cycles(lambda event, **fields: events.append((event, fields)), [outcome])  # type: ignore[arg-type]
    (written,) = [f for e, f in events if e == "ack.277ca.written"]
    assert written["accepted"] is True and written["claims_rejected"] == 0
    m = GatewayMetrics()
    for event, fields in events:
        m.observe(event, fields)
    assert value(m, "gateway_acks_total", kind="277CA", result="accepted") == 1
    assert value(m, "gateway_acks_total", kind="277CA", result="rejected") == 0


def test_requests_for_information_and_attachment_bytes() -> None:
    metrics = GatewayMetrics()
    metrics.observe("rfai.sent", {"request_id": "RFAI00000001"})
    metrics.observe("attachment.received", {"request_id": "RFAI00000001", "size": 1500})
    metrics.observe("attachment.received", {"request_id": "RFAI00000002", "size": 500})
    metrics.observe("rfai.expired", {"request_id": "RFAI00000003"})
    assert value(metrics, "gateway_rfai_events_total", event="rfai.sent") == 1
    assert value(metrics, "gateway_rfai_events_total", event="attachment.received") == 2
    assert value(metrics, "gateway_rfai_events_total", event="rfai.expired") == 1
    assert value(metrics, "gateway_attachment_bytes_total") == 2000
