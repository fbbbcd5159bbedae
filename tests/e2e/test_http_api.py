"""The HTTP API end to end: the real daemon, ``curl`` with the demo tokens from the README."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Daemon, wait_for
from tests.x12files import corpus_file, readdress

pytestmark = pytest.mark.e2e

DEMO_TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"
EXT01_TOKEN = "ext01-1.K8_X0YZo_mIXR6Pa2l7BGhcMuQBTD5p_iOHW6jxrngk"


def curl(
    daemon: Daemon, path: str, *args: str, token: str | None = DEMO_TOKEN
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one curl request."""
    command = ["curl", "-sS", "-i", "--max-time", "60", *args]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    command.append(f"http://127.0.0.1:{daemon.ports['http']}{path}")
    result = subprocess.run(command, capture_output=True, timeout=90)
    assert result.returncode == 0, result.stderr.decode()
    raw = result.stdout
    while raw.startswith(b"HTTP/1.1 100"):
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, val = line.partition(":")
        headers[key.strip().lower()] = val.strip()
    return status, headers, body


def as_json(body: bytes) -> Any:
    return json.loads(body)


def test_submit_poll_download_pick_up_with_curl(daemon: Daemon, tmp_path: Path) -> None:
    batch = tmp_path / "claims.837"
    batch.write_bytes(readdress(corpus_file("837p/uhin-837.edi"), control=880001))
    status, headers, body = curl(
        daemon,
        "/api/v1/files?filename=claims.837",
        "--data-binary",
        f"@{batch}",
        "-H",
        "Content-Type: application/edi-x12",
    )
    assert status == 202, body
    file_id = as_json(body)["file_id"]
    assert headers["location"] == f"/api/v1/files/{file_id}"

    def processed() -> Any:
        code, _, answer = curl(daemon, f"/api/v1/files/{file_id}")
        assert code == 200
        doc = as_json(answer)
        # the 999 goes first, while the file is still received; its 277CA ends that
        return doc if doc["acknowledgments"] and doc["state"] != "received" else None

    doc = wait_for(processed)
    assert isinstance(doc, dict)
    assert doc["state"] in ("processed", "rejected") and doc["channel"] == "http"  # edits
    # the 999 (and, with front-end edits, a 277CA), each a file in the mailbox
    (ack,) = [a for a in doc["acknowledgments"] if a["kind"] == "999"]
    assert ack["accepted"] is True
    name = ack["mailbox_name"]
    names = {a["mailbox_name"] for a in doc["acknowledgments"]}

    status, _, body = curl(daemon, "/api/v1/mailbox")
    assert status == 200 and {f["name"] for f in as_json(body)["files"]} == names

    status, headers, content = curl(daemon, f"/api/v1/mailbox/{name}")
    assert status == 200 and content.startswith(b"ISA*") and b"IK5*A" in content
    assert int(headers["content-length"]) == len(content)
    assert b"AK9*A*1*1*1" in content

    for each in sorted(names):
        status, _, body = curl(daemon, f"/api/v1/mailbox/{each}", "-X", "DELETE")
        assert (status, body) == (204, b"")
    status, _, body = curl(daemon, f"/api/v1/mailbox/{name}", "-X", "DELETE")
    assert status == 404 and as_json(body)["error"] == "not_found"
    assert as_json(curl(daemon, "/api/v1/mailbox")[2])["files"] == []

    # the payer sees only its own (empty) mailbox, and not the submitter's file
    status, _, body = curl(daemon, "/api/v1/mailbox", token=EXT01_TOKEN)
    assert status == 200 and as_json(body) == {"partner": "ext01", "files": []}
    assert curl(daemon, f"/api/v1/files/{file_id}", token=EXT01_TOKEN)[0] == 404

    events = daemon.audit_events()
    received = [e for e in events if e["event"] == "file.received"]
    assert [e["channel"] for e in received] == ["http"]
    assert any(e["event"] == "file.picked_up" for e in events)
    assert all(DEMO_TOKEN not in json.dumps(e) for e in events)

    status, headers, body = curl(daemon, "/metrics", token=None)
    assert status == 200 and headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert samples[("gateway_files_received_total", (("channel", "http"),))] == 1
    assert samples[("gateway_acks_total", (("kind", "999"), ("result", "accepted")))] == 1
    assert samples[("gateway_claims_total", (("result", "accepted"), ("stage", "guide")))] >= 1
    assert samples[("gateway_pipeline_latency_seconds_count", (("outcome", "processed"),))] == 1
    assert samples[("gateway_pipeline_backlog", ())] == 0


