"""Eligibility (270/271, 005010X279A1) and claim status (276/277, 005010X212) guides: our maps
in schemas/ (build_279_maps.py, build_212_maps.py) against third-party files of the corpus,
and one-defect mutations of them."""

from __future__ import annotations

import io
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.x12 import analyze
from gateway.x12.ig_maps import SCHEMAS_DIR, guide_sets, load_guide, map_path
from gateway.x12.ig_model import Loop, Seg, check_segment
from gateway.x12.igvalidator import PyX12Validator
from gateway.x12.results import IgError
from gateway.x12.segments import Delimiters, Segment
from tests.x12.conftest import CORPUS, DIRECTORY, UPLOADER, retarget
from tests.x12.test_igvalidator import split_sets

VALIDATOR = PyX12Validator()
DELIMS = Delimiters("*", "~", ":", "^")
FOLDERS = ("270-271", "276", "277")

# IG verdict for every file of the folders (None: not an X279A1/X212 set, not validated), and
# the envelope codes the engine gives (set codes of the one set; TA1).
EXPECTED: dict[str, tuple[bool | None, tuple[str, ...], str | None]] = {
    "dependent-health-benefit-check.270": (True, (), None),
    "dependent-health-benefit-check.271": (True, (), None),
    # AAA*Y**50*N in 2100B (provider ineligible for inquiries): guide-valid; but SE02 4323
    # differs from ST02 4321, an envelope defect of the file (IK5 3), not of the guide.
    "subscriber-health-benefit-check-error.271": (True, ("3",), None),
    "subscriber-health-benefit-check.270": (True, (), None),
    "subscriber-health-benefit-check.271": (True, (), None),
    # a 4010 (004010X092A1) 270: no ST03, GS08 and ISA12 4010; we validate 5010 only
    "x270.txt": (None, ("4", "3", "1"), "003"),
    # ST03 says X279A1 and the body is guide-clean, but ISA12 is 00401, GS08 004010X092A1 and
    # SE01 (22) is not the segment count (19)
    "x271.txt": (True, ("4",), "003"),
    "claim-level-status-ncpdp.276": (True, (), None),
    "claim-level-status.276": (True, (), None),
    "information-receiver-level-status.276": (True, (), None),
    "lfh-demo.276": (True, (), None),
    "provider-level-status.276": (True, (), None),
    "claim-level-status-ncpdp.277": (True, (), None),
    "claim-level-status.277": (True, (), None),
    # Genuinely invalid per X212: 277CA-style STC (STC03 action code WQ, STC12 free text),
    # both 'not used' in the 277 claim status response; and IEA02 differs from ISA13.
    "imsweb-x12_277_x212.txt": (False, ("I5",), "001"),
    "information-receiver-level-status.277": (True, (), None),
    # Invalid per X212: STC*E0:24:85 in 2200C, entity 85 (billing provider) where the guide
    # allows only 1P (pyx12's map and stupidedi's X212 transcription agree)
    "provider-level-status.277": (False, ("5",), None),
}


def corpus_files() -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((CORPUS / folder).iterdir())]


def validate_text(text: str) -> list[IgError] | None:
    """IG errors of every X279A1/X212 set in ``text`` (None: no such set)."""
    delims, sets = split_sets(text)
    errors: list[IgError] | None = None
    for st in sets:
        guide = st[0].elements[2] if len(st[0].elements) > 2 else ""
        if guide not in ("005010X279A1", "005010X212"):
            continue
        found, claims = VALIDATOR.validate(st, delims, guide)
        assert claims == 0
        errors = [*(errors or []), *found]
    return errors


def test_every_corpus_file_has_an_expectation() -> None:
    assert {p.name for p in corpus_files()} == set(EXPECTED)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_guide_verdict(path: Path) -> None:
    clean, _, _ = EXPECTED[path.name]
    errors = validate_text(path.read_text(encoding="ascii"))
    if clean is None:
        assert errors is None
    else:
        assert errors is not None
        assert (not errors) == clean, [e.message for e in errors[:5]]


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_through_the_engine(path: Path) -> None:
    """The engine (envelope + guide, as the pipeline runs it) on the file: the set codes and
    TA1 above, and no claims (the 837 claim extraction does not run on these sets)."""
    _, set_codes, ta1 = EXPECTED[path.name]
    result = analyze(retarget(path.read_bytes()), uploader=UPLOADER, directory=DIRECTORY)
    [interchange] = result.interchanges
    assert interchange.ta1_code == ta1
    [group] = interchange.groups
    [transaction] = group.transactions
    assert transaction.set_error_codes == set_codes
    assert transaction.claim_count == 0


