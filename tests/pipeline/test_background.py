"""BackgroundJob (gateway/pipeline/background.py) with runs the test ends by hand: one run at a
time, requests meanwhile coalesce into one follow-up, a failure is reported and does not stop
the follow-up, the stop waits for the run under way and starts nothing more."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from gateway.pipeline.background import BackgroundJob


class Runs:
    """The job's ``run``: each call hands out a Deferred the test fires."""

    def __init__(self) -> None:
        self.started: list[Deferred[Any]] = []
        self.failed: list[Failure] = []

    def run(self) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.started.append(d)
        return d

    def job(self) -> BackgroundJob:
        return BackgroundJob("test", self.run, self.failed.append)


def fired(d: Deferred[Any]) -> bool:
    return bool(d.called)


def test_a_request_starts_a_run_at_once_and_the_job_is_idle_after_it() -> None:
    runs = Runs()
    job = runs.job()
    assert fired(job.idle())
    assert job.request()
    assert len(runs.started) == 1 and job.running and not job.pending
    idle = job.idle()
    assert not fired(idle)
    runs.started[0].callback(None)
    assert fired(idle) and not job.running and job.runs == 1


def test_requests_during_a_run_make_one_follow_up_run() -> None:
    runs = Runs()
    job = runs.job()
    job.request()
    for _ in range(5):  # five payment cycles while one slow run goes on
        assert job.request()
    assert len(runs.started) == 1 and job.pending  # no second run at the same time
    idle = job.idle()
    runs.started[0].callback(None)
    assert len(runs.started) == 2 and job.running and not job.pending  # one follow-up, at once
    assert not fired(idle)
    runs.started[1].callback(None)
    assert fired(idle) and len(runs.started) == 2  # no queue: six requests, two runs
    assert (job.requests, job.runs) == (6, 2)


def test_a_request_after_the_follow_up_started_gets_its_own_run() -> None:
    runs = Runs()
    job = runs.job()
    job.request()
    job.request()
    runs.started[0].callback(None)  # the follow-up starts
    job.request()  # came after it started: it may have read the data already
    assert job.pending
    runs.started[1].callback(None)
    assert len(runs.started) == 3
    runs.started[2].callback(None)
    assert not job.running and not job.pending


def test_a_failed_run_is_reported_and_the_follow_up_still_runs() -> None:
    runs = Runs()
    job = runs.job()
    job.request()
    job.request()
    runs.started[0].errback(RuntimeError("disk"))
    assert [f.type for f in runs.failed] == [RuntimeError]
    assert len(runs.started) == 2  # the follow-up was not lost
    runs.started[1].callback(None)
    assert fired(job.idle())


def test_a_run_that_raises_or_ends_at_once_leaves_the_job_usable() -> None:
    failed: list[Failure] = []

    def boom() -> Deferred[None]:
        raise ValueError("at once")

    job = BackgroundJob("raises", boom, failed.append)
    assert job.request() and not job.running
    assert [f.type for f in failed] == [ValueError]
    quick = BackgroundJob("quick", lambda: succeed(None), failed.append)
    assert quick.request() and quick.request() and quick.runs == 2 and not quick.running
    failing = BackgroundJob("fails", lambda: fail(KeyError("k")), failed.append)
    failing.request()
    assert [f.type for f in failed] == [ValueError, KeyError]


def test_a_reporter_that_raises_does_not_wedge_the_job() -> None:
    def bad_report(failure: Failure) -> None:
        raise RuntimeError("reporting")

    runs = Runs()
    job = BackgroundJob("test", runs.run, bad_report)
    job.request()
    job.request()
    runs.started[0].errback(ValueError("x"))
    assert len(runs.started) == 2  # went on to the follow-up
    runs.started[1].callback(None)
    assert not job.running


def test_stop_waits_for_the_run_under_way_and_starts_nothing_more() -> None:
    runs = Runs()
    job = runs.job()
    job.request()
    job.request()  # a follow-up waits
    stopped = job.stop()
    assert not fired(stopped) and not job.pending
    assert not job.request()  # stopped: nothing new
    runs.started[0].callback(None)
    assert fired(stopped) and len(runs.started) == 1 and not job.running


def test_stop_of_an_idle_job_fires_at_once() -> None:
    runs = Runs()
    job = runs.job()
    assert fired(job.stop())
    assert not job.request() and runs.started == []
