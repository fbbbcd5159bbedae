"""The daemon's patient statement runs (``[payers] statements``) in the background: a payment
cycle does not wait for the statement run it asks for, so the next upload's 835s are not held
by a slow run; runs do not overlap, the cycles meanwhile make one follow-up run, a failed run
is audited by exception type only, and the service's stop waits for the run under way before
it closes the store.

The statement run is replaced by one the test holds (a ``threading.Event``): no sleeps, the
test says when the slow run ends."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from gateway.config import PROJECT_ROOT, GatewayConfig, PayersConfig, PipelineConfig
from gateway.payers.loader import load_simulated_payers
from gateway.pipeline import statements as statements_module
from gateway.pipeline.core import GatewayCore
from gateway.pipeline.routing import CycleOutcome
from gateway.pipeline.statements import StatementRun
from gateway.profiles import load_partners
from gateway.states import ROUTED
from tests import dbs
from tests.pipeline.test_routing import GEN

WAIT = 60.0  # seconds: only reached when the behaviour is wrong (a busy machine is slow)


class SlowStatements:
    """Stands in for ``run_statements`` in the billing thread: each run says it started and
    waits for the test to let it end; the second run fails with PHI in its message."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.ended = 0
        self.started: list[defer.Deferred[int]] = [defer.Deferred() for _ in range(3)]

    def __call__(self, store: Any, blobs: Any, partners: Any, now: float, **kw: Any) -> Any:
        self.calls += 1
        call = self.calls
        reactor.callFromThread(self.started[call - 1].callback, call)
        try:
            assert self.release.wait(2 * WAIT), "the test never ended the statement run"
            store.last_statements("demo-billing")  # the store is still open
            if call == 2:
                raise RuntimeError("GRACE HALFWAY owes 30.00")  # statements are PHI
            return StatementRun(statements=3, files=["x_STATEMENT.pdf"],
                                partners=["demo-billing"])  # fmt: skip
        finally:
            self.ended += 1


def _core(tmp_path: Path) -> tuple[GatewayCore, list[tuple[str, dict[str, Any]]]]:
    data = tmp_path / "data"
    config = GatewayConfig(
        source="test",
        data_dir=data,
        partners_dir=PROJECT_ROOT / "partners",
        pipeline=PipelineConfig(workers=0),
        payers=PayersConfig(cycle_seconds=3600.0, statements=True),  # cycles run by the test
        **dbs.settings(data),  # type: ignore[arg-type]
    )
    partners = load_partners(config.partners_dir)
    payers = load_simulated_payers(partners, config.partners_dir)
    events: list[tuple[str, dict[str, Any]]] = []

    def audit(event: str, **fields: Any) -> None:
        events.append((event, fields))

    return GatewayCore(config, lambda: partners, audit, reactor, lambda: payers), events


async def _routed(core: GatewayCore, control: int) -> None:
    data = GEN.render(  # type: ignore[attr-defined]
        GEN.interchange(6, control, payers=["SIM01", "SIM02"], seed=control)  # type: ignore[attr-defined]
    )  # new claims every upload (the same CLM01s again would be duplicates)
    file_id = await core.accept_bytes("demo-billing", "sftp", f"{control}.837", data)
    record = await core.in_store(core.store.get_file, file_id)
    await core.submit(record)  # the claims' step and the routing
    record = await core.in_store(core.store.get_file, file_id)
    assert record is not None and record.state == ROUTED


def within(d: defer.Deferred[Any], seconds: float = WAIT) -> defer.Deferred[Any]:
    """``d``'s result, or a TimeoutError after ``seconds``; unlike ``addTimeout`` it does not
    cancel ``d`` (a cancelled payment cycle would end its statement run's wait early)."""
    out: defer.Deferred[Any] = defer.Deferred()

    def late() -> None:
        out.errback(defer.TimeoutError(f"not done within {seconds} s"))

    timer = reactor.callLater(seconds, late)

    def done(result: Any) -> None:
        if timer.active():
            timer.cancel()
            out.callback(result)

    d.addBoth(done)
    return out


def _835s(outcomes: list[CycleOutcome]) -> int:
    return sum(1 for o in outcomes for p in o.placed if p.kind == "835")


def _named(events: list[tuple[str, dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    return [f for e, f in events if e == name]


@pytest_twisted.ensureDeferred
async def test_the_next_uploads_835s_do_not_wait_for_a_slow_statement_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowStatements()
    monkeypatch.setattr(statements_module, "run_statements", slow)
    core, events = _core(tmp_path)
    core.startService()
    try:
        await _routed(core, 8801)
        # the payment cycle pays the first upload and returns while its statement run goes on
        first = await within(core.run_payer_cycles())
        assert _835s(first) > 0
        assert await slow.started[0].addTimeout(WAIT, reactor) == 1
        assert slow.ended == 0  # the cycle did not wait for it
        assert core.statements.running

        await _routed(core, 8802)  # a second upload meanwhile: its 835s come in the next cycle
        second = await within(core.run_payer_cycles())
        assert _835s(second) > 0 and slow.ended == 0  # paid while the slow run goes on
        assert _named(events, "remit.835.built") and not _named(events, "statements.run")
        # the runs do not overlap: the second cycle's request waits as one follow-up run
        assert slow.calls == 1 and core.statements.pending
        await within(core.run_payer_cycles())  # another cycle (it may release pended claims)
        assert slow.calls == 1 and core.statements.pending  # still one follow-up, no queue

        slow.release.set()  # the slow run ends; the follow-up starts at once (and fails)
        await core.statements.idle().addTimeout(WAIT, reactor)
        assert slow.calls == 2 and core.statements.runs == 2
        (run,) = _named(events, "statements.run")
        assert run["statements"] == 3 and run["trigger"] == "payment-cycle"
        (failed,) = _named(events, "statements.failed")
        assert failed == {"error": "RuntimeError"}
        assert "GRACE" not in json.dumps(events)
        assert not _named(events, "payer.cycle_failed")
    finally:
        slow.release.set()
        await core.stopService()


@pytest_twisted.ensureDeferred
async def test_the_stop_waits_for_the_statement_run_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowStatements()
    monkeypatch.setattr(statements_module, "run_statements", slow)
    core, events = _core(tmp_path)
    core.startService()
    stopping: defer.Deferred[Any] | None = None
    try:
        await _routed(core, 8811)
        await within(core.run_payer_cycles())
        await slow.started[0].addTimeout(WAIT, reactor)
        await _routed(core, 8812)
        await within(core.run_payer_cycles())
        assert core.statements.pending

        stopping = core.stopService()
        # the stop released the leases in the store thread (one thread, in order: this runs
        # after it) and now waits for the statement run
        await core.in_store(lambda: None)
        assert not stopping.called and core.statements.running
        assert not core.statements.pending  # no follow-up during a stop
        slow.release.set()
        await stopping.addTimeout(WAIT, reactor)
        assert slow.calls == 1  # the follow-up was not started
        assert len(_named(events, "statements.run")) == 1  # it used the store and ended well
        assert not _named(events, "statements.failed")
    finally:
        slow.release.set()
        if stopping is None:
            await core.stopService()