def test_imsweb_277_errors_are_the_277ca_style_stc() -> None:
    errors = validate_text((CORPUS / "277" / "imsweb-x12_277_x212.txt").read_text())
    assert errors is not None
    assert {(e.segment_id, e.loop_id, e.element_position, e.element_error) for e in errors} == {
        ("STC", "2200D", 3, "I10"),
        ("STC", "2200D", 12, "I10"),
    }


def test_provider_level_277_names_the_billing_provider() -> None:
    errors = validate_text((CORPUS / "277" / "provider-level-status.277").read_text())
    assert errors is not None
    [e] = errors
    key = (e.segment_id, e.loop_id, e.element_position, e.component_position, e.element_error)
    assert key == ("STC", "2200C", 1, 3, "7")
    assert e.bad_value == "85"


# --------------------------------------------------------------------------- registry


def test_guides_and_sets() -> None:
    for key in ("005010X279A1", "005010X212"):
        assert VALIDATOR.supports(key)
    assert guide_sets("005010X279A1") == ("270", "271")
    assert guide_sets("005010X212") == ("276", "277")
    assert guide_sets("005010X222A1") == ()
    assert load_guide("005010X279A1").st01 == "270"  # the request by default
    assert load_guide("005010X279A1", "271").st01 == "271"
    assert load_guide("005010X212").st01 == "276"
    assert load_guide("005010X212", "277").st01 == "277"
    for key, st01 in (("005010X279A1", "270"), ("005010X279A1", "271"), ("005010X212", "276"),
                      ("005010X212", "277")):  # fmt: skip
        assert map_path(key, st01).parent == SCHEMAS_DIR
    with pytest.raises(ValueError):
        load_guide("005010X279A1", "837")


def test_hl_parent_levels_from_the_maps() -> None:
    assert load_guide("005010X279A1", "271").hl_parents == {"21": "20", "22": "21", "23": "22"}
    assert load_guide("005010X212", "277").hl_parents == {
        "21": "20",
        "19": "21",
        "22": "19",
        "23": "22",
    }
    assert load_guide("005010X222A1").hl_parents == {"22": "20", "23": "22"}


def test_maps_are_generated_deterministically(tmp_path: Path) -> None:
    """The checked-in maps are what the build scripts write (run them after editing)."""
    import runpy
    import sys

    names = ("270.5010.X279.A1.xml", "271.5010.X279.A1.xml", "276.5010.X212.xml",
             "277.5010.X212.xml")  # fmt: skip
    before = {n: (SCHEMAS_DIR / n).read_bytes() for n in names}
    copies = tmp_path / "schemas"
    copies.mkdir()
    for script in ("maptools.py", "build_279_maps.py", "build_212_maps.py"):
        shutil.copy(SCHEMAS_DIR / script, copies / script)
    sys.path.insert(0, str(copies))
    try:
        for script in ("build_279_maps.py", "build_212_maps.py"):
            sys.modules.pop("maptools", None)
            runpy.run_path(str(copies / script), run_name="build")["main"]()
    finally:
        sys.path.remove(str(copies))
        sys.modules.pop("maptools", None)
    for name in names:
        assert (copies / name).read_bytes() == before[name], name


# --------------------------------------------------------------------------- mutations


def segments(body: str) -> list[Segment]:
    lines = body.strip().split("\n")
    lines.append(f"SE*{len(lines) + 1}*0001")
    return [Segment(s.split("*")[0], tuple(s.split("*")[1:]), n) for n, s in enumerate(lines, 1)]


def validate(body: str, guide: str) -> list[IgError]:
    errors, claims = VALIDATOR.validate(segments(body), DELIMS, guide)
    assert claims == 0
    return errors


def keys(errors: list[IgError]) -> set[tuple[str, str | None, str | None, int | None, str]]:
    return {
        (e.segment_id, e.loop_id, e.segment_error, e.element_position, e.element_error or "")
        for e in errors
    }


