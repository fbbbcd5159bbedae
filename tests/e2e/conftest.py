"""End-to-end fixtures: the real daemon in a subprocess, real SFTP clients against it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "config" / "demo" / "keys"
GATEWAY = [sys.executable, "-m", "gateway.cli"]


def private_key_copy(name: str, directory: Path) -> Path:
    """Git keeps 0644; ssh refuses keys others can read: use a 0600 copy."""
    target = directory / name
    if not target.exists():
        shutil.copyfile(KEYS / name, target)
        target.chmod(0o600)
    return target


@dataclass
class Daemon:
    data_dir: Path
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] = field(default_factory=dict)
    log: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    """Variables set for the daemon on top of the test's environment."""

    def start(self, timeout: float = 30.0) -> None:
        ports_file = self.data_dir / "ports.json"
        if ports_file.exists():
            ports_file.unlink()
        self.log = self.workdir / f"daemon-{time.time_ns()}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    *GATEWAY,
                    "run",
                    "--data-dir",
                    str(self.data_dir),
                    "--sftp-listen",
                    "tcp:0:interface=127.0.0.1",
                    "--http-listen",
                    "tcp:0:interface=127.0.0.1",
                    *self.extra_args,
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ports_file.exists():
                self.ports = json.loads(ports_file.read_text())
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"gateway did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    @property
    def sftp_port(self) -> int:
        return self.ports["sftp"]

    def audit_events(self) -> list[dict[str, object]]:
        path = self.data_dir / "log" / "audit.jsonl"
        if not path.exists():
            return []
        events = []
        for line in path.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        return events


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(data_dir=tmp_path / "data", workdir=tmp_path)
    d.start()
    yield d
    code = d.stop()
    assert code == 0, f"daemon exited with {code}:\n{d.output()}"


@pytest.fixture
def demo_key(tmp_path: Path) -> Path:
    return private_key_copy("demo-billing", tmp_path)


def openssh_sftp(
    port: int, key: Path, commands: str, user: str = "demo-billing", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    batch = (cwd or key.parent) / f"batch-{time.time_ns()}"
    batch.write_text(commands)
    return subprocess.run(
        [
            "sftp",
            "-b",
            str(batch),
            "-i",
            str(key),
            "-P",
            str(port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            f"{user}@127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd or key.parent,
    )


def paramiko_client(port: int, key: Path, user: str = "demo-billing") -> paramiko.SFTPClient:
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(str(key)))
    return paramiko.SFTPClient.from_transport(transport)  # type: ignore[return-value]


def wait_for(
    predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.1
) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(interval)


def outbound(sftp: paramiko.SFTPClient, suffix: str = "") -> list[str]:
    return sorted(n for n in sftp.listdir("/outbound") if n.endswith(suffix))
