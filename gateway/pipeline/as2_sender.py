"""AS2 out of the daemon: asynchronous MDNs and pushing mailbox files to partners.

:class:`As2Sender` is a Twisted service that, every ``[as2] poll_interval`` seconds (and at once
when kicked):

- POSTs the due asynchronous MDNs of the outbox (``as2_state``) to the URL the sender asked for
  (when the partner's profile in force still allows it — else given up unsent);
  a failure is retried after ``[as2] mdn_retry[n]`` seconds, then given up (``as2.mdn.failed``);
- for every partner whose profile says ``<as2 deliver="true" url="...">``, plans a delivery for
  each file in its outbound mailbox and pushes it: signed and/or encrypted per the profile, with
  a request for a signed MDN (in the HTTP response, or POSTed back to ``[as2] mdn_url`` when the
  profile says ``mdn="async"``). The file counts as delivered — picked up — only on a positive
  MDN whose Received-Content-MIC is the one we computed; anything else is retried after
  ``[as2] send_retry[n]`` seconds with the same Message-ID (so the receiver can tell a resend),
  and given up after the last.

Everything is in SQLite first, so a restart resumes where the last process stopped. Outbound
HTTP uses ``twisted.web.client.Agent``; building and parsing S/MIME runs in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from io import BytesIO
from typing import Any

from twisted.application.service import Service
from twisted.internet import defer, task, threads
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers as TwistedHeaders

from gateway.as2 import Mdn, MdnError, Mic, build_outbound, parse_mdn
from gateway.as2.mime import Headers
from gateway.as2.model import make_message_id
from gateway.config import As2Config
from gateway.pipeline.as2_inbound import As2Answer, As2Directory, short_disposition
from gateway.profiles import Partner
from gateway.store import as2 as as2_state
from gateway.store.leases import AS2_DELIVERY, AS2_MDN

_CONTENT_TYPES = {"x12": "application/edi-x12", "txt": "text/plain; charset=utf-8"}


class PostFailed(Exception):
    """The partner's server did not take the POST (status, connection, timeout)."""


