"""The Twisted side of intake, mailboxes and the pipeline.

:class:`GatewayCore` implements the :mod:`gateway.ports` seams over the SQLite store and the
blob store. Every store call runs in one dedicated thread (fsync never blocks the reactor);
X12 analysis runs in worker processes (``pipeline.workers``) or, with 0 workers, in a thread.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from twisted.application.service import Service
from twisted.internet import defer, threads
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from gateway.config import GatewayConfig
from gateway.parked import clean_parked
from gateway.payers.config import PayerConfig
from gateway.pipeline.background import BackgroundJob
from gateway.pipeline.routing import CycleOutcome, RouteOutcome, route_file, run_payer_cycle
from gateway.pipeline.steps import (
    Outcome,
    analyze_only,
    commit_acks,
    commit_claims,
    edit_blob,
    fail_file,
    load_analysis,
    warm_up,
)
from gateway.pipeline.workers import make_pool
from gateway.ports import Audit, MailboxEntry
from gateway.profiles import PartnerSet, edit_context, partner_directory
from gateway.store.blobs import BlobStore
from gateway.store.engine import database_errors
from gateway.store.faults import StorageFull, storage_full
from gateway.store.leases import CYCLE, FILE, Holder
from gateway.store.sqlite import PROCESSED, RECEIVED, FileRecord, Store
from gateway.x12 import FileAnalysis

T = TypeVar("T")

#: Temp-named uploads that were never renamed are dropped after this many seconds.
PARKED_MAX_AGE = 7 * 24 * 3600.0
#: Every this many seconds, files left unfinished (a full disk, a failed step) are retried
#: once the store takes writes again.
RESUME_SECONDS = 30.0


class GatewayCore(Service):
    """Intake + Mailbox + pipeline runner. Start it before the listeners, stop it after."""

    def __init__(
        self,
        config: GatewayConfig,
        partners: Callable[[], PartnerSet],
        audit: Audit,
        reactor: Any,
        payers: Callable[[], dict[str, PayerConfig]] = dict,
    ) -> None:
        self.config = config
        self.partners = partners
        self.payers = payers
        self.audit = audit
        self.reactor = reactor
        data = config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.staging_dir = data / "staging"
        self.staging_dir.mkdir(exist_ok=True)
        self.store = Store(config.database, where=config.database_url_source)
        self.blobs = BlobStore(config.blob_dir)
        self.node_id = config.node_id
        #: This process's leases on work (README "Run a cluster"): taken with each file, payer
        #: cycle and AS2 send, renewed every third of ``lease_seconds`` while the work runs.
        self.holder = Holder.for_node(config.node_id)
        self.lease_seconds = config.cluster.lease_seconds
        self._renewer: LoopingCall | None = None
        self._db_pool = ThreadPool(minthreads=1, maxthreads=1, name="gateway-store")
        self._billing_pool = ThreadPool(minthreads=0, maxthreads=1, name="gateway-statements")
        #: ``[payers] statements``: the patient statement runs, in the background after the
        #: payment cycles that paid something (one at a time; requests meanwhile coalesce).
        self.statements = BackgroundJob("statements", self._statement_run, self._statements_failed)
        self._executor: concurrent.futures.Executor | None = None
        self._running: dict[str, Deferred[None]] = {}
        self._limit = defer.DeferredSemaphore(max(1, config.pipeline.workers))
        self._stopping = False
        self._cycles: LoopingCall | None = None
        self._resumer: LoopingCall | None = None
        # a dead node's files are taken up soon after its leases lapse
        self.resume_seconds = min(RESUME_SECONDS, self.lease_seconds)
        #: Crash tests hold the pipeline (files stay ``received``) with GATEWAY_PIPELINE_HOLD=1.
        self.hold = os.environ.get("GATEWAY_PIPELINE_HOLD") == "1"
        #: Test hook: called with the file id when a file's step has committed.
        self.on_processed: Callable[[str], None] | None = None
        #: Fault hook (the cluster test kills a node here): GATEWAY_FAULT_PAUSE_AFTER_ACKS=1
        #: stops a file for an hour after its TA1/999 committed, its lease still renewed.
        self.pause_after_acks = os.environ.get("GATEWAY_FAULT_PAUSE_AFTER_ACKS") == "1"

    # service ----------------------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        # the upload temp files in staging now are a crash's; any made later belong to uploads
        # under way (the listeners may take uploads before the clean-up runs). Listed here, not
        # compared by mtime: file times come from a coarse clock that can lag time.time() by
        # milliseconds, so an upload just after the start could look older than it.
        self._left_at_start = self._upload_temps()
        self._db_pool.start()
        self._billing_pool.start()
        if self.config.pipeline.workers > 0:
            self._executor = make_pool(self.config.pipeline.workers)  # die with the daemon
            # start the workers now and load their guides and code sets, so the first
            # upload is not the one that waits for them
            for _ in range(self.config.pipeline.workers):
                self._executor.submit(warm_up)
        self.reactor.callWhenRunning(self._clean_staging)
        # at start, this node's own leases are taken back at once: the process that held
        # them is gone (other nodes' wait for their expiry)
        self.reactor.callWhenRunning(self.resume, True)
        self._renewer = LoopingCall(self._renew_leases)
        self._renewer.clock = self.reactor
        self._renewer.start(self.lease_seconds / 3, now=False)
        self._cycles = LoopingCall(self._cycle_tick)
        self._cycles.clock = self.reactor
        self._cycles.start(self.config.payers.cycle_seconds, now=False)
        self._resumer = LoopingCall(self._resume_tick)
        self._resumer.clock = self.reactor
        self._resumer.start(self.resume_seconds, now=False)

    @defer.inlineCallbacks
    def stopService(self):  # type: ignore[no-untyped-def]
        self._stopping = True
        for loop in (self._cycles, self._resumer):
            if loop is not None and loop.running:
                loop.stop()
        statements = self.statements.stop()  # none starts now; the one under way finishes
        running = list(self._running.values())
        if running:
            yield defer.DeferredList(running, consumeErrors=True)
        if self._renewer is not None and self._renewer.running:
            self._renewer.stop()
        try:  # a clean stop hands its unfinished work to the other nodes at once
            yield self.in_store(self.store.release_leases, self.holder)
        except Exception as exc:
            if not isinstance(exc, database_errors()):
                raise
        if self._executor is not None:
            executor, self._executor = self._executor, None
            yield threads.deferToThread(executor.shutdown, wait=True, cancel_futures=True)
        # last the store and the blobs, which a statement run in progress still uses (its
        # Deferred never fails: a failed run is audited)
        yield statements
        self._billing_pool.stop()
        self._db_pool.stop()
        self.store.close()
        yield defer.maybeDeferred(super().stopService)

    def in_store(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Deferred[T]:
        reactor: IReactorThreads = self.reactor
        return threads.deferToThreadPool(reactor, self._db_pool, fn, *args, **kwargs)

    def _upload_temps(self) -> list[Path]:
        """The temp files of uploads in staging (the SFTP and HTTP intakes' ``.upload-*`` and
        ``.api-*``)."""
        return [
            t for pattern in ("*/.upload-*", "*/.api-*") for t in self.staging_dir.glob(pattern)
        ]

    def _clean_staging(self) -> Deferred[None]:
        """Drop what a crash left in staging: temp files of uploads that never completed (their
        clients never saw success) and temp-named uploads parked for over a week."""

        left = getattr(self, "_left_at_start", None)

        def clean() -> tuple[int, int]:
            partial = parked = 0
            cutoff = time.time() - PARKED_MAX_AGE
            # the listeners are already up: only what was there at the start is a crash's
            for temp in left if left is not None else self._upload_temps():
                if temp.exists():
                    temp.unlink(missing_ok=True)
                    partial += 1
            for directory in self.staging_dir.glob("*/parked"):
                parked += clean_parked(directory, cutoff)  # an upload and its .name count once
            return partial, parked

        def report(counts: tuple[int, int]) -> None:
            if any(counts):
                self.audit("staging.cleaned", partial_uploads=counts[0], stale_parked=counts[1])

        return self.in_store(clean).addCallback(report)

    # Intake -----------------------------------------------------------------------------
    def staging_for(self, partner_id: str) -> Path:
        path = self.staging_dir / partner_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _accept(self, partner_id: str, channel: str, name: str, temp_path: Path) -> FileRecord:
        sha, size = self.blobs.adopt(temp_path)
        return self.store.add_file(
            partner_id, channel, name, sha, size, lease=(self.holder, self.lease_seconds)
        )

    @defer.inlineCallbacks
    def accept_upload(self, partner_id: str, channel: str, name: str, temp_path: Path):  # type: ignore[no-untyped-def]
        try:
            record: FileRecord = yield self.in_store(
                self._accept, partner_id, channel, name, temp_path
            )
        except Exception as exc:
            if storage_full(exc):
                self._refused_full(partner_id, channel)
                raise StorageFull() from exc
            raise
        self.audit(
            "file.received",
            file_id=record.id,
            partner=partner_id,
            channel=channel,
            sha256=record.sha256,
            size=record.size,
        )
        self.reactor.callLater(0, self.submit, record)
        return record.id

    def accept_bytes(self, partner_id: str, channel: str, name: str, data: bytes) -> Deferred[str]:
        """Intake for payloads already in memory (HTTP/AS2 later)."""
        temp = self.staging_for(partner_id) / f".api-{time.time_ns()}"
        try:
            temp.write_bytes(data)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if storage_full(exc):
                self._refused_full(partner_id, channel)
                return defer.fail(StorageFull())
            return defer.fail(exc)
        return self.accept_upload(partner_id, channel, name, temp)  # type: ignore[no-any-return]

    def _refused_full(self, partner_id: str, channel: str) -> None:
        self.audit("intake.storage_full", partner=partner_id, channel=channel)

    # Health -----------------------------------------------------------------------------
    def _probe(self) -> bool:
        """The store takes a write: SQLite, and a small fsynced file beside the blobs."""
        if not self.store.writable():
            return False
        probe = self.blobs.temp_path()
        try:
            with open(probe, "wb") as handle:
                handle.write(b"\0" * 4096)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            return False
        finally:
            probe.unlink(missing_ok=True)
        return True

    def writable(self) -> Deferred[bool]:
        """Ready to take files: the store and the blob directory take a write and the audit
        lines that waited for space are out (for ``/readyz``)."""
        flush = getattr(self.audit, "flush", None)

        def audited(ok: bool) -> bool:
            return ok and (flush is None or bool(flush()))

        if hasattr(self.store.engine, "probe"):
            # PostgreSQL: not queued behind the store thread, which may be waiting for a
            # database that is away (the probe itself gives up within seconds)
            return threads.deferToThread(self._probe).addCallback(audited)
        return self.in_store(self._probe).addCallback(audited)

    # Mailbox ----------------------------------------------------------------------------
    def list_outbound(self, partner_id: str) -> Deferred[list[MailboxEntry]]:
        def entries() -> list[MailboxEntry]:
            return [
                MailboxEntry(r.name, r.size, r.created_at)
                for r in self.store.list_mailbox(partner_id)
            ]

        return self.in_store(entries)

    def open_outbound(self, partner_id: str, name: str) -> Deferred[Path | None]:
        def path() -> Path | None:
            entry = self.store.mailbox_entry(partner_id, name)
            return self.blobs.path(entry.sha256) if entry else None

        return self.in_store(path)

    def pick_up(self, partner_id: str, name: str) -> Deferred[bool]:
        def done(entry: Any) -> bool:
            if entry is None:
                return False
            self.audit(
                "file.picked_up",
                partner=partner_id,
                file_name=name,
                kind=entry.kind,
                file_id=entry.file_id,
            )
            return True

        return self.in_store(self.store.pick_up, partner_id, name).addCallback(done)

    # Leases ---------------------------------------------------------------------------
    def lease(self, kind: str, item: str) -> Deferred[bool]:
        """Take (or keep) this process's lease on a piece of work: False while another node
        holds it."""
        return self.in_store(self.store.take_lease, kind, item, self.holder, self.lease_seconds)

    def unlease(self, kind: str, item: str) -> Deferred[None]:
        """Give the lease back (the work is done, or left for whoever comes next)."""
        d = self.in_store(self.store.release_lease, kind, item, self.holder)
        d.addErrback(lambda _: None)  # it lapses on its own
        return d

    def _renew_leases(self) -> Deferred[Any]:
        """Keep this process's leases alive. Not in the store thread: a long commit queued
        there must not let them lapse."""
        d = threads.deferToThread(self.store.renew_leases, self.holder, self.lease_seconds)
        d.addErrback(lambda _: None)  # the database blipped: tried again at the next tick
        return d

    # Pipeline ---------------------------------------------------------------------------
    def resume(self, reclaim: bool = False) -> Deferred[None]:
        """Take up every unfinished file no live node works on: at start (``reclaim``) also
        the ones this node held before it stopped; later, those whose lease expired (their
        node died) or that nobody leased."""

        if self.hold or self._stopping:
            return defer.succeed(None)

        def unfinished() -> list[FileRecord]:
            return self.store.claim_files(self.holder, self.lease_seconds, reclaim=reclaim)

        def go(records: list[FileRecord]) -> None:
            for record in records:
                self.submit(record)

        return self.in_store(unfinished).addCallback(go)

    def submit(self, record: FileRecord) -> Deferred[None]:
        if record.id in self._running:
            return self._running[record.id]
        if self._stopping or self.hold:
            return defer.succeed(None)
        d = self._limit.run(self._process, record)
        d.addErrback(self._unexpected, record)
        self._running[record.id] = d

        def forget(result: Any) -> Any:
            if self._running.get(record.id) is d:
                self._running.pop(record.id, None)
                if not self._stopping:
                    self.unlease(FILE, record.id)
            return result

        d.addBoth(forget)
        return d

    def _spill_paths(self, record: FileRecord) -> tuple[Path, Path]:
        """The worker's edit verdicts for ``record`` and the committed copy (work dir)."""
        work = self.staging_dir.parent / "work"
        spill = work / f"{record.id}.edits"
        return spill, Path(f"{spill}.final")

    def _drop_spill(self, record: FileRecord) -> None:
        for path in self._spill_paths(record):
            path.unlink(missing_ok=True)

    def _in_worker(self, fn: Callable[..., T], *args: Any) -> Deferred[T]:
        """``fn(*args)`` in a validation worker (a thread when there are none)."""
        executor = self._executor
        if executor is None:
            return threads.deferToThread(fn, *args)
        future = executor.submit(fn, *args)
        return threads.deferToThread(future.result)

    def _analyze(self, record: FileRecord, directory: Any) -> Deferred[Any]:
        """Envelope and guide: what the TA1/999 need."""
        path = str(self.blobs.path(record.sha256))
        return self._in_worker(
            analyze_only, path, record.partner_id, directory, self.config.attachments.max_bytes
        )

    def _edit(self, record: FileRecord, analysis: Any, context: Any) -> Deferred[Any]:
        """The claims' edits; the verdicts come back through a file of slim records, not a
        pickle of every claim."""
        path = str(self.blobs.path(record.sha256))
        spill, _ = self._spill_paths(record)
        spill.parent.mkdir(exist_ok=True)
        self._drop_spill(record)  # left by a crash, if any
        return self._in_worker(edit_blob, path, analysis, context, str(spill))

    @defer.inlineCallbacks
    def _process(self, record: FileRecord):  # type: ignore[no-untyped-def]
        if self._stopping:
            return
        mine = yield self.lease(FILE, record.id)
        if not mine:  # another node works on it (it resumes it if that node dies)
            return
        attempts = yield self.in_store(self.store.note_attempt, record.id)
        self.audit(
            "file.processing", file_id=record.id, partner=record.partner_id, attempt=attempts
        )
        try:
            yield self._steps(record)
        except Exception as exc:
            failure = Failure()
            reason = _store_fault(exc)
            if reason is not None:
                # Not the file's fault (a full disk; the database away: a blip, a failover):
                # its committed steps stand, it stays where it is, and the periodic resume
                # takes it again once the store takes writes (never counted towards
                # ``failed``).
                self.audit(
                    "file.retry",
                    file_id=record.id,
                    partner=record.partner_id,
                    attempts=attempts,
                    reason=reason,
                )
                return
            if attempts >= self.config.pipeline.max_retries:
                report = yield self.in_store(
                    fail_file,
                    self.store,
                    self.blobs,
                    record,
                    failure.getErrorMessage()[:500],
                    attempts,
                    time.time(),
                )
                self.audit(
                    "file.failed",
                    file_id=record.id,
                    partner=record.partner_id,
                    attempts=attempts,
                    error=failure.type.__name__ if failure.type else "error",
                    file_name=report,
                )
                return
            self.audit(
                "file.retry", file_id=record.id, partner=record.partner_id, attempts=attempts
            )
            yield defer.Deferred.fromCoroutine(self._sleep(2.0 * attempts))
            self._running.pop(record.id, None)
            self.reactor.callLater(0, self.submit, record)
            return
        if self.on_processed is not None:
            self.on_processed(record.id)

    @defer.inlineCallbacks
    def _steps(self, record: FileRecord):  # type: ignore[no-untyped-def]
        """Run the file's remaining steps: answer (TA1/999/277CA), then route to payers."""
        current = yield self.in_store(self.store.get_file, record.id)
        if current is None:
            return
        partners = self.partners()
        if current.state == RECEIVED:
            directory = partner_directory(self.config, partners)
            received = datetime.fromtimestamp(current.received_at, UTC).date()
            context = edit_context(partners, current.partner_id, received)
            # Two steps, each committed on its own: the TA1/999 as soon as the envelope and
            # guide are checked, then the claims' edits and the 277CA (a restart between them
            # redoes only the second; the 999 never goes twice).
            kept = yield self.in_store(self.store.acked_analysis, record.id)
            if kept:
                # restarted between the steps: the claims' step follows the 999 already sent
                analysis = yield self.in_store(lambda: load_analysis(self.blobs.read(kept)))
            else:
                analysis = yield self._analyze(current, directory)
            if kept is None:
                answered: Outcome = yield self.in_store(
                    commit_acks, self.store, self.blobs, current, analysis, directory, time.time()
                )
                self._report(answered, analysis)
                if self.pause_after_acks:
                    yield defer.Deferred.fromCoroutine(self._sleep(3600.0))
            try:
                found = yield self._edit(current, analysis, context)
                outcome: Outcome = yield self.in_store(
                    commit_claims, self.store, self.blobs, current, found, directory, time.time()
                )
                self._report(outcome, analysis)
            finally:
                self._drop_spill(current)
            current = yield self.in_store(self.store.get_file, record.id)
        if current is not None and current.state == PROCESSED:
            routed: RouteOutcome = yield self.in_store(
                route_file,
                self.store,
                self.blobs,
                current,
                partners=partners,
                config=self.config,
                now=time.time(),
                payers=self.payers(),
            )
            self._report_routing(routed)

    def _report_routing(self, routed: RouteOutcome) -> None:
        if routed.already_done:
            return
        base = {"file_id": routed.file.id, "partner": routed.file.partner_id}
        for batch in routed.batches:
            self.audit(
                "claims.routed",
                **base,
                payer_partner=batch.partner_id,
                file_name=batch.name or None,
                **batch.details,
            )
        for placed in routed.forwarded:
            event = "payer.report.written" if placed.kind == "REPORT" else "payer.answer.forwarded"
            self.audit(
                event,
                **base,
                to_partner=placed.partner_id,
                kind=placed.kind,
                file_name=placed.name,
                **placed.details,
            )
        for placed in routed.answer_files:
            self.audit(
                "inquiry.answers.written",
                **base,
                kind=placed.kind,
                file_name=placed.name,
                **placed.details,
            )
        for placed in routed.inquiry_batches:
            self.audit(
                "inquiries.routed",
                **base,
                to_partner=placed.partner_id,
                kind=placed.kind,
                file_name=placed.name,
                **placed.details,
            )
        for item in routed.inquiries:
            if item.get("inquiry") == "276":
                self.audit("claim_status.answered", **base, channel="batch", **item)
                continue
            self.audit("eligibility.answered", **base, channel="batch", **item)
        for entry in routed.events:
            details = {k: v for k, v in entry.items() if k != "event" and k not in base}
            self.audit(str(entry["event"]), **base, **details)
        for problem in routed.problems:
            self.audit("payer.answer.rejected", **base, problem=problem)
        for warning in routed.warnings:
            self.audit("route.warning", **base, warning=warning)
        if routed.unroutable:
            self.audit("route.unroutable", **base, claims=routed.unroutable)
        self.audit("file.routed", **base, batches=len(routed.batches))

    # Payers -----------------------------------------------------------------------------
    def run_payer_cycles(self, only: str | None = None) -> Deferred[list[CycleOutcome]]:
        """One payment cycle of every simulated payer (or of the one with payer ID ``only``)."""
        partners = self.partners()
        configs = self.payers()
        todo = [
            (partners.get(pid), cfg)
            for pid, cfg in sorted(configs.items())
            if only is None or cfg.payer_id == only or pid == only
        ]

        def run_all() -> list[CycleOutcome]:
            out = []
            for partner, cfg in todo:
                if partner is None:
                    continue
                # one cycle per payer at a time across the cluster: the node holding the
                # payer's cycle lease runs it, the others skip it this time
                if not self.store.take_lease(CYCLE, partner.id, self.holder, self.lease_seconds):
                    continue
                try:
                    out.append(
                        run_payer_cycle(
                            self.store,
                            self.blobs,
                            payer=partner,
                            payer_config=cfg,
                            partners=partners,
                            config=self.config,
                            now=time.time(),
                        )
                    )
                finally:
                    self.store.release_lease(CYCLE, partner.id, self.holder)
            return out

        d = self.in_store(run_all)
        d.addCallback(self._report_cycles)
        done: Deferred[list[CycleOutcome]] = d.addCallback(self._statements_after)
        return done

    def _statements_after(self, outcomes: list[CycleOutcome]) -> list[CycleOutcome]:
        """``[payers] statements``: a payment cycle that paid anything asks for a patient
        statement run, and does not wait for it (the next cycle's 835s must not wait for
        thousands of PDFs): at most one run at a time, the requests made meanwhile make one
        follow-up run (:class:`~gateway.pipeline.background.BackgroundJob`)."""
        if self._stopping or not self.config.payers.statements:
            return outcomes
        if any(o.placed for o in outcomes):
            self.statements.request()
        return outcomes

    def _statement_run(self) -> Deferred[Any]:
        """One statement run in a thread of its own (rendering PDFs must not hold up the
        store thread)."""
        from gateway.pipeline.statements import run_statements

        d = threads.deferToThreadPool(
            self.reactor, self._billing_pool, run_statements, self.store, self.blobs,
            self.partners(), time.time(), due_days=self.config.payers.statement_due_days,
        )  # fmt: skip

        def report(run: Any) -> None:
            if run.statements:  # counts and file names only
                self.audit("statements.run", statements=run.statements, files=run.files,
                           partners=run.partners, trigger="payment-cycle")  # fmt: skip

        return d.addCallback(report)

    def _statements_failed(self, failure: Failure) -> None:
        """A failed run is audited (the exception's type only: statements are PHI) and
        never fails a payment cycle."""
        self.audit("statements.failed", error=type(failure.value).__name__)

    def _report_cycles(self, outcomes: list[CycleOutcome]) -> list[CycleOutcome]:
        report_cycles(self.audit, outcomes)
        return outcomes

    def _cycle_tick(self) -> Deferred[Any]:
        if self._stopping or self.hold:
            return defer.succeed(None)
        d = self.run_payer_cycles()
        d.addErrback(lambda f: self.audit("payer.cycle_failed", error=f.getErrorMessage()[:200]))
        return d

    async def _sleep(self, seconds: float) -> None:
        from twisted.internet.task import deferLater

        await deferLater(self.reactor, seconds, lambda: None)

    def _unexpected(self, failure: Failure, record: FileRecord) -> None:
        """A step failed outside the retry path (the store itself: a full disk, say). The
        file keeps its state; the periodic resume takes it again."""
        self.audit(
            "file.retry",
            file_id=record.id,
            partner=record.partner_id,
            reason=_store_fault(failure.value) or "unexpected",
            error=failure.type.__name__ if failure.type else "error",
        )

    def _resume_tick(self) -> Deferred[Any]:
        """Retry unfinished files, but only while the store takes writes (else /readyz says
        not ready and nothing is tried until space returns)."""
        if self._stopping or self.hold:
            return defer.succeed(None)

        def go(ok: bool) -> Deferred[None] | None:
            if ok and not self._stopping:
                return self.resume()
            return None

        d: Deferred[Any] = self.writable().addCallback(go)
        d.addErrback(lambda f: None)  # tried again at the next tick
        return d

    def _report(self, outcome: Outcome, analysis: FileAnalysis) -> None:
        record = outcome.file
        if outcome.already_done:
            return
        base = {"file_id": record.id, "partner": record.partner_id}
        for control in outcome.duplicates:
            self.audit("interchange.rejected", **base, isa13=control, reason="duplicate (025)")
        any_accepted = False
        events = {"TA1": "ack.ta1.written", "999": "ack.999.written", "277CA": "ack.277ca.written"}
        for placed in outcome.placed:
            for response in placed.responses:
                details = dict(response.details)
                if placed.kind not in events:
                    self.audit("report.written", **base, file_name=placed.name, **details)
                    continue
                if placed.kind == "999":
                    any_accepted = any_accepted or response.accepted
                self.audit(
                    events[placed.kind],
                    **base,
                    file_name=placed.name,
                    isa13=response.interchange_control,
                    ack_isa13=response.outbound_control,
                    accepted=response.accepted,
                    **details,
                )
        for edited in outcome.edits:
            for verdict in edited.verdicts:
                # identifiers only: set control, claim index, CLM01 hash, STC codes
                name = "claim.accepted" if verdict.accepted else "claim.rejected"
                self.audit(name, **base, isa13=edited.isa13, **verdict.audit())
        if outcome.answers_only:
            return  # the claims' step says how the file ended
        event = "file.processed" if any_accepted or outcome.accepted_999 else "file.rejected"
        self.audit(
            event,
            **base,
            interchanges=len(analysis.interchanges),
            answers=[p.name for p in outcome.placed],
        )


