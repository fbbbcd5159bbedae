"""The HTTP listener (twisted.web): health, readiness, metrics, the JSON API (``/api/v1``) and
AS2 (``/as2``, when the gateway has an ``as2_receiver``; :mod:`gateway.transports.as2`) and
CAQH CORE (``/core``; :mod:`gateway.api.core`).

Request bodies are guarded before twisted.web buffers them: :class:`GatewayRequest` looks at
the declared length as soon as the headers are in (413 or 503 straight away, without reading
the body and without a ``100 Continue``), counts chunked bodies as they stream (413 the moment
they pass the limit), and spools accepted bodies to a file in the data directory's staging
area, so that ``POST /api/v1/files`` hands the file to intake by a rename instead of holding
it in memory. A request must arrive whole within ``request_timeout``; a connection that sends
nothing for ``idle_timeout`` is closed (twisted.web's channel timeout).

A body takes an upload slot only after its request passed a check of its headers alone
(:meth:`GatewaySite.admit`): an API request needs a valid bearer token (401 otherwise), an AS2
POST names an AS2-From and AS2-To we trade with (the receiver's error answer otherwise: these
names are no secret, so such a body is still decrypted and verified before anything counts); any
other path with a body is answered 413 at once. Slots are also capped per source address
(429), an API upload counts against its partner's share while it is received, and a body that
arrives slower than ``min_body_rate`` over a ``body_rate_window`` is answered 408 and closed.

:class:`GatewayChannel` answers what twisted.web would drop or answer in HTML: a request line
over ``max_request_line`` (414), headers over ``max_header_bytes`` or ``max_header_fields``
(431), and a malformed request (400), all with a JSON body. No ``Server`` header is sent, and
404/405/500 pages are JSON under ``/api`` and plain text elsewhere, with no versions.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http, resource, server
from twisted.web.error import UnsupportedMethod

from gateway.api.limits import HttpLimits

#: Under the staging directory; partner ids start with [a-z0-9], so it never is one. The site
#: empties it when it is built (before listening): whatever is there was left by a crash. Its
#: files are not named ``.api-*``, which the core sweeps asynchronously at start (a race with
#: the first request).
SPOOL_DIR_NAME = "_http"
SPOOL_PREFIX = ".body-"


def json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode() + b"\n"


def error_body(code: str, message: str) -> dict[str, Any]:
    """The stable error shape of every JSON error."""
    return {"error": code, "message": message}


#: Reason phrases twisted.web does not know (it would say "Unknown Status").
_REASONS = {429: b"Too Many Requests", 431: b"Request Header Fields Too Large"}


def reason_phrase(status: int) -> bytes:
    return _REASONS.get(status) or http.RESPONSES.get(status, b"Error")


def raw_answer(status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """A complete ``Connection: close`` response written straight to the transport."""
    reason = reason_phrase(status)
    lines = [b"HTTP/1.1 %d %s" % (status, reason)]
    for key, value in headers:
        if key.lower() not in ("content-length", "connection"):
            lines.append(f"{key}: {value}".encode("latin-1"))
    lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def raw_response(
    status: int, code: str, message: str, extra: dict[str, str] | None = None
) -> bytes:
    """A complete ``Connection: close`` JSON error, for answers given before twisted.web has
    turned the bytes into a request (too large, too slow, too busy, not authenticated)."""
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    headers += list((extra or {}).items())
    return raw_answer(status, headers, json_bytes(error_body(code, message)))


@dataclass(frozen=True)
class Refusal:
    """An answer given from a request's headers, before any of its body is read."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes

    @classmethod
    def json(
        cls, status: int, code: str, message: str, extra: dict[str, str] | None = None
    ) -> Refusal:
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        headers += list((extra or {}).items())
        return cls(status, headers, json_bytes(error_body(code, message)))


@dataclass(frozen=True)
class Admission:
    """A body may be read: ``partner`` (an API upload, counted against the partner's share
    until ``release`` is called) or None (an AS2 POST whose names are known)."""

    partner: str | None = None
    release: Callable[[], None] | None = field(default=None, compare=False)


#: What decides, from the headers, whether a body may be read: (request, method, path).
Gate = Callable[[Any, bytes, bytes], "Admission | Refusal"]


