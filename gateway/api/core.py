"""``/core``: CAQH CORE Connectivity vC2.2.0 on the HTTP listener (the edge; the envelopes are
:mod:`gateway.caqh.envelope`, PURE).

- ``GET /core?wsdl``: the WSDL (:mod:`gateway.caqh.wsdl`), its address this listener's.
- ``POST /core`` with ``application/soap+xml`` (SOAP 1.2, WS-Security UsernameToken) or
  ``multipart/form-data`` (CORE's MIME form fields): user name = partner id, password = one of
  that partner's API tokens (the whole ``<id>.<secret>``; compared by its SHA-256 as for the
  bearer tokens).

What a request does is the PayloadType registry's word (:mod:`gateway.caqh.payloads`):

- ``ProcessingMode`` RealTime: the X12 payload is answered in the same exchange by the
  answerer of its kind (:func:`gateway.api.resources.ApiRoot.answer_x12`, as ``/api/v1/x12``):
  the 271 (PayloadType ``X12_271_Response_005010X279A1``), or the TA1/999 of a request that
  fails the envelope or the guide (PayloadType ``X12_TA1_...``/``X12_999_...``).
- Batch submission: the payload is stored as a file through the normal intake (channel
  ``core``, name ``core-<PayloadID>.x12``): its 999 and its answers (``_271.x12``) follow in the
  partner's mailbox; the answer is the batch receipt (``X12_BatchReceiptConfirmation``) naming
  the file id.
- BatchResultsRetrieval (``X12_005010_Request_Batch_Results_271``): the oldest answer file of
  that kind still in the mailbox, which then counts as picked up; none waiting: ErrorCode
  Success with no Payload and a message saying so.

Envelope errors are answered with CORE's ErrorCode (HTTP 200, the request's PayloadID echoed);
authentication failures with a SOAP fault (``wsse:FailedAuthentication``) or a MIME answer with
ErrorCode ``UnAuthorized``, both HTTP 401; a body that is no CORE envelope at all with 400.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.web import resource, server

from gateway.api.auth import AuthFailure, authenticate
from gateway.caqh import payloads
from gateway.caqh.envelope import (
    PASSWORD_TEXT,
    WSSE_NS,
    Checked,
    CoreError,
    CoreRequest,
    CoreResponse,
    Malformed,
    Operation,
    mime_response,
    parse_mime,
    parse_soap,
    response_for,
    soap_fault,
    soap_response,
)
from gateway.caqh.wsdl import wsdl

SOAP_TYPE = b"application/soap+xml; charset=utf-8"
CHANNELS = {"soap": "core-soap", "mime": "core-mime"}


class CoreResource(resource.Resource):
    isLeaf = True

    def __init__(self, gateway: Any, api_root: Any) -> None:
        super().__init__()
        self.gateway = gateway
        self.api = api_root

    # GET ----------------------------------------------------------------------------------
    def render_GET(self, request: Any) -> bytes:
        query = request.uri.split(b"?", 1)[1] if b"?" in request.uri else b""
        if query.split(b"=", 1)[0].lower() != b"wsdl":
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"GET /core?wsdl for the WSDL; POST CORE envelopes here\n"
        host = (request.getHeader(b"host") or b"localhost").decode("latin-1")
        scheme = "https" if request.isSecure() else "http"
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        return wsdl(f"{scheme}://{host}/core")

    # POST ---------------------------------------------------------------------------------
    def render_POST(self, request: Any) -> Any:
        metrics = getattr(self.gateway, "metrics", None)
        if metrics is not None:
            request.notifyFinish().addBoth(
                lambda _: metrics.http_request("POST /core", int(request.code))
            )
        d = defer.ensureDeferred(self._post(request))
        d.addErrback(self._failed, request)
        return server.NOT_DONE_YET

    def _body(self, request: Any) -> bytes:
        if hasattr(request, "take_body"):
            path = request.take_body()
            if path is None:
                return b""
            try:
                return bytes(path.read_bytes())
            finally:
                path.unlink(missing_ok=True)
        request.content.seek(0)
        return bytes(request.content.read())

    async def _post(self, request: Any) -> None:
        started = time.monotonic()
        content_type = (request.getHeader(b"content-type") or b"").decode("latin-1")
        lowered = content_type.lower()
        body = self._body(request)
        if lowered.startswith(("application/soap+xml", "text/xml")):
            envelope = "soap"
        elif lowered.startswith("multipart/form-data"):
            envelope = "mime"
        else:
            self._plain(request, 415, "send a SOAP 1.2 envelope (application/soap+xml) or "
                        "CORE MIME form fields (multipart/form-data)")  # fmt: skip
            return
        request.core_envelope = envelope
        try:
            parsed = parse_soap(body) if envelope == "soap" else parse_mime(content_type, body)
        except Malformed as exc:
            self.gateway.audit("core.rejected", channel=CHANNELS[envelope], error="Malformed")
            if envelope == "soap":
                code = "VersionMismatch" if exc.soap_version else "Sender"
                self._send(request, 400, SOAP_TYPE, soap_fault(str(exc), code=code))
            else:
                self._plain(request, 400, str(exc))
            return
        except CoreError as exc:  # a batch payload that is not base64
            parsed = CoreRequest(envelope, Operation.BATCH_SUBMIT, {}, None)
            self._answer(request, parsed, exc, started)
            return
        caller = self._authenticate(parsed)
        if caller is None:
            self._unauthorized(request, parsed)
            return
        partner = caller.partner
        busy = self.api.limiter.acquire(partner.id)
        if busy is not None:
            retry = {b"retry-after": str(self.api.limits.retry_after).encode()}
            error = CoreError("Unavailable")
            self._answer(request, parsed, error, started, status=busy, headers=retry)
            return
        try:
            await self._handle(request, parsed, partner, started)
        finally:
            self.api.limiter.release(partner.id)

    def _authenticate(self, parsed: CoreRequest) -> Any:
        if not parsed.username or not parsed.password or parsed.password_type != PASSWORD_TEXT:
            reason = "missing" if not parsed.password else "password_type"
            if parsed.password and parsed.password_type == PASSWORD_TEXT:
                reason = "missing"
            self._auth_failed(parsed, reason)
            return None
        result = authenticate(self.gateway.partners(), b"Bearer " + parsed.password.encode())
        if isinstance(result, AuthFailure):
            self._auth_failed(parsed, result.reason, result.token_id)
            return None
        if result.partner.id != parsed.username:
            self._auth_failed(parsed, "user_mismatch", result.token_id)
            return None
        return result

    def _auth_failed(self, parsed: CoreRequest, reason: str, token_id: str | None = None) -> None:
        self.gateway.audit(
            "core.auth.failed",
            channel=CHANNELS[parsed.envelope],
            reason=reason,
            token_id=token_id,
            payload_id=parsed.get("PayloadID")[:36] or None,
        )

    def _unauthorized(self, request: Any, parsed: CoreRequest) -> None:
        message = "the user name or password is not valid"
        if parsed.envelope == "soap":
            fault = soap_fault(
                f"UnAuthorized: {message}",
                subcode=(WSSE_NS, "FailedAuthentication"),
                core_code="UnAuthorized",
            )
            self._send(request, 401, SOAP_TYPE, fault)
            return
        self._answer(request, parsed, CoreError("UnAuthorized", message), time.monotonic(),
                     status=401, audit=False)  # fmt: skip

    def _receivers(self) -> set[str]:
        core = self.gateway.core
        out = {core.config.interchange_id}
        for config in core.payers().values():
            out.add(config.payer_id)
        for partner in self.gateway.partners().partners.values():
            if partner.role == "payer":
                out.update(partner.payer_ids)
        return out

    async def _handle(
        self, request: Any, parsed: CoreRequest, partner: Any, started: float
    ) -> None:
        types = (
            [k.batch_results for k in payloads.PAYLOAD_KINDS if k.batch_results]
            if parsed.operation is Operation.BATCH_RESULTS
            else [k.request for k in payloads.PAYLOAD_KINDS]
        )
        try:
            checked = check_fields_for(parsed, types, partner, self._receivers())
        except CoreError as error:
            self._answer(request, parsed, error, started)
            return
        if parsed.operation is Operation.REALTIME:
            await self._realtime(request, parsed, checked, partner, started)
        elif parsed.operation is Operation.BATCH_SUBMIT:
            await self._batch(request, parsed, checked, partner, started)
        else:
            await self._results(request, parsed, checked, partner, started)

    async def _realtime(
        self, request: Any, parsed: CoreRequest, checked: Checked, partner: Any, started: float
    ) -> None:
        kind = payloads.by_request(checked.payload_type)
        assert kind is not None
        channel = CHANNELS[parsed.envelope]

        def accept(found: Any) -> bool:
            return bool(found.st01 == kind.st01 and found.guide == kind.guide)

        result = await self.api.answer_x12(checked.payload, partner.id, accept)
        elapsed = round((time.monotonic() - started) * 1000, 1)
        base = {"channel": channel, "partner": partner.id, "payload_id": checked.payload_id}
        if result.status == 400:
            self.gateway.audit("eligibility.refused", **base, outcome="not_inquiry",
                               elapsed_ms=elapsed)  # fmt: skip
            self._answer(request, parsed, CoreError("PayloadTypeIllegal", result.message), started)
            return
        if result.status != 200:
            self.gateway.audit("eligibility.rejected", **base, outcome="999", elapsed_ms=elapsed)
            answer_type = payloads.TA1 if b"TA1*" in result.content[:200] else payloads.ACK_999
            self._answer(request, parsed, None, started, payload_type=answer_type,
                         payload=result.content)  # fmt: skip
            return
        for item in result.audit:
            if kind.st01 == "276":
                self.gateway.audit("claim_status.answered", **base, **item, elapsed_ms=elapsed)
                continue
            self.gateway.audit("eligibility.answered", **base, **item, elapsed_ms=elapsed)
        self._answer(request, parsed, None, started, payload_type=kind.response,
                     payload=result.content)  # fmt: skip

    async def _batch(
        self, request: Any, parsed: CoreRequest, checked: Checked, partner: Any, started: float
    ) -> None:
        core = self.gateway.core
        name = f"core-{checked.payload_id}.x12"
        file_id = await core.accept_bytes(partner.id, "core", name, checked.payload)
        kind = payloads.by_request(checked.payload_type)
        answer = kind.response.split("_")[1] if kind is not None else "answers"
        self._audit_batch("core.batch.received", parsed, checked, partner, file_id=file_id)
        message = (
            f"stored as file {file_id}; its 999 and {answer} follow in the mailbox "
            f"(BatchResultsRetrieval or GET /api/v1/mailbox)"
        )
        self._answer(request, parsed, None, started, payload_type=payloads.BATCH_RECEIPT,
                     message=message)  # fmt: skip

    async def _results(
        self, request: Any, parsed: CoreRequest, checked: Checked, partner: Any, started: float
    ) -> None:
        kind = payloads.by_results(checked.payload_type)
        assert kind is not None
        answer_kind = kind.response.split("_")[1]  # "271"
        core = self.gateway.core

        def take() -> tuple[str, bytes] | None:
            for entry in core.store.list_mailbox(partner.id):
                if entry.kind == answer_kind:
                    return entry.name, core.blobs.read(entry.sha256)
            return None

        found = await core.in_store(take)
        if found is None:
            self._answer(request, parsed, None, started, payload_type=kind.response,
                         message=f"no {answer_kind} results are waiting")  # fmt: skip
            return
        name, content = found
        await core.pick_up(partner.id, name)
        self._audit_batch("core.batch.retrieved", parsed, checked, partner, file_name=name)
        self._answer(request, parsed, None, started, payload_type=kind.response,
                     payload=content, message=name)  # fmt: skip

    def _audit_batch(
        self, event: str, parsed: CoreRequest, checked: Checked, partner: Any, **more: str
    ) -> None:
        self.gateway.audit(
            event, channel=CHANNELS[parsed.envelope], partner=partner.id,
            payload_id=checked.payload_id, **more,
        )  # fmt: skip

    # answers ------------------------------------------------------------------------------
    def _answer(
        self,
        request: Any,
        parsed: CoreRequest,
        error: CoreError | None,
        started: float,
        *,
        payload_type: str = "",
        payload: bytes | None = None,
        message: str = "",
        status: int = 200,
        headers: dict[bytes, bytes] | None = None,
        audit: bool = True,
    ) -> None:
        core = self.gateway.core
        response: CoreResponse = response_for(
            parsed,
            parsed.operation,
            gateway_id=core.config.interchange_id,
            now=datetime.now(UTC),
            payload_type=payload_type,
            payload=payload,
            error=error,
        )
        if message and error is None:
            response = CoreResponse(**{**response.__dict__, "error_message": message})
        if error is not None and audit:
            self.gateway.audit(
                "core.rejected",
                channel=CHANNELS[parsed.envelope],
                error=error.code,
                payload_id=parsed.get("PayloadID")[:36] or None,
                elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            )
        for key, value in (headers or {}).items():
            request.setHeader(key, value)
        if parsed.envelope == "soap":
            self._send(request, status, SOAP_TYPE, soap_response(response))
        else:
            content_type, body = mime_response(response)
            self._send(request, status, content_type.encode(), body)

    def _send(self, request: Any, status: int, content_type: bytes, body: bytes) -> None:
        if getattr(request, "_disconnected", False) or request.finished:
            return
        request.setResponseCode(status)
        request.setHeader(b"content-type", content_type)
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"content-length", str(len(body)).encode())
        request.write(body)
        request.finish()

    def _plain(self, request: Any, status: int, text: str) -> None:
        self._send(request, status, b"text/plain; charset=utf-8", text.encode() + b"\n")

    def _failed(self, failure: Failure, request: Any) -> None:
        self.gateway.audit("core.error", error=failure.type.__name__ if failure.type else "error")
        if getattr(request, "core_envelope", "soap") == "soap":
            fault = soap_fault("the request could not be processed", code="Receiver",
                               core_code="ServerError")  # fmt: skip
            self._send(request, 500, SOAP_TYPE, fault)
        else:
            self._plain(request, 500, "ServerError: the request could not be processed")


def check_fields_for(
    parsed: CoreRequest, types: list[str], partner: Any, receivers: set[str]
) -> Checked:
    from gateway.caqh.envelope import check_fields

    senders = {partner.id, partner.isa_id}
    return check_fields(parsed, payload_types=types, senders=senders, receivers=receivers)
