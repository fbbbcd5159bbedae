"""The daemon on the test's backend end to end: with ``GATEWAY_TEST_DATABASE`` (``make
test-postgres``, and ``make test``'s PostgreSQL pass) the daemon follows
``GATEWAY_DATABASE_URL`` (a fresh schema, tests/conftest.py): an OpenSSH upload, its 999, the
file's row in PostgreSQL and no SQLite file in the data directory. Without it, SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.store.sqlite import Store
from tests import dbs
from tests.e2e.conftest import Daemon, openssh_sftp, outbound, paramiko_client, wait_for
from tests.x12files import corpus_file, readdress, segments

pytestmark = pytest.mark.e2e


def test_an_sftp_upload_gets_its_999_and_its_row_in_the_configured_store(
    daemon: Daemon, demo_key: Path
) -> None:
    url = os.environ.get("GATEWAY_DATABASE_URL") or daemon.data_dir / "gateway.sqlite3"
    local = demo_key.parent / "claims.837"
    local.write_bytes(readdress(corpus_file("837p/uhin-837.edi"), control=411))
    result = openssh_sftp(daemon.sftp_port, demo_key, f"cd /inbound\nput {local}\n")
    assert result.returncode == 0, result.stderr
    sftp = paramiko_client(daemon.sftp_port, demo_key)
    try:
        (name,) = wait_for(lambda: outbound(sftp, "_999.x12"))
        with sftp.open(f"/outbound/{name}") as handle:
            ack = handle.read()
    finally:
        sftp.close()
    (ak9,) = [s for s in segments(ack) if s[0] == "AK9"]
    assert ak9[1] == "A"
    assert (daemon.data_dir / "gateway.sqlite3").exists() == (dbs.BASE is None)
    store = Store(url)
    try:
        # the 999 goes first; the file is done once its claims' step and routing have run
        def done() -> object:
            (record,) = store.recent_files()
            return record if record.state not in ("received", "processed") else None

        record = wait_for(done)
        assert (record.name, record.state) == ("claims.837", "rejected")  # type: ignore[attr-defined]
    finally:
        store.close()
