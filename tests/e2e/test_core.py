"""CAQH CORE end to end against the real daemon: zeep (SOAP 1.2 + WS-Security) and curl (SOAP
and MIME) real-time 270 → 271, a CORE batch submission whose 271 is retrieved, and a batch
270 over SFTP that comes back as ``_271.x12``."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import zeep
from zeep.wsse.username import UsernameToken

from gateway.caqh.envelope import parse_mime_response
from tests.e2e.conftest import GATEWAY, ROOT, Daemon, openssh_sftp, paramiko_client, wait_for
from tests.e2e.test_http_api import DEMO_TOKEN
from tests.payers.test_eligibility import validate_271
from tests.pipeline.test_inquiries import file_270, one_set

pytestmark = pytest.mark.e2e

META = {
    "ProcessingMode": "RealTime",
    "TimeStamp": "2026-06-01T10:20:34Z",
    "SenderID": "demo-billing",
    "ReceiverID": "CLEARINGHOUSE",
    "CORERuleVersion": "2.2.0",
}
PHI = ("MBR123456780", "MBR123456785", "SMITH", "ROBERT", "19430519")


def a_270(control: int, trn: str = "E2E-TRN-1") -> bytes:
    return file_270(one_set("0001", trn, "MBR123456780"), control=control)


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324 - CORE's checksum


def test_zeep_and_curl_real_time(daemon: Daemon, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{daemon.ports['http']}/core"
    client = zeep.Client(f"{url}?wsdl", wsse=UsernameToken("demo-billing", DEMO_TOKEN))
    soap_id = str(uuid.uuid4())
    answer = client.service.RealTimeTransaction(
        PayloadType="X12_270_Request_005010X279A1", PayloadID=soap_id,
        Payload=a_270(990001).decode(), **META,
    )  # fmt: skip
    assert answer.ErrorCode == "Success", answer.ErrorMessage
    assert answer.PayloadType == "X12_271_Response_005010X279A1"
    assert validate_271(answer.Payload.encode()) == []

    # curl, SOAP: the envelope written by hand
    soap = tmp_path / "request.xml"
    soap.write_text(
        '<?xml version="1.0"?>\n'
        '<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:cor="http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd">'
        '<soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>'
        "<wsse:Username>demo-billing</wsse:Username>"
        '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-'
        f'username-token-profile-1.0#PasswordText">{DEMO_TOKEN}</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body>"
        "<cor:COREEnvelopeRealTimeRequest>"
        "<PayloadType>X12_270_Request_005010X279A1</PayloadType>"
        "<ProcessingMode>RealTime</ProcessingMode>"
        f"<PayloadID>{uuid.uuid4()}</PayloadID><TimeStamp>2026-06-01T10:20:34Z</TimeStamp>"
        "<SenderID>demo-billing</SenderID><ReceiverID>SIM01</ReceiverID>"
        "<CORERuleVersion>2.2.0</CORERuleVersion>"
        f"<Payload>{a_270(990002).decode()}</Payload>"
        "</cor:COREEnvelopeRealTimeRequest></soapenv:Body></soapenv:Envelope>"
    )
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "60", "-H", "Content-Type: application/soap+xml",
         "--data-binary", f"@{soap}", url],
        capture_output=True, timeout=90, check=True,
    ).stdout  # fmt: skip
    assert b"<ErrorCode>Success</ErrorCode>" in out and b"ST*271*" in out

    # curl, MIME form fields
    payload = tmp_path / "check.270"
    payload.write_bytes(a_270(990003))
    mime_id = str(uuid.uuid4())
    form = [f"{k}={v}" for k, v in META.items()]
    form += [
        "PayloadType=X12_270_Request_005010X279A1", f"PayloadID={mime_id}",
        "UserName=demo-billing", f"Password={DEMO_TOKEN}",
        f"Checksum={sha1(payload.read_bytes())}", f"Payload=<{payload}",
    ]  # fmt: skip
    base = ["curl", "-sS", "-i", "--max-time", "60"]
    command = [*base]
    for item in form:
        command += ["-F", item]
    raw = subprocess.run([*command, url], capture_output=True, timeout=90, check=True).stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    content_type = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n") if line.lower().startswith(b"content-type:")
    )  # fmt: skip
    fields = parse_mime_response(content_type, body)
    assert fields["ErrorCode"] == b"Success", fields
    assert fields["PayloadID"] == mime_id.encode()
    assert validate_271(fields["Payload"]) == []

    # a bad checksum over curl MIME
    bad = [*base]
    for item in form:
        bad += ["-F", "Checksum=" + "0" * 40 if item.startswith("Checksum=") else item]
    raw = subprocess.run([*bad, url], capture_output=True, timeout=90, check=True).stdout
    assert b"ChecksumMismatch" in raw

    def answered() -> object:
        found = [e for e in daemon.audit_events() if e["event"] == "eligibility.answered"]
        return found if len(found) == 3 else None

    events = wait_for(answered)
    assert [e["channel"] for e in events] == ["core-soap", "core-soap", "core-mime"]  # type: ignore[index]
    assert events[0]["payload_id"] == soap_id  # type: ignore[index]
    text = json.dumps(daemon.audit_events())
    for value in PHI:
        assert value not in text
    found = trace(daemon, soap_id)
    assert "CORE PayloadID" in found and "eligibility.answered" in found
    assert "channel=core-soap" in found and "outcome=active" in found


def trace(daemon: Daemon, query: str) -> str:
    result = subprocess.run(
        [*GATEWAY, "trace", query, "--data-dir", str(daemon.data_dir)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_core_batch_submission_and_results(daemon: Daemon) -> None:
    url = f"http://127.0.0.1:{daemon.ports['http']}/core"
    client = zeep.Client(f"{url}?wsdl", wsse=UsernameToken("demo-billing", DEMO_TOKEN))
    data = a_270(990011, trn="E2E-BATCH-1")
    batch = {**META, "ProcessingMode": "Batch"}
    receipt = client.service.BatchSubmitTransaction(
        PayloadType="X12_270_Request_005010X279A1", PayloadID=str(uuid.uuid4()),
        PayloadLength=len(data), CheckSum=sha1(data), Payload=data, **batch,
    )  # fmt: skip
    assert receipt.ErrorCode == "Success", receipt.ErrorMessage
    assert receipt.PayloadType == "X12_BatchReceiptConfirmation"

    def results() -> object:
        answer = client.service.BatchResultsRetrievalTransaction(
            PayloadType="X12_005010_Request_Batch_Results_271", PayloadID=str(uuid.uuid4()),
            **batch,
        )  # fmt: skip
        return answer if answer.Payload else None

    answer = wait_for(results, timeout=60, interval=0.5)
    content = answer.Payload  # type: ignore[attr-defined]
    if isinstance(content, str):
        content = base64.b64decode(content)
    assert validate_271(content) == [] and b"TRN*2*E2E-BATCH-1*" in content


def test_batch_270_over_sftp_comes_back_as_a_271(daemon: Daemon, demo_key: Path) -> None:
    upload = demo_key.parent / "eligibility.270"
    sets = (one_set("0001", "E2E-SFTP-1", "MBR123456780"),
            one_set("0002", "E2E-SFTP-2", "MBR123456785"))  # fmt: skip
    upload.write_bytes(file_270(*sets, control=990021))
    result = openssh_sftp(daemon.sftp_port, demo_key, f"put {upload} /inbound/\n")
    assert result.returncode == 0, result.stderr
    sftp = paramiko_client(daemon.sftp_port, demo_key)
    try:
        names = wait_for(lambda: [n for n in sftp.listdir("/outbound") if n.endswith("_271.x12")])
        assert any(n.endswith("_999.x12") for n in sftp.listdir("/outbound"))
        with sftp.open(f"/outbound/{names[0]}") as handle:  # type: ignore[index]
            content = handle.read()
    finally:
        sftp.close()
    assert validate_271(content) == []
    assert content.count(b"ST*271*") == 2
    assert b"TRN*2*E2E-SFTP-1*" in content and b"TRN*2*E2E-SFTP-2*" in content
    found = wait_for(lambda: "inquiry.answers.written" in trace(daemon, "E2E-SFTP-2")
                     and trace(daemon, "E2E-SFTP-2"))  # fmt: skip
    assert "TRN02" in found and "channel=batch" in found and "_271.x12" in found  # type: ignore[operator]