REQUEST_270 = """\
ST*270*0001*005010X279A1
BHT*0022*13*10001234*20240115*1319
HL*1**20*1
NM1*PR*2*ABC COMPANY*****PI*842610001
HL*2*1*21*1
NM1*1P*2*BONE AND JOINT CLINIC*****XX*1234567893
HL*3*2*22*0
TRN*1*93175-012547*9877281234
NM1*IL*1*SMITH*ROBERT****MI*11122333301
DMG*D8*19430519
DTP*291*D8*20240115
EQ*30^1^33
"""

ANSWER_271 = """\
ST*271*0001*005010X279A1
BHT*0022*11*10001234*20240115*1319
HL*1**20*1
NM1*PR*2*ABC COMPANY*****PI*842610001
HL*2*1*21*1
NM1*1P*2*BONE AND JOINT CLINIC*****XX*1234567893
HL*3*2*22*0
TRN*2*93175-012547*9877281234
NM1*IL*1*SMITH*ROBERT****MI*11122333301
DMG*D8*19430519*M
DTP*346*D8*20240101
EB*1*IND*30^1^33**GOLD 123 PLAN
EB*C*IND*30***23*500*****Y
EB*B**98*HM**27*25*****Y
MSG*COPAY APPLIES PER VISIT
LS*2120
NM1*P3*1*JONES*MARCUS****XX*1234567893
LE*2120
"""

REQUEST_276 = """\
ST*276*0001*005010X212
BHT*0010*13*ABC276XXX*20240115*1425
HL*1**20*1
NM1*PR*2*ABC INSURANCE*****PI*12345
HL*2*1*21*1
NM1*41*2*XYZ SERVICE*****46*X67E
HL*3*2*19*1
NM1*1P*2*HOME HOSPITAL*****XX*1666666661
HL*4*3*22*0
DMG*D8*19301210*M
NM1*IL*1*SMITH*FRED****MI*123456789A
TRN*1*ABCXYZ1
REF*EJ*SM123456
AMT*T3*8513.88
DTP*472*RD8*20240101-20240106
SVC*HC:99203*150*****1
DTP*472*D8*20240101
"""

ANSWER_277 = """\
ST*277*0001*005010X212
BHT*0010*08*277X212*20240116*0810*DG
HL*1**20*1
NM1*PR*2*ABC INSURANCE*****PI*12345
HL*2*1*21*1
NM1*41*2*XYZ SERVICE*****46*X67E
HL*3*2*19*1
NM1*1P*2*HOME HOSPITAL*****XX*1666666661
HL*4*3*22*0
NM1*IL*1*SMITH*FRED****MI*123456789A
TRN*2*ABCXYZ1
STC*F1:65*20240110**8513.88*8000*20240112**20240112*CHK123
REF*1K*05347006051
REF*EJ*SM123456
DTP*472*RD8*20240101-20240106
"""

CLEAN = {
    "005010X279A1": (REQUEST_270, ANSWER_271),
    "005010X212": (REQUEST_276, ANSWER_277),
}


@pytest.mark.parametrize(
    "guide,body",
    [(g, b) for g, bodies in CLEAN.items() for b in bodies],
    ids=["270", "271", "276", "277"],
)
def test_crafted_sets_are_clean(guide: str, body: str) -> None:
    assert validate(body, guide) == []


def mutate(body: str, old: str, new: str, guide: str) -> list[IgError]:
    assert body.count(old) == 1, old
    return validate(body.replace(old, new), guide)


def test_270_missing_subscriber_name() -> None:
    errors = mutate(REQUEST_270, "NM1*IL*1*SMITH*ROBERT****MI*11122333301\n", "", "005010X279A1")
    assert ("NM1", "2100C", "3", None, "") in keys(errors)


def test_270_bad_service_type_in_a_repetition() -> None:
    [e] = mutate(REQUEST_270, "EQ*30^1^33", "EQ*30^XX^33", "005010X279A1")
    assert (e.segment_id, e.loop_id, e.element_position, e.element_error) == ("EQ", "2110C", 1, "7")
    assert e.repetition_position == 2 and e.bad_value == "XX"


