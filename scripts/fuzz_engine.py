#!/usr/bin/env python3
"""Fuzz the X12 engine: mutated and random inputs through everything a file meets in the daemon.

    .venv/bin/python scripts/fuzz_engine.py [--inputs 100000] [--seed 1] [--jobs 2] [--out DIR]

Each input goes through ``gateway.x12.analyze`` (with the real implementation-guide
validator), ``build_responses`` (TA1/999/REJECT, whose content must be ASCII),
``frontend.edit_file`` with an edit context, ``build_277cas``, and, for one input in eight,
``analyze_stream`` over random chunk boundaries (which must give the same analysis).

Inputs: the 837P/837I/835/999 corpus files and a generated 837P, retargeted to this script's
partner directory so the envelope passes and the guide and the edits see the data; each
mutated 1-6 times (byte flips, deletions, insertions of X12 fragments and delimiters,
truncation, duplicated or swapped segments, another element separator) — plus one input in
ten of random bytes. Deterministic for a seed.

Prints the number of inputs, unhandled exceptions (by type and place), chunking
disagreements, the slowest input and the rate; saves every failing input under ``--out``.
Exit status 1 when anything failed. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import random
import re
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from gen_837 import interchange, render  # noqa: E402

from gateway.x12.edits import EditContext  # noqa: E402
from gateway.x12.engine import analyze, analyze_stream, build_responses  # noqa: E402
from gateway.x12.frontend import build_277cas, edit_file  # noqa: E402
from gateway.x12.igvalidator import PyX12Validator  # noqa: E402
from gateway.x12.results import EnvelopeParty, PartnerDirectory  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus"
SENDER = ("ZZ", "FUZZSENDER")
GATEWAY = ("ZZ", "FUZZGATEWAY")
DIRECTORY = PartnerDirectory(
    gateway_qualifier=GATEWAY[0],
    gateway_id=GATEWAY[1],
    parties={SENDER: EnvelopeParty("fuzz", frozenset({"T", "P"}))},
)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FRAGMENTS = [
    b"~",
    b"*",
    b":",
    b"^",
    b"|",
    b"ISA",
    b"IEA*1*",
    b"GS*HC*",
    b"GE*1*1~",
    b"ST*837*0001*005010X222A1~",
    b"SE*5*0001~",
    b"HL*9*1*22*0~",
    b"CLM*X*1~",
    b"LX*1~",
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"  ",
]
_ISA = re.compile(rb"ISA(?=[^A-Za-z0-9\s])")


def retarget(data: bytes) -> bytes:
    """ISA05-ISA08 of every ISA set to this script's sender and gateway (widths kept)."""
    out = bytearray()
    pos = 0
    for match in _ISA.finditer(data):
        start = match.start()
        if start < pos:
            continue
        sep = data[start + 3 : start + 4]
        parts = data[start:].split(sep, 9)
        if len(parts) < 10:
            continue
        head_len = sum(len(p) + 1 for p in parts[:9])
        parts[5] = SENDER[0].encode()
        parts[6] = SENDER[1].ljust(15).encode()
        parts[7] = GATEWAY[0].encode()
        parts[8] = GATEWAY[1].ljust(15).encode()
        out += data[pos:start] + sep.join(parts[:9]) + sep
        pos = start + head_len
    out += data[pos:]
    return bytes(out)


def seeds() -> list[bytes]:
    found = [
        retarget(p.read_bytes())
        for folder in ("837p", "837i", "837p-negative", "835", "999")
        for p in sorted((CORPUS / folder).glob("*"))
        if p.is_file() and p.stat().st_size < 200_000
    ]
    generated = render(interchange(3, 7, sender=SENDER[1], receiver=GATEWAY[1]))
    found.append(retarget(generated))
    return found


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not buf:
            buf += rng.choice(FRAGMENTS)
            continue
        i = rng.randrange(len(buf))
        op = rng.randrange(9)
        if op == 0:
            buf[i] = rng.randrange(256)
        elif op == 1:
            del buf[i : i + rng.randint(1, 60)]
        elif op == 2:
            buf[i:i] = rng.choice(FRAGMENTS)
        elif op == 3:
            del buf[i:]
        elif op == 4:  # duplicate a stretch
            j = min(len(buf), i + rng.randint(1, 300))
            buf[j:j] = buf[i:j]
        elif op == 5:  # swap two segments
            segs = bytes(buf).split(b"~")
            if len(segs) > 3:
                a, b = rng.randrange(len(segs)), rng.randrange(len(segs))
                segs[a], segs[b] = segs[b], segs[a]
                buf = bytearray(b"~".join(segs))
        elif op == 6:  # another element separator from here on
            buf[i:] = bytes(buf[i:]).replace(b"*", rng.choice([b"|", b"~", b":", b"^", b"A"]))
        elif op == 7:  # a random element value
            j = bytes(buf).find(b"*", i)
            if j >= 0:
                buf[j + 1 : j + 1] = bytes(
                    rng.randrange(32, 127) for _ in range(rng.randint(0, 12))
                )
        else:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf)