def test_bad_token_and_oversized_body_store_nothing(daemon: Daemon, tmp_path: Path) -> None:
    batch = tmp_path / "claims.837"
    batch.write_bytes(readdress(corpus_file("837p/uhin-837.edi"), control=880002))
    wrong = DEMO_TOKEN[:-3] + "abc"
    status, headers, body = curl(daemon, "/api/v1/files", "--data-binary", f"@{batch}", token=wrong)
    assert status == 401 and as_json(body)["error"] == "unauthorized"
    assert headers["www-authenticate"].startswith("Bearer ")
    assert curl(daemon, "/api/v1/mailbox", token=None)[0] == 401

    big = tmp_path / "big.837"
    with open(big, "wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)  # one byte over the default limit
    status, headers, body = curl(daemon, "/api/v1/files", "--data-binary", f"@{big}")
    assert status == 413 and as_json(body)["error"] == "payload_too_large"
    status, _, body = curl(
        daemon,
        "/api/v1/files",
        "--data-binary",
        f"@{big}",
        "-H",
        "Transfer-Encoding: chunked",
    )
    assert status == 413

    assert not [e for e in daemon.audit_events() if e["event"] == "file.received"]
    spool = daemon.data_dir / "staging" / "_http"
    assert not spool.exists() or list(spool.iterdir()) == []
    blobs = [p for p in (daemon.data_dir / "blobs").rglob("*") if p.is_file()]
    assert blobs == []

    status, _, body = curl(daemon, "/readyz", token=None)
    assert status == 200 and as_json(body)["ready"] is True
    assert curl(daemon, "/healthz", token=None)[0] == 200
    status, _, body = curl(daemon, "/api/v1/openapi.json", token=None)
    assert status == 200 and as_json(body)["openapi"].startswith("3.")


def test_real_time_eligibility_with_curl(daemon: Daemon, tmp_path: Path) -> None:
    """JSON and raw X12 eligibility against the real daemon; the audit has no PHI."""
    request = {
        "tradingPartnerServiceId": "SIM01",
        "provider": {"npi": "1234567893", "organizationName": "Demo Family Practice"},
        "subscriber": {"memberId": "MBR900000006", "firstName": "Frank",
                       "lastName": "Nearmax", "dateOfBirth": "19750917"},
        "encounter": {"serviceTypeCodes": ["30", "PT"], "dateOfService": "20260301"},
    }  # fmt: skip
    status, headers, body = curl(
        daemon,
        "/api/v1/eligibility?include=x12",
        "--data-binary",
        json.dumps(request),
        "-H",
        "Content-Type: application/json",
    )
    assert status == 200, body
    answer = as_json(body)
    assert answer["coverageStatus"] == "active"
    generic = next(s for s in answer["serviceTypes"] if s["code"] == "30")
    assert generic["outOfPocketRemaining"] == "10.00"  # 2990.00 of 3000.00 met (roster)
    assert "ST*271*" in answer["x12"] and "EB*G*IND*30***29*10*****Y~" in answer["x12"]

    x12 = tmp_path / "check.270"
    data = corpus_file("270-271/subscriber-health-benefit-check.270")
    data = data.replace(b"842610001", b"SIM01").replace(b"11122333301", b"MBR123456785")
    x12.write_bytes(readdress(data, control=880501))
    status, headers, body = curl(daemon, "/api/v1/x12", "--data-binary", f"@{x12}")
    assert status == 200, body
    assert headers["content-type"] == "application/edi-x12"
    assert b"ST*271*" in body and b"TRN*2*93175-012547*9877281234~" in body

    status, _, body = curl(daemon, "/api/v1/eligibility", "--data-binary", "{}")
    assert status == 400 and as_json(body)["message"].startswith("tradingPartnerServiceId")

    def answered() -> Any:
        found = [e for e in daemon.audit_events() if e["event"] == "eligibility.answered"]
        return found if len(found) == 2 else None

    events = wait_for(answered)
    assert [e["channel"] for e in events] == ["api-json", "api-x12"]
    assert events[1]["isa13"] == "000880501" and events[1]["trn02"] == "93175-012547"
    text = json.dumps(daemon.audit_events())
    for phi in ("MBR900000006", "FRANK", "NEARMAX", "19750917", "MBR123456785"):
        assert phi not in text
