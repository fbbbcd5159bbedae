#!/usr/bin/env python3
"""Real-time claim status over HTTP: requests/s and latency (p50/p99) of
``POST /api/v1/claim-status`` (JSON) and ``POST /api/v1/x12`` (a raw 276, one claim).

    .venv/bin/python scripts/bench_claim_status.py [--claims 500] [--seconds 10] [--clients 8]

Starts the real daemon (``gateway run``, its own data directory, demo partners, the simulated
payers' cycle every second) on loopback ports, uploads an 837P of ``--claims`` claims
(``scripts/gen_837.py``) over the API as the demo billing company, waits until the payers paid
them, then asks for random claims' status from ``--clients`` threads, each with its own
keep-alive connection, for ``--seconds`` per channel. Prints requests/s, p50, p99 and the
answers' status categories. The client runs on the same machine (2 cores here): it takes CPU
from the daemon, so the figures are a floor. Then, the daemon stopped, the same look-ups
in-process on its store (``answer_one`` + the 277, no HTTP, one thread): the cost of the
answer itself. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"  # DEMO (config/demo)
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def _e2e() -> object:
    spec = importlib.util.spec_from_file_location("bench_e2e", ROOT / "scripts" / "bench_e2e.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_e2e"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def claims_of(data: bytes) -> list[dict[str, str]]:
    """CLM01, charge, billing NPI, payer ID, member ID and last name of every claim."""
    text = data.decode("latin-1")
    sep, term = text[3], text[105]
    out: list[dict[str, str]] = []
    facts: dict[str, str] = {}
    for raw in text.split(term):
        seg = raw.strip().split(sep)
        if seg[0] == "NM1" and seg[1] == "85":
            facts["npi"] = seg[9]
        elif seg[0] == "NM1" and seg[1] == "IL":
            facts["member"], facts["last"] = seg[9], seg[3]
        elif seg[0] == "NM1" and seg[1] == "PR":
            facts["payer"] = seg[9]
        elif seg[0] == "CLM":
            out.append({**facts, "clm01": seg[1], "charge": seg[2]})
    return out


def x12_276(claim: dict[str, str], control: int) -> bytes:
    segments = [
        "ST*276*0001*005010X212",
        "BHT*0010*13*B276*20261124*1200",
        "HL*1**20*1",
        f"NM1*PR*2*PAYER*****PI*{claim['payer']}",
        "HL*2*1*21*1",
        "NM1*41*2*DEMO BILLING*****46*DEMOBILLING",
        "HL*3*2*19*1",
        f"NM1*1P*2*DEMO FAMILY PRACTICE*****XX*{claim['npi']}",
        "HL*4*3*22*0",
        f"NM1*IL*1*{claim['last']}*ANY****MI*{claim['member']}",
        "TRN*1*B1",
        f"REF*EJ*{claim['clm01']}",
    ]
    segments.append(f"SE*{len(segments) + 1}*0001")
    isa = (
        f"ISA*00*          *00*          *ZZ*{'DEMOBILLING':<15}*ZZ*{'CLEARINGHOUSE':<15}*"
        f"261124*1200*^*00501*{control:09d}*0*T*:"
    )
    gs = f"GS*HR*DEMOBILLING*CLEARINGHOUSE*20261124*1200*{control}*X*005010X212"
    return "~".join([isa, gs, *segments, f"GE*1*{control}", f"IEA*1*{control:09d}", ""]).encode()


def json_body(claim: dict[str, str]) -> bytes:
    return json.dumps({
        "tradingPartnerServiceId": claim["payer"],
        "providers": [{"npi": claim["npi"], "organizationName": "Demo"}],
        "subscriber": {"memberId": claim["member"], "lastName": claim["last"]},
        "patientControlNumber": claim["clm01"],
    }).encode()  # fmt: skip


def call(conn: http.client.HTTPConnection, path: str, body: bytes,
         headers: dict[str, str]) -> tuple[int, bytes]:  # fmt: skip
    conn.request("POST", path, body, headers)
    answer = conn.getresponse()
    return answer.status, answer.read()


def run(port: int, claims: list[dict[str, str]], channel: str, seconds: float,
        clients: int) -> None:  # fmt: skip
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = iter(range(10_000, 10_000_000))

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        seen: Counter[str] = Counter()
        while time.monotonic() < stop:
            claim = rng.choice(claims)
            if channel == "json":
                body, path, headers = json_body(claim), "/api/v1/claim-status", HEADERS
            else:
                body, path = x12_276(claim, next(counter)), "/api/v1/x12"
                headers = {"Authorization": HEADERS["Authorization"]}
            started = time.perf_counter()
            status, content = call(conn, path, body, headers)
            mine.append(time.perf_counter() - started)
            if status != 200:
                seen[f"http {status}"] += 1
            elif channel == "json":
                seen[json.loads(content)["claims"][0]["status"][0]["statusCategoryCode"]] += 1
            else:
                seen[content.split(b"STC*", 1)[1][:2].decode()] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            outcomes.update(seen)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(
        f"{channel:<5} {len(latencies) / elapsed:8.0f} requests/s  p50 {p50:6.1f} ms  "
        f"p99 {p99:6.1f} ms  ({len(latencies)} requests, {clients} clients; "
        f"answers {dict(outcomes)})"
    )


def in_process(data_dir: Path, claims: list[dict[str, str]], count: int) -> None:
    """``answer_one`` and the 277 of one claim, ``count`` times, on the daemon's store."""
    from datetime import UTC, datetime

    from gateway.config import GatewayConfig
    from gateway.payers.loader import load_simulated_payers
    from gateway.pipeline.claim_status import answer_one, json_277
    from gateway.profiles import load_partners
    from gateway.store.sqlite import Store
    from gateway.x12.claim_status import request_from_json

    partners = load_partners(str(ROOT / "partners"))
    payers = load_simulated_payers(partners, ROOT / "partners")
    store = Store(data_dir / "gateway.sqlite3")
    config = GatewayConfig(source="bench", data_dir=data_dir, partners_dir=ROOT / "partners")
    rng = random.Random(7)
    latencies: list[float] = []
    try:
        for n in range(count):
            request = request_from_json(json.loads(json_body(rng.choice(claims))))
            started = time.perf_counter()
            now = datetime.now(UTC)
            answer = answer_one(store, request, partner_id="demo-billing", payers=payers,
                                partners=partners, channel="bench", now=now)  # fmt: skip
            json_277(answer, config=config, receiver=("ZZ", "DEMOBILLING"), control=n + 1,
                     now=now)  # fmt: skip
            latencies.append(time.perf_counter() - started)
    finally:
        store.close()
    latencies.sort()
    total = sum(latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"core  {count / total:8.0f} answers/s   p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
          f"(in-process, one thread, {count} answers, each logged in the store)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--in-process", type=int, default=2000, help="answers timed in-process")
    args = parser.parse_args()
    e2e = _e2e()
    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp:
        work = Path(tmp)
        path = work / "claims.837"
        e2e.generate(args.claims, path, 4242)  # type: ignore[attr-defined]
        data = path.read_bytes()
        claims = claims_of(data)
        proc, ports = e2e.start_daemon(work, 1.0)  # type: ignore[attr-defined]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=60)
            status, content = call(conn, "/api/v1/files?filename=b.837", data,
                                   {"Authorization": HEADERS["Authorization"]})  # fmt: skip
            assert status == 202 or status == 200, (status, content)
            file_id = json.loads(content)["file_id"]
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:  # routed, then two payer cycles
                conn.request("GET", f"/api/v1/files/{file_id}", headers=HEADERS)
                if json.loads(conn.getresponse().read())["state"] in ("routed", "rejected"):
                    break
                time.sleep(0.2)
            time.sleep(3)
            conn.close()
            print(f"{len(claims)} claims uploaded and adjudicated; asking for their status")
            for channel in ("json", "x12"):
                run(ports["http"], claims, channel, args.seconds, args.clients)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        in_process(work / "data", claims, args.in_process)


if __name__ == "__main__":
    sys.exit(main())
