#!/usr/bin/env python3
"""Latency of the whole path as a billing company sees it: upload close -> 999 -> 277CA -> 835.

    .venv/bin/python scripts/bench_e2e.py [--claims 1000,10000] [--rounds 3] [--cycle-seconds 1]
    .venv/bin/python scripts/bench_e2e.py --claims 100000 --rounds 1
    .venv/bin/python scripts/bench_e2e.py --claims 10000 --rounds 2 --each --skip-pyx12

Starts the real daemon (``gateway run``, its own data directory, demo partners, the simulated
payers' cycle set by ``--cycle-seconds``) on loopback ports, uploads a fresh 837P from
``scripts/gen_837.py`` (new claims every round, SIM01 and SIM02) with paramiko as the demo billing
company, and from the moment ``putfo`` returns (the SFTP close was answered: the gateway holds
the file durably) polls ``/outbound`` and prints, as medians over the rounds:

* ``999``: the first 999 in the mailbox;
* ``277CA``: the clearinghouse 277CA (front-end edits);
* ``payer 277CA``: the last payer 277CA;
* ``835``: the 835 that brought the last claim payment (CLP) of the batch; a batch whose CLP
  count stops short of the claim count (pended or denied-without-835 claims) ends when no new 835
  arrived for three payer cycles, and the count is printed.

The baseline in the same run is pyx12's ``x12valid`` whole process on the same file (it only
validates; it writes no 999 it can send). Each round's mailbox is emptied (picked up) before
the next. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

ROOT = Path(__file__).resolve().parent.parent
KEY = ROOT / "config" / "demo" / "keys" / "demo-billing"
USER = "demo-billing"
POLL = 0.05


@dataclass
class Round:
    claims: int
    upload: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)
    clp: int = 0


def start_daemon(work: Path, cycle: float) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    config = work / "gateway.toml"
    config.write_text(
        f'[gateway]\npartners_dir = "{ROOT / "partners"}"\n[payers]\ncycle_seconds = {cycle}\n'
    )
    data = work / "data"
    ports_file = data / "ports.json"
    log = open(work / "daemon.log", "wb")  # closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(config),
         "--data-dir", str(data), "--sftp-listen", "tcp:0:interface=127.0.0.1",
         "--http-listen", "tcp:0:interface=127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ports_file.exists():
            try:
                return proc, json.loads(ports_file.read_text())
            except ValueError:
                pass  # being written
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"gateway did not start:\n{(work / 'daemon.log').read_text()[-3000:]}")


def generate(claims: int, path: Path, control: int) -> None:
    with open(path, "wb") as out:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "gen_837.py"), "--claims", str(claims),
             "--control", str(control)],
            stdout=out, check=True,
        )  # fmt: skip


def kind(name: str) -> str | None:
    if name.endswith("_999.x12"):
        return "999"
    if name.endswith("_277CA.x12"):
        return "277CA"
    if "_277CA-" in name:
        return "payer 277CA"
    if "_835" in name and name.endswith(".x12"):
        return "835"
    return None


def one_round(sftp: paramiko.SFTPClient, path: Path, claims: int, cycle: float) -> Round:
    result = Round(claims)
    start = time.perf_counter()
    with open(path, "rb") as source:
        sftp.putfo(source, f"/inbound/{path.name}", confirm=False)
    closed = time.perf_counter()
    result.upload = closed - start
    known: set[str] = set()
    last_new = closed
    quiet = max(5.0, 3 * cycle)
    deadline = closed + 600
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        for name in sftp.listdir("/outbound"):
            if name in known:
                continue
            known.add(name)
            what = kind(name)
            if what is None:
                continue
            last_new = now
            if what == "999" or what == "277CA":
                result.seen.setdefault(what, now - closed)
            else:
                result.seen[what] = now - closed  # the last one of its kind
            if what == "835":
                buffer = io.BytesIO()
                sftp.getfo(f"/outbound/{name}", buffer, max_concurrent_prefetch_requests=32)
                result.clp += buffer.getvalue().count(b"CLP*")
        if result.clp >= claims and "999" in result.seen and "277CA" in result.seen:
            break
        if "835" in result.seen and now - last_new > quiet:
            break
        time.sleep(POLL)
    for name in known:  # picked up: the next round starts from an empty mailbox
        sftp.remove(f"/outbound/{name}")
    return result


def x12valid(path: Path) -> float | None:
    tool = shutil.which("x12valid", path=str(Path(sys.executable).parent)) or shutil.which(
        "x12valid"
    )
    if tool is None:
        return None
    start = time.perf_counter()
    subprocess.run([tool, "-q", str(path)], capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", default="1000,10000", help="comma list (default 1000,10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per size (median)")
    parser.add_argument("--cycle-seconds", type=float, default=1.0, help="payer cycle (1 s)")
    parser.add_argument("--skip-pyx12", action="store_true", help="no x12valid baseline")
    parser.add_argument(
        "--each",
        action="store_true",
        help="also print every round (uploads in a row to one daemon: does a round wait for "
        "the work the one before it started, e.g. its patient statement run?)",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.claims.split(",") if n]
    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    key = work / "demo-billing"
    shutil.copyfile(KEY, key)
    key.chmod(0o600)
    proc, ports = start_daemon(work, args.cycle_seconds)
    control = int(time.time()) % 900_000_000
    try:
        transport = paramiko.Transport(("127.0.0.1", ports["sftp"]))
        transport.connect(username=USER, pkey=paramiko.Ed25519Key.from_private_key_file(str(key)))
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        print(f"gateway e2e latency, payer cycle {args.cycle_seconds:g} s, medians of "
              f"{args.rounds} round(s); seconds after the upload's close was answered")  # fmt: skip
        header = f"{'claims':>8} {'upload':>7} {'999':>7} {'277CA':>7} {'payer277':>8} "
        print(header + f"{'835':>7} {'CLPs':>7} {'x12valid':>8} {'x12valid/999':>12}")
        for claims in sizes:
            rounds: list[Round] = []
            baseline: list[float] = []
            for _ in range(args.rounds):
                control += 1
                path = work / f"batch-{claims}-{control}.837"
                generate(claims, path, control)
                rounds.append(one_round(sftp, path, claims, args.cycle_seconds))
                if args.each:
                    r = rounds[-1]
                    seen = " ".join(
                        f"{k} {r.seen[k]:.2f}" for k in ("999", "277CA", "payer 277CA", "835")
                        if k in r.seen
                    )  # fmt: skip
                    print(f"  round {len(rounds)}: {claims} claims, upload {r.upload:.2f}, "
                          f"{seen}, CLPs {r.clp}", flush=True)  # fmt: skip
                if not args.skip_pyx12:
                    took = x12valid(path)
                    if took is not None:
                        baseline.append(took)
                path.unlink()

            def median(what: str, rounds: list[Round] = rounds) -> str:
                values = [r.seen[what] for r in rounds if what in r.seen]
                return f"{statistics.median(values):7.2f}" if values else f"{'-':>7}"

            ack = [r.seen["999"] for r in rounds if "999" in r.seen]
            base = statistics.median(baseline) if baseline else None
            ratio = f"{base / statistics.median(ack):11.1f}x" if base and ack else f"{'-':>12}"
            print(
                f"{claims:>8} {statistics.median(r.upload for r in rounds):7.2f} "
                f"{median('999')} {median('277CA')} {median('payer 277CA'):>8} "
                f"{median('835')} {min(r.clp for r in rounds):>7} "
                f"{(f'{base:8.2f}' if base else '-'):>8} {ratio}"
            )
        sftp.close()
        transport.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