def test_270_too_many_repetitions() -> None:
    [e] = mutate(REQUEST_270, "EQ*30^1^33", "EQ*" + "^".join(["30"] * 100), "005010X279A1")
    assert (e.element_position, e.element_error, e.repetition_position) == (1, "12", 100)


def test_270_repetition_in_a_simple_element_that_does_not_repeat() -> None:
    [e] = mutate(REQUEST_270, "DMG*D8*19430519", "DMG*D8*19430519^19430520", "005010X279A1")
    assert (e.segment_id, e.element_position, e.element_error) == ("DMG", 2, "12")


def test_270_4010_date_qualifier() -> None:
    [e] = mutate(REQUEST_270, "DTP*291*", "DTP*472*", "005010X279A1")
    assert (e.segment_id, e.loop_id, e.element_position, e.element_error) == (
        "DTP", "2100C", 1, "7",
    )  # fmt: skip


def test_270_loop_order() -> None:
    """The subscriber's DMG after its inquiry (2110C EQ): out of sequence."""
    body = REQUEST_270.replace("DMG*D8*19430519\n", "").replace(
        "EQ*30^1^33\n", "EQ*30^1^33\nDMG*D8*19430519\n"
    )
    errors = validate(body, "005010X279A1")
    assert ("DMG", "2110C", "7", None, "") in keys(errors)


def test_270_receiver_name_after_the_subscriber_level() -> None:
    """Loop order: 2000C's HL before 2100B's NM1 leaves 2000B without its name loop."""
    body = REQUEST_270.replace(
        "NM1*1P*2*BONE AND JOINT CLINIC*****XX*1234567893\nHL*3*2*22*0\n",
        "HL*3*2*22*0\nNM1*1P*2*BONE AND JOINT CLINIC*****XX*1234567893\n",
    )
    assert keys(validate(body, "005010X279A1")) == {
        ("NM1", "2100B", "3", None, ""),
        ("NM1", "2000C", "7", None, ""),
    }


def test_270_subscriber_under_the_source() -> None:
    errors = mutate(REQUEST_270, "HL*3*2*22*0", "HL*3*1*22*0", "005010X279A1")
    assert ("HL", "2000C", "8", 2, "7") in keys(errors)


def test_271_bad_benefit_code_and_aaa() -> None:
    [e] = mutate(ANSWER_271, "EB*C*IND*30", "EB*C*XYZ*30", "005010X279A1")
    assert (e.segment_id, e.loop_id, e.element_position, e.element_error) == ("EB", "2110C", 2, "7")
    errors = mutate(ANSWER_271, "DMG*D8*19430519*M\n", "AAA*Y**ZZ*C\nDMG*D8*19430519*M\n",
                    "005010X279A1")  # fmt: skip
    assert keys(errors) == {("AAA", "2100C", "8", 3, "7")}


def test_271_rejection_codes_of_the_eligibility_issue() -> None:
    """The AAA answers the simulated payers give (issue 8) are codes of the guide."""
    for code in ("72", "73", "75", "58", "42"):
        body = ANSWER_271.replace("DMG*D8*19430519*M\n", f"AAA*N**{code}*C\n")
        body = body[: body.index("DTP*346")]  # no benefits: the subscriber was not found
        assert validate(body, "005010X279A1") == [], code
    body = ANSWER_271.split("HL*3*2*22*0")[0].replace("HL*2*1*21*1", "HL*2*1*21*0")
    assert validate(body + "AAA*N**41*N\n", "005010X279A1") == []


def test_271_request_segment_in_an_answer() -> None:
    errors = mutate(ANSWER_271, "EB*1*IND*30^1^33**GOLD 123 PLAN", "EQ*30", "005010X279A1")
    assert ("EQ", "2100C", "6", None, "") in keys(errors)


def test_271_validated_as_270_by_st01() -> None:
    """ST01 picks the set's map: the 270 body under ST*271 fails the 271 map, and vice versa."""
    errors = validate(REQUEST_270.replace("ST*270", "ST*271"), "005010X279A1")
    assert ("EQ", "2100C", "6", None, "") in keys(errors)
    errors = validate(REQUEST_270.replace("ST*270", "ST*837"), "005010X279A1")
    assert ("ST", None, "8", 1, "7") in keys(errors)  # the 270 map judges: not a 270


