"""AS2 end to end with an independent client: ``openssl cms -sign/-encrypt`` and ``curl`` with
the demo certificates post a signed and encrypted 837 to the real daemon's ``/as2``; the signed
MDN verifies with ``openssl cms -verify`` and carries the MIC computed here (hashlib over the
signed part); the 999 then shows up through the API."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import Daemon, wait_for
from tests.x12files import corpus_file, readdress

pytestmark = pytest.mark.e2e

AS2 = Path(__file__).resolve().parents[2] / "config" / "demo" / "as2"
DEMO_TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"


def run(*command: str, cwd: Path) -> bytes:
    result = subprocess.run(command, cwd=cwd, capture_output=True, timeout=60)
    assert result.returncode == 0, (command, result.stderr.decode(errors="replace"))
    return result.stdout


def signed_and_encrypted(work: Path, claims: bytes) -> tuple[Path, str]:
    """openssl builds the message; returns the body file and the MIC of the signed part."""
    (work / "entity").write_bytes(
        b"Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n\r\n" + claims
    )
    signed = run(
        "openssl", "cms", "-sign", "-binary", "-md", "sha256",
        "-signer", str(AS2 / "demo-billing.crt"), "-inkey", str(AS2 / "demo-billing.key"),
        "-in", "entity", cwd=work,
    )  # fmt: skip
    (work / "signed.smime").write_bytes(signed)
    run(
        "openssl", "cms", "-encrypt", "-binary", "-aes256",
        "-recip", str(AS2 / "clearinghouse.crt"),
        "-in", "signed.smime", "-outform", "DER", "-out", "body.p7m", cwd=work,
    )  # fmt: skip
    # the MIC: sha-256 over the signed part, which (with -binary) is the entity as written; it
    # must also be the first part of openssl's multipart/signed, byte for byte
    entity = (work / "entity").read_bytes()
    boundary = re.search(rb'boundary="([^"]+)"', signed)
    assert boundary
    start = signed.index(b"\n", signed.index(b"--" + boundary.group(1))) + 1
    assert signed[start : start + len(entity)] == entity
    mic = base64.b64encode(hashlib.sha256(entity).digest()).decode()
    return work / "body.p7m", mic


def curl_as2(daemon: Daemon, work: Path, body: Path, message_id: str) -> tuple[str, bytes]:
    raw = run(
        "curl", "-sS", "-i", "--max-time", "60", "--data-binary", f"@{body}",
        "-H", "AS2-Version: 1.2", "-H", "AS2-From: DEMOBILLING", "-H", "AS2-To: CLEARINGHOUSE",
        "-H", f"Message-ID: <{message_id}>",
        "-H", "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
        "-H", "Disposition-Notification-To: edi@demo-billing.example",
        "-H", "Disposition-Notification-Options: signed-receipt-protocol=optional, "
        "pkcs7-signature; signed-receipt-micalg=optional, sha-256",
        f"http://127.0.0.1:{daemon.ports['http']}/as2", cwd=work,
    )  # fmt: skip
    head, _, mdn = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    content_type = re.search(rb"(?im)^content-type: (.*)\r?$", head)
    assert content_type
    return content_type.group(1).decode(), mdn


def verify(work: Path, content_type: str, mdn: bytes) -> str:
    """openssl cms -verify against the gateway's demo certificate; the verified report."""
    (work / "mdn.smime").write_bytes(
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n".encode() + mdn
    )
    run(
        "openssl", "cms", "-verify", "-in", "mdn.smime",
        "-CAfile", str(AS2 / "clearinghouse.crt"), "-out", "report.txt", cwd=work,
    )  # fmt: skip
    return (work / "report.txt").read_text()


def api(daemon: Daemon, path: str) -> dict[str, object]:
    out = subprocess.run(
        ["curl", "-sS", "-H", f"Authorization: Bearer {DEMO_TOKEN}",
         f"http://127.0.0.1:{daemon.ports['http']}{path}"],
        capture_output=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)  # type: ignore[no-any-return]


def test_openssl_and_curl_as2_client(daemon: Daemon, tmp_path: Path) -> None:
    claims = readdress(corpus_file("837p/uhin-837.edi"), control=515151)
    body, mic = signed_and_encrypted(tmp_path, claims)
    message_id = f"{uuid.uuid4()}@demobilling"
    content_type, mdn = curl_as2(daemon, tmp_path, body, message_id)
    assert content_type.startswith("multipart/signed")
    report = verify(tmp_path, content_type, mdn)
    assert f"Received-Content-MIC: {mic}, sha-256" in report
    assert f"Original-Message-ID: <{message_id}>" in report
    assert "Disposition: automatic-action/MDN-sent-automatically; processed\n" in report

    events = daemon.audit_events()
    (received,) = [e for e in events if e["event"] == "as2.received"]
    file_id = received["file_id"]

    def acknowledged() -> dict[str, object] | None:
        status = api(daemon, f"/api/v1/files/{file_id}")
        return status if status["state"] != "received" else None

    status = wait_for(acknowledged)
    assert isinstance(status, dict) and status["channel"] == "as2"
    acks = status["acknowledgments"]
    assert isinstance(acks, list)
    (ack999,) = [a for a in acks if a["kind"] == "999"]
    assert ack999["accepted"] is True and ack999["interchange_control"] == "000515151"

    # the sender retries (a new encryption, same Message-ID): the original MDN, once processed
    body2, _ = signed_and_encrypted(tmp_path, claims)
    content_type2, mdn2 = curl_as2(daemon, tmp_path, body2, message_id)
    assert mdn2 == mdn and content_type2 == content_type
    files = [e for e in daemon.audit_events() if e["event"] == "file.received"]
    assert len(files) == 1
    assert [e["message_id"] for e in daemon.audit_events() if e["event"] == "as2.duplicate"] == [
        message_id
    ]
