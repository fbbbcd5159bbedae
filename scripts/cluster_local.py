#!/usr/bin/env python3
"""A gateway cluster on this machine: PostgreSQL, N nodes and a round-robin TCP balancer —
the setup of docs/cluster/docker-compose.yml with local processes (README "Run a cluster").

    .venv/bin/python scripts/cluster_local.py                 # 3 nodes, SFTP :2222, HTTP :8080
    .venv/bin/python scripts/cluster_local.py --nodes 2 --database postgresql://gw@db/gateway

Without ``--database`` it makes a fresh schema in the PostgreSQL at
``postgresql://postgres@127.0.0.1:5432/test`` (``GATEWAY_TEST_DATABASE``) and drops it at
the end. Every node has its own data directory under ``--root`` (default var/cluster/) and
shares ``<root>/shared/blobs`` and ``<root>/shared/host_keys``. Ctrl-C stops everything.

The helpers (:class:`Node`, :class:`Balancer`, :func:`fresh_schema`) are what
scripts/cluster_chaos.py runs its cluster with.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASE = (
    os.environ.get("GATEWAY_TEST_DATABASE") or "postgresql://postgres@127.0.0.1:5432/test"
)


def fresh_schema(base: str = DEFAULT_BASE) -> tuple[str, str]:
    """A new empty schema on ``base``: (its URL for the nodes, its name)."""
    import psycopg

    name = f"cluster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {name}".encode())
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={name}')}&application_name={name}", name


def drop_schema(name: str, base: str = DEFAULT_BASE) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            b"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        )
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE".encode())


def write_config(path: Path, *, cycle_seconds: float = 2.0, workers: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[gateway]\npartners_dir = "{ROOT / "partners"}"\n'
        f"[payers]\ncycle_seconds = {cycle_seconds}\n[pipeline]\nworkers = {workers}\n"
        "[log]\nconsole = false\n"
    )
    return path


@dataclass
class Node:
    """One gateway process (``gateway run``) on loopback ports it picks itself."""

    name: str
    root: Path
    config: Path
    database: str | None
    """PostgreSQL URL; None: SQLite in the node's data directory (a single node)."""
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] = field(default_factory=dict)
    starts: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / self.name / "data"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports_file = self.data_dir / "ports.json"
        ports_file.unlink(missing_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1", GATEWAY_NODE_ID=self.name, **self.env)
        env.pop("GATEWAY_DATABASE_URL", None)
        if self.database:
            env["GATEWAY_DATABASE_URL"] = self.database
            env["GATEWAY_BLOB_DIR"] = str(self.root / "shared" / "blobs")
            env["GATEWAY_HOST_KEYS_DIR"] = str(self.root / "shared" / "host_keys")
        self.starts += 1
        log = open(self.root / self.name / f"daemon-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(self.config),
             "--data-dir", str(self.data_dir),
             "--sftp-listen", "tcp:0:interface=127.0.0.1",
             "--http-listen", "tcp:0:interface=127.0.0.1"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ports_file.exists():
                self.ports = json.loads(ports_file.read_text())
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"node {self.name} did not start (see {self.root / self.name})")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """``kill -9``: no clean stop, no lease handed back."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Balancer:
    """Round-robin TCP forwarding from one listening port to the live nodes' ports (what
    HAProxy does in docs/cluster/; a node that refuses is skipped). :meth:`down` drops every
    connection and refuses new ones until ``up`` is set again (tests/e2e/test_cluster.py
    puts one in front of PostgreSQL to make a database blip)."""

    def __init__(
        self, port: int, backends: Callable[[], list[int]], host: str = "127.0.0.1"
    ) -> None:
        self.backends = backends
        self.host = host
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._next = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        ports = list(self.backends()) if self.up else []
        for _ in range(len(ports)):
            self._next = (self._next + 1) % len(ports)
            try:
                server = socket.create_connection((self.host, ports[self._next]), timeout=5)
            except OSError:
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            threading.Thread(target=_pipe, args=(server, client), daemon=True).start()
            _pipe(client, server)
            return
        client.close()

    def down(self) -> None:
        self.up = False
        with self._lock:
            dropped, self._open = self._open, []
        for s in dropped:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.down()
        self.listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--database", help="PostgreSQL URL (default: a fresh schema, dropped)")
    parser.add_argument("--root", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--sftp-port", type=int, default=2222)
    parser.add_argument("--http-port", type=int, default=8080)
    args = parser.parse_args(argv)
    # a SIGTERM (a service manager, `timeout`) stops the cluster like Ctrl-C does
    signal.signal(signal.SIGTERM, _interrupt)
    schema = None
    url = args.database
    if url is None:
        url, schema = fresh_schema()
    config = write_config(args.root / "gateway.toml")
    nodes = [Node(f"gw-{n + 1}", args.root, config, url) for n in range(args.nodes)]
    balancers: list[Balancer] = []
    try:
        for node in nodes:
            node.start()
            print(f"{node.name}: sftp {node.ports['sftp']}, http {node.ports['http']}")
        balancers = [
            Balancer(args.sftp_port, lambda: [n.ports["sftp"] for n in nodes if n.alive]),
            Balancer(args.http_port, lambda: [n.ports["http"] for n in nodes if n.alive]),
        ]
        print(
            f"balancer: sftp 127.0.0.1:{balancers[0].port}, http 127.0.0.1:{balancers[1].port}"
            f" -> {len(nodes)} nodes on one PostgreSQL; Ctrl-C stops"
        )
        while True:
            time.sleep(1)
            for node in nodes:
                if not node.alive:  # what a container restart policy would do
                    print(f"{node.name} exited; restarting it")
                    node.start()
    except KeyboardInterrupt:
        pass
    finally:
        for balancer in balancers:
            balancer.close()
        for node in nodes:
            node.stop()
        if schema is not None:
            drop_schema(schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
