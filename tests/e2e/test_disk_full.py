"""A real full disk (root only: a 24 MiB tmpfs holds the daemon's data). Uploads onto it are
refused with a clear answer (curl sees 507, paramiko an SFTP failure), /readyz says 503, and
all is well again once space returns — with an intact audit chain."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from tests.e2e.conftest import ROOT, Daemon, private_key_copy
from tests.e2e.test_http_api import curl
from tests.x12files import corpus_file, readdress

pytestmark = pytest.mark.e2e


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(path: Path) -> None:
    chunk = bytes(1024 * 1024)
    with open(path, "wb", buffering=0) as out:
        for size in (len(chunk), 4096, 1):
            while True:
                try:
                    out.write(chunk[:size])
                except OSError:
                    break


def _sftp_put(port: int, key: Path, data: bytes) -> str:
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.connect(
            username="demo-billing", pkey=paramiko.Ed25519Key.from_private_key_file(str(key))
        )
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        sftp.get_channel().settimeout(30)
        with sftp.open("/inbound/full.837", "wb") as handle:
            handle.write(data)
        return "ok"
    except OSError as exc:  # paramiko's IOError for an SFTP failure status
        return str(exc)
    finally:
        transport.close()


def test_uploads_onto_a_full_disk_get_a_clear_answer(tmpfs: Path, tmp_path: Path) -> None:
    daemon = Daemon(data_dir=tmpfs / "data", workdir=tmp_path)
    daemon.start()
    key = private_key_copy("demo-billing", tmp_path)
    batch = tmp_path / "claims.837"
    batch.write_bytes(readdress(corpus_file("837p/uhin-837.edi"), control=880701))
    try:
        status, _, _ = curl(daemon, "/readyz", token=None)
        assert status == 200
        _fill(tmpfs / "filler")
        status, _, body = curl(daemon, "/readyz", token=None)
        assert status == 503 and b'"store_writable": false' in body
        status, headers, body = curl(
            daemon, "/api/v1/files?filename=full.837", "--data-binary", f"@{batch}"
        )
        assert status == 507, body
        assert b"insufficient_storage" in body and "retry-after" in headers
        answer = _sftp_put(daemon.sftp_port, key, batch.read_bytes() * 200)
        assert answer != "ok"  # a failure status, not a success for bytes that were not kept

        (tmpfs / "filler").unlink()
        status, _, _ = curl(daemon, "/readyz", token=None)
        assert status == 200
        status, _, body = curl(
            daemon, "/api/v1/files?filename=full.837", "--data-binary", f"@{batch}"
        )
        assert status == 202, body
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output()
    assert "Traceback" not in daemon.output(), daemon.output()
    verified = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", "verify", "--data-dir", str(tmpfs / "data")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
