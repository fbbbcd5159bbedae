"""The whole billing loop over SFTP with the demo partners: a batch for SIM01, SIM02 and EXT01
gives the submitter a 999, the clearinghouse 277CA, payer 277CAs and balanced 835s; EXT01
polls its batch, uploads an 835, and it reaches the provider."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest

from tests.e2e.conftest import ROOT, Daemon, outbound, private_key_copy, wait_for
from tests.payerfiles import ext01_835
from tests.x12files import segments

pytestmark = pytest.mark.e2e


def _client(port: int, key: Path, user: str) -> paramiko.SFTPClient:
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(str(key)))
    client = paramiko.SFTPClient.from_transport(transport)
    assert client is not None
    return client


def _get(sftp: paramiko.SFTPClient, name: str) -> bytes:
    buffer = io.BytesIO()
    sftp.getfo(f"/outbound/{name}", buffer, max_concurrent_prefetch_requests=16)
    return buffer.getvalue()


def _batch(claims: int, control: int) -> bytes:
    return subprocess.run(
        [sys.executable, "scripts/gen_837.py", "--claims", str(claims), "--control",
         str(control), "--payers", "SIM01,SIM02,EXT01", "--seed", "837"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip


def test_claims_to_three_payers_come_back_as_acks_277cas_and_835s(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[gateway]\npartners_dir = "{ROOT / "partners"}"\n[payers]\ncycle_seconds = 0.5\n'
    )
    daemon = Daemon(tmp_path / "data", tmp_path, extra_args=["--config", str(config)])
    daemon.start()
    billing_key = private_key_copy("demo-billing", tmp_path)
    ext_key = private_key_copy("ext01", tmp_path)
    try:
        billing = _client(daemon.sftp_port, billing_key, "demo-billing")
        billing.putfo(io.BytesIO(_batch(6, 9001)), "/inbound/loop.837")

        # EXT01 polls its mailbox: one re-enveloped 837 with its two claims
        ext = _client(daemon.sftp_port, ext_key, "ext01")
        names = wait_for(lambda: outbound(ext, "_837.x12"))
        assert isinstance(names, list)
        batch = _get(ext, names[0])
        assert batch.count(b"CLM*") == 2 and b"EXT01PAYER" in batch[:120]
        ext.remove(f"/outbound/{names[0]}")  # picked up
        ext.putfo(io.BytesIO(ext01_835(batch, control=8001)), "/inbound/remit.835")

        def arrived() -> list[str] | None:
            names = outbound(billing)
            remits = sum(1 for n in names if "_835" in n and n.endswith(".x12"))
            cas = sum(1 for n in names if "_277CA" in n)
            acks = sum(1 for n in names if n.endswith("_999.x12"))
            return names if remits >= 3 and cas >= 3 and acks else None

        names = wait_for(arrived, timeout=60)
        assert isinstance(names, list)
        docs = {n: _get(billing, n) for n in names}
        acks = [d for n, d in docs.items() if n.endswith("_999.x12")]
        assert next(s for s in segments(acks[0]) if s[0] == "AK9")[1] == "A"
        cas = [d for n, d in docs.items() if "_277CA" in n]
        sources = sorted(
            next(s for s in segments(d) if s[0] == "NM1" and s[1] in ("AY", "PR"))[1] for d in cas
        )
        assert sources == ["AY", "PR", "PR"]  # the clearinghouse's and each simulated payer's
        remits = [d for n, d in docs.items() if "_835" in n and n.endswith(".x12")]
        from gateway.x12.remit_read import read_835

        payers = set()
        for remit in remits:
            for read in read_835(remit):
                assert read.ok, read.errors  # balanced at line, claim and payment level
                payers.add(read.payment.payer_id)
        assert payers == {"SIM01", "SIM02", "EXT01"}
        # the statement cycle ran after the payment cycle: patients who owe a copay get a
        # statement each, listed in a manifest for a print-and-mail vendor
        statements = wait_for(
            lambda: [n for n in outbound(billing) if n.endswith("_STATEMENT.pdf")] or None
        )
        assert isinstance(statements, list)
        assert _get(billing, statements[0]).startswith(b"%PDF")
        assert any(n.endswith("_STATEMENTS.csv") for n in outbound(billing))
        billing.close()
        ext.close()

        trace = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "trace", "C9001X3", "--data-dir",
             str(daemon.data_dir), "--config", str(config)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert trace.returncode == 0, trace.stderr
        assert "C9001X3 -> EXT01" in trace.stdout and "adjudicated" in trace.stdout
        events = {e["event"] for e in daemon.audit_events()}
        for name in ("claims.routed", "claim.adjudicated", "remit.835.built",
                     "payer.answer.forwarded", "file.picked_up", "statements.run"):  # fmt: skip
            assert name in events
    finally:
        assert daemon.stop() == 0, daemon.output()
