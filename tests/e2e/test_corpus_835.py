"""Third-party 835s through the real daemon: demo-billing sends claims for EXT01 over
OpenSSH sftp, EXT01 picks its batch up and uploads the corpus 835s (rewritten to its IDs
and those claims, tests.payerfiles.as_ext01) with OpenSSH sftp; each guide-valid one
reaches demo-billing's /outbound, a broken one gets a rejecting 999 and reaches nobody."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    ROOT,
    Daemon,
    openssh_sftp,
    outbound,
    paramiko_client,
    private_key_copy,
    wait_for,
)
from tests.payerfiles import as_ext01
from tests.x12files import CORPUS, segments

pytestmark = pytest.mark.e2e

VALID = sorted(p for p in (CORPUS / "835").iterdir() if p.name.startswith("stupidedi-"))
BROKEN = CORPUS / "835" / "managed-care.835"  # BPR16 not a date, no PER*BL


def _clps(data: bytes) -> int:
    return sum(1 for s in segments(data) if s[0] == "CLP")


def test_corpus_835s_reach_the_provider_over_sftp(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[gateway]\npartners_dir = "{ROOT / "partners"}"\n')
    daemon = Daemon(tmp_path / "data", tmp_path, extra_args=["--config", str(config)])
    daemon.start()
    billing_key = private_key_copy("demo-billing", tmp_path)
    ext_key = private_key_copy("ext01", tmp_path)
    try:
        wanted = sum(_clps(p.read_bytes()) for p in VALID) + _clps(BROKEN.read_bytes())
        claims = subprocess.run(
            [sys.executable, "scripts/gen_837.py", "--claims", str(wanted), "--control",
             "9301", "--payers", "EXT01"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
        (tmp_path / "claims.837").write_bytes(claims)
        put = openssh_sftp(daemon.sftp_port, billing_key, "put claims.837 /inbound/\n")
        assert put.returncode == 0, put.stderr

        def batch_ready() -> list[str] | None:
            client = paramiko_client(daemon.sftp_port, ext_key, "ext01")
            try:
                return outbound(client, "_837.x12") or None
            finally:
                client.close()

        names = wait_for(batch_ready, timeout=60)
        assert isinstance(names, list) and len(names) == 1
        got = openssh_sftp(
            daemon.sftp_port, ext_key, f"get /outbound/{names[0]} batch.837\n", user="ext01"
        )
        assert got.returncode == 0, got.stderr
        clm01s = [s[1] for s in segments((tmp_path / "batch.837").read_bytes()) if s[0] == "CLM"]
        assert len(clm01s) == wanted

        commands = []
        expected: dict[str, list[str]] = {}
        for n, path in enumerate([*VALID, BROKEN]):
            source = path.read_bytes()
            mine, clm01s = clm01s[: _clps(source)], clm01s[_clps(source) :]
            remit = as_ext01(source, mine, control=9400 + n, trace=f"EXT01CORPUS{n:03d}")
            (tmp_path / f"remit{n}.835").write_bytes(remit)
            commands.append(f"put remit{n}.835 /inbound/\n")
            if path != BROKEN:
                expected[f"EXT01CORPUS{n:03d}"] = mine
        put = openssh_sftp(daemon.sftp_port, ext_key, "".join(commands), user="ext01")
        assert put.returncode == 0, put.stderr

        billing = paramiko_client(daemon.sftp_port, billing_key)
        ext = paramiko_client(daemon.sftp_port, ext_key, "ext01")

        def answered() -> list[str] | None:
            remits = outbound(billing, "_835-EXT01.x12")
            acks = outbound(ext, "_999.x12")
            return remits if len(remits) >= len(VALID) and len(acks) > len(VALID) else None

        remits = wait_for(answered, timeout=120)
        assert isinstance(remits, list) and len(remits) == len(VALID)
        from gateway.x12.remit_read import read_835

        seen: dict[str, list[str]] = {}
        for name in remits:
            with billing.open(f"/outbound/{name}") as handle:
                (read,) = read_835(handle.read())
            assert read.ok, read.errors
            seen[read.payment.trace_number] = [c.decision.claim_id for c in read.claims]
        assert seen == expected
        verdicts = []
        for name in outbound(ext, "_999.x12"):
            with ext.open(f"/outbound/{name}") as handle:
                verdicts.append(next(s for s in segments(handle.read()) if s[0] == "AK9")[1])
        assert sorted(verdicts) == ["A"] * len(VALID) + ["R"]  # the broken one: rejected
        assert outbound(ext, "_REPORT.txt") == []
        billing.close()
        ext.close()
        events = [e for e in daemon.audit_events() if e["event"] == "payer.answer.forwarded"]
        assert len(events) == len(VALID)
    finally:
        assert daemon.stop() == 0, daemon.output()
