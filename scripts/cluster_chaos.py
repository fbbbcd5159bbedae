#!/usr/bin/env python3
"""Chaos and throughput of a gateway cluster: PostgreSQL + 3 nodes on loopback ports.

1. Chaos: ``--uploads`` 837 batches (default 500) go round-robin over the nodes' SFTP and HTTP
   ports while nodes are ``kill -9``-ed and restarted at random (at least ``--kills``, default
   5). An upload that fails (its node just died) is sent again, as a client would, as a new
   batch to the next node. Then every node runs until the work is done, and the script checks,
   from the database and the mailboxes' 835s, that every upload the client saw succeed has
   exactly one 999 (or TA1 / report), that every accepted claim was routed and adjudicated
   once, and that no claim is paid twice in the 835s: 0 lost, 0 duplicated.
2. Throughput: the same load (``--load-files`` batches of ``--load-claims`` claims over HTTP)
   on 1, 2 and 3 nodes on PostgreSQL and on one node on SQLite: files/s and claims/s from the
   first upload until every file is answered (999, 277CA) and routed to its payers (the payer
   cycles' own period is left out), best of ``--repeat`` runs.

Figures are printed, never asserted (README "Run a cluster" quotes a run). Needs PostgreSQL
at ``GATEWAY_TEST_DATABASE`` (default ``postgresql://postgres@127.0.0.1:5432/test``); each
run uses a fresh schema and drops it.

    .venv/bin/python scripts/cluster_chaos.py [--uploads 500] [--kills 5] [--skip-throughput]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluster_local import ROOT, Node, drop_schema, fresh_schema, write_config
from gen_837 import interchange, plan, render

from gateway.store.sqlite import Store

TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"
KEY = ROOT / "config" / "demo" / "keys" / "demo-billing"
FINAL = ("routed", "rejected", "failed")
PAID = {"1", "2", "3", "19", "20", "21"}


def batch(control: int, claims: int) -> bytes:
    return render(
        interchange(
            claims,
            control,
            sender="DEMOBILLING",
            usage="T",
            seed=control,
            payers=["SIM01", "SIM02"],
            member_base=plan(control, claims)[1],
        )
    )


def post(port: int, name: str, body: bytes) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/files?filename={name}",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - http only
        if answer.status != 202:
            raise OSError(f"HTTP {answer.status}")
        return str(json.loads(answer.read())["file_id"])


def sftp_put(port: int, name: str, body: bytes, key: paramiko.PKey) -> None:
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.banner_timeout = 10
        transport.connect(username="demo-billing", pkey=key)
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        with sftp.open(f"/inbound/{name}", "wb") as handle:
            handle.write(body)
        # the close above returned OK: the gateway has the file durably
    finally:
        transport.close()


class Cluster:
    def __init__(self, root: Path, nodes: int, database: str | None, lease: float) -> None:
        self.root = root
        config = write_config(root / "gateway.toml", cycle_seconds=2.0, workers=1)
        env = {"GATEWAY_LEASE_SECONDS": str(lease)}
        self.nodes = [
            Node(f"gw-{n + 1}", root, config, database, env=dict(env)) for n in range(nodes)
        ]
        self.database = database or str(self.nodes[0].data_dir / "gateway.sqlite3")

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def wait_done(
        self, store: Store, expected: int, timeout: float = 900.0, *, payers: bool = True
    ) -> float:
        """Until ``expected`` files are final and (``payers``) no claim waits for its payer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = store.query("SELECT state, COUNT(*) FROM files GROUP BY state")
            counts = {r[0]: r[1] for r in files}
            final = sum(counts.get(s, 0) for s in FINAL)
            waiting = 0
            if payers:
                waiting = store.query("SELECT COUNT(*) FROM routes WHERE state = 'routed'")[0][0]
            if final >= expected and sum(counts.values()) == final and waiting == 0:
                return time.monotonic()
            time.sleep(0.25)
        raise RuntimeError(f"not done after {timeout:.0f} s: {counts}, {waiting} claims waiting")


