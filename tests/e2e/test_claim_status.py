"""Claim status end to end over the real daemon: claims uploaded over SFTP, their status while
they wait for the payer (JSON and a raw 276 with curl), a payer cycle (``gateway payers
run-cycle``), then F1 with the trace number of the 835 in the mailbox for the paid claim and
P3 "waiting for information" for the pended one (raw 276, a CAQH CORE MIME envelope, a batch
276 file over SFTP → ``_277.x12``), still waiting after the next cycle (its request for a
progress note is open); ``gateway claim-status``
and ``gateway trace`` show the same."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from gateway.caqh.envelope import parse_mime_response
from tests.e2e.conftest import ROOT, Daemon, outbound, paramiko_client, private_key_copy, wait_for
from tests.e2e.test_core import META, sha1
from tests.e2e.test_http_api import DEMO_TOKEN, curl
from tests.pipeline.test_routing import _one_claim
from tests.x12.test_claim_status import validate_277
from tests.x12files import claim_status_276, segments

pytestmark = pytest.mark.e2e


def facts(data: bytes) -> dict[str, str]:
    segs = segments(data)
    member = next(s for s in segs if s[0] == "NM1" and s[1] == "IL")
    return {
        "clm01": next(s for s in segs if s[0] == "CLM")[1],
        "charge": next(s for s in segs if s[0] == "CLM")[2],
        "npi": next(s for s in segs if s[0] == "NM1" and s[1] == "85")[9],
        "member": member[9],
        "last": member[3],
        "date": next(s for s in segs if s[0] == "DTP" and s[1] == "472")[3],
    }


def ask_json(daemon: Daemon, claim: dict[str, str]) -> dict[str, object]:
    body = json.dumps({
        "tradingPartnerServiceId": "SIM01",
        "providers": [{"organizationName": "Demo Family Practice", "npi": claim["npi"]}],
        "subscriber": {"memberId": claim["member"], "lastName": claim["last"]},
        "encounter": {"beginningDateOfService": claim["date"]},
        "patientControlNumber": claim["clm01"],
    })  # fmt: skip
    status, _, answer = curl(daemon, "/api/v1/claim-status", "--data-binary", body,
                             "-H", "Content-Type: application/json")  # fmt: skip
    assert status == 200, answer
    (found,) = json.loads(answer)["claims"]
    return found  # type: ignore[no-any-return]


def category(answer: dict[str, object]) -> str:
    return answer["status"][0]["statusCategoryCode"]  # type: ignore[index,no-any-return]


def gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_status_pending_then_paid_with_the_835_trace(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(  # no cycle of its own during the test: run-cycle drives the payers
        f'[gateway]\npartners_dir = "{ROOT / "partners"}"\n[payers]\ncycle_seconds = 3600\n'
    )
    data_dir = tmp_path / "data"
    daemon = Daemon(data_dir, tmp_path, extra_args=["--config", str(config)])
    daemon.start()
    try:
        paid_claim = _one_claim(8901)
        pended_claim = _one_claim(8902, seed=2).replace(b"MBR000000001", b"MBR900000005")
        sftp = paramiko_client(daemon.sftp_port, private_key_copy("demo-billing", tmp_path))
        sftp.putfo(io.BytesIO(paid_claim), "/inbound/a.837")
        sftp.putfo(io.BytesIO(pended_claim), "/inbound/b.837")
        paid, pended = facts(paid_claim), facts(pended_claim)
        wait_for(lambda: category(ask_json(daemon, paid)) == "P1"
                 and category(ask_json(daemon, pended)) == "P1")  # fmt: skip

        raw = tmp_path / "status.276"
        raw.write_bytes(claim_status_276(
            "SIM01", paid["npi"],
            [(c["clm01"], c["charge"], c["member"], c["last"]) for c in (paid, pended)],
            control=8911, date=paid["date"],
        ))  # fmt: skip
        status, headers, answer = curl(daemon, "/api/v1/x12", "--data-binary", f"@{raw}")
        assert status == 200 and headers["content-type"] == "application/edi-x12", answer
        assert validate_277(answer) == [] and answer.count(b"STC*P1:20*") == 2

        cycle = gateway("payers", "run-cycle", "--config", str(config), "--data-dir",
                        str(data_dir))  # fmt: skip
        assert cycle.returncode == 0, cycle.stderr
        first = ask_json(daemon, paid)
        assert category(first) == "F1"
        (remit_name,) = wait_for(lambda: outbound(sftp, "_835.x12"))  # type: ignore[misc]
        buffer = io.BytesIO()
        sftp.getfo(f"/outbound/{remit_name}", buffer, max_concurrent_prefetch_requests=16)
        trn = next(s for s in segments(buffer.getvalue()) if s[0] == "TRN")
        assert first["payment"]["traceNumber"] == trn[2]  # type: ignore[index]
        waiting = ask_json(daemon, pended)
        assert [category(waiting), waiting["status"][0]["statusCode"]] == ["P3", "297"]  # type: ignore[index]
        assert waiting["requestedInformation"]["item"] == "progress note"  # type: ignore[index]
        assert waiting["message"].startswith("waiting for information: progress note, due ")  # type: ignore[index]

        status, _, answer = curl(daemon, "/api/v1/x12", "--data-binary", f"@{raw}")
        assert validate_277(answer) == []
        assert f"*{trn[2]}".encode() in answer and b"STC*P3:297*" in answer

        # the same 276 in a CAQH CORE MIME envelope (curl form fields)
        form = [f"{k}={v}" for k, v in META.items()]
        form += ["PayloadType=X12_276_Request_005010X212", f"PayloadID={uuid.uuid4()}",
                 "UserName=demo-billing", f"Password={DEMO_TOKEN}",
                 f"Checksum={sha1(raw.read_bytes())}", f"Payload=<{raw}"]  # fmt: skip
        command = ["curl", "-sS", "-i", "--max-time", "60"]
        for item in form:
            command += ["-F", item]
        url = f"http://127.0.0.1:{daemon.ports['http']}/core"
        out = subprocess.run([*command, url], capture_output=True, timeout=90, check=True).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        content_type = next(line.split(b":", 1)[1].strip().decode()
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-type:"))  # fmt: skip
        fields = parse_mime_response(content_type, body)
        assert fields["ErrorCode"] == b"Success", fields
        assert fields["PayloadType"] == b"X12_277_Response_005010X212"
        assert validate_277(fields["Payload"]) == [] and f"*{trn[2]}".encode() in fields["Payload"]

        # and as a batch file over SFTP: the 999, then _277.x12
        batch = claim_status_276(
            "SIM01", paid["npi"], [(paid["clm01"], paid["charge"], paid["member"], paid["last"])],
            control=8912, date=paid["date"],
        )  # fmt: skip
        sftp.putfo(io.BytesIO(batch), "/inbound/status.276")
        (batch_name,) = wait_for(lambda: outbound(sftp, "_277.x12"))  # type: ignore[misc]
        buffer = io.BytesIO()
        sftp.getfo(f"/outbound/{batch_name}", buffer, max_concurrent_prefetch_requests=16)
        assert validate_277(buffer.getvalue()) == [] and b"STC*F1:65*" in buffer.getvalue()

        trace = gateway("trace", pended["clm01"], "--data-dir", str(data_dir))
        assert "waiting for information" in trace.stdout and "status asked" in trace.stdout
        by_trn = gateway("trace", "TRK2", "--data-dir", str(data_dir))  # the 276's TRN02
        assert "TRN02" in by_trn.stdout and "claim_status.answered" in by_trn.stdout
        again = gateway("payers", "run-cycle", "--config", str(config), "--data-dir",
                        str(data_dir))  # fmt: skip
        assert again.returncode == 0, again.stderr
        # still waiting: its request for a progress note is open (tests/e2e/test_rfai.py
        # answers one with a 275)
        assert category(ask_json(daemon, pended)) == "P3"
        table = gateway("claim-status", "--partner", "demo-billing", "--payer", "SIM01",
                        "--npi", pended["npi"], "--member", pended["member"],
                        "--last-name", pended["last"], "--claim", pended["clm01"],
                        "--data-dir", str(data_dir))  # fmt: skip
        assert table.returncode == 0 and "P3:297" in table.stdout, table.stderr
        events = [e for e in daemon.audit_events() if e["event"] == "claim_status.answered"]
        assert {e["channel"] for e in events} >= {"api-json", "api-x12", "core-mime", "batch"}
        logged = json.dumps(events)
        assert paid["clm01"] not in logged and paid["member"] not in logged
        sftp.close()
    finally:
        assert daemon.stop() == 0, daemon.output()


def test_core_batch_276_and_its_277_results(daemon: Daemon) -> None:
    """CORE BatchSubmitTransaction of a 276 (stored as a file: 999, then ``_277.x12``) and
    BatchResultsRetrievalTransaction ``X12_005010_Request_Batch_Results_277``."""
    import base64

    import zeep
    from zeep.wsse.username import UsernameToken

    url = f"http://127.0.0.1:{daemon.ports['http']}/core"
    client = zeep.Client(f"{url}?wsdl", wsse=UsernameToken("demo-billing", DEMO_TOKEN))
    data = claim_status_276("SIM01", "1234567893", [("NOSUCH1", "10.00", "MBR1", "DOE")],
                            control=8921)  # fmt: skip
    batch = {**META, "ProcessingMode": "Batch"}
    receipt = client.service.BatchSubmitTransaction(
        PayloadType="X12_276_Request_005010X212", PayloadID=str(uuid.uuid4()),
        PayloadLength=len(data), CheckSum=sha1(data), Payload=data, **batch,
    )  # fmt: skip
    assert receipt.ErrorCode == "Success", receipt.ErrorMessage

    def results() -> object:
        answer = client.service.BatchResultsRetrievalTransaction(
            PayloadType="X12_005010_Request_Batch_Results_277", PayloadID=str(uuid.uuid4()),
            **batch,
        )  # fmt: skip
        return answer if answer.Payload else None

    answer = wait_for(results, timeout=60, interval=0.5)
    assert answer.PayloadType == "X12_277_Response_005010X212"  # type: ignore[attr-defined]
    content = answer.Payload  # type: ignore[attr-defined]
    if isinstance(content, str):
        content = base64.b64decode(content)
    assert validate_277(content) == [] and b"TRN*2*TRK1~STC*A4:35*" in content
