"""The HTTP listener (twisted.web): health, readiness, metrics, the JSON API (``/api/v1``) and
AS2 (``/as2``, when the gateway has an ``as2_receiver``; :mod:`gateway.transports.as2`).

Request bodies are guarded before twisted.web buffers them: :class:`GatewayRequest` looks at
the declared length as soon as the headers are in (413 or 503 straight away, without reading
the body and without a ``100 Continue``), counts chunked bodies as they stream (413 the moment
they pass the limit), and spools accepted bodies to a file in the data directory's staging
area, so that ``POST /api/v1/files`` hands the file to intake by a rename instead of holding
it in memory. A request must arrive whole within ``request_timeout``; a connection that sends
nothing for ``idle_timeout`` is closed (twisted.web's channel timeout).
"""

from __future__ import annotations

import json
import secrets
from io import BytesIO
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.web import http, resource, server

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


def raw_response(
    status: int, code: str, message: str, extra: dict[str, str] | None = None
) -> bytes:
    """A complete ``Connection: close`` response, for answers given before twisted.web has
    turned the bytes into a request (too large, too slow, too busy)."""
    payload = json_bytes(error_body(code, message))
    reason = http.RESPONSES.get(status, b"Error")
    lines = [
        b"HTTP/1.1 %d %s" % (status, reason),
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(payload),
        b"Cache-Control: no-store",
        b"Connection: close",
    ]
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {value}".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


class GatewayRequest(server.Request):
    """A request whose body is size-checked early and spooled to the staging area."""

    def __init__(self, channel: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(channel, *args, **kwargs)
        self.rejected = False
        self.complete = False
        """The whole request has arrived (set before it is processed)."""
        self.spool_path: Path | None = None
        self._received = 0
        self._counted = False
        site = getattr(channel, "site", None)
        self._gsite: GatewaySite | None = site if isinstance(site, GatewaySite) else None
        self._deadline: Any = None
        if self._gsite is not None:
            reactor: Any = self._gsite.reactor
            self._deadline = reactor.callLater(self._gsite.limits.request_timeout, self._too_slow)

    # body -------------------------------------------------------------------------------
    def gotLength(self, length: int | None) -> None:
        site = self._gsite
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
        if site.uploads >= limits.max_uploads:
            self.content = BytesIO()
            self.reject(
                503,
                "unavailable",
                "too many uploads in progress; retry later",
                {"Retry-After": str(limits.retry_after)},
            )
            return
        site.uploads += 1
        self._counted = True
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
        if self.rejected:
            return
        self.rejected = True
        self._cancel_deadline()
        self._end_upload()
        self.discard_body()
        # No "100 Continue" after the final answer (the channel sends it after gotLength).
        self.requestHeaders.removeHeader(b"expect")
        channel: Any = self.channel
        if self._gsite is not None:
            self._gsite.rejected(status)
        if channel is not None and channel.transport is not None:
            channel.transport.write(raw_response(status, code, message, extra))
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
        if self._counted and self._gsite is not None:
            self._counted = False
            self._gsite.uploads = max(0, self._gsite.uploads - 1)

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
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        self._cancel_deadline()
        self._end_upload()
        if not self.complete:
            # the body never completed: nobody else will clean it up
            self.discard_body()
        super().connectionLost(reason)


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

    def __init__(
        self,
        root: resource.Resource,
        *,
        limits: HttpLimits,
        spool_dir: Path,
        reactor: Any = None,
        on_reject: Any = None,
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
        self.on_reject = on_reject
        self.displayTracebacks = False
        self.clean_spool()

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
    root: Any = resource.Resource()
    root.putChild(b"healthz", Health(gateway))
    root.putChild(b"readyz", Ready(gateway))
    if metrics is not None:
        root.putChild(b"metrics", Metrics(metrics))
    api: Any = resource.Resource()
    api.putChild(b"v1", ApiRoot(gateway, limits))
    root.putChild(b"api", api)
    receiver = getattr(gateway, "as2_receiver", None)
    if receiver is not None:
        from gateway.transports.as2 import As2Resource

        root.putChild(b"as2", As2Resource(receiver, metrics))

    def on_reject(status: int) -> None:
        if metrics is not None:
            metrics.http_request("(early)", status)

    return GatewaySite(
        root,
        limits=limits,
        spool_dir=gateway.core.staging_dir / SPOOL_DIR_NAME,
        reactor=reactor or getattr(gateway, "reactor", None),
        on_reject=on_reject,
    )
