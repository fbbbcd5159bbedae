"""AS2 receive: from an HTTP request's headers and body to the answer (MDN), through intake.

The protocol work is :mod:`gateway.as2` (pure); this module adds what needs the daemon: our keys
and the partners' certificates (:class:`As2Directory`), duplicate Message-IDs and the durable
record of what we answered (:mod:`gateway.store.as2`), intake (``core.accept_upload``,
channel ``as2``), and asynchronous MDNs (queued in the outbox, POSTed by
:mod:`gateway.pipeline.as2_sender`).

Order of a new message: parse (decrypt, verify, decompress — in a thread), then, only if it
authenticated, look up its Message-ID; a new one is reserved with the MDN it will get and the
payload's sha256, the payload goes through intake, and the row is completed (and the async MDN
queued) in one transaction. A crash between intake and completion is resolved the next time the
Message-ID is seen (``as2_state.seen`` finds the file by its sha256).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from twisted.internet import defer, threads

from gateway.as2 import (
    As2Error,
    InboundMessage,
    KeyPair,
    OutboundMdn,
    PartnerAs2,
    UnexpectedProcessingError,
    UnknownPartner,
    build_mdn,
    load_certificates,
    load_private_key,
    parse_inbound,
)
from gateway.as2.cms import CIPHER_NAMES, DEFAULT_ACCEPTED_CIPHERS, DEFAULT_DECOMPRESS_LIMIT
from gateway.as2.message import parse_request
from gateway.as2.mime import Headers, parse_content_type, parse_headers
from gateway.as2.model import unquote_as2_name
from gateway.config import As2Config
from gateway.profiles import Partner, PartnerSet
from gateway.store import as2 as as2_state

#: Temp files of AS2 payloads on their way into intake, under ``staging/<partner>/``. Swept by
#: :func:`clean_staging` before the HTTP listener starts (not by the core's ``.upload-*`` /
#: ``.api-*`` sweep).
TEMP_PREFIX = ".as2-"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class As2Answer:
    """The HTTP answer to an AS2 POST."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes


def short_disposition(disposition: str) -> str:
    """``automatic-action/MDN-sent-automatically; processed/Error: x`` -> ``processed/Error: x``."""
    return disposition.split(";", 1)[1].strip() if ";" in disposition else disposition.strip()


