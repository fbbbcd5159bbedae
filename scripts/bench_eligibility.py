"""Benchmark real-time eligibility against the real daemon on loopback: JSON
(``POST /api/v1/eligibility``) and CAQH CORE SOAP (``POST /core``), N concurrent clients.

    .venv/bin/python scripts/bench_eligibility.py [--clients 50] [--seconds 10] [--warmup 2]

Starts ``gateway run`` in a subprocess on a fresh data directory (SQLite, the demo partners,
the simulated payer SIM01 answering from its roster and plans), with the per-partner and
in-flight HTTP limits raised above the client count (the defaults, 8 per partner, would
answer most of 50 clients 429). The clients are one asyncio process holding one keep-alive
connection each, sending the next request as soon as the answer is in. Prints requests/s and
the p50/p90/p99/max latency per envelope, and the errors; never pass/fail (the issue's goal:
p99 < 50 ms at >= 300 requests/s on a 2-core machine). Each envelope runs closed loop (the
maximum throughput: latency there is clients / throughput, Little's law) and at offered loads
(``--rates``, open loop: each client sends on a fixed schedule; the latency at that load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "demo-billing-1.k9k2kjt6Rsvl5ePzReykgqATs0i0yZZUciJFxmedQ1M"

JSON_BODY = json.dumps(
    {
        "tradingPartnerServiceId": "SIM01",
        "provider": {"npi": "1234567893", "organizationName": "Demo Family Practice"},
        "subscriber": {
            "memberId": "MBR900000002",
            "firstName": "Bruno",
            "lastName": "Met",
            "dateOfBirth": "19810702",
        },
        "encounter": {"serviceTypeCodes": ["30", "98"], "dateOfService": "20260601"},
    }
).encode()

X12_270 = (
    "ISA*00*          *00*          *ZZ*DEMOBILLING    *ZZ*CLEARINGHOUSE  *260601*1000*^*00501*"
    "000000901*0*P*:~GS*HS*DEMOBILLING*CLEARINGHOUSE*20260601*1000*901*X*005010X279A1~"
    "ST*270*0001*005010X279A1~BHT*0022*13*BENCH0001*20260601*1000~HL*1**20*1~"
    "NM1*PR*2*SIMULATED PAYER 1*****PI*SIM01~HL*2*1*21*1~"
    "NM1*1P*2*DEMO FAMILY PRACTICE*****XX*1234567893~HL*3*2*22*0~TRN*1*BENCH-1*9000000001~"
    "NM1*IL*1*MET*BRUNO****MI*MBR900000002~DMG*D8*19810702~DTP*291*D8*20260601~EQ*30~"
    "SE*13*0001~GE*1*901~IEA*1*000000901~"
)


def soap_body() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:c="http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"><s:Header>'
        '<w:Security xmlns:w="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd"><w:UsernameToken>'
        f"<w:Username>demo-billing</w:Username><w:Password>{TOKEN}</w:Password>"
        "</w:UsernameToken></w:Security></s:Header><s:Body><c:COREEnvelopeRealTimeRequest>"
        "<PayloadType>X12_270_Request_005010X279A1</PayloadType>"
        f"<ProcessingMode>RealTime</ProcessingMode><PayloadID>{uuid.uuid4()}</PayloadID>"
        "<TimeStamp>2026-06-01T10:00:00Z</TimeStamp><SenderID>demo-billing</SenderID>"
        "<ReceiverID>CLEARINGHOUSE</ReceiverID><CORERuleVersion>2.2.0</CORERuleVersion>"
        f"<Payload>{X12_270}</Payload></c:COREEnvelopeRealTimeRequest></s:Body></s:Envelope>"
    ).encode()


def request_bytes(kind: str, port: int) -> bytes:
    if kind == "json":
        body, path = JSON_BODY, "/api/v1/eligibility"
        headers = f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
    else:
        body, path = soap_body(), "/core"
        headers = "Content-Type: application/soap+xml; charset=utf-8\r\n"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def one_client(port: int, kind: str, until: float, warm: float, out: list[float],
                     errors: dict[str, int], interval: float, offset: float) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = time.monotonic() + offset
    try:
        while time.monotonic() < until:
            data = request_bytes(kind, port)
            if interval:  # open loop: this client's next request is due at a fixed time
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                due += interval
            started = time.monotonic()
            writer.write(data)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            elapsed = time.monotonic() - started
            status = status_line.split()[1].decode() if status_line else "closed"
            ok = status == "200" and (b'"active"' in body or b"<ErrorCode>Success" in body)
            if not ok:
                errors[status] = errors.get(status, 0) + 1
                if status == "closed":
                    return
            elif started >= warm:
                out.append(elapsed)
    finally:
        writer.close()


async def run_load(port: int, kind: str, clients: int, seconds: float, warmup: float,
                   rate: float = 0.0) -> None:  # fmt: skip
    start = time.monotonic()
    interval = clients / rate if rate else 0.0
    warm = start + warmup
    until = warm + seconds
    latencies: list[float] = []
    errors: dict[str, int] = {}
    await asyncio.gather(
        *(
            one_client(port, kind, until, warm, latencies, errors, interval, n * interval / clients)
            for n in range(clients)
        )
    )
    measured = time.monotonic() - warm
    if not latencies:
        print(f"{kind:>5}: no successful requests; errors {errors}")
        return
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    mode = f"offered {rate:g}/s" if rate else "closed loop"
    print(
        f"{kind:>5} {mode:>16}: {len(latencies) / measured:7.1f} requests/s over {measured:.1f} s "
        f"({clients} clients), latency p50 {pct(0.50):.1f} ms, p90 {pct(0.90):.1f} ms, "
        f"p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.1f} ms; errors {errors or 'none'}"
    )


def start_daemon(work: Path, clients: int) -> tuple[subprocess.Popen[bytes], int]:
    config = (ROOT / "config" / "gateway.toml").read_text()
    limits = {
        "max_in_flight": max(64, clients * 2),
        "max_per_partner": max(8, clients * 2),
        "max_uploads": max(32, clients * 2),
        "max_uploads_per_address": max(4, clients * 2),
    }
    for key, value in limits.items():
        config = "\n".join(
            f"{key} = {value}" if line.split("=")[0].strip() == key else line
            for line in config.splitlines()
        )
    config = config.replace('"config/demo/as2/', f'"{ROOT}/config/demo/as2/')
    config = config.replace('partners_dir = "partners"', f'partners_dir = "{ROOT}/partners"')
    config = config.replace("console = true", "console = false")
    path = work / "gateway.toml"
    path.write_text(config)
    data = work / "data"
    log = open(work / "daemon.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(path), "--data-dir",
         str(data), "--sftp-listen", "tcp:0:interface=127.0.0.1", "--http-listen",
         "tcp:0:interface=127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ports = data / "ports.json"
        if ports.exists():
            return proc, int(json.loads(ports.read_text())["http"])
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the gateway did not start:\n{(work / 'daemon.log').read_text()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--only", choices=("json", "soap"), help="one envelope only")
    parser.add_argument(
        "--rates", default="300,0",
        help="offered loads in requests/s, comma-separated; 0 = closed loop (each client sends "
        "its next request when the answer is in: the maximum throughput)",
    )  # fmt: skip
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-eligibility-"))
    proc, port = start_daemon(work, args.clients)
    try:
        print(f"gateway on 127.0.0.1:{port} (pid {proc.pid}), {os.cpu_count()} CPU(s)")
        for kind in ("json", "soap"):
            for rate in (float(r) for r in args.rates.split(",")):
                if args.only in (None, kind):
                    asyncio.run(run_load(port, kind, args.clients, args.seconds, args.warmup, rate))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
