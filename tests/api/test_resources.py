"""The JSON API, health, readiness and metrics over a real socket (real core, no workers)."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest_twisted
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.web.resource import Resource

from gateway.api.auth import new_token
from gateway.api.limits import HttpLimits
from gateway.api.openapi import openapi_document
from gateway.api.resources import ApiRoot
from gateway.profiles import ApiToken, PartnerSet
from gateway.transports.http import SPOOL_DIR_NAME, SPOOL_PREFIX, GatewaySite
from tests.api.conftest import DEMO_TOKEN, EXT01_TOKEN, Api, MakeApi, bearer
from tests.x12files import corpus_file, readdress


def claims(control: int) -> bytes:
    return readdress(corpus_file("837p/uhin-837.edi"), control=control)


async def sleep(seconds: float) -> None:
    await deferLater(reactor, seconds, lambda: None)


async def until_processed(api: Api, file_id: str, token: str = DEMO_TOKEN) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        answer = await api.call("GET", f"/api/v1/files/{file_id}", headers=bearer(token))
        assert answer.status == 200, answer.body
        status = answer.json()
        if status["state"] != "received":
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        await sleep(0.05)


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


# ------------------------------------------------------------------- health, readiness


@pytest_twisted.ensureDeferred
async def test_health_and_readiness(make_api: MakeApi) -> None:
    api = await make_api()
    health = await api.call("GET", "/healthz")
    assert (health.status, health.json()) == (200, {"status": "ok"})
    ready = await api.call("GET", "/readyz")
    assert ready.status == 200
    assert ready.json() == {
        "ready": True,
        "store_writable": True,
        "sftp_listening": True,
        "http_listening": True,
    }
    api.ports.pop("sftp")
    not_ready = await api.call("GET", "/readyz")
    assert not_ready.status == 503 and not_ready.json()["sftp_listening"] is False


# ------------------------------------------------------------------- the happy path


@pytest_twisted.ensureDeferred
async def test_submit_status_mailbox_download_pickup(make_api: MakeApi) -> None:
    api = await make_api()
    data = claims(5001)
    submitted = await api.call(
        "POST",
        "/api/v1/files?filename=batch-1.837",
        data,
        {**bearer(), "Content-Type": "application/edi-x12"},
    )
    assert submitted.status == 202, submitted.body
    file_id = submitted.json()["file_id"]
    assert submitted.json() == {
        "file_id": file_id,
        "state": "received",
        "status_url": f"/api/v1/files/{file_id}",
    }
    assert submitted.headers["location"] == f"/api/v1/files/{file_id}"
    (received,) = api.named("file.received")
    assert received["channel"] == "http" and received["partner"] == "demo-billing"

    status = await until_processed(api, file_id)
    assert status["name"] == "batch-1.837" and status["channel"] == "http"
    assert status["size"] == len(data)
    assert status["sha256"] == hashlib.sha256(data).hexdigest()
    assert status["state"] in ("processed", "rejected")  # the edits reject its claims
    # a 999 (and, with front-end edits, a 277CA): each in the mailbox under its name
    (ack,) = [a for a in status["acknowledgments"] if a["kind"] == "999"]
    assert ack["kind"] == "999" and ack["accepted"] is True
    assert ack["interchange_control"] == "000005001"
    name = ack["mailbox_name"]
    assert name.endswith(f"_{file_id}_999.x12")

    mailbox = await api.call("GET", "/api/v1/mailbox", headers=bearer())
    assert mailbox.status == 200
    entries = {f["name"]: f for f in mailbox.json()["files"]}
    assert mailbox.json()["partner"] == "demo-billing"
    assert set(entries) == {a["mailbox_name"] for a in status["acknowledgments"]}
    entry = entries[name]
    assert (entry["kind"], entry["file_id"]) == ("999", file_id)

    download = await api.call("GET", f"/api/v1/mailbox/{name}", headers=bearer())
    assert download.status == 200
    assert download.body.startswith(b"ISA*") and b"ST*999*" in download.body
    assert len(download.body) == entry["size"] == int(download.headers["content-length"])
    assert download.headers["content-type"] == "application/edi-x12"
    assert download.headers["etag"] == f'"{hashlib.sha256(download.body).hexdigest()}"'
    assert api.named("api.download")[0]["file_name"] == name

    for each in entries:
        gone = await api.call("DELETE", f"/api/v1/mailbox/{each}", headers=bearer())
        assert (gone.status, gone.body) == (204, b"")
    again = await api.call("DELETE", f"/api/v1/mailbox/{name}", headers=bearer())
    assert again.status == 404 and again.json()["error"] == "not_found"
    after = await api.call("GET", f"/api/v1/mailbox/{name}", headers=bearer())
    assert after.status == 404
    empty = await api.call("GET", "/api/v1/mailbox", headers=bearer())
    assert empty.json()["files"] == []
    assert api.spooled() == []

    text = (await api.call("GET", "/metrics")).body.decode()
    samples = metric_samples(text)
    assert samples[("gateway_files_received_total", (("channel", "http"),))] == 1
    assert samples[("gateway_acks_total", (("kind", "999"), ("result", "accepted")))] == 1
    assert samples[("gateway_mailbox_pickups_total", (("kind", "999"),))] == 1
    pickups = sum(v for (n, _), v in samples.items() if n == "gateway_mailbox_pickups_total")
    assert pickups == len(entries)
    route = (("code", "202"), ("route", "POST /api/v1/files"))
    assert samples[("gateway_http_requests_total", route)] == 1


@pytest_twisted.ensureDeferred
async def test_form_content_type_is_stored_as_sent(make_api: MakeApi) -> None:
    api = await make_api()
    body = b"a=1&b=2 not X12 at all"
    answer = await api.call(
        "POST",
        "/api/v1/files",
        body,
        {**bearer(), "Content-Type": "application/x-www-form-urlencoded", "X-Filename": "f.txt"},
    )
    assert answer.status == 202
    status = await until_processed(api, answer.json()["file_id"])
    assert status["name"] == "f.txt" and status["size"] == len(body)
    assert [a["kind"] for a in status["acknowledgments"]] == ["REJECT"]
    report = await api.call(
        "GET", f"/api/v1/mailbox/{status['acknowledgments'][0]['mailbox_name']}", headers=bearer()
    )
    assert report.headers["content-type"].startswith("text/plain")


@pytest_twisted.ensureDeferred
async def test_large_mailbox_file_streams_whole(make_api: MakeApi) -> None:
    api = await make_api()
    content = bytes(range(256)) * (5 * 4096 + 7)  # ~5 MiB

    def place() -> str:
        sha = api.core.blobs.put(content)
        with api.core.store.transaction() as tx:
            tx.add_mailbox("ext01", "big.x12", "837", None, sha, len(content), time.time())
        return sha

    sha = await api.core.in_store(place)
    answer = await api.call("GET", "/api/v1/mailbox/big.x12", headers=bearer(EXT01_TOKEN))
    assert answer.status == 200 and answer.body == content
    assert answer.headers["etag"] == f'"{sha}"'
    mine = await api.call("GET", "/api/v1/mailbox/big.x12", headers=bearer())
    assert mine.status == 404  # demo-billing does not see ext01's mailbox


# ------------------------------------------------------------------- who sees what


@pytest_twisted.ensureDeferred
async def test_a_partner_sees_only_its_own(make_api: MakeApi) -> None:
    api = await make_api()
    submitted = await api.call("POST", "/api/v1/files", claims(5002), bearer())
    file_id = submitted.json()["file_id"]
    status = await until_processed(api, file_id)
    names = sorted(a["mailbox_name"] for a in status["acknowledgments"])
    name = names[0]

    other = bearer(EXT01_TOKEN)
    assert (await api.call("GET", f"/api/v1/files/{file_id}", headers=other)).status == 404
    missing = await api.call("GET", "/api/v1/files/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=other)
    assert missing.status == 404
    assert missing.json() == {"error": "not_found", "message": "no such file"}
    assert (await api.call("GET", "/api/v1/files/not-an-id", headers=other)).status == 404
    listing = await api.call("GET", "/api/v1/mailbox", headers=other)
    assert listing.json() == {"partner": "ext01", "files": []}
    assert (await api.call("GET", f"/api/v1/mailbox/{name}", headers=other)).status == 404
    assert (await api.call("DELETE", f"/api/v1/mailbox/{name}", headers=other)).status == 404
    # still there for its owner
    still = await api.call("GET", "/api/v1/mailbox", headers=bearer())
    assert sorted(f["name"] for f in still.json()["files"]) == names


# ------------------------------------------------------------------- bad input


@pytest_twisted.ensureDeferred
async def test_unauthorized_stores_nothing(make_api: MakeApi) -> None:
    api = await make_api()
    missing = await api.call("POST", "/api/v1/files", claims(5003))
    assert missing.status == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="edi-gateway"'
    assert missing.json()["error"] == "unauthorized"
    wrong = DEMO_TOKEN[:-4] + "AAAA"
    bad = await api.call("POST", "/api/v1/files", claims(5003), bearer(wrong))
    assert bad.status == 401
    assert bad.headers["www-authenticate"] == 'Bearer realm="edi-gateway", error="invalid_token"'
    for path in ("/api/v1/mailbox", "/api/v1/files/01ARZ3NDEKTSV4RRFFQ69G5FAV"):
        assert (await api.call("GET", path, headers=bearer(wrong))).status == 401
    assert await api.stored_files() == []
    assert api.spooled() == []
    failures = api.named("api.auth.failed")
    assert [f["reason"] for f in failures[:2]] == ["missing", "mismatch"]
    assert failures[1]["token_id"] == "demo-billing-1"
    assert all(wrong not in repr(f) for f in failures)


@pytest_twisted.ensureDeferred
async def test_routing_errors_and_bad_requests(make_api: MakeApi) -> None:
    api = await make_api()
    nothing = await api.call("GET", "/api/v1/nothing", headers=bearer())
    assert nothing.status == 404 and nothing.json()["error"] == "not_found"
    method = await api.call("PUT", "/api/v1/files", b"x", bearer())
    assert method.status == 405 and method.headers["allow"] == "POST"
    assert method.json()["error"] == "method_not_allowed"
    empty = await api.call("POST", "/api/v1/files", b"", bearer())
    assert empty.status == 400 and empty.json()["error"] == "empty_body"
    for name in ("../etc/passwd", ".hidden", "a b", "x" * 201):
        bad = await api.call("POST", "/api/v1/files", b"ISA", {**bearer(), "X-Filename": name})
        assert bad.status == 400 and bad.json()["error"] == "bad_filename", name
    assert await api.stored_files() == []
    assert api.spooled() == []


def _post_head(length: int | None, extra: bytes = b"") -> bytes:
    head = (
        b"POST /api/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + DEMO_TOKEN.encode()
        + b"\r\n"
        + extra
    )
    if length is None:
        head += b"Transfer-Encoding: chunked\r\n"
    else:
        head += b"Content-Length: %d\r\n" % length
    return head + b"\r\n"


@pytest_twisted.ensureDeferred
async def test_oversized_bodies_are_refused_before_buffering(make_api: MakeApi) -> None:
    api = await make_api(limits=HttpLimits(max_body=1000))
    # declared too large: answered from the headers alone, nothing of the body is read
    answer = await api.raw(_post_head(10_000))
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"error": "payload_too_large"' in answer and b"Connection: close" in answer
    # a client waiting for 100 Continue gets the final answer and no 100
    answer = await api.raw(_post_head(10_000, b"Expect: 100-continue\r\n"))
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
    # chunked: cut off as soon as it passes the limit
    chunk = b"%x\r\n%s\r\n" % (600, b"x" * 600)
    answer = await api.raw(_post_head(None) + chunk * 3 + b"0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 ")
    # at the limit is fine
    fine = await api.call("POST", "/api/v1/files", b"y" * 1000, bearer())
    assert fine.status == 202
    files = await api.stored_files()
    assert [f.size for f in files] == [1000]
    assert api.spooled() == []
    samples = metric_samples((await api.call("GET", "/metrics")).body.decode())
    assert samples[("gateway_http_requests_total", (("code", "413"), ("route", "(early)")))] == 3


@pytest_twisted.ensureDeferred
async def test_a_client_gone_mid_body_leaves_nothing(make_api: MakeApi) -> None:
    api = await make_api(limits=HttpLimits(max_uploads=1))
    answer = await api.raw(_post_head(5000) + b"x" * 100, wait=0.3)
    assert answer == b""  # the client gave up before the body was complete
    for _ in range(50):
        if not api.spooled() and api.site.uploads == 0:
            break
        await sleep(0.02)
    assert api.spooled() == [] and api.site.uploads == 0
    # the upload slot is free again
    assert (await api.call("POST", "/api/v1/files", b"ISA", bearer())).status == 202
    assert len(await api.stored_files()) == 1


@pytest_twisted.ensureDeferred
async def test_upload_slots_are_limited(make_api: MakeApi) -> None:
    api = await make_api(limits=HttpLimits(max_uploads=1))
    first = api.raw(_post_head(5000) + b"x" * 100, wait=1.0)
    while api.site.uploads == 0:
        await sleep(0.01)
    second = await api.raw(_post_head(10) + b"0123456789", wait=2.0)
    assert second.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in second
    await first
    assert await api.stored_files() == []


@pytest_twisted.ensureDeferred
async def test_slow_and_idle_clients_time_out(make_api: MakeApi) -> None:
    api = await make_api(limits=HttpLimits(request_timeout=0.5, idle_timeout=0.4))
    # headers trickle in: the request deadline answers 408 and closes
    answer = await api.raw(_post_head(100) + b"x" * 10, pause=0.2, wait=5)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"error": "request_timeout"' in answer
    # a connection that sends nothing is closed by the idle timeout
    assert await api.closed_when_idle(wait=5)
    assert await api.stored_files() == []
    await sleep(0.05)
    assert api.spooled() == []


@pytest_twisted.ensureDeferred
async def test_concurrency_limits_per_partner_and_global(make_api: MakeApi) -> None:
    api = await make_api(limits=HttpLimits(max_per_partner=1, max_in_flight=2))
    held: list[defer.Deferred[bool]] = []
    real_pick_up = api.core.pick_up

    def slow_pick_up(partner_id: str, name: str) -> defer.Deferred[bool]:
        d: defer.Deferred[bool] = defer.Deferred()
        held.append(d)
        return d

    api.core.pick_up = slow_pick_up  # type: ignore[method-assign]
    first = api.call("DELETE", "/api/v1/mailbox/a", headers=bearer())
    while not held:
        await sleep(0.01)
    second = await api.call("GET", "/api/v1/mailbox", headers=bearer())
    assert second.status == 429 and second.json()["error"] == "too_many_requests"
    assert second.headers["retry-after"] == "1"
    other = api.call("DELETE", "/api/v1/mailbox/b", headers=bearer(EXT01_TOKEN))
    while len(held) < 2:
        await sleep(0.01)
    # two in flight: the gateway is full, also for a partner with nothing in flight
    token, stored = new_token("sim01-1")
    sim01 = replace(
        api.partners.partners["sim01"],
        api_tokens=(ApiToken("sim01-1", bytes.fromhex(stored.removeprefix("sha256:"))),),
    )
    api.partners = PartnerSet({**api.partners.partners, "sim01": sim01})
    busy = await api.call("GET", "/api/v1/mailbox", headers=bearer(token))
    assert busy.status == 503 and busy.json()["error"] == "unavailable"
    assert busy.headers["retry-after"] == "1"
    for d in held:
        d.callback(False)
    assert (await first).status == 404 and (await other).status == 404
    api.core.pick_up = real_pick_up  # type: ignore[method-assign]
    assert (await api.call("GET", "/api/v1/mailbox", headers=bearer())).status == 200


# ------------------------------------------------------------------- OpenAPI


@pytest_twisted.ensureDeferred
async def test_openapi_document_is_served_and_covers_every_route(make_api: MakeApi) -> None:
    api = await make_api()
    answer = await api.call("GET", "/api/v1/openapi.json")
    assert answer.status == 200
    document = answer.json()
    assert document == openapi_document(HttpLimits())
    assert document["openapi"].startswith("3.")
    root = ApiRoot.__new__(ApiRoot)  # routes only
    documented = {
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    }
    probes = {
        ("GET", "openapi.json"),
        ("POST", "files"),
        ("GET", "files/X"),
        ("GET", "mailbox"),
        ("GET", "mailbox/X"),
        ("DELETE", "mailbox/X"),
        ("GET", "remittances"),
        ("POST", "eligibility"),
        ("POST", "x12"),
        ("POST", "claim-status"),
        ("GET", "claims"),
        ("GET", "claims/1"),
        ("POST", "claims/1/appeals"),
        ("GET", "ar-aging"),
        ("GET", "denials"),
        ("GET", "statements"),
        ("GET", "statements/S1"),
        ("POST", "claims/1/write-offs"),
        ("POST", "patient-payments"),
    }
    served = {
        ApiRoot.route(root, m.encode(), [p.encode() for p in path.split("/")]).name
        for m, path in probes
    }
    served |= {"GET /core", "POST /core"}  # CAQH CORE (gateway.api.core), beside /api/v1
    assert served == documented

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref
    codes = set(document["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    assert {"unauthorized", "not_found", "payload_too_large", "too_many_requests"} <= codes


# ------------------------------------------------------------------- answers match the document


def _check(schema: dict[str, Any], value: Any, document: dict[str, Any], where: str) -> None:
    """The subset of JSON Schema the document uses: $ref, type, required, properties, items,
    enum, const, pattern."""
    if "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        _check(target, value, document, where)
        return
    kinds = schema.get("type")
    if kinds is not None:
        names = {
            "object": dict,
            "array": list,
            "string": str,
            "integer": int,
            "boolean": bool,
            "null": type(None),
        }
        allowed = tuple(names[k] for k in ([kinds] if isinstance(kinds, str) else kinds))
        assert isinstance(value, allowed), (where, value, kinds)
        if isinstance(value, bool):
            assert bool in allowed, (where, value)
    if "enum" in schema:
        assert value in schema["enum"], (where, value)
    if "const" in schema:
        assert value == schema["const"], (where, value)
    if "pattern" in schema and isinstance(value, str):
        assert re.search(schema["pattern"], value), (where, value)
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, (where, key)
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(sub, value[key], document, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            _check(schema["items"], item, document, f"{where}[{n}]")


def conforms(
    document: dict[str, Any], method: str, template: str, answer: Any, *, known: bool = True
) -> None:
    """``answer`` is documented for the operation: its status, and a JSON body's schema."""
    operation = document["paths"][template][method.lower()]
    documented = operation["responses"]
    assert str(answer.status) in documented, (method, template, answer.status)
    content = documented[str(answer.status)].get("content", {})
    if "application/json" in content:
        assert answer.headers["content-type"] == "application/json"
        schema = content["application/json"]["schema"]
        _check(schema, answer.json(), document, f"{method} {template} {answer.status}")


