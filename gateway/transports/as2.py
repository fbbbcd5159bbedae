"""``POST /as2`` (and ``/as2/mdn`` for asynchronous MDNs): a thin twisted.web edge.

The body arrives through :class:`gateway.transports.http.GatewayRequest` (size-checked, spooled
to a file); this resource reads it, hands headers and bytes to
:class:`gateway.pipeline.as2_inbound.As2Receiver`, and writes the answer (a synchronous MDN, or a
short text when the MDN goes asynchronously or none was asked for).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.web import resource, server

from gateway.pipeline.as2_inbound import As2Answer, As2Receiver


def request_headers(request: Any) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for name, values in request.requestHeaders.getAllRawHeaders():
        for value in values:
            items.append((name.decode("latin-1"), value.decode("latin-1")))
    return items


def _body(request: Any) -> bytes:
    path = request.take_body() if hasattr(request, "take_body") else None
    if path is not None:
        try:
            return bytes(path.read_bytes())
        finally:
            path.unlink(missing_ok=True)
    content = request.content
    if content is None:
        return b""
    content.seek(0)
    return bytes(content.read())


class As2Resource(resource.Resource):
    """``/as2``: POST an AS2 message or an MDN; other methods get 405."""

    isLeaf = True

    def __init__(self, receiver: As2Receiver, metrics: Any = None) -> None:
        super().__init__()
        self.receiver = receiver
        self.metrics = metrics

    def render_GET(self, request: Any) -> bytes:
        return self._plain(request, 405, b"POST AS2 messages here\n", allow=True)

    render_HEAD = render_GET

    def render_POST(self, request: Any) -> Any:
        if self.metrics is not None:
            request.notifyFinish().addBoth(
                lambda _: self.metrics.http_request("POST /as2", int(request.code))
            )
        body = _body(request)
        if not body:
            return self._plain(request, 400, b"an AS2 message needs a body\n")
        d = defer.ensureDeferred(self.receiver.receive(request_headers(request), body))
        d.addCallbacks(self._write, self._failed, callbackArgs=(request,), errbackArgs=(request,))
        return server.NOT_DONE_YET

    def _write(self, answer: As2Answer, request: Any) -> None:
        if getattr(request, "_disconnected", False) or request.finished:
            return
        request.setResponseCode(answer.status)
        for name, value in answer.headers:
            request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
        request.setHeader(b"content-length", str(len(answer.body)).encode())
        request.write(answer.body)
        request.finish()

    def _failed(self, failure: Failure, request: Any) -> None:
        self.receiver.audit("as2.error", error=failure.type.__name__ if failure.type else "error")
        if getattr(request, "_disconnected", False) or request.finished:
            return
        request.setResponseCode(500)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.write(b"the AS2 message could not be handled\n")
        request.finish()

    def _plain(self, request: Any, status: int, body: bytes, allow: bool = False) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        if allow:
            request.setHeader(b"allow", b"POST")
        return body