def chaos(args: argparse.Namespace, work: Path) -> bool:
    url, schema = fresh_schema()
    cluster = Cluster(work / "chaos", 3, url, lease=args.lease)
    key = paramiko.Ed25519Key.from_private_key_file(str(KEY))
    lock = threading.Lock()
    seen: dict[str, str] = {}  # upload name -> channel, for the uploads the client saw succeed
    refused = collections.Counter()
    kills = 0
    control = iter(range(100_000_001, 200_000_000))
    uploading = threading.Event()
    uploading.set()
    try:
        cluster.start()
        store = Store(url, migrate=False)

        def upload(i: int) -> None:
            tries = 0
            while True:
                node = cluster.nodes[(i + tries) % 3]
                channel = "sftp" if (i // 3) % 2 else "http"
                with lock:
                    number = next(control)
                name = f"chaos-{i:04d}-{tries}.837"
                body = batch(number, args.claims)
                try:
                    if not node.alive or not node.ports:
                        raise OSError("node down")
                    if channel == "http":
                        post(node.ports["http"], name, body)
                    else:
                        sftp_put(node.ports["sftp"], name, body, key)
                except (OSError, paramiko.SSHException, EOFError, urllib.error.URLError):
                    with lock:
                        refused[channel] += 1
                    tries += 1
                    time.sleep(0.3)
                    continue
                with lock:
                    seen[name] = channel
                return

        def monkey() -> None:
            nonlocal kills
            rng = random.Random(11)
            while uploading.is_set() or kills < args.kills:
                time.sleep(rng.uniform(2.0, 6.0))
                victim = rng.choice(cluster.nodes)
                victim.kill()
                kills += 1
                time.sleep(rng.uniform(0.5, 3.0))
                victim.start()

        chaos_thread = threading.Thread(target=monkey, daemon=True)
        started = time.monotonic()
        chaos_thread.start()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(upload, range(args.uploads)))
        uploading.clear()
        chaos_thread.join()
        for node in cluster.nodes:
            if not node.alive:
                node.start()
        cluster.wait_done(store, len(seen))
        elapsed = time.monotonic() - started
        ok = report_chaos(store, cluster, seen, refused, kills, elapsed)
        store.close()
        return ok
    finally:
        cluster.stop()
        drop_schema(schema)


def _835_claims(cluster: Cluster, store: Store) -> collections.Counter[tuple[str, str]]:
    """(payer, CLP01) of every paid claim in every 835 in a mailbox."""
    paid: collections.Counter[tuple[str, str]] = collections.Counter()
    blobs = cluster.root / "shared" / "blobs"
    for (sha,) in store.query("SELECT sha256 FROM mailbox WHERE kind = '835'"):
        text = (blobs / sha[:2] / sha).read_text("ascii")
        element = text[3]
        payer = ""
        for segment in text.replace("\n", "").split("~"):
            fields = segment.split(element)
            if fields[0] == "N1" and len(fields) > 2 and fields[1] == "PR":
                payer = fields[2]
            if fields[0] == "CLP" and len(fields) > 2 and fields[2] in PAID:
                paid[(payer, fields[1])] += 1
    return paid


def report_chaos(
    store: Store,
    cluster: Cluster,
    seen: dict[str, str],
    refused: collections.Counter[str],
    kills: int,
    elapsed: float,
) -> bool:
    files = {r[0]: (r[1], r[2]) for r in store.query("SELECT name, id, state FROM files")}
    lost = [name for name in seen if name not in files]
    unexpected = [name for name in files if name not in seen]
    answers = collections.Counter(
        r[0] for r in store.query("SELECT file_id FROM responses WHERE kind IN ('999', 'TA1')")
    )
    reports = collections.Counter(
        r[0] for r in store.query("SELECT file_id FROM mailbox WHERE kind = 'REPORT'")
    )
    wrong_answers = [
        name
        for name in seen
        if name in files and answers[files[name][0]] + reports[files[name][0]] != 1
    ]
    mailbox_999 = collections.Counter(
        r[0] for r in store.query("SELECT file_id FROM mailbox WHERE kind = '999'")
    )
    twice_999 = [f for f, n in mailbox_999.items() if n > 1]
    accepted = store.query("SELECT COUNT(*) FROM claims WHERE accepted = 1")[0][0]
    routes = store.query("SELECT claim_row_id, COUNT(*) FROM routes GROUP BY claim_row_id")
    routed_twice = sum(1 for r in routes if r[1] > 1)
    decided = store.query(
        "SELECT COUNT(*) FROM routes WHERE state IN ('adjudicated', 'payer_rejected', 'pended')"
    )[0][0]
    decisions = store.query("SELECT route_id, COUNT(*) FROM decisions GROUP BY route_id")
    decided_twice = sum(1 for r in decisions if r[1] > 1)
    paid = _835_claims(cluster, store)
    paid_twice = sum(1 for n in paid.values() if n > 1)
    states = collections.Counter(state for _, state in files.values())
    print("== chaos: 3 nodes on one PostgreSQL ==")
    print(f"uploads the client saw succeed: {len(seen)} ({sum(1 for c in seen.values() if c == 'http')} HTTP, "  # noqa: E501
          f"{sum(1 for c in seen.values() if c == 'sftp')} SFTP) in {elapsed:.0f} s; "
          f"refused while a node was down: {dict(refused)}; kill -9: {kills}")  # fmt: skip
    print(f"files recorded: {len(files)} {dict(states)}; "
          f"recorded but never reported to the client: {len(unexpected)}")  # fmt: skip
    print(f"lost (succeeded, not recorded): {len(lost)}")
    print(f"uploads with exactly one 999/TA1/report: {len(seen) - len(wrong_answers) - len(lost)} of {len(seen)}; "  # noqa: E501
          f"files with a 999 in the mailbox twice: {len(twice_999)}")  # fmt: skip
    print(f"accepted claims: {accepted}; routed: {len(routes)} (twice: {routed_twice}); "
          f"adjudicated: {decided} (decisions twice: {decided_twice})")  # fmt: skip
    print(f"claims paid in 835s: {len(paid)}; paid twice: {paid_twice}")
    duplicated = len(wrong_answers) + len(twice_999) + routed_twice + decided_twice + paid_twice
    missing = len(lost) + (accepted - len(routes)) + (len(routes) - decided)
    print(f"=> {missing} lost, {duplicated} duplicated")
    return missing == 0 and duplicated == 0


