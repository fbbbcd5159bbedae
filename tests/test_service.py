"""The composition root stops in phases: an SFTP upload that closes inside the shutdown grace
is stored and answered, because the store outlives the listeners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import paramiko
import pytest_twisted
from twisted.internet import reactor, threads

from gateway.config import PROJECT_ROOT, GatewayConfig, HttpConfig, PipelineConfig, SftpConfig
from gateway.service import make_service
from gateway.store.sqlite import Store
from tests.e2e.conftest import private_key_copy
from tests.x12files import corpus_file, readdress


def _config(tmp_path: Path) -> GatewayConfig:
    return GatewayConfig(
        source="test",
        data_dir=tmp_path / "data",
        partners_dir=PROJECT_ROOT / "partners",
        pipeline=PipelineConfig(workers=0),
        sftp=SftpConfig(listen="tcp:0:interface=127.0.0.1", shutdown_grace=20.0),
        http=HttpConfig(listen="tcp:0:interface=127.0.0.1"),
    )


def _open_upload(port: int, key: Path, data: bytes) -> tuple[Any, Any]:
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.connect(
        username="demo-billing", pkey=paramiko.Ed25519Key.from_private_key_file(str(key))
    )
    sftp = paramiko.SFTPClient.from_transport(transport)
    assert sftp is not None
    sftp.get_channel().settimeout(15)  # a close that is never answered fails the test
    handle = sftp.open("/inbound/claims.837", "wb")
    handle.write(data)
    handle.flush()
    return transport, handle


def _close(transport: Any, handle: Any) -> str:
    try:
        handle.close()
        return "ok"
    except Exception as exc:  # the answer we check
        return f"{type(exc).__name__}: {exc}"
    finally:
        transport.close()


def test_stop_phases_put_the_core_last(tmp_path: Path) -> None:
    service = make_service(_config(tmp_path), reactor, console=False)
    phases = service.stop_phases()
    assert phases[0] == [service.sftp, service.http]
    assert phases[1] == [service.as2_sender]
    assert phases[-1] == [service.core]
    service.audit.close()
    service.core.store.close()


@pytest_twisted.ensureDeferred
async def test_an_upload_closing_inside_the_grace_is_stored_and_answered(tmp_path: Path) -> None:
    config = _config(tmp_path)
    service = make_service(config, reactor, console=False)
    service.startService()
    stopping = None
    try:
        port = (await service.sftp.listening).getHost().port
        await service.http.listening
        key = private_key_copy("demo-billing", tmp_path)
        data = readdress(corpus_file("837p/uhin-837.edi"), control=7301)
        transport, handle = await threads.deferToThread(_open_upload, port, key, data)
        stopping = service.stopService()  # the upload is in flight: the grace waits for it
        answer = await threads.deferToThread(_close, transport, handle)
        assert answer == "ok"
    finally:
        await (stopping if stopping is not None else service.stopService())
    store = Store(config.database)
    try:
        files = store.recent_files("demo-billing")
    finally:
        store.close()
    assert [(f.name, f.size) for f in files] == [("claims.837", len(data))]
    staging = config.data_dir / "staging" / "demo-billing"
    assert [p.name for p in staging.iterdir() if p.name.startswith(".")] == []
    events = [line for line in (config.data_dir / "log" / "audit.jsonl").read_text().splitlines()]
    assert '"gateway.stopped"' in events[-1]
