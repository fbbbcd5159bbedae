"""The JSON API under ``/api/v1`` (documented by :mod:`gateway.api.openapi`).

One leaf resource routes by method and path. Every request except the OpenAPI document needs
``Authorization: Bearer <token>`` (:mod:`gateway.api.auth`); a partner sees only its own files
and mailbox: someone else's file id or mailbox name is answered 404, exactly like one that does
not exist. Errors are JSON ``{"error": code, "message": text}``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from twisted.internet import defer, threads
from twisted.protocols.basic import FileSender
from twisted.python.failure import Failure
from twisted.web import resource, server

from gateway.api import billing as billing_api
from gateway.api.auth import AuthFailure, Caller, authenticate
from gateway.api.claim_status import post_claim_status
from gateway.api.limits import HttpLimits, Limiter
from gateway.api.openapi import REALTIME_MAX_BODY, openapi_document
from gateway.api.remittances import get_remittances
from gateway.pipeline.core_forward import (
    ForwardError,
    ForwardPlan,
    answer_sets,
    external_endpoint,
    forward_request,
    plan_forward,
    post_core,
)
from gateway.pipeline.eligibility import (
    RealtimeAnswer,
    answer_in,
    answer_interchange,
    check_interchange,
    json_271,
    outcome_of,
)
from gateway.store.engine import database_errors
from gateway.store.faults import storage_full
from gateway.store.sqlite import FileRecord, MailboxRecord, ResponseRecord
from gateway.x12.acks import Gateway
from gateway.x12.eligibility import FieldError, answer_json, request_from_json
from gateway.x12.forward import rewrap
from gateway.x12.kinds import kind_of

T = TypeVar("T")

REALM = "edi-gateway"
#: Real-time counter values (JSON TRN02s, ISA13s of real-time answers) reserved per write.
COUNTER_BLOCK = 1000
_FILE_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
#: Stored as the file's name (metadata only: never used as a path).
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,199}")
_CONTENT_TYPES = {"x12": b"application/edi-x12", "txt": b"text/plain; charset=utf-8"}


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[bytes, bytes] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def _gone(request: Any) -> bool:
    return bool(getattr(request, "_disconnected", False)) or bool(request.finished)


def send_json(
    request: Any, status: int, body: Any, headers: dict[bytes, bytes] | None = None
) -> None:
    if _gone(request):
        return
    request.setResponseCode(status)
    request.setHeader(b"cache-control", b"no-store")
    for key, value in (headers or {}).items():
        request.setHeader(key, value)
    if status == 204:
        request.finish()
        return
    request.setHeader(b"content-type", b"application/json")
    payload = json.dumps(body).encode() + b"\n"
    request.setHeader(b"content-length", str(len(payload)).encode())
    request.write(payload)
    request.finish()


def send_error(request: Any, error: ApiError) -> None:
    send_json(request, error.status, {"error": error.code, "message": error.message}, error.headers)


def file_status(record: FileRecord, responses: list[ResponseRecord]) -> dict[str, Any]:
    return {
        "file_id": record.id,
        "name": record.name,
        "channel": record.channel,
        "size": record.size,
        "sha256": record.sha256,
        "received_at": iso(record.received_at),
        "state": record.state,  # one of gateway.states.FILE_STATES
        "acknowledgments": [
            {
                "kind": r.kind,
                "accepted": r.accepted,
                "mailbox_name": r.mailbox_name if r.partner_id == record.partner_id else None,
                "interchange_control": r.interchange_control,
                "ack_control": r.outbound_control,
            }
            for r in responses
        ],
    }


def mailbox_entry(entry: MailboxRecord) -> dict[str, Any]:
    return {
        "name": entry.name,
        "kind": entry.kind,
        "size": entry.size,
        "created_at": iso(entry.created_at),
        "file_id": entry.file_id,
        "sha256": entry.sha256,
    }


@dataclass(frozen=True)
class Route:
    name: str
    """A template for metrics, e.g. ``GET /api/v1/files/{id}``."""
    handler: Callable[..., Coroutine[Any, Any, None]] | None
    auth: bool = True


class _ChunkedFileSender(FileSender):
    CHUNK_SIZE = 2**16


class ApiRoot(resource.Resource):
    """``/api/v1``: routes, authentication, limits, and the handlers."""

    isLeaf = True

    def __init__(self, gateway: Any, limits: HttpLimits | None = None) -> None:
        super().__init__()
        self.gateway = gateway
        self.limits = limits or HttpLimits()
        self.limiter = Limiter(self.limits)
        self._openapi = json.dumps(openapi_document(self.limits), indent=1).encode() + b"\n"
        self._validator: Any = None
        self._validating = defer.DeferredLock()
        self._blocks: dict[str, list[int]] = {}
        """Reserved counter values (TRN02 of JSON requests, ISA13 of real-time answers), the
        next one last; used in the store thread only."""

    # routing ----------------------------------------------------------------------------
    def route(self, method: bytes, path: list[bytes]) -> Route:
        """The route of a request, or raises 404/405."""
        table: dict[bytes, Route] = {}
        if path == [b"openapi.json"]:
            table = {b"GET": Route("GET /api/v1/openapi.json", self.get_openapi, auth=False)}
        elif path in ([b"files"], [b"files", b""]):
            table = {b"POST": Route("POST /api/v1/files", self.post_file)}
        elif len(path) == 2 and path[0] == b"files" and path[1]:
            table = {b"GET": Route("GET /api/v1/files/{id}", self.get_file)}
        elif path == [b"eligibility"]:
            table = {b"POST": Route("POST /api/v1/eligibility", self.post_eligibility)}
        elif path == [b"x12"]:
            table = {b"POST": Route("POST /api/v1/x12", self.post_x12)}
        elif path == [b"claim-status"]:
            table = {b"POST": Route("POST /api/v1/claim-status", self.post_claim_status)}
        elif path in ([b"mailbox"], [b"mailbox", b""]):
            table = {b"GET": Route("GET /api/v1/mailbox", self.get_mailbox)}
        elif path in ([b"remittances"], [b"remittances", b""]):
            table = {b"GET": Route("GET /api/v1/remittances", self.get_remittances)}
        elif path in ([b"claims"], [b"claims", b""]):
            table = {b"GET": Route("GET /api/v1/claims", self.billing(billing_api.get_claims))}
        elif len(path) == 2 and path[0] == b"claims" and path[1]:
            table = {b"GET": Route("GET /api/v1/claims/{id}", self.billing(billing_api.get_claim))}
        elif len(path) == 3 and path[0] == b"claims" and path[2] == b"appeals":
            table = {
                b"POST": Route(
                    "POST /api/v1/claims/{id}/appeals", self.billing(billing_api.post_appeal)
                )
            }
        elif len(path) == 3 and path[0] == b"claims" and path[2] == b"write-offs":
            table = {
                b"POST": Route(
                    "POST /api/v1/claims/{id}/write-offs", self.billing(billing_api.post_writeoff)
                )
            }
        elif path in ([b"statements"], [b"statements", b""]):
            table = {
                b"GET": Route("GET /api/v1/statements", self.billing(billing_api.get_statements))
            }
        elif len(path) == 2 and path[0] == b"statements" and path[1]:
            table = {
                b"GET": Route(
                    "GET /api/v1/statements/{id}", self.billing(billing_api.get_statement)
                )
            }
        elif path == [b"denials"]:
            table = {b"GET": Route("GET /api/v1/denials", self.billing(billing_api.get_denials))}
        elif path == [b"ar-aging"]:
            table = {b"GET": Route("GET /api/v1/ar-aging", self.billing(billing_api.get_ar_aging))}
        elif path == [b"patient-payments"]:
            table = {
                b"POST": Route(
                    "POST /api/v1/patient-payments",
                    self.billing(billing_api.post_patient_payment),
                )
            }
        elif len(path) == 2 and path[0] == b"mailbox" and path[1]:
            table = {
                b"GET": Route("GET /api/v1/mailbox/{name}", self.download),
                b"DELETE": Route("DELETE /api/v1/mailbox/{name}", self.pick_up),
            }
        if not table:
            raise ApiError(404, "not_found", "no such resource")
        found = table.get(method)
        if found is None:
            allowed = b", ".join(sorted(table))
            raise ApiError(
                405,
                "method_not_allowed",
                f"use {allowed.decode()}",
                {b"allow": allowed},
            )
        return found

    def render(self, request: Any) -> Any:
        metrics = getattr(self.gateway, "metrics", None)
        try:
            route = self.route(request.method, list(request.postpath or []))
        except ApiError as error:
            if metrics is not None:
                metrics.http_request("(unrouted)", error.status)
            send_error(request, error)
            return server.NOT_DONE_YET
        if metrics is not None:
            request.notifyFinish().addBoth(
                lambda _: metrics.http_request(route.name, int(request.code))
            )
        caller: Caller | None = None
        if route.auth:
            result = authenticate(self.gateway.partners(), request.getHeader(b"authorization"))
            if isinstance(result, AuthFailure):
                self._unauthorized(request, result)
                return server.NOT_DONE_YET
            caller = result
            partner_id = caller.partner.id
            # An upload counted against its partner since its headers came in keeps that place
            # (GatewayRequest releases it); anything else takes one now.
            if getattr(request, "held_partner", None) != partner_id:
                busy = self._acquire(partner_id)
                if busy is not None:
                    send_error(request, busy)
                    return server.NOT_DONE_YET
                request.notifyFinish().addBoth(lambda _: self.limiter.release(partner_id))
        assert route.handler is not None
        d: defer.Deferred[None] = defer.ensureDeferred(route.handler(request, caller))
        d.addErrback(self._failed, request)
        return server.NOT_DONE_YET

    def _acquire(self, partner_id: str) -> ApiError | None:
        """A place for one more request of ``partner_id`` (None), or the error to answer."""
        busy = self.limiter.acquire(partner_id)
        if busy is None:
            return None
        code, message = (
            ("too_many_requests", "too many requests of this partner at once")
            if busy == 429
            else ("unavailable", "the gateway is busy; retry later")
        )
        retry = str(self.limits.retry_after).encode()
        return ApiError(busy, code, message, {b"retry-after": retry})

    def admit_upload(self, request: Any) -> ApiError | str:
        """Before a request body is read (its headers only): the partner the body is for, now
        counted against the per-partner and global limits (release with
        ``limiter.release(partner)``), or the error to answer at once (401, 429, 503)."""
        result = authenticate(self.gateway.partners(), request.getHeader(b"authorization"))
        if isinstance(result, AuthFailure):
            return self._auth_error(request, result)
        busy = self._acquire(result.partner.id)
        return busy if busy is not None else result.partner.id

    def _unauthorized(self, request: Any, failure: AuthFailure) -> None:
        send_error(request, self._auth_error(request, failure))

    def _auth_error(self, request: Any, failure: AuthFailure) -> ApiError:
        challenge = f'Bearer realm="{REALM}"'
        if failure.reason != "missing":
            challenge += ', error="invalid_token"'
        address = request.getClientAddress()
        self.gateway.audit(
            "api.auth.failed",
            reason=failure.reason,
            token_id=failure.token_id,
            peer=getattr(address, "host", None),
        )
        message = (
            "an Authorization: Bearer token is required"
            if failure.reason == "missing"
            else "the bearer token is not valid"
        )
        return ApiError(401, "unauthorized", message, {b"www-authenticate": challenge.encode()})

    def _failed(self, failure: Failure, request: Any) -> None:
        if failure.check(ApiError):
            error = failure.value
            assert isinstance(error, ApiError)
            send_error(request, error)
            return
        self.gateway.audit(
            "api.error",
            path=request.path.decode("latin-1")[:200],
            error=failure.type.__name__ if failure.type else "error",
        )
        send_error(request, ApiError(500, "internal_error", "the request could not be handled"))

    # handlers ---------------------------------------------------------------------------
    async def get_openapi(self, request: Any, caller: None) -> None:
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"content-length", str(len(self._openapi)).encode())
        request.write(self._openapi)
        request.finish()

    async def post_file(self, request: Any, caller: Caller) -> None:
        name = self._filename(request)
        try:
            path = request.take_body() if hasattr(request, "take_body") else None
        except OSError as exc:  # the spooled body could not be written out
            if storage_full(exc):
                raise self._no_space() from exc
            raise
        if path is None or path.stat().st_size == 0:
            if path is not None:
                path.unlink(missing_ok=True)
            raise ApiError(400, "empty_body", "send the X12 file as the request body")
        core = self.gateway.core
        try:
            file_id = await core.accept_upload(caller.partner.id, "http", name, path)
        except Exception as exc:
            path.unlink(missing_ok=True)
            if storage_full(exc):  # nothing was stored: say so, and when to come back
                raise self._no_space() from exc
            if isinstance(exc, database_errors()):  # the database is away: nothing recorded
                raise ApiError(
                    503,
                    "store_unavailable",
                    "the gateway cannot record the file right now; nothing was kept, retry later",
                    {b"retry-after": str(self.limits.retry_after).encode()},
                ) from exc
            raise
        location = f"/api/v1/files/{file_id}"
        send_json(
            request,
            202,
            {"file_id": file_id, "state": "received", "status_url": location},
            {b"location": location.encode()},
        )

    def _no_space(self) -> ApiError:
        return ApiError(
            507,
            "insufficient_storage",
            "the gateway has no space to store the file; nothing was kept, retry later",
            {b"retry-after": str(self.limits.retry_after).encode()},
        )

    def _filename(self, request: Any) -> str:
        values = request.args.get(b"filename") or []
        raw = values[0] if values else request.getHeader(b"x-filename")
        if raw is None:
            return f"http-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}.x12"
        try:
            name = raw.decode("ascii")
        except UnicodeDecodeError:
            name = ""
        if not _FILENAME.fullmatch(name):
            raise ApiError(
                400,
                "bad_filename",
                "filename must be 1-200 characters of A-Z a-z 0-9 . _ - "
                "(not starting with . _ or -)",
            )
        return name

    async def get_file(self, request: Any, caller: Caller) -> None:
        file_id = request.postpath[1].decode("latin-1")
        core = self.gateway.core
        record: FileRecord | None = None
        if _FILE_ID.fullmatch(file_id):
            record = await core.in_store(core.store.get_file, file_id)
        if record is None or record.partner_id != caller.partner.id:
            raise ApiError(404, "not_found", "no such file")
        responses = await core.in_store(core.store.responses_for, file_id)
        send_json(request, 200, file_status(record, responses))

    async def get_mailbox(self, request: Any, caller: Caller) -> None:
        core = self.gateway.core
        entries = await core.in_store(core.store.list_mailbox, caller.partner.id)
        send_json(
            request,
            200,
            {"partner": caller.partner.id, "files": [mailbox_entry(e) for e in entries]},
        )

    async def get_remittances(self, request: Any, caller: Caller) -> None:
        await get_remittances(self, request, caller)

    def billing(self, handler: Any) -> Callable[..., Coroutine[Any, Any, None]]:
        """A billing call (gateway/api/billing.py) as this resource's handler."""

        async def handle(request: Any, caller: Caller) -> None:
            await handler(self, request, caller)

        return handle

    def _name(self, request: Any) -> str:
        try:
            return str(request.postpath[1].decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ApiError(404, "not_found", "no such mailbox file") from exc

    async def download(self, request: Any, caller: Caller) -> None:
        name = self._name(request)
        core = self.gateway.core
        entry: MailboxRecord | None = await core.in_store(
            core.store.mailbox_entry, caller.partner.id, name
        )
        if entry is None:
            raise ApiError(404, "not_found", "no such mailbox file")
        try:
            handle = open(core.blobs.path(entry.sha256), "rb")
        except OSError as exc:
            raise ApiError(404, "not_found", "the file's content is not available") from exc
        if _gone(request):
            handle.close()
            return
        extension = name.rsplit(".", 1)[-1] if "." in name else ""
        request.setResponseCode(200)
        request.setHeader(
            b"content-type", _CONTENT_TYPES.get(extension, b"application/octet-stream")
        )
        request.setHeader(b"content-length", str(entry.size).encode())
        request.setHeader(b"etag", f'"{entry.sha256}"'.encode())
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"content-disposition", f'attachment; filename="{name}"'.encode())
        self.gateway.audit(
            "api.download",
            partner=caller.partner.id,
            file_name=name,
            kind=entry.kind,
            file_id=entry.file_id,
            size=entry.size,
        )
        try:
            await _ChunkedFileSender().beginFileTransfer(handle, request)
        except Exception:  # the client went away: nothing to answer
            return
        finally:
            handle.close()
        if not _gone(request):
            request.finish()

    async def pick_up(self, request: Any, caller: Caller) -> None:
        name = self._name(request)
        found = await self.gateway.core.pick_up(caller.partner.id, name)
        if not found:
            raise ApiError(404, "not_found", "no such mailbox file")
        send_json(request, 204, None)

    # real time ------------------------------------------------------------------------
    def _small_body(self, request: Any) -> bytes:
        """The request body, read into memory (at most :data:`REALTIME_MAX_BODY` bytes)."""
        if hasattr(request, "take_body"):
            path = request.take_body()
            if path is None:
                return b""
            try:
                if path.stat().st_size > REALTIME_MAX_BODY:
                    raise ApiError(
                        413,
                        "payload_too_large",
                        f"a real-time request is at most {REALTIME_MAX_BODY} bytes",
                    )
                return bytes(path.read_bytes())
            finally:
                path.unlink(missing_ok=True)
        content = request.content
        content.seek(0)
        return bytes(content.read(REALTIME_MAX_BODY + 1))

    def _json_inquiry(self, request: Any, parse: Callable[[Any], T]) -> tuple[T, bool]:
        """A JSON inquiry's body read by ``parse`` (400 ``bad_json`` / ``invalid_field``), and
        whether the raw X12 answer is asked for (``?include=x12`` or ``includeX12``)."""
        try:
            body = json.loads(self._small_body(request))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "bad_json", "the body must be a JSON object") from exc
        try:
            parsed = parse(body)
        except FieldError as exc:
            raise ApiError(400, "invalid_field", f"{exc.field}: {exc.message}") from exc
        include = request.args.get(b"include") or []
        want_x12 = b"x12" in include or (isinstance(body, dict) and body.get("includeX12") is True)
        return parsed, want_x12

    async def post_eligibility(self, request: Any, caller: Caller) -> None:
        started = time.monotonic()
        eligibility, want_x12 = self._json_inquiry(request, request_from_json)
        core = self.gateway.core
        partner = caller.partner
        payers = core.payers()
        partners = self.gateway.partners()
        now = datetime.now(UTC)

        originator = ("9" + "".join(c for c in core.config.interchange_id if c.isalnum()))[:10]
        payer = external_endpoint(eligibility.payer_id, partners)

        def traced(tx: Any) -> tuple[Any, int]:
            trace = self._reserved(tx, "eligibility-trace")
            control = self._reserved(tx, "control") if want_x12 else 0
            number = f"{trace:09d}"
            return replace(eligibility, trace=number, trace_originator=originator,
                           reference=number), control  # fmt: skip

        def work(forwarded: Any = None, asked: Any = None) -> tuple[Any, int]:
            # one transaction: the trace (and control) number and the accumulators' reads
            with core.store.transaction() as tx:
                if forwarded is not None:  # the payer's answer: only the control number
                    return forwarded, self._reserved(tx, "control") if want_x12 else 0
                if asked is None:
                    asked, control = traced(tx)
                else:  # the external payer did not answer: AAA 42, same trace number
                    control = self._reserved(tx, "control") if want_x12 else 0
                return answer_in(tx, asked, payers, partners, now.date()), control

        forwarded = asked = None
        if payer is not None:  # an external payer with a CORE endpoint: ask it

            def prepare() -> tuple[Any, int]:
                with core.store.transaction() as tx:
                    asked, _ = traced(tx)
                    return asked, tx.next_counter(f"control:{payer.id}")

            asked, payer_control = await core.in_store(prepare)
            forwarded = await self._forward_json(asked, payer, partner.id, payer_control, now)
        answer, control = await core.in_store(work, forwarded, asked)
        x12 = None
        if want_x12:
            x12 = json_271(answer, config=core.config,
                           receiver=(partner.isa_qualifier, partner.isa_id), control=control,
                           now=now)  # fmt: skip
        out = answer_json(answer)
        if x12 is not None:
            out["x12"] = x12.decode("ascii")
        self.gateway.audit(
            "eligibility.answered",
            channel="api-json",
            partner=partner.id,
            payer=answer.request.payer_id,
            trn02=answer.request.trace,
            outcome=outcome_of(answer),
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )
        send_json(request, 200, out)

    async def post_claim_status(self, request: Any, caller: Caller) -> None:
        await post_claim_status(self, request, caller)

    def _reserved(self, tx: Any, name: str) -> int:
        """The next number of counter ``name`` (in the store thread): reserved
        :data:`COUNTER_BLOCK` at a time, so a real-time request needs no store write of its
        own (numbers a stopped process reserved are skipped, never reused)."""
        pool = self._blocks.setdefault(name, [])
        if not pool:
            first = tx.reserve_counter(name, COUNTER_BLOCK)
            pool.extend(range(first + COUNTER_BLOCK - 1, first - 1, -1))
        return pool.pop()

    def _next_control(self) -> int:
        """An ISA13 for a real-time answer (call in the store thread)."""
        pool = self._blocks.get("control")
        if pool:
            return pool.pop()
        with self.gateway.core.store.transaction() as tx:
            return self._reserved(tx, "control")

    async def _forward_json(
        self,
        asked: Any,
        payer: Any,
        partner_id: str,
        control: int,
        now: datetime,
        forward: Callable[..., Any] = forward_request,
        failed_event: str = "eligibility.forward.failed",
    ) -> Any:
        """A JSON request asked of an external payer's CORE endpoint by ``forward``
        (:func:`forward_request`: a 270; ``forward_status``: a 276); its answer, or None when
        it did not answer in time or usefully (then answered here: AAA 42, or the
        clearinghouse's view of the claim), audited as ``failed_event``."""
        config = self.gateway.core.config
        reactor = getattr(self.gateway, "reactor", None) or default_reactor()
        started = time.monotonic()
        try:
            return await forward(
                reactor, payer, asked, control=control, now=now,
                gateway=(config.interchange_qualifier, config.interchange_id),
            )  # fmt: skip
        except ForwardError as exc:
            self._forward_failed(partner_id, asked.payer_id, payer.id, exc, started, failed_event)
            return None

    def _forward_failed(
        self,
        partner_id: str,
        payer_id: str,
        payer_partner: str,
        error: Any,
        started: float,
        event: str = "eligibility.forward.failed",
    ) -> None:
        self.gateway.audit(
            event, partner=partner_id, payer=payer_id,
            payer_partner=payer_partner, reason=error.reason,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )  # fmt: skip

    async def answer_x12(self, data: bytes, partner_id: str, accept: Any = None) -> RealtimeAnswer:
        """The real-time answer to one inquiry interchange (``/api/v1/x12``, ``/core``):
        the guide check off the store thread (the pipeline's store work goes on meanwhile),
        one at a time (the validator is not shared between threads), then the answer in the
        store thread."""
        core = self.gateway.core
        if self._validator is None:
            from gateway.x12.engine import default_validator

            self._validator = default_validator()
        partners = self.gateway.partners()
        async with self._validating:
            analysis = await threads.deferToThread(
                check_interchange,
                data,
                uploader=partner_id,
                config=core.config,
                partners=partners,
                validator=self._validator,
            )
        plan = plan_forward(data, analysis, partners)
        if plan is not None:
            forwarded = await self._forward(plan, analysis, partner_id)
            if forwarded is not None:
                return forwarded
        return await core.in_store(
            answer_interchange,
            core.store,
            data,
            uploader=partner_id,
            config=core.config,
            partners=partners,
            payers=core.payers(),
            analysis=analysis,
            accept=accept,
            next_control=self._next_control,
        )

    async def _forward(
        self, plan: ForwardPlan, analysis: Any, partner_id: str
    ) -> RealtimeAnswer | None:
        """The payer's answer through its CORE endpoint (see
        :mod:`gateway.pipeline.core_forward`), or None when it did not answer in time or
        usefully (then answered here: AAA 42)."""
        core = self.gateway.core
        config = core.config
        gateway = Gateway(config.interchange_qualifier, config.interchange_id)
        interchange = analysis.interchanges[0]
        now = datetime.now(UTC)
        started = time.monotonic()

        def counter(name: str) -> Any:
            def next_control() -> int:
                with core.store.transaction() as tx:
                    return int(tx.next_counter(name))

            return next_control

        outbound, _ = await core.in_store(
            rewrap, list(plan.sets), gateway=gateway,
            receiver=(plan.payer.isa_qualifier, plan.payer.isa_id),
            usage=interchange.usage_indicator, next_control=counter(f"control:{plan.payer.id}"),
            now=now,
        )  # fmt: skip
        reactor = getattr(self.gateway, "reactor", None) or default_reactor()
        try:
            payload = await post_core(
                reactor, plan.endpoint, outbound, kind=plan.payload_kind,
                sender_id=config.interchange_id, receiver_id=plan.payer_id, now=now,
            )  # fmt: skip
            sets = answer_sets(payload, plan.payload_kind.response.split("_")[1])
        except ForwardError as exc:
            self._forward_failed(partner_id, plan.payer_id, plan.payer.id, exc, started)
            return None
        content, _ = await core.in_store(
            rewrap, sets, gateway=gateway,
            receiver=(interchange.sender_qualifier, interchange.sender_id),
            usage=interchange.usage_indicator, next_control=counter("control"), now=now,
        )  # fmt: skip
        audit = [{**item, "outcome": "forwarded"} for item in plan.audit]
        kind = kind_of(plan.payload_kind.st01, plan.payload_kind.guide)
        return RealtimeAnswer(200, content, audit=audit, kind=kind)

    async def post_x12(self, request: Any, caller: Caller) -> None:
        started = time.monotonic()
        data = self._small_body(request)
        if not data.strip():
            raise ApiError(400, "empty_body", "send one 270 or 276 interchange as the request body")
        partner_id = caller.partner.id
        result = await self.answer_x12(data, partner_id)
        elapsed = round((time.monotonic() - started) * 1000, 1)
        if result.status == 400:
            self.gateway.audit(
                "eligibility.refused", channel="api-x12", partner=partner_id, outcome="not_270",
                elapsed_ms=elapsed,
            )  # fmt: skip
            raise ApiError(400, "not_a_270", result.message)
        if result.status != 200:
            self.gateway.audit(
                "eligibility.rejected", channel="api-x12", partner=partner_id,
                outcome="999" if result.content else "rejected", elapsed_ms=elapsed,
            )  # fmt: skip
        for item in result.audit:
            if result.kind is not None and result.kind.name == "276":
                self.gateway.audit(
                    "claim_status.answered", channel="api-x12", partner=partner_id, **item,
                    elapsed_ms=elapsed,
                )  # fmt: skip
                continue
            self.gateway.audit(
                "eligibility.answered", channel="api-x12", partner=partner_id, **item,
                elapsed_ms=elapsed,
            )  # fmt: skip
        if _gone(request):
            return
        request.setResponseCode(result.status)
        request.setHeader(b"content-type", result.content_type.encode())
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"content-length", str(len(result.content)).encode())
        request.write(result.content)
        request.finish()


def default_reactor() -> Any:
    from twisted.internet import reactor

    return reactor
