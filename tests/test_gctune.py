"""gateway.gctune: the collector's thresholds and the frozen start-up heap."""

from __future__ import annotations

import gc
import subprocess
import sys

from gateway import gctune


def test_tune_raises_the_young_threshold_and_freezes_what_is_alive() -> None:
    code = (
        "import gc; from gateway import gctune; keep = [[i] for i in range(1000)]; "
        "gctune.tune(); print(gc.get_threshold(), gc.get_freeze_count() >= 1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"{gctune.THRESHOLDS} True"


def test_tune_without_freeze_only_sets_thresholds() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    try:
        gctune.tune(freeze=False)
        assert gc.get_threshold() == gctune.THRESHOLDS
        assert gc.get_freeze_count() == frozen
    finally:
        gc.set_threshold(*before)
