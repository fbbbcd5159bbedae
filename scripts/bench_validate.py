#!/usr/bin/env python3
"""Benchmark: our IG validator vs pyx12 on the same generated 837P, plus peak RSS on ~100 MB.

    .venv/bin/python scripts/bench_validate.py [--claims 5000] [--rss-mb 100] [--skip-pyx12]
    .venv/bin/python scripts/bench_validate.py --cli-claims 50000 [--cli-runs 3]

Prints, for one guide-clean 5,000-claim 837P from scripts/gen_837.py:

* (a) the ceiling: bare ``str.split`` tokenisation of the file (decode, split segments, split
  elements);
* (b) ours: the validator alone on already-tokenised segments; gateway.x12.tokenizer +
  the validator's streaming session; and ``gateway.x12.analyze`` end to end (tokenizer,
  envelope, validator);
* (d) ours, the whole path in this process: what ``gateway validate FILE --ack-dir D`` does per
  file (``gateway.validate.check_file``: envelope, guide, claim extraction, front-end edits
  spilled to disk, 999 and 277CA written), the in-process figure of the issue's 50x goal;
* (c) pyx12 4.0.0's full ``x12n_document`` run on the same file, in turns with (d)
  (``--pyx12-runs``, default 3: ours best of ``--runs``, then pyx12 once, and again; the
  whole-path ratio is the median of the turns' ratios, the others use pyx12's median);

as claims/s, the ratio ours/pyx12 (goal >= 50x) and our share of the str.split ceiling. Then
it generates a ~100 MB single-ST 837P and runs it in a subprocess, printing the subprocess's
peak RSS (``VmHWM``, read by the child itself; goal < 200 MB) for: the daemon's worker step
``gateway.pipeline.steps.analyze_blob`` (the file read in 1 MiB chunks) without and with the
front-end edits, and ``gateway.x12.analyze`` over the whole file as bytes.

With ``--cli-claims N`` it measures the whole process instead (and nothing else): the
``gateway validate FILE --ack-dir D`` command (999 + 277CA written) against pyx12's
``x12valid FILE`` on the same N-claim gen_837 file, plus both on a 1-claim file (start-up),
in interleaved runs (ours, theirs, ours, ...) so that a busy machine slows both alike. It
prints the median wall time of each, the ratio, and each process's peak RSS. Every command
runs under a tiny Python wrapper that times it and reads the child's own ``ru_maxrss``
(``os.wait4``), so neither interpreter start-up of the wrapper nor this process's memory is
counted. The compiled-guide cache is warmed first (as it is after a user's first run).

Timings are best-of-N (median for ``--cli-claims``) wall clock on this machine; nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from gen_837 import interchange, render  # noqa: E402

from gateway.x12 import analyze  # noqa: E402
from gateway.x12.igvalidator import PyX12Validator  # noqa: E402
from gateway.x12.results import EnvelopeParty, PartnerDirectory  # noqa: E402
from gateway.x12.segments import Delimiters, Segment  # noqa: E402
from gateway.x12.tokenizer import IsaHeader, tokenize, tokenize_runs, windows  # noqa: E402

GUIDE = "005010X222A1"
DIRECTORY = PartnerDirectory(
    gateway_qualifier="ZZ",
    gateway_id="CLEARINGHOUSE",
    parties={("ZZ", "DEMOBILLING"): EnvelopeParty("demo", frozenset({"T", "P"}))},
)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# ---------------------------------------------------------------------------- timed paths


def split_ceiling(data: bytes) -> int:
    text = data.decode("latin-1")
    return sum(len(s.split("*")) for s in text.split("~"))


def validator_only(validator: PyX12Validator, segments: list[Segment], delims: Delimiters) -> int:
    errors, claims = validator.validate(segments, delims, GUIDE)
    assert not errors, errors[:3]
    return claims


def tokenizer_and_session(validator: PyX12Validator, data: bytes) -> int:
    """Tokens straight into a session (what the envelope does, minus the envelope)."""
    session = None
    claims = 0
    for run in tokenize_runs(windows(data)):
        if isinstance(run, IsaHeader):
            delims = run.delimiters
        elif isinstance(run, list):
            for token in run:
                if token.id == "ST":
                    session = validator.begin(delims, GUIDE)
                if session is not None:
                    session.feed(token)
                    if token.id == "SE":
                        errors, found = session.finish()
                        assert not errors, errors[:3]
                        claims += found
                        session = None
    return claims


def engine_end_to_end(data: bytes) -> int:
    analysis = analyze(data, uploader="demo", directory=DIRECTORY)
    (ich,) = analysis.interchanges
    assert ich.ta1_code is None
    sets = [t for g in ich.groups for t in g.transactions]
    assert all(t.accepted for t in sets), sets[0].errors[:3]
    return sum(t.claim_count for t in sets)


def whole_path(path: Path, ack_dir: Path) -> int:
    """What ``gateway validate FILE --ack-dir D`` does per file, in this process: envelope,
    guide, claims, front-end edits (spilled), 999 and 277CA written."""
    from datetime import UTC, datetime
    from itertools import count

    from gateway.config import DEFAULT_CONFIG_PATH, load_config
    from gateway.profiles import load_partners, partner_directory
    from gateway.validate import check_file

    config = load_config(DEFAULT_CONFIG_PATH, env={}, services=False)
    partners = load_partners(str(config.partners_dir), check_keys=False)
    acks: list[str] = []
    checked = check_file(
        path,
        partners=partners,
        directory=partner_directory(config, partners),
        controls=count(1).__next__,
        now=datetime.now(UTC),
        ack_dir=ack_dir,
        acks=acks,
        tune_gc=True,  # as the command does
    )
    assert len(acks) == 2, acks  # 999 + 277CA
    return sum(checked.claims.accepted.values())


def pyx12_full(path: Path) -> bool:
    import pyx12.params
    import pyx12.x12n_document

    logger = logging.getLogger("pyx12")
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    with path.open(encoding="ascii") as fd:  # pyx12 wants text mode
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), fd, io.StringIO(), None)
    return bool(ok)


# ---------------------------------------------------------------------------- 100 MB / RSS


def write_big_file(path: Path, target_mb: int) -> int:
    """A single-ST 837P of about ``target_mb`` MB: gen_837 blocks of 1,000 claims (one billing
    provider HL each) repeated with HL numbers shifted, written segment by segment."""
    block = [s for s in interchange(1000, 1)]
    head, body, tail = block[:2], block[2:-3], block[-2:]  # ISA GS | ST..claims | GE IEA
    st_part = body[:5]  # ST BHT NM1 PER NM1
    claims_part = body[5:]
    hl_per_block = sum(1 for s in claims_part if s.startswith("HL*"))
    size_per_block = sum(len(s) + 2 for s in claims_part)
    blocks = max(1, target_mb * 1_000_000 // size_per_block)
    count = 0
    with path.open("w", encoding="ascii", newline="") as out:
        for s in head + st_part:
            out.write(s + "~\n")
        count += len(st_part)
        for b in range(blocks):
            shift = b * hl_per_block
            for s in claims_part:
                if s.startswith("HL*"):
                    parts = s.split("*")
                    parts[1] = str(int(parts[1]) + shift)
                    if parts[2]:
                        parts[2] = str(int(parts[2]) + shift)
                    s = "*".join(parts)
                out.write(s + "~\n")
            count += len(claims_part)
        out.write(f"SE*{count + 1}*0001~\n")
        for s in tail:
            out.write(s + "~\n")
    return blocks * 1000


def rss_child(path: Path, mode: str) -> None:
    from gateway.pipeline.steps import analyze_blob
    from gateway.x12.edits import EditContext

    claims = errors = 0
    if mode == "whole":
        analysis = analyze(path.read_bytes(), uploader="demo", directory=DIRECTORY)
    else:
        context = None
        if mode == "blob+edits":
            context = EditContext(
                partner_id="demo",
                npis=frozenset({"1234567893", "1987654328"}),
                tins=frozenset({"123456789", "987654321"}),
                payer_ids=frozenset({"SIM01", "SIM02"}),
                today=date(2026, 11, 21),
            )
        # the daemon's way: edits spill slim records to a work file (nothing kept per claim)
        spill = str(path) + ".edits" if context is not None else None
        found = analyze_blob(str(path), "demo", DIRECTORY, context, spill_to=spill)
        analysis = found.file
        if found.spill is not None:
            assert found.spill.claims > 0, "no claims edited"
            Path(found.spill.path).unlink(missing_ok=True)
    for ich in analysis.interchanges:
        for group in ich.groups:
            for t in group.transactions:
                claims += t.claim_count
                errors += len(t.errors) + len(t.set_error_codes)
    print(f"{claims} {errors} {peak_rss_kb()}")


def peak_rss_kb() -> int:
    """This process's peak RSS in KiB: ``VmHWM`` from ``/proc/self/status``. Not
    ``ru_maxrss``: on Linux it carries the parent's high-water mark across fork + exec, so a
    child started by a big parent reports at least the parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])  # "VmHWM:   123456 kB"
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")


