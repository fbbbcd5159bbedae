#!/usr/bin/env python3
"""Benchmark: instructions per claim (valgrind's callgrind) of the whole in-process path vs
pyx12, on the same generated 837Ps: a figure that does not move with a busy machine.

    .venv/bin/python scripts/bench_instructions.py [--small 200] [--large 2200]
                                                   [--pyx12-large 700] [--skip-pyx12]

Each side runs in its own process under ``valgrind --tool=callgrind``: once on a ``--small``
claim file then on a larger one, and once on the small file twice; the difference of the two
totals over the difference in claims is the cost of one claim, start-up (imports, guide
load, the first run's warm-up) cancelled out; a run outside valgrind warms the compiled-guide
cache first. Ours is ``bench_validate.whole_path`` (what
``gateway validate FILE --ack-dir D`` does per file: envelope, guide, claims, edits, 999 and
277CA written); pyx12's is its full ``x12n_document`` run (``bench_validate.pyx12_full``).
pyx12 is ~40x slower under valgrind too: its larger file is smaller (``--pyx12-large``).
Instructions are not time (the interpreter and compiled code differ in instructions per
cycle): ``bench_validate.py`` gives the wall-clock ratio.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from gen_837 import interchange, render  # noqa: E402

_DRIVER = """
import sys, tempfile
from pathlib import Path
sys.path.insert(0, {scripts!r}); sys.path.insert(0, {root!r})
from bench_validate import pyx12_full, whole_path
which, first, second = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
with tempfile.TemporaryDirectory() as tmp:
    for n, path in enumerate((first, second)):
        if which == "ours":
            whole_path(path, Path(tmp) / str(n))
        else:
            pyx12_full(path)
"""


def instructions(which: str, first: Path, second: Path, work: Path) -> int:
    out = work / f"callgrind.{which}.{second.stem}"
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
         str(work / "driver.py"), which, str(first), str(second)],
        check=True, capture_output=True,
    )  # fmt: skip
    found = re.search(r"^summary: (\d+)", out.read_text(errors="replace"), re.MULTILINE)
    assert found, f"no summary in {out}"
    return int(found.group(1))


def per_claim(which: str, small: int, large: int, work: Path) -> float:
    files = {}
    for claims in (small, large):
        files[claims] = work / f"c{claims}.837"
        files[claims].write_bytes(render(interchange(claims, 1)))
    # once outside valgrind first: the compiled-guide cache is then warm for both runs
    subprocess.run(
        [sys.executable, str(work / "driver.py"), which, str(files[small]), str(files[small])],
        check=True, capture_output=True,
    )  # fmt: skip
    base = instructions(which, files[small], files[small], work)
    more = instructions(which, files[small], files[large], work)
    return (more - base) / (large - small)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=2200)
    parser.add_argument("--pyx12-large", type=int, default=700)
    parser.add_argument("--skip-pyx12", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    from gateway import _native

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "driver.py").write_text(
            _DRIVER.format(scripts=str(ROOT / "scripts"), root=str(ROOT))
        )
        ours = per_claim("ours", args.small, args.large, work)
        print(f"ours (whole path, the claim path {_native.state}): {ours:,.0f} instructions/claim")
        if not args.skip_pyx12:
            theirs = per_claim("pyx12", args.small, args.pyx12_large, work)
            print(f"pyx12 x12n_document: {theirs:,.0f} instructions/claim")
            print(f"ratio: {theirs / ours:.1f}x fewer instructions per claim (goal >= 50x in time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
