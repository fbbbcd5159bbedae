"""Our validator and pyx12 agree on the accept/reject verdict of one-defect mutations of a
guide-clean 837P (issue 3), except where pyx12 is demonstrably wrong (listed with the reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.x12.test_igvalidator import CLEAN, pyx12_errors, validate_text

#: (name, old, new): one defect each, in the clean uhin 837P.
MUTATIONS = [
    ("clean", "", ""),
    ("CLM01 too long", "CLM*1606*", f"CLM*{'X' * 39}*"),
    ("CLM07 bad code", "*Y*A*Y*Y*P", "*Y*Q*Y*Y*P"),
    ("N4 missing in 2010AA", "N4*FLORENCEBERG*MI*841061149~", ""),
    ("unknown segment", "1853*CH~", "1853*CH~ZZQ*1~"),
    ("835 segment in an 837", "LX*1~", "LX*1~BPR*I*1*C*ACH~"),
    ("impossible service date", "RD8*20240815-20240820", "RD8*20240230-20240820"),
    ("impossible birth date", "DMG*D8*19461111*F", "DMG*D8*19461341*F"),
    ("not-used CLM03 present", "CLM*1606*2***", "CLM*1606*2*X**"),
    ("missing CLM02", "CLM*1606*2*", "CLM*1606**"),
    ("bad NM108 code", "*XX*1", "*ZX*1"),
    ("SV1 unit code", "*UN*", "*QQ*"),
    ("HL parent missing", "HL*2*1*22*0~", "HL*2*9*22*0~"),
]  # fmt: skip

#: Where the verdicts differ because pyx12 is wrong, with the reason.
#: (None so far: on every mutation here the verdicts agree.)
PYX12_WRONG: dict[str, str] = {}


@pytest.mark.parametrize(("name", "old", "new"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_verdict_matches_pyx12(name: str, old: str, new: str, tmp_path: Path) -> None:
    if old:
        assert CLEAN.count(old) >= 1, old
    text = CLEAN.replace(old, new, 1) if old else CLEAN
    ours = not validate_text(text)[0]
    path = tmp_path / "mutated.837"
    path.write_text(text, encoding="ascii")
    theirs = not pyx12_errors(path, tmp_path)
    if name in PYX12_WRONG:
        assert ours != theirs, f"{name}: pyx12 now agrees; drop it from PYX12_WRONG"
        assert not ours  # we reject the defect
    else:
        assert ours == theirs, f"{name}: ours={ours} pyx12={theirs}"
    assert ours == (name == "clean")