def measure_rss(path: Path, mode: str) -> tuple[int, int, float, float]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(path), "--rss-mode", mode],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    elapsed = time.perf_counter() - start
    claims, errors, peak_kb = int(out[0]), int(out[1]), int(out[2])
    return claims, errors, peak_kb / 1024, elapsed


# ---------------------------------------------------------------------------- whole process

_TIMER = (
    "import os, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "elapsed = time.perf_counter() - start\n"
    "sys.stderr.write(child.stderr.read().decode(errors='replace')[-2000:])\n"
    "print(elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status),\n"
    "      usage.ru_utime + usage.ru_stime)\n"
)


def timed(
    command: list[str], ok: str | None = None, pure: bool = False
) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MB, exit code, CPU seconds) of ``command`` run by the timing
    wrapper; it must exit 0, or (``ok``) print that on stderr (x12valid exits 1 on a clean
    file). ``pure``: with GATEWAY_PURE=1 (the gateway without its compiled modules)."""
    # as installed: byte-code caches written and used (a PYTHONDONTWRITEBYTECODE=1 of the
    # caller's shell would recompile every changed module on every run)
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "GATEWAY_PURE")
    }
    if pure:
        env["GATEWAY_PURE"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _TIMER, *command], capture_output=True, text=True, check=True,
        env=env,
    )  # fmt: skip
    seconds, rss_kb, code, cpu = out.stdout.split()
    if int(code) != 0 and (ok is None or ok not in out.stderr):
        raise RuntimeError(f"{command[0]} exited {code}: {out.stderr[-1000:]}")
    return float(seconds), int(rss_kb) / 1024, int(code), float(cpu)


def cli_compare(claims: int, runs: int) -> None:
    import statistics

    gateway = str(Path(sys.executable).parent / "gateway")
    x12valid = str(Path(sys.executable).parent / "x12valid")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {}
        for n in (1, claims):
            path = folder / f"claims{n}.837"
            path.write_bytes(render(interchange(n, 1)))
            files[n] = path
        acks = str(folder / "acks")

        def ours(n: int, pure: bool = False) -> tuple[float, float, int, float]:
            return timed([gateway, "validate", str(files[n]), "--ack-dir", acks], pure=pure)

        def theirs(n: int) -> tuple[float, float, int, float]:
            return timed([x12valid, "-q", str(files[n])], ok=f"{files[n]}: OK")

        from gateway import _native

        ours(1)  # warm: the compiled-guide cache, the OS page cache
        ours(1, pure=True)
        theirs(1)
        print(
            f"whole process, {claims} claims ({files[claims].stat().st_size / 1e6:.1f} MB) "
            f"and 1 claim, {runs} interleaved runs each, medians; the claim path "
            f"{_native.state} (pure: the same with GATEWAY_PURE=1):"
        )
        for n in (1, claims):
            mine: list[tuple[float, float, int, float]] = []
            pure: list[tuple[float, float, int, float]] = []
            other: list[tuple[float, float, int, float]] = []
            for _ in range(runs):
                mine.append(ours(n))
                pure.append(ours(n, pure=True))
                other.append(theirs(n))
            t_ours, t_pure, t_theirs = (
                statistics.median(r[0] for r in x) for x in (mine, pure, other)
            )
            c_ours, c_pure, c_theirs = (
                statistics.median(r[3] for r in x) for x in (mine, pure, other)
            )
            rss_ours = max(r[1] for r in mine)
            rss_theirs = max(r[1] for r in other)
            label = "start-up (1 claim)" if n == 1 else f"{n} claims"
            print(
                f"  {label:20} gateway validate --ack-dir: {t_ours:7.2f} s (CPU {c_ours:6.2f} s), "
                f"{n / t_ours:9,.0f} claims/s, peak {rss_ours:5.0f} MB | pure: {t_pure:7.2f} s "
                f"(CPU {c_pure:6.2f} s) | x12valid: {t_theirs:7.2f} s (CPU {c_theirs:6.2f} s), "
                f"peak {rss_theirs:5.0f} MB | ratio {t_theirs / t_ours:5.1f}x wall, "
                f"{c_theirs / c_ours:5.1f}x CPU (pure {t_theirs / t_pure:5.1f}x wall)"
            )
        helps = [timed([gateway, "--help"])[0] for _ in range(runs)]
        print(f"  gateway --help: {statistics.median(helps):.2f} s (median of {runs})")


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5, help="best of N for our timings")
    parser.add_argument("--rss-mb", type=int, default=100, help="0 skips the RSS run")
    parser.add_argument("--skip-pyx12", action="store_true")
    parser.add_argument(
        "--pyx12-runs",
        type=int,
        default=3,
        help="turns of (our whole path, best of --runs; one pyx12 run): the ratio is the median",
    )
    parser.add_argument(
        "--cli-claims",
        type=int,
        default=0,
        help="only the whole-process comparison: gateway validate vs x12valid on N claims",
    )
    parser.add_argument("--cli-runs", type=int, default=3, help="interleaved runs (median)")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rss-mode", default="blob", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child, args.rss_mode)
        return 0
    if args.cli_claims:
        cli_compare(args.cli_claims, args.cli_runs)
        return 0

    claims = args.claims
    data = render(interchange(claims, 1))
    tokens = list(tokenize(data))
    header = tokens[0]
    assert isinstance(header, IsaHeader)
    segments = [t for t in tokens if isinstance(t, Segment)]
    st_set = segments[1:-2]  # ST..SE (drop GS, GE, IEA)
    n_segments = len(st_set)
    validator = PyX12Validator()
    validator.validate(st_set[:50], header.delimiters, GUIDE)  # warm: compile the guide
    engine_end_to_end(render(interchange(5, 2)))

    from gateway import _native

    print(f"file: {claims} claims, {n_segments} segments, {len(data) / 1e6:.1f} MB (gen_837); "
          f"the claim path {_native.state}")  # fmt: skip
    rows: list[tuple[str, float]] = []
    t_split = best_of(args.runs, lambda: split_ceiling(data))
    rows.append(("(a) str.split ceiling", t_split))
    t_val = best_of(args.runs, lambda: validator_only(validator, st_set, header.delimiters))
    rows.append(("(b) validator only (pre-tokenised)", t_val))
    t_tok = best_of(args.runs, lambda: sum(1 for _ in tokenize(data)))
    rows.append(("    tokenizer.tokenize only", t_tok))
    t_runs = best_of(args.runs, lambda: sum(1 for _ in tokenize_runs(windows(data))))
    rows.append(("    tokenizer.tokenize_runs only", t_runs))
    t_stream = best_of(args.runs, lambda: tokenizer_and_session(validator, data))
    rows.append(("(b) tokenizer + validator session", t_stream))
    t_engine = best_of(args.runs, lambda: engine_end_to_end(data))
    rows.append(("(b) gateway.x12.analyze end to end", t_engine))
    # The whole path and pyx12 in turns (ours best of --runs, then one pyx12 run, and again):
    # a machine that slows down for a while slows both, and each turn gives one ratio.
    t_pyx12: float | None = None
    turns: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.837"
        path.write_bytes(data)
        whole_path(path, Path(tmp) / "warm")
        for _ in range(1 if args.skip_pyx12 else max(1, args.pyx12_runs)):
            ours = best_of(args.runs, lambda: whole_path(path, Path(tmp) / "acks"))
            theirs = float("nan")
            if not args.skip_pyx12:
                start = time.perf_counter()
                ok = pyx12_full(path)
                theirs = time.perf_counter() - start
                assert ok, "pyx12 rejected the generated file"
            turns.append((ours, theirs))
    t_whole = statistics.median(t for t, _ in turns)
    rows.append(("(d) whole path: edits, 999 + 277CA", t_whole))
    if not args.skip_pyx12:
        t_pyx12 = statistics.median(t for _, t in turns)
        rows.append(("(c) pyx12 x12n_document", t_pyx12))

    print(
        f"{'path':40} {'seconds':>9} {'claims/s':>10} {'segs/s':>10} {'vs pyx12':>9} {'of ceil':>8}"
    )
    for name, seconds in rows:
        ratio = f"{t_pyx12 / seconds:8.1f}x" if t_pyx12 else "        -"
        share = f"{t_split / seconds:7.1%}"
        print(
            f"{name:40} {seconds:9.3f} {claims / seconds:10,.0f} {n_segments / seconds:10,.0f} "
            f"{ratio} {share}"
        )
    if t_pyx12:
        ratios = [theirs / ours for ours, theirs in turns]
        print(
            f"ratio ours/pyx12: validator {t_pyx12 / t_val:.1f}x, tokenizer+validator "
            f"{t_pyx12 / t_stream:.1f}x, analyze {t_pyx12 / t_engine:.1f}x, whole path "
            f"in-process {statistics.median(ratios):.1f}x (goal >= 50x; median of "
            f"{len(ratios)} turns: {', '.join(f'{r:.1f}x' for r in ratios)})"
        )

    if args.rss_mb:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "big.837"
            big_claims = write_big_file(path, args.rss_mb)
            size_mb = path.stat().st_size / 1e6
            print(f"big file: {big_claims} claims in one ST, {size_mb:.0f} MB")
            for mode, label in (
                ("blob", "steps.analyze_blob (1 MiB chunks)"),
                ("blob+edits", "steps.analyze_blob + edits (spilled)"),
                ("whole", "x12.analyze(whole file as bytes)"),
            ):
                found, errors, peak_mb, secs = measure_rss(path, mode)
                assert found == big_claims and errors == 0, (found, errors)
                print(
                    f"peak RSS {label}: {peak_mb:.0f} MB (goal < 200 MB), "
                    f"{secs:.1f} s incl. start-up, {found / secs:,.0f} claims/s"
                )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
