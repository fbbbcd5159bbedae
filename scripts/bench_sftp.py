#!/usr/bin/env python3
"""SFTP throughput of the gateway against OpenSSH's own sshd (internal-sftp), same run.

    .venv/bin/python scripts/bench_sftp.py [--size-mb 50] [--rounds 3]

Uploads a file with OpenSSH ``sftp -b`` to both servers on loopback and prints MB/s and the
ratio (goal >= 0.9). Then downloads a file of the same size with paramiko's default ``get``
(unbounded read prefetch, the case that collapses without server-side read bounds) from both.
Needs /usr/sbin/sshd (Debian package openssh-server); without it only the gateway is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paramiko

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.store.blobs import BlobStore  # noqa: E402
from gateway.store.sqlite import Store  # noqa: E402

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
USER = "demo-billing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sftp_batch(port: int, key: Path, user: str, commands: str, work: Path) -> float:
    batch = work / "batch"
    batch.write_text(commands)
    args = [
        "sftp", "-q", "-b", str(batch), "-i", str(key), "-P", str(port),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
        f"{user}@127.0.0.1",
    ]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"sftp failed on port {port}: {result.stderr}")
    return elapsed


def paramiko_get(port: int, key: Path, user: str, remote: str, local: Path) -> float:
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(str(key)))
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        start = time.perf_counter()
        sftp.get(remote, str(local))  # default prefetch: what billing staff's scripts do
        return time.perf_counter() - start
    finally:
        transport.close()


class GatewayServer:
    def __init__(self, work: Path, download: Path) -> None:
        self.data = work / "gateway-data"
        # A file waiting in demo-billing's /outbound for the download test.
        store = Store(self.data / "gateway.sqlite3")
        blobs = BlobStore(self.data / "blobs")
        sha = blobs.put(download.read_bytes())
        with store.transaction() as tx:
            tx.add_mailbox(USER, "big.bin", "BENCH", None, sha, download.stat().st_size, 0.0)
        store.close()
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "gateway.cli", "run", "--data-dir", str(self.data),
                "--sftp-listen", "tcp:0:interface=127.0.0.1",
                "--http-listen", "tcp:0:interface=127.0.0.1",
            ],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, GATEWAY_PIPELINE_HOLD="1"),
        )  # fmt: skip
        ports = self.data / "ports.json"
        deadline = time.monotonic() + 60
        while not ports.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gateway did not start")
            time.sleep(0.05)
        self.port = int(json.loads(ports.read_text())["sftp"])
        self.upload_dir = "/inbound"
        self.download_path = "/outbound/big.bin"

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


class OpenSshServer:
    def __init__(self, work: Path, key: Path, download: Path) -> None:
        root = work / "sshd"
        root.mkdir()
        host_key = root / "host_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True
        )
        authorized = root / "authorized_keys"
        authorized.write_text(Path(str(key) + ".pub").read_text())
        authorized.chmod(0o600)
        (root / "inbound").mkdir()
        (root / "outbound").mkdir()
        shutil.copyfile(download, root / "outbound" / "big.bin")
        self.port = free_port()
        config = root / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"AuthorizedKeysFile {authorized}\nPidFile {root / 'sshd.pid'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nSubsystem sftp internal-sftp\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("sshd did not start") from None
                time.sleep(0.05)
        self.user = os.environ.get("USER") or subprocess.check_output(["whoami"]).decode().strip()
        self.upload_dir = str(root / "inbound")
        self.download_path = str(root / "outbound" / "big.bin")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024

    with tempfile.TemporaryDirectory(prefix="bench-sftp-") as tmp:
        work = Path(tmp)
        key = work / "id_ed25519"
        shutil.copyfile(ROOT / "config/demo/keys/demo-billing", key)
        key.chmod(0o600)
        shutil.copyfile(ROOT / "config/demo/keys/demo-billing.pub", str(key) + ".pub")
        payload = work / "payload.bin"
        payload.write_bytes(os.urandom(size))

        servers: dict[str, object] = {"gateway": GatewayServer(work, payload)}
        if Path(SSHD).exists():
            servers["openssh"] = OpenSshServer(work, key, payload)
        else:
            print(f"note: {SSHD} not found (apt-get install openssh-server); gateway only")
        results: dict[str, dict[str, float]] = {}
        try:
            for name, server in servers.items():
                user = getattr(server, "user", USER)
                port = int(getattr(server, "port"))  # noqa: B009
                upload_dir = str(getattr(server, "upload_dir"))  # noqa: B009
                ups, downs = [], []
                for n in range(args.rounds):
                    cmd = f"put {payload} {upload_dir}/round{n}-{time.time_ns()}.bin\n"
                    ups.append(size / sftp_batch(port, key, user, cmd, work) / 1e6)
                    target = work / f"download-{name}-{n}"
                    remote = str(getattr(server, "download_path"))  # noqa: B009
                    downs.append(size / paramiko_get(port, key, user, remote, target) / 1e6)
                    assert target.stat().st_size == size
                    target.unlink()
                results[name] = {
                    "upload": statistics.median(ups),
                    "download": statistics.median(downs),
                }
        finally:
            for server in servers.values():
                server.close()  # type: ignore[attr-defined]

    print(f"{args.size_mb} MiB file, median of {args.rounds} rounds, loopback")
    print(f"{'server':<10} {'OpenSSH sftp put':>18} {'paramiko get':>14}")
    for name, r in results.items():
        print(f"{name:<10} {r['upload']:>13.1f} MB/s {r['download']:>9.1f} MB/s")
    if "openssh" in results:
        g, o = results["gateway"], results["openssh"]
        print(f"ratio gateway/openssh: upload {g['upload'] / o['upload']:.2f} (goal >= 0.9), "
              f"download {g['download'] / o['download']:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
