"""The validation worker pool: processes that die with the daemon and ignore Ctrl-C.

A ``kill -9`` of the daemon gives its children no chance to be told; without help they are
adopted by init and live on (and with them multiprocessing's resource tracker, which waits for
the last holder of its pipe). Each worker therefore asks the kernel for SIGKILL when its parent
dies (``prctl(PR_SET_PDEATHSIG)`` on Linux; a watchdog thread polling the parent elsewhere), and
ignores SIGINT: a Ctrl-C reaches the whole process group, and the daemon — not its workers —
decides how to stop (the pool is shut down with the core), so no worker prints a
``KeyboardInterrupt`` traceback. Workers are started with SIGINT blocked (the mask is
inherited), so even a Ctrl-C while one is still importing finds it deaf.

Mind: Linux sends the death signal when the *thread* that spawned the worker ends. The pool
spawns workers inside ``submit``; the daemon submits from the reactor thread, which lives as
long as the process. Do not submit from short-lived threads. multiprocessing's resource tracker
needs nothing of its own: it exits when the last process holding its pipe (a worker) is gone.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from gateway import gctune

PR_SET_PDEATHSIG = 1
_WATCHDOG_SECONDS = 1.0


def _die_with_parent_linux() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watchdog(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCHDOG_SECONDS)
    os._exit(1)


def worker_init(parent: int) -> None:
    """Runs first in every worker (``parent``: the daemon's pid)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the spawner
    armed = sys.platform.startswith("linux") and _die_with_parent_linux()
    if not armed:
        threading.Thread(target=_watchdog, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the daemon died before the signal was armed
        os._exit(1)
    gctune.tune(freeze=False)  # warm_up freezes what it loads


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread (a child spawned now inherits the mask); a Ctrl-C that
    comes meanwhile is delivered when it is unblocked."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Pool(concurrent.futures.ProcessPoolExecutor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        # submit is where the pool spawns its workers (on demand)
        with _sigint_blocked():
            return super().submit(fn, *args, **kwargs)


def make_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """``workers`` spawned processes that die with this one and ignore Ctrl-C."""
    return _Pool(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,
        initargs=(os.getpid(),),
    )