def test_276_missing_subscriber_name_and_bad_reference() -> None:
    errors = mutate(REQUEST_276, "NM1*IL*1*SMITH*FRED****MI*123456789A\n", "", "005010X212")
    assert ("NM1", "2100D", "3", None, "") in keys(errors)
    errors = mutate(REQUEST_276, "REF*EJ*SM123456", "REF*EA*SM123456", "005010X212")
    assert ("REF", "2200D", "8", 1, "7") in keys(errors)


def test_276_answer_segment_in_a_request() -> None:
    errors = mutate(REQUEST_276, "AMT*T3*8513.88", "STC*A1:20*20240115", "005010X212")
    assert ("STC", "2200D", "6", None, "") in keys(errors)


def test_276_line_date_required_and_order() -> None:
    errors = mutate(REQUEST_276, "DTP*472*D8*20240101\n", "", "005010X212")
    assert ("DTP", "2210D", "3", None, "") in keys(errors)
    body = REQUEST_276.replace("DMG*D8*19301210*M\n", "").replace(
        "TRN*1*ABCXYZ1\n", "TRN*1*ABCXYZ1\nDMG*D8*19301210*M\n"
    )
    assert keys(validate(body, "005010X212")) == {("DMG", "2200D", "7", None, "")}


def test_277_bad_status_entity_and_hierarchy() -> None:
    errors = mutate(ANSWER_277, "HL*4*3*22*0", "HL*4*2*22*0", "005010X212")
    assert ("HL", "2000D", "8", 2, "7") in keys(errors)  # a subscriber under the receiver
    errors = mutate(ANSWER_277, "STC*F1:65*20240110", "STC*F1:65:XQ*20240110", "005010X212")
    assert keys(errors) == {("STC", "2200D", "8", 1, "7")}


def test_277_missing_required_status() -> None:
    errors = mutate(ANSWER_277, "STC*F1:65*20240110**8513.88*8000*20240112**20240112*CHK123\n",
                    "", "005010X212")  # fmt: skip
    assert ("STC", "2200D", "3", None, "") in keys(errors)


# --------------------------------------------------------------------------- fast path


def test_fast_check_agrees_on_repeating_elements() -> None:
    """The generated check never calls a segment clean that the slow check faults."""
    guide = load_guide("005010X279A1", "271")
    eb = next(c for c in _all_segs(guide.root) if c.id == "EB")
    for value in ("30", "30^1^33", "30^^33", "30^XX", "^", "", "30:1", "^".join(["1"] * 99),
                  "^".join(["1"] * 100)):  # fmt: skip
        elements = ("1", "IND", value, "", "GOLD")
        slow = check_segment(eb, Segment("EB", elements, 1), DELIMS)
        if eb.fast(elements, ":", "^"):
            assert slow == [], value
    assert eb.fast(("1", "IND", "30^1^33", "", "GOLD"), ":", "^")


def _all_segs(loop: Loop) -> Iterator[Seg]:
    for child in loop.children:
        if isinstance(child, Loop):
            yield from _all_segs(child)
        else:
            yield child


# --------------------------------------------------------------------------- pyx12


def test_pyx12_stock_x212_map_loses_the_se(tmp_path: Path) -> None:
    """Second opinion on the defect our corrected 277 copy fixes: pyx12 with its own X212 map
    (registered in a copy of its maps.xml) cannot place the SE of a valid 277."""
    import pyx12
    import pyx12.params
    import pyx12.x12n_document

    maps = tmp_path / "map"
    shutil.copytree(Path(str(pyx12.__file__)).parent / "map", maps)
    index = maps / "maps.xml"
    index.write_text(
        index.read_text().replace(
            '<map vriic="005010X214"',
            '<map vriic="005010X212" fic="HN" abbr="277">277.5010.X212.xml</map>\n'
            '    <map vriic="005010X214"',
            1,
        )
    )
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        text = (CORPUS / "277" / "information-receiver-level-status.277").read_text()
        ok = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), None, None, map_path=str(maps)
        )
    finally:
        logger.removeHandler(handler)
    assert not ok
    assert "Segment SE*9 not found" in log.getvalue()
    assert validate_text(text) == []