def clean_staging(staging_dir: Path) -> int:
    """Delete AS2 temp files a crash left behind (their senders never got a positive MDN)."""
    removed = 0
    for leftover in staging_dir.glob(f"*/{TEMP_PREFIX}*"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def is_async_url(url: str | None) -> bool:
    return bool(url) and re.match(r"^https?://[^\s/]+", url or "", re.IGNORECASE) is not None


def looks_like_mdn(headers: Headers, body: bytes) -> bool:
    """An MDN POSTed to us (the async answer to a message we sent), not a message."""
    if headers.get("disposition-notification-to"):
        return False
    ct = parse_content_type(headers.get("content-type"))
    if ct.mime_type == "multipart/report":
        return True
    if ct.mime_type != "multipart/signed":
        return False
    boundary = ct.param("boundary")
    if not boundary:
        return False
    head = body[:16384]
    start = head.find(b"--" + boundary.encode("latin-1"))
    if start < 0:
        return False
    start = head.find(b"\n", start) + 1
    end = head.find(b"\n\n", start)
    end_crlf = head.find(b"\r\n\r\n", start)
    ends = [e for e in (end, end_crlf) if e >= 0]
    if not start or not ends:
        return False
    try:
        inner = parse_headers(head[start : min(ends)])
    except ValueError:
        return False
    return parse_content_type(inner.get("content-type")).mime_type == "multipart/report"


class As2Directory:
    """Our AS2 identity (name, key pairs from ``[as2]``) and the partners' AS2 policies from the
    profiles in force (certificates loaded once per file version)."""

    def __init__(self, config: As2Config, partners: Callable[[], PartnerSet]) -> None:
        self.config = config
        self.name = config.name
        self.partners = partners
        self.keys: list[KeyPair] = []
        for pair in config.keys:
            key = load_private_key(pair.key.read_bytes())
            cert = load_certificates(pair.certificate.read_bytes())[0]
            self.keys.append((key, cert))
        self._certs: dict[tuple[str, int], list[x509.Certificate]] = {}

    @property
    def signing_key(self) -> KeyPair | None:
        return self.keys[0] if self.keys else None

    def own_keys(self, as2_to: str) -> list[KeyPair]:
        return list(self.keys) if as2_to == self.name else []

    def certificates(self, paths: Sequence[str]) -> list[x509.Certificate]:
        found: list[x509.Certificate] = []
        for path in paths:
            try:
                stamp = os.stat(path).st_mtime_ns
                key = (path, stamp)
                if key not in self._certs:
                    with open(path, "rb") as handle:
                        self._certs[key] = load_certificates(handle.read())
                found.extend(self._certs[key])
            except (OSError, ValueError):
                continue  # the loader reported it; a vanished file trusts nothing
        return found

    def partner(self, as2_name: str) -> tuple[Partner, PartnerAs2] | None:
        partner = self.partners().by_as2_name(as2_name)
        if partner is None or partner.as2 is None:
            return None
        identity = partner.as2
        policy = PartnerAs2(
            as2_name=identity.name,
            certificates=tuple(self.certificates(identity.certificates)),
            require_signature=identity.require_signature,
            require_encryption=identity.require_encryption,
            allowed_digests=frozenset(identity.digests) if identity.digests else None,
            partner_id=partner.id,
            accepted_ciphers=(
                frozenset(CIPHER_NAMES.get(c, c) for c in identity.ciphers)
                if identity.ciphers
                else DEFAULT_ACCEPTED_CIPHERS
            ),
            async_mdn_urls=identity.async_mdn_urls,
        )
        return partner, policy

    def find_partner(self, as2_from: str, as2_to: str) -> PartnerAs2 | None:
        if as2_to != self.name:
            return None
        found = self.partner(as2_from)
        return found[1] if found else None


MdnHandler = Callable[[Headers, bytes], Awaitable[As2Answer]]


class As2Receiver:
    """Answers ``POST /as2``.  ``core``: a :class:`gateway.pipeline.core.GatewayCore` (or any
    object with ``store``, ``in_store``, ``staging_for`` and ``accept_upload``).
    ``max_content``: the most bytes decompression may produce (the HTTP body limit).

    An asynchronous MDN (Receipt-Delivery-Option) is queued only for a message that authenticated
    (accepted under the partner's policy; for an error MDN: its signature had verified) and only
    to a URL the partner's profile allows (``<async-mdn-url>``); anything else is answered in the
    HTTP response and never POSTed anywhere.
    """

    def __init__(
        self,
        core: Any,
        directory: As2Directory,
        audit: Callable[..., None],
        *,
        kick_outbox: Callable[[], None] | None = None,
        mdn_handler: MdnHandler | None = None,
        max_content: int = DEFAULT_DECOMPRESS_LIMIT,
    ) -> None:
        self.core = core
        self.max_content = max_content
        self.directory = directory
        self.audit = audit
        self.kick_outbox = kick_outbox
        self.mdn_handler = mdn_handler
        self._busy: dict[tuple[str, str], list[defer.Deferred[None]]] = {}

    # the entry point ----------------------------------------------------------------------
    async def receive(self, raw_headers: Sequence[tuple[str, str]], body: bytes) -> As2Answer:
        headers = Headers(raw_headers)
        if looks_like_mdn(headers, body):
            if self.mdn_handler is None:
                return _text(400, "unexpected MDN: we sent nothing that asked for one")
            return await self.mdn_handler(headers, body)
        try:
            message: InboundMessage = await threads.deferToThread(
                parse_inbound,
                headers,
                body,
                find_partner=self.directory.find_partner,
                own_keys=self.directory.own_keys,
                max_content=self.max_content,
            )
        except As2Error as exc:
            return await self._refuse(exc)
        except Exception as exc:  # a bug or an input the parser did not foresee
            error = UnexpectedProcessingError(f"{type(exc).__name__}")
            try:
                from gateway.as2 import parse_request

                error.request = parse_request(headers)
            except As2Error:
                error.request = None
            return await self._refuse(error)
        key = (message.as2_from, message.message_id)
        await self._enter(key)
        try:
            return await self._accept(message)
        finally:
            self._leave(key)

    def precheck(self, raw_headers: Sequence[tuple[str, str]]) -> As2Answer | None:
        """The answer to a POST whose headers alone refuse it, before any of its body is read
        (and before it takes an upload slot): no AS2-From/AS2-To, or names nobody we trade
        with. None when the names are known (the message, or MDN, is then read and checked
        in full). The answer is synchronous: an asynchronous MDN goes only to a partner whose
        message authenticated."""
        headers = Headers(raw_headers)
        as2_from = unquote_as2_name(headers.get("as2-from") or "")
        as2_to = unquote_as2_name(headers.get("as2-to") or "")
        if not as2_from or not as2_to:
            self.audit("as2.rejected", disposition="missing AS2-From/AS2-To", early=True)
            return _text(400, "not an AS2 message: missing header(s): AS2-From, AS2-To")
        error: UnknownPartner
        if not self.directory.own_keys(as2_to):
            error = UnknownPartner("AS2-To", as2_to)
        elif self.directory.partner(as2_from) is None:
            error = UnknownPartner("AS2-From", as2_from)
        else:
            return None
        try:
            error.request = parse_request(headers)
        except As2Error:
            error.request = None
        known = self.directory.partner(as2_from)
        base = {
            "partner": known[0].id if known else None,
            "as2_from": as2_from[:128],
            "message_id": error.request.message_id[:256] if error.request else None,
        }
        self.audit("as2.rejected", **base, disposition=error.disposition, early=True)
        if error.request is None or error.request.mdn is None:
            return _text(400, error.disposition)
        sign = self.directory.signing_key if error.request.mdn.signed else None
        return self._sync_mdn(build_mdn(error, sign_with=sign), base)

    # one message at a time per Message-ID ------------------------------------------------
    async def _enter(self, key: tuple[str, str]) -> None:
        while key in self._busy:
            waiter: defer.Deferred[None] = defer.Deferred()
            self._busy[key].append(waiter)
            await waiter
        self._busy[key] = []

    def _leave(self, key: tuple[str, str]) -> None:
        for waiter in self._busy.pop(key, []):
            waiter.callback(None)

    # a message that authenticated ---------------------------------------------------------
    async def _accept(self, message: InboundMessage) -> As2Answer:
        core = self.core
        partner_id = message.partner.partner_id or ""
        base = {
            "partner": partner_id,
            "as2_from": message.as2_from,
            "message_id": message.message_id,
        }
        previous = await core.in_store(
            as2_state.seen, core.store, message.as2_from, message.message_id
        )
        if previous is not None:
            self.audit(
                "as2.duplicate",
                **base,
                file_id=previous.file_id,
                disposition=previous.disposition,
            )
            return await self._answer_again(message, previous)

        mdn = self._mdn(message)
        async_url = self._async_url(message)
        temp, sha256 = await threads.deferToThread(self._write_temp, partner_id, message.payload)
        try:
            await core.in_store(
                as2_state.reserve,
                core.store,
                as2_from=message.as2_from,
                message_id=message.message_id,
                partner_id=partner_id,
                sha256=sha256,
                disposition=short_disposition(mdn.disposition),
                headers=mdn.headers,
                body=mdn.body,
                async_url=async_url,
            )
            file_id = await core.accept_upload(partner_id, "as2", self._file_name(message), temp)
        except Exception as exc:
            temp.unlink(missing_ok=True)
            return await self._intake_failed(message, base, async_url, exc)
        queued = await core.in_store(
            as2_state.complete, core.store, message.as2_from, message.message_id, file_id
        )
        self.audit(
            "as2.received",
            **base,
            file_id=file_id,
            size=len(message.payload),
            signed=message.signed,
            encrypted=message.encrypted,
            compressed=message.compressed,
            mic_alg=message.mic.algorithm,
            mdn="async" if async_url else ("sync" if message.mdn else "none"),
        )
        if queued is not None:
            self._kick()
            return _text(200, "message received; the MDN follows asynchronously")
        if message.mdn is None:
            return _text(200, "message received")
        return self._sync_mdn(mdn, base)

    async def _answer_again(
        self, message: InboundMessage, previous: as2_state.StoredMdn
    ) -> As2Answer:
        """A resend: the original MDN, in the way this request asks for it."""
        base = {"partner": previous.partner_id, "message_id": message.message_id}
        url = self._async_url(message)
        if url:
            await self.core.in_store(
                as2_state.queue_mdn,
                self.core.store,
                as2_from=previous.as2_from,
                original_message_id=previous.message_id,
                partner_id=previous.partner_id,
                url=url,
                disposition=previous.disposition,
                headers=previous.headers,
                body=previous.body,
            )
            self._kick()
            return _text(200, "message received before; the MDN follows asynchronously")
        if message.mdn is None:
            return _text(200, "message received before")
        self.audit("as2.mdn.sent", **base, disposition=previous.disposition, duplicate=True)
        return As2Answer(200, _response_headers(previous.headers), previous.body)

    async def _intake_failed(
        self, message: InboundMessage, base: dict[str, Any], async_url: str | None, exc: Exception
    ) -> As2Answer:
        with contextlib.suppress(Exception):  # a failing store: the pending row resolves later
            await self.core.in_store(
                as2_state.forget, self.core.store, message.as2_from, message.message_id
            )
        disposition = "processed/Error: unexpected-processing-error"
        self.audit("as2.rejected", **base, disposition=disposition, error=type(exc).__name__)
        if message.mdn is None:
            return _text(500, disposition)
        mdn = self._mdn(
            message,
            disposition=disposition,
            text=(
                f"The AS2 message {message.message_id!r} authenticated but could not be stored; "
                "nothing was processed. Please send it again later."
            ),
        )
        return await self._deliver_mdn(mdn, base, async_url, message.partner.partner_id)

    # messages that failed ------------------------------------------------------------------
    async def _refuse(self, error: As2Error) -> As2Answer:
        request = error.request
        if request is None:
            self.audit("as2.rejected", disposition=error.disposition, error=error.detail[:200])
            return _text(400, f"not an AS2 message: {error.detail}")
        known = self.directory.partner(request.as2_from)
        base = {
            "partner": known[0].id if known else None,
            "as2_from": request.as2_from[:128],
            "message_id": request.message_id[:256],
        }
        self.audit("as2.rejected", **base, disposition=error.disposition)
        if request.mdn is None:
            return _text(400, error.disposition)
        sign = self.directory.signing_key if request.mdn.signed else None
        mdn = build_mdn(error, sign_with=sign)
        # Asynchronous error MDNs only after the partner's signature verified, and only to a URL
        # its profile allows: a stranger (or junk "from" a partner) never steers a POST.
        async_url = None
        if known and error.authenticated:
            async_url = self._allowed_url(known[1], request.mdn.async_url, base)
        elif request.mdn.async_url:
            self.audit("as2.mdn.sync", **base, reason="not authenticated")
        return await self._deliver_mdn(mdn, base, async_url, known[0].id if known else None)

    async def _deliver_mdn(
        self,
        mdn: OutboundMdn,
        base: dict[str, Any],
        async_url: str | None,
        partner_id: str | None,
    ) -> As2Answer:
        if async_url:
            await self.core.in_store(
                as2_state.queue_mdn,
                self.core.store,
                as2_from=base.get("as2_from") or "",
                original_message_id=mdn.original_message_id,
                partner_id=partner_id,
                url=async_url,
                disposition=short_disposition(mdn.disposition),
                headers=mdn.headers,
                body=mdn.body,
            )
            self._kick()
            return _text(200, "the MDN follows asynchronously")
        return self._sync_mdn(mdn, base)

    # helpers -------------------------------------------------------------------------------
    def _mdn(self, message: InboundMessage, **overrides: Any) -> OutboundMdn:
        signed = message.mdn is not None and message.mdn.signed
        return build_mdn(
            message, sign_with=self.directory.signing_key if signed else None, **overrides
        )

    def _async_url(self, message: InboundMessage) -> str | None:
        """The Receipt-Delivery-Option of an authenticated message, if its profile allows it."""
        url = message.mdn.async_url if message.mdn else None
        base = {
            "partner": message.partner.partner_id,
            "as2_from": message.as2_from,
            "message_id": message.message_id,
        }
        return self._allowed_url(message.partner, url, base)

    def _allowed_url(self, policy: PartnerAs2, url: str | None, base: dict[str, Any]) -> str | None:
        if not url:
            return None
        if is_async_url(url) and policy.allows_async_mdn(url):
            return url
        self.audit("as2.mdn.sync", **base, reason="async MDN URL not allowed by the profile")
        return None

    def _sync_mdn(self, mdn: OutboundMdn, base: dict[str, Any]) -> As2Answer:
        self.audit("as2.mdn.sent", **base, disposition=short_disposition(mdn.disposition))
        return As2Answer(200, _response_headers(mdn.headers), mdn.body)

    def _kick(self) -> None:
        if self.kick_outbox is not None:
            self.kick_outbox()

    def _write_temp(self, partner_id: str, payload: bytes) -> tuple[Path, str]:
        temp = self.core.staging_for(partner_id) / f"{TEMP_PREFIX}{secrets.token_hex(12)}"
        with open(temp, "wb") as handle:
            handle.write(payload)
        return temp, hashlib.sha256(payload).hexdigest()

    @staticmethod
    def _file_name(message: InboundMessage) -> str:
        name = _SAFE_NAME.sub("_", message.filename or "").strip("._")[:100]
        if name:
            return name
        digest = hashlib.sha256(message.message_id.encode()).hexdigest()[:16]
        return f"as2-{digest}.x12"


def _response_headers(mdn_headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The MDN's headers as HTTP response headers (MIME-Version etc. kept; AS2 needs them)."""
    return [(n, v) for n, v in mdn_headers]


def _text(status: int, text: str) -> As2Answer:
    return As2Answer(
        status, [("Content-Type", "text/plain; charset=utf-8")], (text + "\n").encode("utf-8")
    )
