"""The daemon's children die with it: after ``kill -9`` no validation worker nor the
multiprocessing resource tracker is left behind; a Ctrl-C to the process group stops the
daemon cleanly without worker ``KeyboardInterrupt`` tracebacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import GATEWAY, ROOT, wait_for

pytestmark = pytest.mark.e2e


def _children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _start(tmp_path: Path, **popen: object) -> tuple[subprocess.Popen[bytes], Path]:
    data = tmp_path / "data"
    log = tmp_path / f"daemon-{time.time_ns()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                *GATEWAY,
                "run",
                "--data-dir",
                str(data),
                "--sftp-listen",
                "tcp:0:interface=127.0.0.1",
                "--http-listen",
                "tcp:0:interface=127.0.0.1",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            **popen,  # type: ignore[call-overload]
        )
    try:
        wait_for(lambda: (data / "ports.json").exists() or proc.poll() is not None, 60)
        assert proc.poll() is None, log.read_text(errors="replace")
        json.loads((data / "ports.json").read_text())
        # the two workers (warmed up at start) and the resource tracker
        wait_for(lambda: len(_children(proc.pid)) >= 3, 60)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, log


def test_workers_and_tracker_die_with_a_killed_daemon(tmp_path: Path) -> None:
    proc, _log = _start(tmp_path)
    children = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    try:
        wait_for(lambda: not any(_alive(pid) for pid in children), 30)
    except AssertionError:
        left = sorted(pid for pid in children if _alive(pid))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        raise AssertionError(f"left behind after kill -9: {left}") from None


def test_ctrl_c_to_the_group_stops_without_worker_tracebacks(tmp_path: Path) -> None:
    proc, log = _start(tmp_path, start_new_session=True)
    children = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    try:
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    output = log.read_text(errors="replace")
    assert code == 0, output
    assert "KeyboardInterrupt" not in output and "Traceback" not in output, output
    wait_for(lambda: not any(_alive(pid) for pid in children), 30)
