#!/usr/bin/env python3
"""Peak RSS of the daemon's full path on a ~100 MB 837P: the worker step and the commit.

    .venv/bin/python scripts/bench_memory.py [--claims 286000] [--mode spill|memory|both]

Generates one interchange with one transaction set of ``--claims`` distinct claims
(``gen_837.interchange``, 1,000 claims per billing provider), stores it in a temp gateway
data directory, and runs in separate subprocesses (peak RSS = ``ru_maxrss`` of each):

* ``worker``: ``steps.analyze_blob`` with the demo submitter's edit context — ``spill`` (the
  daemon: verdicts to a work file) or ``memory`` (every claim kept, pickled to the parent as
  ``core._analyze``'s process pool would; the pickle is written to a file here);
* ``commit``: ``steps.commit_answers`` on a fresh SQLite store with that result (duplicate
  re-check, claim rows, 999 and 277CA placed in the blob store).

Peak RSS is the child's ``VmHWM`` (see :func:`peak_rss_kb`). Nothing here asserts a time
or a size; it prints what it measured.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def _env(data_dir: Path):  # type: ignore[no-untyped-def]
    from gateway.config import GatewayConfig
    from gateway.profiles import edit_context, load_partners, partner_directory

    partners = load_partners(str(ROOT / "partners"))
    config = GatewayConfig(source="bench", data_dir=data_dir, partners_dir=ROOT / "partners")
    directory = partner_directory(config, partners)
    return directory, edit_context(partners, "demo-billing", date(2026, 11, 20))


def child_worker(data_dir: Path, mode: str) -> str:
    from gateway.pipeline.steps import analyze_blob, warm_up
    from gateway.store.blobs import BlobStore

    warm_up()
    directory, context = _env(data_dir)
    blobs = BlobStore(data_dir / "blobs")
    sha = (data_dir / "sha").read_text()
    spill_to = str(data_dir / "work.edits") if mode == "spill" else None
    found = analyze_blob(str(blobs.path(sha)), "demo-billing", directory, context, spill_to)
    with open(data_dir / "found.pickle", "wb") as out:
        pickle.dump(found, out, protocol=pickle.HIGHEST_PROTOCOL)
    claims = found.spill.claims if found.spill else sum(len(e.verdicts) for e in found.edits)
    return f"claims={claims} result_pickle={os.path.getsize(data_dir / 'found.pickle') / 1e6:.1f}MB"


def child_commit(data_dir: Path) -> str:
    from gateway.pipeline.steps import commit_answers
    from gateway.store.blobs import BlobStore
    from gateway.store.sqlite import Store

    directory, _ = _env(data_dir)
    with open(data_dir / "found.pickle", "rb") as handle:
        found = pickle.load(handle)  # noqa: S301 - our own file
    store = Store(data_dir / "g.sqlite3")
    blobs = BlobStore(data_dir / "blobs")
    record = store.get_file((data_dir / "file_id").read_text())
    assert record is not None
    outcome = commit_answers(store, blobs, record, found, directory, time.time())
    (rows,) = store.query("SELECT COUNT(*), SUM(accepted) FROM claims")
    store.close()
    sizes = " ".join(f"{p.kind}={p.size / 1e6:.1f}MB" for p in outcome.placed)
    return f"claim_rows={rows[0]} accepted={rows[1]} {sizes}"


def peak_rss_kb() -> int:
    """This process's own peak RSS. ``ru_maxrss`` is not it on Linux: it keeps the high-water
    mark of the process image before ``exec`` (the forking parent's copy), so a big parent
    shows through; ``VmHWM`` belongs to the exec'd image only."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(step: str, data_dir: Path, mode: str) -> tuple[float, float, str]:
    start = time.perf_counter()
    out = (
        subprocess.run(
            [sys.executable, __file__, "--child", step, "--dir", str(data_dir), "--mode", mode],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    peak_kb, info = out.split(" ", 1)
    return int(peak_kb) / 1024, time.perf_counter() - start, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=286_000)
    parser.add_argument("--mode", choices=("spill", "memory", "both"), default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        info = (
            child_worker(args.dir, args.mode) if args.child == "worker" else child_commit(args.dir)
        )
        print(peak_rss_kb(), info)
        return 0

    from gen_837 import interchange

    from gateway.store.blobs import BlobStore
    from gateway.store.sqlite import Store

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "big.837"
        with source.open("w", encoding="ascii", newline="") as out:
            for segment in interchange(args.claims, 77, date="20261120"):
                out.write(segment + "~\n")
        size = source.stat().st_size
        print(f"file: {args.claims} claims in one ST, {size / 1e6:.0f} MB (gen_837.interchange)")
        modes = ("memory", "spill") if args.mode == "both" else (args.mode,)
        for mode in modes:
            data_dir = Path(tmp) / mode
            data_dir.mkdir()
            blobs = BlobStore(data_dir / "blobs")
            os.link(source, data_dir / "in.837")
            sha, _ = blobs.adopt(data_dir / "in.837")
            store = Store(data_dir / "g.sqlite3")
            record = store.add_file("demo-billing", "sftp", "big.837", sha, size)
            store.close()
            (data_dir / "sha").write_text(sha)
            (data_dir / "file_id").write_text(record.id)
            for step in ("worker", "commit"):
                peak, secs, info = run_child(step, data_dir, mode)
                print(f"{mode:6} {step:6}: peak RSS {peak:6.0f} MB  {secs:6.1f} s  {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
