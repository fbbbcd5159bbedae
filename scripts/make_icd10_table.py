#!/usr/bin/env python3
"""Regenerate gateway/x12/data/icd10cm.tsv.gz from the simple-icd-10-cm package.

The front-end edits only need to know whether a code exists and whether it is billable (a
leaf); loading the whole package costs ~200 MB per worker process, this table ~10 MB.

    .venv/bin/python scripts/make_icd10_table.py
"""

from __future__ import annotations

import gzip
import sys
import warnings
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "gateway" / "x12" / "data" / "icd10cm.tsv.gz"


def main() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from importlib.metadata import version

        import simple_icd_10_cm as icd

    rows = []
    for code in icd.get_all_codes(with_dots=False):
        if icd.is_chapter_or_block(code):
            continue
        rows.append(f"{code}\t{'B' if icd.is_leaf(code) else 'H'}")
    source = f"simple-icd-10-cm {version('simple-icd-10-cm')}"
    header = f"# ICD-10-CM from {source}: code, B billable / H header"
    data = "\n".join([header, *sorted(rows)]) + "\n"
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives byte-identical output
    TARGET.write_bytes(gzip.compress(data.encode("ascii"), compresslevel=9, mtime=0))
    print(f"{TARGET}: {len(rows)} codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
