"""Gateway nodes sharing one PostgreSQL (README "Run a cluster"), with real daemons:

- two nodes on one schema; the node holding a file is ``kill -9``-ed right after its 999
  committed, and the other node finishes the file once the lease lapses: exactly one 999, one
  277CA, and the accepted claims routed once;
- one node whose database goes away and comes back (a TCP proxy in front of PostgreSQL):
  ``/readyz`` says 503 and then 200 again, uploads are refused while it is away (HTTP 503,
  an SFTP error status, never a false success) and SFTP logins keep working.

Skipped, saying why, when no PostgreSQL answers at ``GATEWAY_TEST_DATABASE`` (default
``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import paramiko
import pytest

from gateway.store.sqlite import Store
from scripts.cluster_local import Balancer
from tests.e2e.conftest import ROOT, Daemon, paramiko_client, private_key_copy, wait_for

pytestmark = pytest.mark.e2e

BASE = os.environ.get("GATEWAY_TEST_DATABASE") or "postgresql://postgres@127.0.0.1:5432/test"
TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"


def _schema_url(base: str, name: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={name}')}&application_name={name}"


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema on the test server (as a URL), dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(BASE, autocommit=True, connect_timeout=3)
    except Exception as exc:
        pytest.skip(f"PostgreSQL is not reachable at {BASE}: {str(exc).strip()[:120]}")
    name = f"t_cluster_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {name}".encode())
    try:
        yield _schema_url(BASE, name)
    finally:
        admin.execute(
            b"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        )
        admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE".encode())
        admin.close()


def _batch(claims: int, control: int) -> bytes:
    return subprocess.run(
        [sys.executable, "scripts/gen_837.py", "--claims", str(claims), "--control",
         str(control), "--payers", "SIM01,SIM02", "--seed", str(control)],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip


def _post(port: int, body: bytes, name: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/files?filename={name}",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - http only
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _ready(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _node(tmp_path: Path, name: str, url: str, **env: str) -> Daemon:
    config = tmp_path / "gateway.toml"
    if not config.exists():
        config.write_text(
            f'[gateway]\npartners_dir = "{ROOT / "partners"}"\n[payers]\ncycle_seconds = 1.0\n'
            "[pipeline]\nworkers = 0\n"
        )
    (tmp_path / name).mkdir(exist_ok=True)
    return Daemon(
        tmp_path / name / "data",
        tmp_path / name,
        extra_args=["--config", str(config)],
        env={
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_NODE_ID": name,
            "GATEWAY_BLOB_DIR": str(tmp_path / "shared" / "blobs"),
            "GATEWAY_HOST_KEYS_DIR": str(tmp_path / "shared" / "host_keys"),
            **env,
        },
    )


def test_a_node_killed_after_the_999_is_finished_by_the_other_node(
    tmp_path: Path, pg_schema: str
) -> None:
    lease = {"GATEWAY_LEASE_SECONDS": "2"}
    doomed = _node(tmp_path, "gw-a", pg_schema, GATEWAY_FAULT_PAUSE_AFTER_ACKS="1", **lease)
    survivor = _node(tmp_path, "gw-b", pg_schema, **lease)
    doomed.start()
    survivor.start()
    store = Store(pg_schema)
    try:
        status, body = _post(doomed.ports["http"], _batch(6, 700_001), "cluster.837")
        assert status == 202, body
        file_id = str(body["file_id"])
        # gw-a committed the 999 and stopped there (the fault hook), holding the lease
        wait_for(
            lambda: any(
                e["event"] == "ack.999.written" and e.get("file_id") == file_id
                for e in doomed.audit_events()
            )
        )
        assert store.get_file(file_id).state == "received"  # type: ignore[union-attr]
        doomed.stop(signal.SIGKILL)

        def finished() -> bool:
            record = store.get_file(file_id)
            return record is not None and record.state == "routed"

        wait_for(finished, timeout=90)
        kinds = sorted(r.kind for r in store.responses_for(file_id))
        assert kinds == ["277CA", "999"]  # exactly one of each
        mailbox = [m for m in store.list_mailbox("demo-billing") if m.file_id == file_id]
        assert sorted(m.kind for m in mailbox) == ["277CA", "999"]
        accepted = [c for c in store.claims_for(file_id) if c.accepted]
        assert len(accepted) == 6
        routes = store.query(
            "SELECT claim_row_id, COUNT(*) FROM routes WHERE file_id = ? GROUP BY claim_row_id",
            (file_id,),
        )
        assert len(routes) == 6 and all(r[1] == 1 for r in routes)  # each claim routed once
        steps = [
            e
            for e in survivor.audit_events()
            if e.get("file_id") == file_id and e["event"] in ("ack.277ca.written", "file.routed")
        ]
        assert {e["node"] for e in steps} == {"gw-b"}
        assert not [
            e
            for e in survivor.audit_events()
            if e["event"] == "ack.999.written" and e.get("file_id") == file_id
        ]
        # both nodes present the one host key of the shared directory
        assert (tmp_path / "shared" / "host_keys" / "ssh_host_ed25519_key").exists()
    finally:
        store.close()
        doomed.stop(signal.SIGKILL)
        survivor.stop()


def test_a_database_blip_refuses_uploads_keeps_logins_and_readiness_recovers(
    tmp_path: Path, pg_schema: str
) -> None:
    parts = urlsplit(pg_schema)
    target = (parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy = Balancer(0, lambda: [target[1]], host=target[0])  # a database blip on demand
    netloc = parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    if netloc == parts.netloc:  # no port in the URL
        netloc = parts.netloc.replace(str(parts.hostname), f"127.0.0.1:{proxy.port}")
    url = urlunsplit(parts._replace(netloc=netloc))
    node = _node(tmp_path, "gw-blip", url)
    node.start()
    key = private_key_copy("demo-billing", tmp_path)
    try:
        http = node.ports["http"]
        assert _ready(http) == 200
        proxy.down()
        wait_for(lambda: _ready(http) == 503, timeout=60)
        status, body = _post(http, _batch(2, 700_002), "blip.837")
        assert (status, body.get("error")) == (503, "store_unavailable")
        # a key login works while the database is away; the upload itself is refused
        transport = paramiko.Transport(("127.0.0.1", node.sftp_port))
        transport.connect(
            username="demo-billing", pkey=paramiko.Ed25519Key.from_private_key_file(str(key))
        )
        assert transport.is_authenticated()
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        local = tmp_path / "blip.837"
        local.write_bytes(_batch(2, 700_003))
        with pytest.raises(OSError):
            sftp.put(str(local), "/inbound/blip.837")
        sftp.close()
        proxy.up = True
        wait_for(lambda: _ready(http) == 200, timeout=60)
        status, body = _post(http, _batch(2, 700_004), "after.837")
        assert status == 202, body
        client = paramiko_client(node.sftp_port, key)
        try:
            wait_for(lambda: any(n.endswith("_999.x12") for n in client.listdir("/outbound")))
        finally:
            client.close()
        store = Store(pg_schema)
        try:
            names = [f.name for f in store.recent_files()]
        finally:
            store.close()
        assert names == ["after.837"]  # nothing refused was recorded
    finally:
        node.stop(signal.SIGKILL)
        proxy.close()
