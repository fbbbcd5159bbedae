"""The HTTP listener (twisted.web): health and readiness now; the AS2 endpoint and the JSON API
mount here later."""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from twisted.web import resource, server


class _Json(resource.Resource):
    isLeaf = True

    def __init__(self, gateway: Any) -> None:
        super().__init__()
        self.gateway = gateway

    def send(self, request: Any, status: int, body: dict[str, Any]) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode() + b"\n"


class Health(_Json):
    def render_GET(self, request: Any) -> bytes:
        return self.send(request, 200, {"status": "ok"})


class Ready(_Json):
    def render_GET(self, request: Any) -> Any:
        core = self.gateway.core

        def answer(writable: bool) -> None:
            ports = self.gateway.listening_ports()
            checks = {"store_writable": writable, "sftp_listening": "sftp" in ports}
            ok = all(checks.values())
            request.write(self.send(request, 200 if ok else 503, {"ready": ok, **checks}))
            request.finish()

        def failed(_: Any) -> None:
            request.write(self.send(request, 503, {"ready": False, "store_writable": False}))
            request.finish()

        d: defer.Deferred[bool] = core.in_store(core.store.writable)
        d.addCallbacks(answer, failed)
        return server.NOT_DONE_YET


def make_site(gateway: Any) -> server.Site:
    root = resource.Resource()
    children: dict[bytes, Any] = {b"healthz": Health(gateway), b"readyz": Ready(gateway)}
    for path, child in children.items():
        root.putChild(path, child)
    site = server.Site(root)
    site.displayTracebacks = False
    return site