class _Collect(Protocol):
    """Collects a response body up to ``limit`` bytes (an MDN is small)."""

    def __init__(self, done: defer.Deferred[bytes], limit: int) -> None:
        self.done = done
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def dataReceived(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            if self.transport is not None:
                self.transport.stopProducing()
            return
        self.parts.append(data)

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:  # noqa: B008
        if self.done.called:
            return
        if self.size > self.limit:
            self.done.errback(PostFailed(f"answer over {self.limit} bytes"))
        elif reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(b"".join(self.parts))
        else:
            self.done.errback(reason)


def _read_body(response: Any, limit: int) -> defer.Deferred[bytes]:
    done: defer.Deferred[bytes] = defer.Deferred()
    response.deliverBody(_Collect(done, limit))
    return done


class As2Sender(Service):
    def __init__(
        self,
        core: Any,
        directory: As2Directory,
        audit: Any,
        reactor: Any,
        config: As2Config,
        agent: Any = None,
    ) -> None:
        self.core = core
        self.directory = directory
        self.audit = audit
        self.reactor = reactor
        self.config = config
        self.agent = agent or Agent(
            reactor,
            connectTimeout=config.timeout,
            pool=HTTPConnectionPool(reactor, persistent=False),
        )
        self.max_answer = 1024 * 1024
        """Largest HTTP answer (sync MDN) we read."""
        self._loop: task.LoopingCall | None = None
        self._mdns_in_flight: dict[int, defer.Deferred[None]] = {}
        self._deliveries_in_flight: dict[int, defer.Deferred[None]] = {}
        self._kicked: Any = None
        self._stopping = False

    # service ------------------------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        self._stopping = False
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self.reactor
        self._loop.start(self.config.poll_interval, now=True)

    @defer.inlineCallbacks
    def stopService(self):  # type: ignore[no-untyped-def]
        self._stopping = True
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._kicked is not None and self._kicked.active():
            self._kicked.cancel()
        running = [*self._mdns_in_flight.values(), *self._deliveries_in_flight.values()]
        for d in running:
            d.cancel()  # rows stay due; the next start sends them again
        if running:
            yield defer.DeferredList(running, consumeErrors=True)
        yield defer.maybeDeferred(super().stopService)

    def kick(self) -> None:
        """Look for work now (e.g. an async MDN was just queued)."""
        if self._stopping or (self._kicked is not None and self._kicked.active()):
            return
        self._kicked = self.reactor.callLater(0, self._tick)

    def _tick(self) -> None:
        if self._stopping:
            return
        d = defer.ensureDeferred(self.run_once())
        d.addErrback(self._loop_failed)

    def _loop_failed(self, failure: Failure) -> None:
        self.audit("as2.error", error=failure.type.__name__ if failure.type else "error")

    async def run_once(self) -> None:
        """Start every due MDN POST and delivery (skipping those still in flight) and wait for
        the ones started here."""
        core = self.core
        started: list[defer.Deferred[None]] = []
        for queued in await core.in_store(as2_state.due_mdns, core.store, time.time()):
            if queued.id not in self._mdns_in_flight and await self._lease(AS2_MDN, queued.id):
                started.append(
                    self._track(
                        self._mdns_in_flight, queued.id, self._send_mdn(queued), lease=AS2_MDN
                    )
                )
        partners = self.delivery_partners()
        ids = [p.id for p in partners]
        if ids:
            await core.in_store(
                as2_state.plan_deliveries,
                core.store,
                ids,
                lambda: make_message_id(self.directory.name),
            )
            now = time.time()
            for delivery in await core.in_store(as2_state.due_deliveries, core.store, now, ids):
                if delivery.id not in self._deliveries_in_flight and await self._lease(
                    AS2_DELIVERY, delivery.id
                ):
                    started.append(
                        self._track(
                            self._deliveries_in_flight,
                            delivery.id,
                            self._deliver(delivery),
                            lease=AS2_DELIVERY,
                        )
                    )
        if started:
            await defer.DeferredList(started, consumeErrors=True)

    async def _lease(self, kind: str, row_id: int) -> bool:
        """This node takes the send (another node of the cluster may be sending it)."""
        lease = getattr(self.core, "lease", None)
        if lease is None:  # a core without leases (unit tests' doubles)
            return True
        return bool(await lease(kind, str(row_id)))

    def _track(
        self, table: dict[int, defer.Deferred[None]], key: int, coro: Any, lease: str = ""
    ) -> Any:
        d: defer.Deferred[None] = defer.ensureDeferred(coro)
        table[key] = d

        def done(result: Any) -> Any:
            table.pop(key, None)
            unlease = getattr(self.core, "unlease", None)
            if lease and unlease is not None and not self._stopping:
                unlease(lease, str(key))
            if isinstance(result, Failure) and not result.check(defer.CancelledError):
                self._loop_failed(result)
                return None
            return None

        d.addBoth(done)
        return d

    def delivery_partners(self) -> list[Partner]:
        return [
            p
            for p in self.directory.partners().partners.values()
            if p.as2 is not None and p.as2.deliver and p.as2.url
        ]

    # HTTP ---------------------------------------------------------------------------------
    async def post(
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        d = defer.ensureDeferred(self._post(url, headers, body))
        d.addTimeout(self.config.timeout, self.reactor)
        try:
            return await d
        except defer.TimeoutError as exc:
            raise PostFailed(f"no answer within {self.config.timeout:g} s") from exc
        except PostFailed:
            raise
        except Exception as exc:
            raise PostFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc

    async def _post(
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        raw = TwistedHeaders()
        for name, value in headers:
            raw.addRawHeader(name.encode("latin-1"), value.encode("latin-1"))
        raw.setRawHeaders(b"user-agent", [b"edi-gateway AS2"])
        producer: Any = FileBodyProducer(BytesIO(body))
        response = await self.agent.request(b"POST", url.encode("ascii"), raw, producer)
        data = await _read_body(response, self.max_answer)
        answer = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, values in response.headers.getAllRawHeaders()
            for v in values
        ]
        return int(response.code), answer, bytes(data)

    # async MDNs ---------------------------------------------------------------------------
    def mdn_url_allowed(self, partner_id: str | None, url: str) -> bool:
        """Checked again right before each POST: the profile in force must still allow it."""
        partner = self.directory.partners().get(partner_id) if partner_id else None
        if partner is None or partner.as2 is None:
            return False
        found = self.directory.partner(partner.as2.name)
        return found is not None and found[1].allows_async_mdn(url)

    async def _send_mdn(self, queued: as2_state.QueuedMdn) -> None:
        core = self.core
        base = {"partner": queued.partner_id, "message_id": queued.original_message_id}
        if not self.mdn_url_allowed(queued.partner_id, queued.url):
            # Queued before the profile changed (or by an older version): given up, not POSTed.
            attempts, _ = await core.in_store(
                as2_state.mdn_attempt_failed,
                core.store,
                queued.id,
                "URL not allowed by the partner's profile (<async-mdn-url>)",
                (),
            )
            self.audit(
                "as2.mdn.failed",
                **base,
                attempt=attempts,
                error="URL not allowed by the partner's profile",
                retry_in=None,
                final=True,
            )
            return
        try:
            status, _, _ = await self.post(queued.url, queued.headers, queued.body)
            if not 200 <= status < 300:
                raise PostFailed(f"HTTP {status}")
        except PostFailed as exc:
            attempts, delay = await core.in_store(
                as2_state.mdn_attempt_failed,
                core.store,
                queued.id,
                str(exc),
                self.config.mdn_retry,
            )
            self.audit(
                "as2.mdn.failed",
                **base,
                attempt=attempts,
                error=str(exc)[:200],
                retry_in=delay,
                final=delay is None,
            )
            return
        attempts = await core.in_store(as2_state.mdn_sent, core.store, queued.id)
        self.audit(
            "as2.mdn.sent",
            **base,
            disposition=queued.disposition,
            delivery="async",
            attempt=attempts,
        )

    # AS2 delivery -------------------------------------------------------------------------
    async def _deliver(self, delivery: as2_state.Delivery) -> None:
        core = self.core
        partner = self.directory.partners().get(delivery.partner_id)
        found = self.directory.partner(partner.as2.name) if partner and partner.as2 else None
        if partner is None or partner.as2 is None or found is None or not partner.as2.url:
            return
        identity = partner.as2
        _, policy = found
        base = {
            "partner": partner.id,
            "file_name": delivery.mailbox_name,
            "file_id": delivery.file_id,
            "message_id": delivery.message_id,
        }
        if delivery.state == as2_state.AWAITING_MDN:
            await self._failed(
                delivery, base, f"no asynchronous MDN within {self.config.mdn_wait:g} s"
            )
            return
        url = identity.url or ""
        async_url = self.config.mdn_url if identity.mdn == "async" else ""
        micalg = identity.digests[0] if identity.digests else "sha-256"
        try:
            if identity.require_signature and self.directory.signing_key is None:
                raise PostFailed("no [as2] key to sign with")
            if identity.require_encryption and not policy.certificates:
                raise PostFailed("no partner certificate to encrypt to")
            payload = await threads.deferToThread(core.blobs.read, delivery.sha256)
            message = await threads.deferToThread(
                build_outbound,
                payload,
                as2_from=self.directory.name,
                as2_to=identity.name,
                message_id=delivery.message_id,
                content_type=_CONTENT_TYPES.get(delivery.kind, "application/octet-stream"),
                filename=delivery.mailbox_name,
                sign_with=self.directory.signing_key if identity.require_signature else None,
                encrypt_to=list(policy.certificates) if identity.require_encryption else None,
                micalg=micalg,
                mdn_to=self.directory.name,
                mdn_signed=True,
                async_mdn_url=async_url or None,
                subject=f"{delivery.kind} {delivery.mailbox_name}",
            )
            await core.in_store(
                as2_state.delivery_sent,
                core.store,
                delivery.id,
                str(message.mic),
                await_until=time.time() + self.config.mdn_wait if async_url else None,
            )
            status, headers, body = await self.post(url, message.headers, message.body)
            if not 200 <= status < 300:
                raise PostFailed(f"HTTP {status}")
        except PostFailed as exc:
            await self._failed(delivery, base, str(exc))
            return
        if async_url:
            return  # the MDN comes to /as2 (handle_mdn)
        try:
            mdn = await threads.deferToThread(
                parse_mdn,
                Headers(headers),
                body,
                verify_with=policy.certificates,
                require_signature=True,
            )
        except MdnError as exc:
            await self._failed(delivery, base, f"bad MDN: {exc}")
            return
        await self._judge(delivery, base, mdn, message.mic)

    async def _judge(
        self, delivery: as2_state.Delivery, base: dict[str, Any], mdn: Mdn, expected: Mic
    ) -> None:
        disposition = short_disposition(mdn.disposition)
        if mdn.original_message_id not in (None, delivery.message_id):
            await self._failed(delivery, base, "MDN for another message", disposition)
            return
        if not mdn.processed:
            await self._failed(delivery, base, f"negative MDN: {disposition}", disposition)
            return
        if not expected.matches(mdn.mic):
            await self._failed(delivery, base, "MIC mismatch", disposition)
            return
        core = self.core
        done = await core.in_store(as2_state.delivered, core.store, delivery.id, disposition)
        if done is None:
            return  # already settled (a repeated MDN)
        self.audit("as2.send.ok", **base, attempt=done.attempts, disposition=disposition)
        self.audit(
            "file.picked_up",
            partner=delivery.partner_id,
            file_name=delivery.mailbox_name,
            kind=delivery.kind,
            file_id=delivery.file_id,
            channel="as2",
        )

    async def _failed(
        self,
        delivery: as2_state.Delivery,
        base: dict[str, Any],
        error: str,
        disposition: str | None = None,
    ) -> None:
        core = self.core
        attempts, delay = await core.in_store(
            as2_state.delivery_failed,
            core.store,
            delivery.id,
            error,
            self.config.send_retry,
            disposition=disposition,
        )
        self.audit(
            "as2.send.failed",
            **base,
            attempt=attempts,
            error=error[:200],
            disposition=disposition,
            retry_in=delay,
            final=delay is None,
        )

    # async MDNs to what we sent -------------------------------------------------------------
    async def handle_mdn(self, headers: Headers, body: bytes) -> As2Answer:
        """An MDN POSTed to ``/as2``: settle the delivery it answers."""
        as2_from = (headers.get("as2-from") or "").strip().strip('"')
        found = self.directory.partner(as2_from)
        if found is None:
            return _text(400, "unknown AS2-From")
        partner, policy = found
        try:
            mdn = await threads.deferToThread(
                parse_mdn, headers, body, verify_with=policy.certificates, require_signature=True
            )
        except MdnError as exc:
            self.audit("as2.mdn.rejected", partner=partner.id, error=str(exc)[:200])
            return _text(400, f"MDN refused: {exc}")
        core = self.core
        delivery = (
            await core.in_store(
                as2_state.delivery_by_message_id, core.store, mdn.original_message_id
            )
            if mdn.original_message_id
            else None
        )
        if delivery is None or delivery.partner_id != partner.id:
            return _text(400, "MDN for no message we sent")
        base = {
            "partner": partner.id,
            "file_name": delivery.mailbox_name,
            "file_id": delivery.file_id,
            "message_id": delivery.message_id,
        }
        if delivery.state not in (as2_state.PENDING, as2_state.AWAITING_MDN) or not delivery.mic:
            return _text(200, "MDN received (message already settled)")
        await self._judge(delivery, base, mdn, Mic.parse(delivery.mic))
        return _text(200, "MDN received")


def _text(status: int, text: str) -> As2Answer:
    return As2Answer(
        status, [("Content-Type", "text/plain; charset=utf-8")], (text + "\n").encode("utf-8")
    )
