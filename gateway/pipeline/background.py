"""A background job that runs at most once at a time, its requests coalesced (Twisted).

The daemon's patient statement run is one: each payment cycle that paid something asks for a
run, but the cycle does not wait for it (rendering thousands of PDFs must not hold up the next
cycle's 835s). :meth:`BackgroundJob.request` starts a run when none is running; requests made
while one runs mark one follow-up run, started as soon as the current one ends. A run covers
everything there is to do when it starts, so one follow-up covers every request made during
the run before it: no queue that grows, and no request left without a run that started after
it.

:meth:`BackgroundJob.stop` (the service's stop) starts nothing more and fires once the run in
progress has ended; a follow-up that was still waiting is not started (:attr:`pending` says so
beforehand): the next run, after a restart, covers its work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

log = Logger()


class BackgroundJob:
    """``run`` starts one run and returns its Deferred; ``failed`` reports a failed run (it
    is never raised to the requester, and the follow-up, if any, still runs)."""

    def __init__(
        self, name: str, run: Callable[[], Deferred[Any]], failed: Callable[[Failure], None]
    ) -> None:
        self.name = name
        self._run = run
        self._failed = failed
        self._running = False
        self._again = False
        self._stopped = False
        self._idle: list[Deferred[None]] = []
        #: Runs started so far; requests so far (both for tests and the curious).
        self.runs = 0
        self.requests = 0

    @property
    def running(self) -> bool:
        return self._running

    @property
    def pending(self) -> bool:
        """A follow-up run waits for the current one."""
        return self._again

    def request(self) -> bool:
        """Ask for a run: started now when none runs, else one follow-up after the current
        one (however many requests come meanwhile). False once stopped (nothing will run)."""
        if self._stopped:
            return False
        self.requests += 1
        if self._running:
            self._again = True
        else:
            self._start()
        return True

    def idle(self) -> Deferred[None]:
        """Fires when no run is in progress and none waits (at once if so now)."""
        if not self._running:
            return defer.succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        return d

    def stop(self) -> Deferred[None]:
        """No new runs, no follow-up; fires when the run in progress (if any) has ended."""
        self._stopped = True
        if self._again:
            self._again = False
            log.info("{name}: the stop drops a follow-up run (the next run covers it)",
                     name=self.name)  # fmt: skip
        return self.idle()

    def _start(self) -> None:
        self._running = True
        self._again = False
        self.runs += 1
        d = defer.maybeDeferred(self._run)
        d.addErrback(self._report)
        d.addBoth(self._ended)

    def _report(self, failure: Failure) -> None:
        try:
            self._failed(failure)
        except Exception:
            log.failure("{name}: reporting a failed run failed", name=self.name)

    def _ended(self, _: object) -> None:
        self._running = False
        if self._again and not self._stopped:
            self._start()
            return
        waiting, self._idle = self._idle, []
        for d in waiting:
            d.callback(None)