def make_input(rng: random.Random, pool: list[bytes]) -> bytes:
    if rng.random() < 0.1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
    return mutate(rng, rng.choice(pool))


CONTEXT = EditContext(
    partner_id="fuzz",
    npis=frozenset({"1234567893", "1987654328"}),
    tins=frozenset({"123456789", "987654321"}),
    payer_ids=frozenset({"SIM01", "SIM02"}),
    today=date(2026, 11, 21),
)


def _only_acknowledgments(analysis: object) -> bool:
    """Nothing is owed for interchanges that carry only acknowledgments (FA groups, or a TA1
    with no groups) and did not ask for a TA1: acknowledgments are never acknowledged."""
    interchanges = getattr(analysis, "interchanges", ())
    return bool(interchanges) and all(
        i.ta1_code is None and not i.ack_requested and all(g.gs01 == "FA" for g in i.groups)
        for i in interchanges
    )


def run_one(data: bytes, rng: random.Random, validator: PyX12Validator) -> str | None:
    """Everything the daemon does with a file; None when consistent, else what disagreed."""
    counter = itertools.count(1)
    analysis = analyze(data, uploader="fuzz", directory=DIRECTORY, validator=validator)
    responses = build_responses(
        analysis, directory=DIRECTORY, duplicates=(), next_control=counter.__next__, now=NOW
    )
    if not responses and not _only_acknowledgments(analysis):
        return "no response"
    for response in responses:
        response.content.decode("ascii")
    edits = edit_file(data, analysis, CONTEXT)
    for answer in build_277cas(
        edits,
        analysis,
        directory=DIRECTORY,
        next_control=counter.__next__,
        now=NOW,
        received=NOW.date(),
        trace_prefix="FUZZ",
    ):
        answer.content.decode("ascii")
    if rng.random() < 0.125:
        cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randint(1, 8)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        again = analyze_stream(chunks, uploader="fuzz", directory=DIRECTORY, validator=validator)
        if again != analysis:
            return "analyze_stream over chunks differs from analyze"
    return None


@dataclass
class Report:
    inputs: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    saved: list[str] = field(default_factory=list)
    slowest: float = 0.0
    seconds: float = 0.0


def worker(args: tuple[int, int, int, str]) -> Report:
    seed, start, count, out = args
    pool = seeds()
    validator = PyX12Validator()
    report = Report()
    began = time.perf_counter()
    for n in range(start, start + count):
        rng = random.Random(f"{seed}-{n}")
        data = make_input(rng, pool)
        t0 = time.perf_counter()
        try:
            problem = run_one(data, rng, validator)
        except Exception as exc:  # the point of the exercise
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            problem = f"{type(exc).__name__} at {where}: {str(exc)[:80]}"
        report.slowest = max(report.slowest, time.perf_counter() - t0)
        report.inputs += 1
        if problem is not None:
            report.failures[problem] += 1
            if out and report.failures[problem] <= 3:
                path = Path(out) / f"fuzz-{seed}-{n}.x12"
                path.write_bytes(data)
                report.saved.append(str(path))
    report.seconds = time.perf_counter() - began
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=max(1, (multiprocessing.cpu_count() or 1)))
    parser.add_argument("--out", default="", help="directory for failing inputs")
    args = parser.parse_args(argv)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(args.jobs, args.inputs))
    share = -(-args.inputs // jobs)
    tasks = [
        (args.seed, k * share, min(share, args.inputs - k * share), args.out)
        for k in range(jobs)
        if args.inputs - k * share > 0
    ]
    started = time.perf_counter()
    if jobs == 1:
        reports = [worker(t) for t in tasks]
    else:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            reports = pool.map(worker, tasks)
    elapsed = time.perf_counter() - started
    total = Report()
    for r in reports:
        total.inputs += r.inputs
        total.failures.update(r.failures)
        total.saved += r.saved
        total.slowest = max(total.slowest, r.slowest)
    failed = sum(total.failures.values())
    print(
        f"inputs: {total.inputs} in {elapsed:.0f} s ({total.inputs / elapsed:,.0f}/s, "
        f"{jobs} process(es)); slowest input {total.slowest * 1000:.0f} ms"
    )
    print(f"unhandled exceptions / disagreements: {failed}")
    for problem, count in total.failures.most_common():
        print(f"  {count:6}  {problem}")
    for path in total.saved:
        print(f"  saved {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
