"""SIGHUP reloads partner profiles without dropping sessions; a bad set is refused."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Daemon, paramiko_client, private_key_copy, wait_for

pytestmark = pytest.mark.e2e


def _events(daemon: Daemon, name: str) -> list[dict[str, object]]:
    return [e for e in daemon.audit_events() if e["event"] == name]


def test_sighup_reload_keeps_sessions_and_refuses_a_bad_set(tmp_path: Path) -> None:
    partners = tmp_path / "partners"
    shutil.copytree(ROOT / "partners", partners)
    key = private_key_copy("demo-billing", tmp_path)
    daemon = Daemon(
        data_dir=tmp_path / "data", workdir=tmp_path, extra_args=["--partners", str(partners)]
    )
    daemon.start()
    try:
        assert daemon.proc is not None
        sftp = paramiko_client(daemon.sftp_port, key)
        # A broken profile: the reload is refused, the old set stays, the session lives on.
        good = (partners / "ext01.xml").read_text()
        (partners / "ext01.xml").write_text(
            good.replace("<role>payer</role>", "<role>nobody</role>")
        )
        daemon.proc.send_signal(signal.SIGHUP)
        failed = wait_for(lambda: _events(daemon, "config.reload_failed"))
        assert isinstance(failed, list)
        problems = failed[0]["problems"]
        assert isinstance(problems, list) and any("ext01.xml:" in p for p in problems)
        assert "inbound" in sftp.listdir("/")
        # A good change is taken: demo-billing's session survives, a removed partner is gone.
        (partners / "ext01.xml").write_text(good)
        (partners / "sim02.xml").unlink()
        daemon.proc.send_signal(signal.SIGHUP)
        reloaded = wait_for(lambda: _events(daemon, "config.reloaded"))
        assert isinstance(reloaded, list)
        assert "sim02" not in reloaded[0]["partners"]  # type: ignore[operator]
        assert "outbound" in sftp.listdir("/")
        sftp.close()
    finally:
        assert daemon.stop() == 0, daemon.output()
