"""Requests for more information end to end over the real daemon: two claims the payer pends
for a progress note (SFTP) → claim status "waiting for information" → a 277 RFAI for each in
the provider's mailbox (valid X213) → ``gateway attach`` writes a 275 with a real small PDF,
uploaded over SFTP → its 999 accepts it → the next cycle pays the claim (835; claim status F1
with the 835's trace number) while the other stays waiting → after its due date
(``run-cycle --as-of``) the other is denied CARC 252. Bad 275s (no such request, over the size
limit) get a report and nothing is forwarded. ``gateway trace`` shows the request and the 275;
the audit log names ids and sizes, never the patient."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path

import paramiko
import pytest

from tests.e2e.conftest import ROOT, Daemon, outbound, paramiko_client, private_key_copy, wait_for
from tests.e2e.test_claim_status import ask_json, category, facts, gateway
from tests.pipeline.test_routing import _one_claim
from tests.x12.test_rfai import errors_of
from tests.x12files import segments

pytestmark = pytest.mark.e2e

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]/Contents 4 0 R>>endobj\n"
    b"4 0 obj<</Length 44>>stream\nBT /F1 12 Tf 20 50 Td (Progress note) Tj ET\nendstream\n"
    b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def download(sftp: paramiko.SFTPClient, name: str) -> bytes:
    buffer = io.BytesIO()
    sftp.getfo(f"/outbound/{name}", buffer, max_concurrent_prefetch_requests=16)
    return buffer.getvalue()


def new_file(sftp: paramiko.SFTPClient, suffix: str, before: list[str]) -> bytes:
    found = wait_for(lambda: [n for n in outbound(sftp, suffix) if n not in before])
    assert isinstance(found, list) and len(found) == 1, found
    return download(sftp, str(found[0]))


def attach(tmp: Path, claim: dict[str, str], request: dict[str, str], pdf: Path, n: int) -> Path:
    out = tmp / f"answer{n}.275"
    done = gateway(
        "attach", "--claim", claim["clm01"], "--payer-claim", request["payer_claim"],
        "--control", request["control"], "--loinc", "11506-3", "--pdf", str(pdf),
        "--out", str(out), "--member", claim["member"], "--last-name", claim["last"],
        "--npi", claim["npi"], "--control-number", str(9400 + n),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_request_answered_paid_and_unanswered_denied(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(  # no cycle of its own: run-cycle drives the payers
        f'[gateway]\npartners_dir = "{ROOT / "partners"}"\n[payers]\ncycle_seconds = 3600\n'
        "[attachments]\nmax_bytes = 2048\n"
    )
    data_dir = tmp_path / "data"
    daemon = Daemon(data_dir, tmp_path, extra_args=["--config", str(config)])
    daemon.start()
    try:
        answered = _one_claim(9301, seed=3).replace(b"MBR000000001", b"MBR900000005")
        ignored = _one_claim(9302, seed=4).replace(b"MBR000000001", b"MBR900000005")
        sftp = paramiko_client(daemon.sftp_port, private_key_copy("demo-billing", tmp_path))
        sftp.putfo(io.BytesIO(answered), "/inbound/a.837")
        sftp.putfo(io.BytesIO(ignored), "/inbound/b.837")
        a, b = facts(answered), facts(ignored)
        wait_for(lambda: [category(ask_json(daemon, c)) for c in (a, b)] == ["P1", "P1"])

        cycle = gateway("payers", "run-cycle", "--config", str(config), "--data-dir",
                        str(data_dir))  # fmt: skip
        assert cycle.returncode == 0, cycle.stderr
        waiting = ask_json(daemon, a)
        assert [category(waiting), waiting["status"][0]["statusCode"]] == ["P3", "297"]  # type: ignore[index]
        info = waiting["requestedInformation"]
        assert info["item"] == "progress note"  # type: ignore[index]
        due = info["dueDate"]  # type: ignore[index]
        assert waiting["message"] == f"waiting for information: progress note, due {due}"

        # a 277 RFAI per claim in the provider's mailbox, valid X213
        names = wait_for(
            lambda: len(outbound(sftp, "_277RFAI.x12")) == 2 and outbound(sftp, "_277RFAI.x12")
        )
        requests: dict[str, dict[str, str]] = {}
        for name in names:  # type: ignore[attr-defined]
            content = download(sftp, name)
            assert errors_of(content, "005010X213") == []
            segs = segments(content)
            clm01 = next(s for s in segs if s[0] == "TRN" and s[1] == "1")[2]
            requests[clm01] = {
                "payer_claim": next(s for s in segs if s[0] == "REF" and s[1] == "1K")[2],
                "control": next(s for s in segs if s[0] == "REF" and s[1] == "ZZ")[2],
                "due": next(s for s in segs if s[0] == "DTP" and s[1] == "106")[3],
            }
        assert set(requests) == {a["clm01"], b["clm01"]}

        # the provider answers claim a with a real small PDF
        pdf = tmp_path / "note.pdf"
        pdf.write_bytes(PDF)
        good = attach(tmp_path, a, requests[a["clm01"]], pdf, 1)
        before = outbound(sftp)
        sftp.putfo(io.BytesIO(good.read_bytes()), "/inbound/answer.275")
        try:
            ack = new_file(sftp, "_999.x12", before)
        except AssertionError:
            raise AssertionError(
                f"{outbound(sftp)} {daemon.audit_events()[-8:]} {daemon.output()[-3000:]}"
            ) from None
        assert b"AK1*PI*" in ack and b"IK5*A" in ack and b"AK9*A" in ack, ack
        wait_for(lambda: any(e["event"] == "attachment.received" for e in daemon.audit_events()))

        # bad answers: no such request; over the size limit (2048 bytes here)
        unknown = attach(tmp_path, a, {"payer_claim": "SIM01NOSUCH", "control": "RFAI99999999"},
                         pdf, 2)  # fmt: skip
        before = outbound(sftp)
        sftp.putfo(io.BytesIO(unknown.read_bytes()), "/inbound/unknown.275")
        report = new_file(sftp, ".txt", before)
        assert b"no open request" in report and b"SIM01NOSUCH" in report
        big = tmp_path / "big.pdf"
        big.write_bytes(PDF + b"%" + b"x" * 4096 + b"\n")
        large = attach(tmp_path, b, requests[b["clm01"]], big, 3)
        before = outbound(sftp)
        sftp.putfo(io.BytesIO(large.read_bytes()), "/inbound/large.275")
        report = new_file(sftp, "_REJECT.txt", before)
        assert b"at most 2048 bytes" in report
        refused = new_file(sftp, "_999.x12", before)  # IK4 785 code 5: too long
        assert b"IK3*BIN*" in refused and b"IK4*2*785*5" in refused and b"IK5*R" in refused
        assert category(ask_json(daemon, b)) == "P3"  # still waiting: nothing taken

        # the next cycle pays claim a; claim b keeps waiting
        again = gateway("payers", "run-cycle", "--config", str(config), "--data-dir",
                        str(data_dir))  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "1 waiting for information" in again.stdout, again.stdout
        remit = download(sftp, wait_for(lambda: outbound(sftp, "_835.x12"))[0])  # type: ignore[index]
        clp = next(s for s in segments(remit) if s[0] == "CLP" and s[1] == a["clm01"])
        assert clp[2] == "1" and float(clp[4]) > 0
        paid = ask_json(daemon, a)
        assert category(paid) == "F1"
        trn = next(s for s in segments(remit) if s[0] == "TRN")
        assert paid["payment"]["traceNumber"] == trn[2]  # type: ignore[index]

        # past its due date, claim b is denied: CARC 252 (an attachment is required)
        due = date(int(requests[b["clm01"]]["due"][:4]), int(requests[b["clm01"]]["due"][4:6]),
                   int(requests[b["clm01"]]["due"][6:]))  # fmt: skip
        before = outbound(sftp, "_835.x12")
        late = gateway("payers", "run-cycle", "--config", str(config), "--data-dir",
                       str(data_dir), "--as-of", (due + timedelta(days=1)).isoformat())  # fmt: skip
        assert late.returncode == 0, late.stderr
        denial = new_file(sftp, "_835.x12", before)
        clp = next(s for s in segments(denial) if s[0] == "CLP" and s[1] == b["clm01"])
        assert clp[2] == "4" and float(clp[4]) == 0
        assert any(s[0] == "CAS" and s[1] == "CO" and s[2] == "252" for s in segments(denial))
        assert category(ask_json(daemon, b)) in ("F2", "F1")

        trace = gateway("trace", a["clm01"], "--data-dir", str(data_dir))
        assert "information requested" in trace.stdout and "275 in file" in trace.stdout
        timeline = trace.stdout.split("\ntimeline\n", 1)[1]
        for event in ("rfai.sent", "attachment.received", "attachment.forwarded"):
            assert event in timeline, trace.stdout
        events = daemon.audit_events()
        names = {e["event"] for e in events}
        assert {"rfai.sent", "attachment.received", "attachment.forwarded", "rfai.expired"} <= names
        logged = json.dumps([e for e in events if str(e["event"]).startswith(("rfai", "attach"))])
        for secret in (a["member"], a["last"], a["clm01"], b["clm01"]):
            assert secret not in logged
        sftp.close()
    finally:
        assert daemon.stop() == 0, daemon.output()