def throughput(args: argparse.Namespace, work: Path) -> None:
    print(
        f"== throughput: {args.load_files} files x {args.load_claims} claims over HTTP, "
        f"until every file is answered and routed (best of {args.repeat}) =="
    )
    results: dict[str, float] = {}
    for label, nodes, postgres in (
        ("SQLite, 1 node", 1, False),
        ("PostgreSQL, 1 node", 1, True),
        ("PostgreSQL, 2 nodes", 2, True),
        ("PostgreSQL, 3 nodes", 3, True),
    ):
        name = label.replace(" ", "").replace(",", "-")
        seconds = min(
            _load_run(args, work / f"{name}-{n}", nodes, postgres) for n in range(args.repeat)
        )
        results[label] = args.load_files / seconds
        print(f"{label:22} {seconds:6.1f} s  {args.load_files / seconds:6.2f} files/s  "
              f"{args.load_files * args.load_claims / seconds:7.1f} claims/s")  # fmt: skip
    base = results["PostgreSQL, 1 node"]
    print(
        f"ratios: 2 nodes / 1 = {results['PostgreSQL, 2 nodes'] / base:.2f}, "
        f"3 nodes / 1 = {results['PostgreSQL, 3 nodes'] / base:.2f}, "
        f"SQLite / PostgreSQL (1 node) = {results['SQLite, 1 node'] / base:.2f}"
    )


def _load_run(args: argparse.Namespace, root: Path, nodes: int, postgres: bool) -> float:
    """Seconds from the first upload until every file is done, on a fresh cluster."""
    schema = None
    url: str | None = None
    if postgres:
        url, schema = fresh_schema()
    cluster = Cluster(root, nodes, url, 30.0)
    bodies = [batch(300_000_000 + i, args.load_claims) for i in range(args.load_files)]
    try:
        cluster.start()
        store = Store(cluster.database, migrate=False)

        def send(i: int) -> None:
            post(cluster.nodes[i % nodes].ports["http"], f"load-{i:04d}.837", bodies[i])

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(send, range(args.load_files)))
        done = cluster.wait_done(store, args.load_files, payers=False)
        store.close()
    finally:
        cluster.stop()
        if schema:
            drop_schema(schema)
    return done - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=500)
    parser.add_argument("--claims", type=int, default=3, help="claims per chaos upload")
    parser.add_argument("--kills", type=int, default=5, help="at least this many kill -9")
    parser.add_argument("--clients", type=int, default=6, help="concurrent uploaders")
    parser.add_argument("--lease", type=float, default=5.0, help="GATEWAY_LEASE_SECONDS")
    parser.add_argument("--load-files", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=2, help="throughput runs per setup")
    parser.add_argument("--load-claims", type=int, default=20)
    parser.add_argument("--skip-chaos", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cluster-chaos-"))
    ok = True
    try:
        if not args.skip_chaos:
            ok = chaos(args, work)
        if not args.skip_throughput:
            throughput(args, work)
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept for a look: {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
