"""The README's "Try it" steps, run in order as written against a real daemon.

The shell blocks are taken from README.md as they are; only what ties them to one machine
changes: the ports (the daemon listens on free ones), /tmp (a test directory), the data
directory (``GATEWAY_DATA_DIR``, as ``make run`` uses var/) and, for OpenSSH, a known_hosts
file of the test's own (like a user who never connected before; the real one is left alone).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Daemon

ROOT = Path(__file__).resolve().parents[2]


def try_it_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.M | re.S)


def test_the_try_it_section_has_the_steps_a_new_user_needs() -> None:
    first, second = try_it_blocks()
    assert "StrictHostKeyChecking=accept-new" in first  # else "Host key verification failed"
    assert "put " in first and "ls " not in first  # the answers are not there yet
    assert "ls " in second and "--control" not in first  # a new ISA13 by itself


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("sftp", "curl", "openssl")),
    reason="the README's steps need the OpenSSH client, curl and openssl",
)
def test_try_it_runs_as_written(tmp_path: Path) -> None:
    daemon = Daemon(data_dir=tmp_path / "data", workdir=tmp_path)
    daemon.start()
    try:
        work = tmp_path / "tmp"
        work.mkdir()
        known_hosts = tmp_path / "known_hosts"

        def localise(block: str) -> str:
            block = block.replace("-P 2222", f"-P {daemon.ports['sftp']}")
            block = block.replace("127.0.0.1:8080", f"127.0.0.1:{daemon.ports['http']}")
            block = block.replace("/tmp/", f"{work}/")
            return re.sub(
                r"^sftp ", f"sftp -o UserKnownHostsFile={known_hosts} ", block, flags=re.M
            )

        env = dict(os.environ, GATEWAY_DATA_DIR=str(daemon.data_dir))
        outputs = []
        for n, block in enumerate(try_it_blocks()):
            if n:  # "the answers follow a second or two later": wait as a person would
                deadline = time.monotonic() + 60
                while not any(
                    e["event"] in ("file.processed", "file.rejected") for e in daemon.audit_events()
                ):
                    assert time.monotonic() < deadline, daemon.output()
                    time.sleep(0.2)
            result = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", localise(block)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, f"block {n + 1}:\n{result.stdout}\n{result.stderr}"
            outputs.append(result.stdout)
        listing, _, audit = outputs[1].partition("ack.")
        assert re.search(r"_[0-9A-Z]{26}_999\.x12", listing), outputs[1]
        assert re.search(r"_[0-9A-Z]{26}_277CA\.x12", listing), outputs[1]
        assert "999.written" in audit and "277ca.written" in audit, outputs[1]
        # a new user's claims are accepted, not duplicates of someone's earlier run
        accepted = [e for e in daemon.audit_events() if e["event"] == "ack.277ca.written"]
        assert accepted and accepted[0]["claims_rejected"] == 0, accepted
        assert known_hosts.read_text().strip()  # accept-new recorded the host key
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output()
