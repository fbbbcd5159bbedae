"""A billing company drops 837s over SFTP and gets TA1/999/reports back (real daemon, real
clients: OpenSSH ``sftp -b`` and paramiko)."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Daemon,
    openssh_sftp,
    outbound,
    paramiko_client,
    private_key_copy,
    wait_for,
)
from tests.x12files import corpus_file, isa_fields, readdress, segments

pytestmark = pytest.mark.e2e


def _put_openssh(daemon: Daemon, key: Path, name: str, data: bytes) -> None:
    local = key.parent / name
    local.write_bytes(data)
    result = openssh_sftp(daemon.sftp_port, key, f"cd /inbound\nput {local}\n")
    assert result.returncode == 0, result.stderr


def _fetch(daemon: Daemon, key: Path, suffix: str, count: int = 1) -> list[bytes]:
    sftp = paramiko_client(daemon.sftp_port, key)
    try:
        names = wait_for(lambda: len(outbound(sftp, suffix)) >= count and outbound(sftp, suffix))
        assert isinstance(names, list)
        contents = []
        for name in names:
            buffer = io.BytesIO()
            sftp.getfo(f"/outbound/{name}", buffer, max_concurrent_prefetch_requests=16)
            contents.append(buffer.getvalue())
        return contents
    finally:
        sftp.close()


def _seg(doc: bytes, seg_id: str) -> list[list[str]]:
    return [s for s in segments(doc) if s[0] == seg_id]


def test_openssh_upload_of_a_corpus_837p_gets_an_accepting_999(
    daemon: Daemon, demo_key: Path
) -> None:
    data = readdress(corpus_file("837p/uhin-837.edi"), control=101)
    _put_openssh(daemon, demo_key, "claims.837", data)
    (ack,) = _fetch(daemon, demo_key, "_999.x12")
    isa = isa_fields(ack)[0]
    assert isa[6].strip() == "CLEARINGHOUSE" and isa[8].strip() == "DEMOBILLING"
    assert isa[15] == "T"
    assert _seg(ack, "AK1")[0][1:4] == ["HC", "800000372", "005010X222A1"]
    assert _seg(ack, "AK9")[0][1] == "A"
    assert _seg(ack, "IK5")[0][1] == "A"
    events = [e["event"] for e in daemon.audit_events()]
    for name in ("sftp.login.ok", "file.received", "ack.999.written", "file.processed"):
        assert name in events


def test_broken_837_gets_a_rejecting_999_with_ik3_ik4(daemon: Daemon, demo_key: Path) -> None:
    data = readdress(corpus_file("837p-negative/imsweb-x12_bad_valid_code.txt"), control=102)
    _put_openssh(daemon, demo_key, "broken.837", data)
    (ack,) = _fetch(daemon, demo_key, "_999.x12")
    assert _seg(ack, "IK3"), ack
    assert _seg(ack, "IK4"), ack
    assert _seg(ack, "IK5")[0][1] == "R"
    assert _seg(ack, "AK9")[0][1] == "R"


def test_bad_envelope_gets_a_ta1_and_duplicate_gets_025(daemon: Daemon, demo_key: Path) -> None:
    good = readdress(corpus_file("837p/uhin-837.edi"), control=103)
    # IEA02 that does not match ISA13 -> TA1 001
    bad = good.replace(b"IEA*1*000000103", b"IEA*1*000000999")
    _put_openssh(daemon, demo_key, "bad-envelope.837", bad)
    (ta1,) = _fetch(daemon, demo_key, "_TA1.x12")
    assert _seg(ta1, "TA1")[0][4:6] == ["R", "001"]

    _put_openssh(daemon, demo_key, "first.837", good)
    _fetch(daemon, demo_key, "_999.x12")
    _put_openssh(daemon, demo_key, "again.837", good)
    acks = _fetch(daemon, demo_key, "_TA1.x12", count=2)
    codes = sorted(_seg(a, "TA1")[0][5] for a in acks)
    assert codes == ["001", "025"]
    assert len(_fetch(daemon, demo_key, "_999.x12")) == 1  # no second 999


def test_garbage_gets_a_rejection_report(daemon: Daemon, demo_key: Path) -> None:
    _put_openssh(daemon, demo_key, "notes.txt", b"Dear clearinghouse, please pay us.\n")
    (report,) = _fetch(daemon, demo_key, "_REJECT.txt")
    assert b"ISA" in report
    assert b"please pay us" not in report  # the report does not echo content


def test_paramiko_upload_download_and_pick_up(daemon: Daemon, demo_key: Path) -> None:
    data = readdress(corpus_file("837p/imsweb-x12_many_claims.txt"), control=104)
    sftp = paramiko_client(daemon.sftp_port, demo_key)
    try:
        sftp.putfo(io.BytesIO(data), "/inbound/many.837")
        names = wait_for(lambda: outbound(sftp, "_999.x12"))
        assert isinstance(names, list)
        name = names[0]
        buffer = io.BytesIO()
        sftp.getfo(f"/outbound/{name}", buffer, max_concurrent_prefetch_requests=16)
        assert buffer.getvalue().startswith(b"ISA")
        sftp.remove(f"/outbound/{name}")
        # ISA14=1 in this file: an accepting TA1 came with the 999
        assert [n.endswith("_TA1.x12") for n in outbound(sftp)] == [True]
        with pytest.raises(FileNotFoundError):
            sftp.stat(f"/outbound/{name}")
    finally:
        sftp.close()
    picked = [e for e in daemon.audit_events() if e["event"] == "file.picked_up"]
    assert picked and picked[0]["file_name"] == name


def test_audit_log_has_identifiers_not_phi(daemon: Daemon, demo_key: Path) -> None:
    data = readdress(corpus_file("837p/uhin-837.edi"), control=105)
    _put_openssh(daemon, demo_key, "phi.837", data)
    _fetch(daemon, demo_key, "_999.x12")
    log = (daemon.data_dir / "log" / "audit.jsonl").read_text()
    # names and identifiers of the patient/subscriber in the file never reach the log
    text = data.decode("latin-1")
    for seg in text.split("~"):
        parts = seg.strip().split("*")
        if parts[0] == "NM1" and len(parts) > 3 and parts[1] in ("IL", "QC"):
            assert parts[3] not in log
        if parts[0] == "DMG" and len(parts) > 2:
            assert parts[2] not in log


def test_upload_survives_kill_9_and_is_answered_exactly_once(tmp_path: Path) -> None:
    key = private_key_copy("demo-billing", tmp_path)
    daemon = Daemon(data_dir=tmp_path / "data", workdir=tmp_path)
    os.environ["GATEWAY_PIPELINE_HOLD"] = "1"  # the file is received, not yet processed
    try:
        daemon.start()
    finally:
        del os.environ["GATEWAY_PIPELINE_HOLD"]
    try:
        data = readdress(corpus_file("837p/uhin-837.edi"), control=106)
        _put_openssh(daemon, key, "crash.837", data)  # sftp saw its upload succeed
        daemon.stop(signal.SIGKILL)
        daemon.start()
        (ack,) = _fetch(daemon, key, "_999.x12")
        assert _seg(ack, "AK9")[0][1] == "A"
        # restart again: nothing is answered twice
        daemon.stop()
        daemon.start()
        sftp = paramiko_client(daemon.sftp_port, key)
        try:
            assert len(outbound(sftp, "_999.x12")) == 1
            assert outbound(sftp, "_TA1.x12") == []
        finally:
            sftp.close()
        received = [e for e in daemon.audit_events() if e["event"] == "file.received"]
        written = [e for e in daemon.audit_events() if e["event"] == "ack.999.written"]
        assert len(received) == 1 and len(written) == 1
    finally:
        daemon.stop()


def test_kill_9_mid_pipeline_never_doubles_the_999(tmp_path: Path) -> None:
    key = private_key_copy("demo-billing", tmp_path)
    daemon = Daemon(data_dir=tmp_path / "data", workdir=tmp_path)
    daemon.start()
    try:
        data = readdress(corpus_file("837p/imsweb-x12_many_claims.txt"), control=107)
        _put_openssh(daemon, key, "busy.837", data)
        daemon.stop(signal.SIGKILL)  # wherever the pipeline was
        daemon.start()
        (ack,) = _fetch(daemon, key, "_999.x12")
        assert ack.startswith(b"ISA")
        written = [e for e in daemon.audit_events() if e["event"] == "ack.999.written"]
        assert len(written) == 1
    finally:
        daemon.stop()