def _error_code(status: int) -> str:
    return {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        500: "internal_error",
    }.get(status, "error")


def _error_message(status: int) -> str:
    return {
        400: "the request is malformed",
        404: "no such resource",
        405: "this method is not allowed here",
        500: "the request could not be handled",
    }.get(status, http.RESPONSES.get(status, b"error").decode("latin-1"))


class GatewayRequest(server.Request):
    """A request whose body is size-checked early and spooled to the staging area."""

    _log = Logger()

    def __init__(self, channel: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(channel, *args, **kwargs)
        self.rejected = False
        self.complete = False
        """The whole request has arrived (set before it is processed)."""
        self.spool_path: Path | None = None
        self.held_partner: str | None = None
        """The partner an API upload is counted against since its headers came in."""
        self._release: Callable[[], None] | None = None
        self._received = 0
        self._counted = False
        self._address: str | None = None
        self._rate_mark = 0
        self._rate_call: Any = None
        self.early_method = b""
        self.early_path = b""
        site = getattr(channel, "site", None)
        self._gsite: GatewaySite | None = site if isinstance(site, GatewaySite) else None
        self._deadline: Any = None
        if self._gsite is not None:
            reactor: Any = self._gsite.reactor
            self._deadline = reactor.callLater(self._gsite.limits.request_timeout, self._too_slow)

    # body -------------------------------------------------------------------------------
    def gotLength(self, length: int | None) -> None:
        site = self._gsite
        if site is not None and len(self.requestHeaders.getRawHeaders(b"authorization") or []) > 1:
            # which one counts is anybody's guess (twisted.web takes the last): refuse both
            self.content = BytesIO()
            self.reject(400, "bad_request", "send one Authorization header, not several")
            return
        if site is None or length == 0:
            super().gotLength(length)
            return
        limits = site.limits
        if length is not None and length > limits.max_body:
            self.content = BytesIO()
            self.reject(
                413,
                "payload_too_large",
                f"the body of {length} bytes is over the limit of {limits.max_body} bytes",
            )
            return
        # who is it? (from the headers alone, before a slot is taken)
        admitted = site.admit(self, self.early_method, self.early_path)
        if isinstance(admitted, Refusal):
            self.content = BytesIO()
            self.refuse(admitted)
            return
        self.held_partner = admitted.partner
        self._release = admitted.release
        address = self.peer_host()
        if site.uploads_from(address) >= limits.max_uploads_per_address:
            self.content = BytesIO()
            self.reject(
                429,
                "too_many_requests",
                "too many uploads from this address at once; retry later",
                {"Retry-After": str(limits.retry_after)},
            )
            return
        if site.uploads >= limits.max_uploads:
            self.content = BytesIO()
            self.reject(
                503,
                "unavailable",
                "too many uploads in progress; retry later",
                {"Retry-After": str(limits.retry_after)},
            )
            return
        site.start_upload(address)
        self._counted = True
        self._address = address
        self._watch_rate()
        site.spool_dir.mkdir(parents=True, exist_ok=True)
        self.spool_path = site.spool_dir / f"{SPOOL_PREFIX}{secrets.token_hex(12)}"
        try:
            # unbuffered: a full disk shows at the write (answered 507), not at a later flush
            self.content = open(self.spool_path, "w+b", buffering=0)
        except OSError:
            self.spool_path = None
            self.content = BytesIO()
            self._no_space()
            return

    def peer_host(self) -> str:
        return str(getattr(self.getClientAddress(), "host", None) or "-")

    def _no_space(self) -> None:
        """The body cannot be spooled (a full disk): nothing is kept; answer 507."""
        retry = self._gsite.limits.retry_after if self._gsite is not None else 60
        self.reject(
            507,
            "insufficient_storage",
            "the gateway has no space to store the body; nothing was kept, retry later",
            {"Retry-After": str(retry)},
        )

    def handleContentChunk(self, data: bytes) -> None:
        if self.rejected:
            return
        self._received += len(data)
        site = self._gsite
        if site is not None and self._received > site.limits.max_body:
            self.reject(
                413,
                "payload_too_large",
                f"the body is over the limit of {site.limits.max_body} bytes",
            )
            return
        try:
            super().handleContentChunk(data)
        except OSError:  # a full disk (ENOSPC, EDQUOT) or a broken one: nothing is kept
            self._no_space()

    def reject(
        self, status: int, code: str, message: str, extra: dict[str, str] | None = None
    ) -> None:
        """Answer now, before the body is read, and close the connection."""
        self.refuse(Refusal.json(status, code, message, extra))

    def refuse(self, refusal: Refusal) -> None:
        """Answer ``refusal`` now, before (the rest of) the body is read, and close."""
        if self.rejected:
            return
        self.rejected = True
        self._cancel_deadline()
        self._end_upload()
        self._release_partner()
        self.discard_body()
        # No "100 Continue" after the final answer (the channel sends it after gotLength).
        self.requestHeaders.removeHeader(b"expect")
        channel: Any = self.channel
        if self._gsite is not None:
            self._gsite.rejected(refusal.status)
        transport: Any = channel.transport if channel is not None else None
        if transport is not None and not transport.disconnecting:
            transport.write(raw_answer(refusal.status, refusal.headers, refusal.body))
            channel.loseConnection()

    def take_body(self) -> Path | None:
        """The spooled body file, now owned by the caller (None when there is no body)."""
        path, self.spool_path = self.spool_path, None
        if path is None:
            return None
        if self.content is not None:
            self.content.close()
        self.content = BytesIO()
        return path

    def discard_body(self) -> None:
        path, self.spool_path = self.spool_path, None
        if self.content is not None:
            self.content.close()
        if path is not None:
            path.unlink(missing_ok=True)

    def _end_upload(self) -> None:
        self._stop_rate()
        if self._counted and self._gsite is not None:
            self._counted = False
            self._gsite.end_upload(self._address or "-")

    def _release_partner(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    # the body's rate --------------------------------------------------------------------
    def _watch_rate(self) -> None:
        site = self._gsite
        if site is None or site.limits.min_body_rate <= 0:
            return
        self._rate_mark = self._received
        reactor: Any = site.reactor
        self._rate_call = reactor.callLater(site.limits.body_rate_window, self._check_rate)

    def _stop_rate(self) -> None:
        if self._rate_call is not None and self._rate_call.active():
            self._rate_call.cancel()
        self._rate_call = None

    def _check_rate(self) -> None:
        self._rate_call = None
        site = self._gsite
        if site is None or self.rejected or self.complete or self.channel is None:
            return
        limits = site.limits
        if self._received - self._rate_mark < limits.min_body_rate * limits.body_rate_window:
            self.reject(
                408,
                "request_timeout",
                f"the body arrived slower than {limits.min_body_rate} bytes per second",
            )
            return
        self._watch_rate()

    # lifecycle --------------------------------------------------------------------------
    def _cancel_deadline(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.rejected or self.channel is None:
            return
        self.reject(
            408,
            "request_timeout",
            "the request did not arrive within the time allowed",
        )

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        self._cancel_deadline()
        self._end_upload()
        if self.rejected:
            return  # answered already; the connection is closing
        self.complete = True
        self.notifyFinish().addBoth(lambda _: self.discard_body())
        if self._release is not None:
            self.notifyFinish().addBoth(lambda _: self._release_partner())
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        self._cancel_deadline()
        self._end_upload()
        if not self.complete:
            # the body never completed: nobody else will clean it up
            self.discard_body()
            self._release_partner()
        super().connectionLost(reason)

    # answers ----------------------------------------------------------------------------
    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        super().setResponseCode(code, message or reason_phrase(code))

    def setHeader(self, name: Any, value: Any) -> None:
        # no "Server: TwistedWeb/<version>": what runs here is nobody's business
        key = name.encode("latin-1") if isinstance(name, str) else name
        if key.lower() == b"server":
            return
        super().setHeader(name, value)

    def error_page(self, status: int, message: str | None = None) -> None:
        """Finish with a short error: JSON under ``/api``, plain text elsewhere."""
        if self.finished or self._disconnected:
            return
        message = message or _error_message(status)
        self.setResponseCode(status)
        self.setHeader(b"cache-control", b"no-store")
        if self.path == b"/api" or self.path.startswith(b"/api/"):
            body = json_bytes(error_body(_error_code(status), message))
            self.setHeader(b"content-type", b"application/json")
        else:
            body = (message + "\n").encode("utf-8")
            self.setHeader(b"content-type", b"text/plain; charset=utf-8")
        self.setHeader(b"content-length", b"%d" % len(body))
        if self.method != b"HEAD":
            self.write(body)
        self.finish()

    def render(self, resrc: Any) -> None:
        """twisted.web's render, without its HTML pages for 404/405/500."""
        if isinstance(resrc, resource._UnsafeErrorPageBase):  # e.g. NoResource
            self.error_page(int(resrc.code))
            return
        try:
            body = resrc.render(self)
        except UnsupportedMethod as exc:
            allowed: list[bytes] = list(exc.allowedMethods)
            if self.method == b"HEAD" and b"GET" in allowed:
                super().render(resrc)  # twisted answers HEAD by rendering GET headers only
                return
            if allowed:
                self.setHeader(b"allow", b", ".join(allowed))
                self.error_page(405, "use " + ", ".join(m.decode("latin-1") for m in allowed))
            else:
                self.error_page(404)
            return
        if body is server.NOT_DONE_YET:
            return
        if not isinstance(body, bytes):
            self.processingFailed(Failure(TypeError(f"{type(resrc).__name__} gave no bytes")))
            return
        self.setHeader(b"content-length", b"%d" % len(body))
        self.write(b"" if self.method == b"HEAD" else body)
        self.finish()

    def processingFailed(self, reason: Any) -> Any:
        self._log.failure("request failed", failure=reason)
        self.error_page(500)
        return reason


class GatewayChannel(http.HTTPChannel):
    """An HTTP/1.1 channel that answers oversized request lines (414), oversized headers (431)
    and malformed requests (400) with a status and a JSON body, where twisted.web closes the
    connection without a word or answers a bare 400."""

    #: our own limits apply (see lineReceived, headerReceived); twisted's stay out of the way
    maxHeaders = 1 << 30
    totalHeadersSize = 1 << 30
    site: Any = None

    def __init__(self) -> None:
        super().__init__()
        self._header_bytes = 0
        self._header_fields = 0

    def _limits(self) -> HttpLimits:
        return getattr(self.site, "limits", None) or HttpLimits()

    def connectionMade(self) -> None:
        limits = self._limits()
        self.MAX_LENGTH = max(limits.max_request_line, limits.max_header_bytes)
        super().connectionMade()

    def _awaiting_request_line(self) -> bool:
        return getattr(self, "_command", None) is None

    def lineReceived(self, line: bytes) -> None:
        limits = self._limits()
        if self._awaiting_request_line():
            if line and len(line) > limits.max_request_line:
                self._refuse(414, "uri_too_long", "the request line is too long")
                return
            self._header_bytes = 0
            self._header_fields = 0
        else:
            self._header_bytes += len(line) + 2
            if self._header_bytes > limits.max_header_bytes:
                self._refuse_headers()
                return
        super().lineReceived(line)

    def headerReceived(self, line: bytes) -> bool:
        self._header_fields += 1
        if self._header_fields > self._limits().max_header_fields:
            self._refuse_headers()
            return False
        return bool(super().headerReceived(line))

    def lineLengthExceeded(self, line: bytes) -> None:
        if self._awaiting_request_line():
            self._refuse(414, "uri_too_long", "the request line is too long")
        else:
            self._refuse_headers()

    def _refuse_headers(self) -> None:
        limits = self._limits()
        self._refuse(
            431,
            "headers_too_large",
            f"the request headers are over {limits.max_header_bytes} bytes "
            f"or {limits.max_header_fields} fields",
        )

    def _respondToBadRequestAndDisconnect(self) -> None:
        self._refuse(400, "bad_request", "the request is malformed")

    def _refuse(self, status: int, code: str, message: str) -> None:
        transport: Any = self.transport
        if transport is None or transport.disconnecting:
            return
        site = self.site
        if isinstance(site, GatewaySite):
            site.rejected(status)
        transport.write(raw_response(status, code, message))
        self.loseConnection()

    def allHeadersReceived(self) -> None:
        request = self.requests[-1]
        if isinstance(request, GatewayRequest):
            # method and target are known before the body: the site's gate needs them
            request.early_method = getattr(self, "_command", b"")
            request.early_path = getattr(self, "_path", b"").split(b"?", 1)[0]
        super().allHeadersReceived()


def access_log_line(timestamp: str, request: Any) -> str:
    """The access log without query strings (``?filename=`` may carry PHI) or user agents."""
    path = request.uri.split(b"?", 1)[0].decode("ascii", "replace")
    method = request.method.decode("ascii", "replace")
    peer = getattr(request.getClientAddress(), "host", "-")
    length = request.sentLength or "-"
    return f'"{peer}" "{method} {path}" {request.code} {length}'


class GatewaySite(server.Site):
    """A Site with limits, a spool directory and a hook for rejected requests (metrics)."""

    requestFactory = GatewayRequest
    protocol = GatewayChannel  # type: ignore[assignment]  # HTTP/1.1 only, no h2 wrapper

    def __init__(
        self,
        root: resource.Resource,
        *,
        limits: HttpLimits,
        spool_dir: Path,
        reactor: Any = None,
        on_reject: Any = None,
        gate: Gate | None = None,
    ) -> None:
        # A POST with a form content type must not be parsed into ``args`` (twisted reads the
        # whole body into memory for that): bodies here are X12 or AS2, never forms.
        super().__init__(
            root,
            parsePOSTFormSubmission=False,
            timeout=limits.idle_timeout,
            reactor=reactor,
            logFormatter=access_log_line,
        )
        self.limits = limits
        self.spool_dir = spool_dir
        self.uploads = 0
        self.uploads_by_address: dict[str, int] = {}
        self.on_reject = on_reject
        self.gate = gate
        self.displayTracebacks = False
        self.clean_spool()

    def admit(self, request: Any, method: bytes, path: bytes) -> Admission | Refusal:
        """May the body of ``method path`` be read? Decided from the headers alone."""
        if self.gate is None:
            return Admission()
        return self.gate(request, method, path)

    def uploads_from(self, address: str) -> int:
        return self.uploads_by_address.get(address, 0)

    def start_upload(self, address: str) -> None:
        self.uploads += 1
        self.uploads_by_address[address] = self.uploads_by_address.get(address, 0) + 1

    def end_upload(self, address: str) -> None:
        self.uploads = max(0, self.uploads - 1)
        left = self.uploads_by_address.get(address, 0) - 1
        if left > 0:
            self.uploads_by_address[address] = left
        else:
            self.uploads_by_address.pop(address, None)

    def clean_spool(self) -> int:
        """Delete bodies a crash left behind; call before listening."""
        removed = 0
        if self.spool_dir.is_dir():
            for leftover in self.spool_dir.glob(f"{SPOOL_PREFIX}*"):
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed

    def rejected(self, status: int) -> None:
        if self.on_reject is not None:
            self.on_reject(status)


class _Json(resource.Resource):
    isLeaf = True

    def __init__(self, gateway: Any) -> None:
        super().__init__()
        self.gateway = gateway

    def send(self, request: Any, status: int, body: dict[str, Any]) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json_bytes(body)


class NotFound(resource.Resource):
    """404, JSON under ``/api`` and plain text elsewhere (not twisted.web's HTML page)."""

    isLeaf = True

    def render(self, request: Any) -> Any:
        if isinstance(request, GatewayRequest):
            request.error_page(404)
            return server.NOT_DONE_YET
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"no such resource\n"


class Directory(resource.Resource):
    """A resource that only holds children: itself and unknown children are 404."""

    def getChild(self, path: bytes, request: Any) -> resource.Resource:
        return NotFound()

    def render(self, request: Any) -> Any:
        return NotFound().render(request)


class Health(_Json):
    def render_GET(self, request: Any) -> bytes:
        return self.send(request, 200, {"status": "ok"})


class Ready(_Json):
    """Ready when the store takes a write and every listener is up."""

    def render_GET(self, request: Any) -> Any:
        core = self.gateway.core

        def answer(writable: bool) -> None:
            ports = self.gateway.listening_ports()
            checks = {
                "store_writable": writable,
                "sftp_listening": "sftp" in ports,
                "http_listening": "http" in ports,
            }
            ok = all(checks.values())
            if not request._disconnected:
                request.write(self.send(request, 200 if ok else 503, {"ready": ok, **checks}))
                request.finish()

        def failed(_: Any) -> None:
            if not request._disconnected:
                body = {"ready": False, "store_writable": False}
                request.write(self.send(request, 503, body))
                request.finish()

        d: defer.Deferred[bool] = core.writable()  # store, blobs and audit take writes
        d.addCallbacks(answer, failed)
        return server.NOT_DONE_YET


class Metrics(resource.Resource):
    """Prometheus text exposition of the service's own registry."""

    isLeaf = True

    def __init__(self, metrics: Any) -> None:
        super().__init__()
        self.metrics = metrics

    def render_GET(self, request: Any) -> bytes:
        from gateway.metrics import CONTENT_TYPE

        request.setHeader(b"content-type", CONTENT_TYPE.encode())
        request.setHeader(b"cache-control", b"no-store")
        return bytes(self.metrics.render())


def make_site(gateway: Any, limits: HttpLimits | None = None, reactor: Any = None) -> GatewaySite:
    """The site for ``gateway`` (a :class:`gateway.service.GatewayService` or a test double
    with ``core``, ``partners``, ``audit``, ``metrics`` and ``listening_ports()``, and
    optionally ``as2_receiver``)."""
    from gateway.api.resources import ApiRoot

    limits = limits or HttpLimits()
    metrics = getattr(gateway, "metrics", None)
    root: Any = Directory()
    root.putChild(b"healthz", Health(gateway))
    root.putChild(b"readyz", Ready(gateway))
    if metrics is not None:
        root.putChild(b"metrics", Metrics(metrics))
    api: Any = Directory()
    api_root = ApiRoot(gateway, limits)
    api.putChild(b"v1", api_root)
    root.putChild(b"api", api)
    from gateway.api.core import CoreResource

    root.putChild(b"core", CoreResource(gateway, api_root))
    receiver = getattr(gateway, "as2_receiver", None)
    if receiver is not None:
        from gateway.transports.as2 import As2Resource

        root.putChild(b"as2", As2Resource(receiver, metrics))

    def on_reject(status: int) -> None:
        if metrics is not None:
            metrics.http_request("(early)", status)

    def gate(request: Any, method: bytes, path: bytes) -> Admission | Refusal:
        """Who may send a body: an authenticated API partner, an AS2 POST with known names."""
        if path == b"/api" or path.startswith(b"/api/"):
            admitted = api_root.admit_upload(request)
            if isinstance(admitted, str):
                limiter = api_root.limiter
                return Admission(admitted, lambda: limiter.release(admitted))
            extra = {k.decode("latin-1"): v.decode("latin-1") for k, v in admitted.headers.items()}
            return Refusal.json(admitted.status, admitted.code, admitted.message, extra)
        if path == b"/core" or path.startswith(b"/core?"):
            # CAQH CORE: the credentials are inside the envelope, checked once it is read
            if method != b"POST":
                plain = ("Content-Type", "text/plain; charset=utf-8")
                return Refusal(405, [plain, ("Allow", "GET, POST")], b"POST CORE envelopes\n")
            return Admission()
        if receiver is not None and (path == b"/as2" or path.startswith(b"/as2/")):
            if method != b"POST":
                return Refusal(
                    405,
                    [("Content-Type", "text/plain; charset=utf-8"), ("Allow", "POST")],
                    b"POST AS2 messages here\n",
                )
            from gateway.transports.as2 import request_headers

            answer = receiver.precheck(request_headers(request))
            if answer is not None:
                return Refusal(answer.status, list(answer.headers), answer.body)
            return Admission()
        return Refusal.json(413, "payload_too_large", "this resource takes no request body")

    return GatewaySite(
        root,
        limits=limits,
        spool_dir=gateway.core.staging_dir / SPOOL_DIR_NAME,
        reactor=reactor or getattr(gateway, "reactor", None),
        on_reject=on_reject,
        gate=gate,
    )
