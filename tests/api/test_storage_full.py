"""A full disk at intake: the upload is answered 507 (nothing kept) and /readyz says 503 until
space returns; then the same upload is taken."""

from __future__ import annotations

import errno
import json
import os
from typing import Any

import pytest
import pytest_twisted

from tests.api.conftest import MakeApi, bearer
from tests.x12files import corpus_file, readdress


def _full(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest_twisted.ensureDeferred
async def test_upload_onto_a_full_disk_is_answered_507_and_not_ready(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_api()
    data = readdress(corpus_file("837p/uhin-837.edi"), control=7101)
    headers = {**bearer(), "Content-Type": "application/edi-x12"}
    assert (await api.call("GET", "/readyz")).status == 200

    monkeypatch.setattr(os, "fsync", _full)  # every fsync of a payload or a probe fails
    refused = await api.call("POST", "/api/v1/files?filename=full.837", data, headers)
    assert refused.status == 507, refused.body
    assert refused.json()["error"] == "insufficient_storage"
    assert refused.headers.get("retry-after")
    assert await api.stored_files() == [] and api.spooled() == []
    assert api.named("intake.storage_full") == [{"partner": "demo-billing", "channel": "http"}]
    ready = await api.call("GET", "/readyz")
    assert ready.status == 503 and ready.json()["store_writable"] is False

    monkeypatch.undo()  # space again
    assert (await api.call("GET", "/readyz")).status == 200
    taken = await api.call("POST", "/api/v1/files?filename=full.837", data, headers)
    assert taken.status == 202, taken.body
    assert len(await api.stored_files()) == 1


@pytest_twisted.ensureDeferred
async def test_a_body_that_cannot_be_spooled_is_answered_507(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small body sits in the spool file's buffer until it is handed over: the disk being
    full shows up there, and is answered like any other full disk."""
    from gateway.transports.http import GatewayRequest

    api = await make_api()
    data = readdress(corpus_file("837p/uhin-837.edi"), control=7102)
    headers = {**bearer(), "Content-Type": "application/edi-x12"}
    monkeypatch.setattr(GatewayRequest, "take_body", _full)
    refused = await api.call("POST", "/api/v1/files?filename=full.837", data, headers)
    assert refused.status == 507, refused.body
    assert await api.stored_files() == []


class _FullFile:
    """A spool file on a full disk: every write fails with ENOSPC."""

    def __init__(self, path: Any, mode: str = "r", **kwargs: Any) -> None:
        self._file = open(path, mode, **kwargs)

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


@pytest.mark.parametrize("failing", ["write", "create"])
@pytest_twisted.ensureDeferred
async def test_a_body_that_cannot_be_received_is_answered_507(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The bytes of the body itself hit the full disk (the 955-byte upload of the fault run,
    which got no answer at all)."""
    api = await make_api()
    data = readdress(corpus_file("837p/uhin-837.edi"), control=7103)
    headers = {**bearer(), "Content-Type": "application/edi-x12"}
    monkeypatch.setattr(
        "gateway.transports.http.open", _FullFile if failing == "write" else _full, raising=False
    )
    refused = await api.call("POST", "/api/v1/files?filename=full.837", data, headers)
    assert refused.status == 507, refused.body
    assert json.loads(refused.body)["error"] == "insufficient_storage"
    assert await api.stored_files() == [] and api.spooled() == []
    monkeypatch.undo()
    taken = await api.call("POST", "/api/v1/files?filename=full.837", data, headers)
    assert taken.status == 202, taken.body