def _store_fault(exc: BaseException | None) -> str | None:
    """Why the store failed a step when it is not the file's fault: ``storage_full``,
    ``store_unavailable`` (the database is away), else None."""
    if storage_full(exc):
        return "storage_full"
    if isinstance(exc, database_errors()):
        return "store_unavailable"
    return None


def report_cycles(audit: Audit, outcomes: list[CycleOutcome]) -> None:
    """Audit events for payer cycles (identifiers and amounts only)."""
    for outcome in outcomes:
        for entry in outcome.events:  # rfai.sent / rfai.expired: identifiers only
            details = {k: v for k, v in entry.items() if k not in ("event", "payer_partner")}
            audit(str(entry["event"]), payer_partner=outcome.payer_partner_id, **details)
        if not outcome.decided:
            continue
        base = {"payer_partner": outcome.payer_partner_id}
        for claim in outcome.claims:
            audit("claim.adjudicated", **base, **claim)
        for placed in outcome.placed:
            event = "ack.277ca.written" if placed.kind == "277CA" else "remit.835.built"
            audit(
                event,
                **base,
                partner=placed.partner_id,
                file_id=placed.file_id,
                file_name=placed.name,
                source="payer",
                **placed.details,
            )
        audit(
            "payer.cycle",
            **base,
            decided=outcome.decided,
            paid=outcome.paid,
            denied=outcome.denied,
            rejected=outcome.rejected,
            pended=outcome.pended,
            released=outcome.released,
            held=outcome.held,
        )
