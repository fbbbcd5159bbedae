"""The attachment maps (277 005010X213, 275 005010X210, the widened 999) in schemas/: generated
deterministically, registered, and one-defect mutations of clean sets caught."""

from __future__ import annotations

import runpy
import shutil
import sys
from pathlib import Path

import pytest

from gateway.x12.ig_maps import SCHEMAS_DIR, guide_for, load_guide, map_path
from gateway.x12.igvalidator import PyX12Validator
from gateway.x12.results import IgError
from gateway.x12.segments import Delimiters, Segment

VALIDATOR = PyX12Validator()
DELIMS = Delimiters("*", "~", ":", "^")

CLEAN_277 = """
ST*277*0001*005010X213
BHT*0010*08*RFAI1*20261124*0930
HL*1**20*1
NM1*PR*2*DEMO PAYER*****PI*12345
HL*2*1*21*1
NM1*41*2*DEMO BILLING*****46*999999999
HL*3*2*19*1
NM1*1P*2*CLINIC*****XX*1234567893
HL*4*3*PT
NM1*QC*1*DOE*JANE****MI*M1
TRN*1*PCN1
STC*R4:18842-5::LOI*20261124**100
REF*1K*PAYER1
DTP*472*D8*20261101
DTP*106*D8*20261224
"""

CLEAN_275 = """
ST*275*0001*005010X210
BGN*11*A1*20261124*0930
NM1*PR*2*DEMO PAYER*****PI*12345
NM1*41*2*DEMO BILLING*****46*999999999
NM1*1P*2*CLINIC*****XX*1234567893
NM1*QC*1*DOE*JANE****MI*M1
REF*EJ*PCN1
REF*1K*PAYER1
LX*1
TRN*2*ACN1
STC*R4:18842-5::LOI
CAT*AE*PDF
EFI*05
BIN*3*a~b
"""


def segments(body: str) -> list[Segment]:
    lines = body.strip().split("\n")
    lines.append(f"SE*{len(lines) + 1}*0001")
    out = []
    for n, line in enumerate(lines, 1):
        if line.startswith("BIN*"):  # read by length, as the tokenizer does
            _, length, data = line.split("*", 2)
            out.append(Segment("BIN", (length, data), n))
            continue
        seg_id, *elements = line.split("*")
        out.append(Segment(seg_id, tuple(elements), n))
    return out


def errors(body: str, guide: str) -> list[IgError]:
    found, _ = VALIDATOR.validate(segments(body), DELIMS, guide)
    return found


def test_maps_are_generated_deterministically(tmp_path: Path) -> None:
    """The checked-in maps are what build_213_210_maps.py writes (run it after editing)."""
    names = ("277.5010.X213.xml", "275.5010.X210.xml", "999.5010X231.A1.xml")
    before = {n: (SCHEMAS_DIR / n).read_bytes() for n in names}
    copies = tmp_path / "schemas"
    copies.mkdir()
    for name in ("maptools.py", "build_213_210_maps.py", "277.5010.X212.xml"):
        shutil.copy(SCHEMAS_DIR / name, copies / name)
    sys.path.insert(0, str(copies))
    try:
        sys.modules.pop("maptools", None)
        runpy.run_path(str(copies / "build_213_210_maps.py"), run_name="build")["main"]()
    finally:
        sys.path.remove(str(copies))
        sys.modules.pop("maptools", None)
    for name in names:
        assert (copies / name).read_bytes() == before[name], name


def test_guides_are_registered() -> None:
    assert guide_for("005010X213") == "005010X213"
    assert guide_for("005010X210") == "005010X210"
    assert map_path("005010X213").parent == SCHEMAS_DIR
    assert map_path("005010X231A1").parent == SCHEMAS_DIR  # the widened 999
    assert load_guide("005010X213").st01 == "277"
    assert load_guide("005010X210").st01 == "275"
    assert dict(load_guide("005010X213").hl_parents) == {"21": "20", "19": "21", "PT": "19"}
    assert VALIDATOR.supports("005010X213") and VALIDATOR.supports("005010X210")


def test_clean_sets() -> None:
    assert errors(CLEAN_277, "005010X213") == []
    assert errors(CLEAN_275, "005010X210") == []


def codes(found: list[IgError]) -> list[tuple[str, str | None, int | None, str | None]]:
    return [(e.segment_id, e.segment_error, e.element_position, e.element_error) for e in found]


@pytest.mark.parametrize(
    ("guide", "old", "new", "expected"),
    [
        # 277: the LOINC qualifier, the payer claim number, the patient level, dates
        ("005010X213", "18842-5::LOI", "18842-5::AB", ("STC", "8", 1, "7")),
        ("005010X213", "18842-5::LOI", "::LOI", ("STC", "8", 1, "1")),
        ("005010X213", "REF*1K*PAYER1\n", "", ("REF", "3", None, None)),
        ("005010X213", "DTP*106*D8*20261224", "DTP*106*D8*20261324", ("DTP", "8", 3, "8")),
        ("005010X213", "HL*4*3*PT", "HL*4*3*22", ("HL", "2", None, None)),
        # 275: BGN purpose, the attachment's parts, its length, the format
        ("005010X210", "BGN*11*", "BGN*99*", ("BGN", "8", 1, "7")),
        ("005010X210", "CAT*AE*PDF", "CAT*AE*EXE", ("CAT", "8", 2, "7")),
        ("005010X210", "BIN*3*a~b", "BIN*4*a~b", ("BIN", "8", 2, "4")),
        ("005010X210", "BIN*3*a~b", "BIN*2*a~b", ("BIN", "8", 2, "5")),
        ("005010X210", "BIN*3*a~b", "BIN*three*a~b", ("BIN", "8", 1, "6")),
        ("005010X210", "EFI*05\n", "", ("EFI", "3", None, None)),
    ],
)
def test_one_defect_is_caught(
    guide: str, old: str, new: str, expected: tuple[str, str, int | None, str | None]
) -> None:
    body = CLEAN_277 if guide == "005010X213" else CLEAN_275
    assert old in body
    found = codes(errors(body.replace(old, new), guide))
    assert expected in found, found


def test_binary_data_with_separators_and_controls_is_not_text() -> None:
    segs = segments(CLEAN_275)
    [at] = [i for i, s in enumerate(segs) if s.id == "BIN"]
    segs[at] = Segment("BIN", ("9", "\x00*:^~\n\x7f\xff\r"), segs[at].line)
    found, _ = VALIDATOR.validate(segs, DELIMS, "005010X210")
    assert found == []