@pytest_twisted.ensureDeferred
async def test_answers_match_the_openapi_document(make_api: MakeApi) -> None:
    api = await make_api(limits=HttpLimits(max_body=4096))
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    wrong = bearer(DEMO_TOKEN[:-2] + "zz")

    submitted = await api.call("POST", "/api/v1/files?filename=a.837", claims(5100), bearer())
    conforms(document, "POST", "/api/v1/files", submitted)
    file_id = submitted.json()["file_id"]
    status = await until_processed(api, file_id)
    names = [a["mailbox_name"] for a in status["acknowledgments"]]
    cases: list[tuple[str, str, str, bytes | None, dict[str, str]]] = [
        ("GET", f"/api/v1/files/{file_id}", "/api/v1/files/{id}", None, bearer()),
        ("GET", f"/api/v1/files/{file_id}", "/api/v1/files/{id}", None, bearer(EXT01_TOKEN)),
        ("GET", f"/api/v1/files/{file_id}", "/api/v1/files/{id}", None, wrong),
        ("GET", "/api/v1/files/X", "/api/v1/files/{id}", None, bearer()),
        ("GET", "/api/v1/mailbox", "/api/v1/mailbox", None, bearer()),
        ("GET", "/api/v1/mailbox", "/api/v1/mailbox", None, {}),
        ("GET", f"/api/v1/mailbox/{names[0]}", "/api/v1/mailbox/{name}", None, bearer()),
        ("GET", "/api/v1/mailbox/nope", "/api/v1/mailbox/{name}", None, bearer()),
        ("DELETE", f"/api/v1/mailbox/{names[0]}", "/api/v1/mailbox/{name}", None, bearer()),
        ("DELETE", f"/api/v1/mailbox/{names[0]}", "/api/v1/mailbox/{name}", None, bearer()),
        ("DELETE", "/api/v1/mailbox/x", "/api/v1/mailbox/{name}", None, wrong),
        ("POST", "/api/v1/files", "/api/v1/files", b"", bearer()),
        ("POST", "/api/v1/files?filename=..", "/api/v1/files", b"ISA", bearer()),
        ("POST", "/api/v1/files", "/api/v1/files", b"ISA", {}),
        ("POST", "/api/v1/files", "/api/v1/files", b"x" * 5000, bearer()),
    ]
    for method, path, template, body, headers in cases:
        answer = await api.call(method, path, body, headers)
        if answer.status == 413:  # answered before routing: still the documented shape
            assert answer.json()["error"] == "payload_too_large"
        conforms(document, method, template, answer)


def test_bodies_left_by_a_crash_are_deleted_when_the_site_is_built(tmp_path: Path) -> None:
    spool = tmp_path / "staging" / SPOOL_DIR_NAME
    spool.mkdir(parents=True)
    (spool / f"{SPOOL_PREFIX}abc").write_bytes(b"half a body")
    GatewaySite(Resource(), limits=HttpLimits(), spool_dir=spool, reactor=reactor)
    assert list(spool.iterdir()) == []
