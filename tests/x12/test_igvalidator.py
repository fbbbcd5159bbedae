"""IG validation (gateway.x12.igvalidator) against the real corpus, pyx12's own verdict, the
imsweb negative files and one-defect mutations of a clean claim."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.x12.igvalidator import PyX12Validator
from gateway.x12.results import IgError
from gateway.x12.segments import Delimiters, Segment

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
if not CORPUS.is_dir():  # running from a checkout elsewhere
    CORPUS = Path("/work/shared/corpus")

# The caller maps these onto the guides pyx12 ships (see the corpus SOURCES.md quirks).
NORMALISE = {"005010X222A2": "005010X222A1", "005010X223A3": "005010X223A2"}

VALIDATOR = PyX12Validator()


# --------------------------------------------------------------------------- helpers


def split_sets(text: str) -> tuple[Delimiters, list[list[Segment]]]:
    """Minimal tokenizer for tests: delimiters from the ISA, then the ST..SE sets.

    (gateway/x12/tokenizer.py is being written concurrently; this keeps the test independent.)
    Only CR/LF around segments are dropped, so a leading space stays part of the segment ID.
    """
    assert text.startswith("ISA"), "not an interchange"
    element = text[3]
    isa = text.split(element, 16)
    component, terminator = isa[16][0], isa[16][1]
    repetition = isa[11] if isa[11] != "U" else None
    delims = Delimiters(element, terminator, component, repetition)
    sets: list[list[Segment]] = []
    current: list[Segment] | None = None
    line = 1
    for raw in text.split(terminator):
        lead = len(raw) - len(raw.lstrip("\r\n"))
        seg_line = line + raw[:lead].count("\n")
        line += raw.count("\n")
        body = raw.strip("\r\n")
        if not body:
            continue
        parts = body.split(element)
        seg = Segment(parts[0], tuple(parts[1:]), seg_line)
        if seg.id == "ST":
            current = [seg]
        elif current is not None:
            current.append(seg)
            if seg.id == "SE":
                sets.append(current)
                current = None
    if current:
        sets.append(current)
    return delims, sets


def guide_of(st: Segment) -> str:
    st03 = st.elements[2] if len(st.elements) > 2 else ""
    return NORMALISE.get(st03, st03)


def validate_text(text: str) -> tuple[list[IgError], int]:
    delims, sets = split_sets(text)
    errors: list[IgError] = []
    claims = 0
    for st in sets:
        found, count = VALIDATOR.validate(st, delims, guide_of(st[0]))
        errors += found
        claims += count
    return errors, claims


def validate_file(path: Path) -> tuple[list[IgError], int]:
    return validate_text(path.read_text(encoding="ascii"))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# pyx12 messages that are not IG-validation findings: envelope (ISA/GS), SE counts (the
# caller's job per the Validator protocol), and trailing element separators, which we
# tolerate on input (our tokenizer hands us the elements; empty trailing ones are harmless).
_OUT_OF_SCOPE = ("ISA:", "GS:", "ST:", "SEG:SEG1 - Segment contains trailing element")


def pyx12_errors(path: Path, tmp_path: Path) -> list[str]:
    """pyx12's own findings on ``path`` (GS08/ST03 normalised so that it has a map)."""
    import pyx12.params
    import pyx12.x12n_document

    text = path.read_text(encoding="ascii")
    for old, new in NORMALISE.items():
        text = text.replace(old, new)
    copy = tmp_path / path.name
    copy.write_text(text, encoding="ascii")
    handler = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    try:
        with copy.open(encoding="ascii") as fd:  # pyx12 wants text mode
            ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), fd, None, None)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    found = [m for m in handler.messages if not any(f"{s}" in m for s in _OUT_OF_SCOPE)]
    assert ok or handler.messages, "pyx12 said invalid without a reason"
    return found


def codes(errors: list[IgError]) -> set[tuple[str, str | None, str | None]]:
    return {(e.segment_id, e.segment_error, e.element_error) for e in errors}


def one(errors: list[IgError], **want: object) -> IgError:
    hits = [e for e in errors if all(getattr(e, k) == v for k, v in want.items())]
    assert len(hits) == 1, f"{want}: {len(hits)} hits among {errors}"
    return hits[0]


def corpus_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((CORPUS / folder).iterdir())


# --------------------------------------------------------------------------- protocol


def test_supports() -> None:
    assert VALIDATOR.supports("005010X222A1")
    assert VALIDATOR.supports("005010X223A2")
    assert VALIDATOR.supports("005010X223A1")  # pyx12's file is named X223.A1
    assert not VALIDATOR.supports("005010X222A2")  # the caller normalises, not us
    assert VALIDATOR.supports("005010X224A2")  # 837D: our map in schemas/ (pyx12 has none)
    assert VALIDATOR.supports("005010X279A1")  # 270/271: our maps in schemas/
    assert not VALIDATOR.supports("005010X220A1")  # 834: no map
    with pytest.raises(ValueError):
        VALIDATOR.validate([], Delimiters("*", "~", ":", "^"), "005010X220A1")


# --------------------------------------------------------------------------- corpus vs pyx12

# Our verdict (True = no IG errors) for every valid-intent corpus file, and where pyx12's
# verdict (within scope, see _OUT_OF_SCOPE) differs, why.
EXPECTED_CLEAN = {
    # 837P, LinuxForHealth (X222A2 normalised to X222A1)
    "demo.ambulance.example5.837": False,  # CLM05-02 missing ("11::1")
    "demo.autoaccident.837": True,
    "demo.cob.2ndary.example4.837": False,  # '>' used as component separator, ISA16 is ':'
    "demo.cob.example3.A.837": False,  # 2320 without the required 2330B payer loop
    "demo.cob.example3.B.837": True,
    "demo.cob.example3.C.837": True,
    "demo.cob.example4.837": False,  # AMT*F2 in 2320: not a code of the guide
    "demo.drug.example10.1.837": True,
    "demo.drug.example10.2.837": True,
    "demo.drug.example10.3.837": True,
    "demo.example1.837": True,
    "demo.example11.837": False,  # '>' inside CLM05/HI/SV1 while ISA16 says ':'
    "demo.example12.837": False,  # same separator defect
    "demo.example2.837": True,
    "demo.example6.837": False,  # same separator defect
    "demo.example7.837": True,
    "demo.example8.837": True,
    "demo.example9.837": False,  # same separator defect
    "lfh-demo-file.837": True,
    "uhin-837.edi": True,
    # 837P, imsweb: parser fixtures, not IG-clean (HI without composites, HL numbering)
    "imsweb-x12_complex.txt": False,
    "imsweb-x12_many_claims.txt": False,
    "imsweb-x12_multiple_transactions.txt": False,
    "imsweb-x12_no_errors.txt": False,
    "imsweb-x12_valid.txt": False,
    "imsweb-x12_valid_different_separators.txt": False,
    "imsweb-x12_writer_test.txt": True,  # pyx12: only SE count + trailing separators
    # 837I
    "imsweb-x223-test.txt": False,  # CLM05-2, CLM06/CLM10 not used, DTP02, leading spaces
    "institutional-claim.837i": False,  # CLM06 not used, DTP*434 in D8 (5-digit ZIP: 277CA)
    "lfh-demo.837i": False,
    "out-of-network-repriced-claim.837i": False,
    "ppo-repriced-claim.837i": False,  # '>' separator defect as in the 837P demos
    "two-claims-single-provider.837i": False,
}

# Files where our verdict and pyx12's in-scope verdict differ, with the reason.
DISAGREEMENTS: dict[str, str] = {}


def test_every_corpus_file_has_an_expectation() -> None:
    names = {p.name for p in corpus_files("837p", "837i")}
    assert names == set(EXPECTED_CLEAN)


@pytest.mark.parametrize("path", list(corpus_files("837p", "837i")), ids=lambda p: p.name)
def test_corpus_verdict_matches_pyx12(path: Path, tmp_path: Path) -> None:
    errors, claims = validate_file(path)
    assert claims >= 1
    ours = not errors
    assert ours == EXPECTED_CLEAN[path.name], [e.message for e in errors[:10]]
    theirs = not pyx12_errors(path, tmp_path)
    if path.name in DISAGREEMENTS:
        assert ours != theirs, f"agreement now: drop {path.name} from DISAGREEMENTS"
    else:
        assert ours == theirs


def test_messages_carry_no_data_values() -> None:
    for path in corpus_files("837p", "837i", "837p-negative"):
        if "first_line" in path.name or "no_isa" in path.name:
            continue
        errors, _ = validate_file(path)
        for e in errors:
            if e.bad_value and len(e.bad_value) > 3:
                assert e.bad_value not in e.message, (path.name, e.message)


def test_separator_defect_in_example11() -> None:
    errors, claims = validate_file(CORPUS / "837p" / "demo.example11.837")
    assert claims == 1
    clm = one(errors, segment_id="CLM", element_position=5, component_position=1)
    assert (clm.segment_error, clm.element_error, clm.element_reference) == ("8", "7", "1331")
    assert clm.bad_value == "11>B>1"
    assert clm.loop_id == "2300" and clm.claim_id == "ABC123-RI"
    assert (
        one(errors, segment_id="CLM", element_position=5, component_position=2).element_error == "1"
    )


def test_many_claims_count_and_context() -> None:
    errors, claims = validate_file(CORPUS / "837p" / "imsweb-x12_many_claims.txt")
    assert claims == 820
    hi = [e for e in errors if e.segment_id == "HI"]
    assert hi and all(e.loop_id == "2300" and e.claim_id for e in hi)
    # HL*2*3*22 after HL*1/HL*2: numbering and parent both wrong
    assert ("HL", "8", "7") in codes(errors)


# --------------------------------------------------------------------------- negative corpus


def neg(name: str) -> list[IgError]:
    return validate_file(CORPUS / "837p-negative" / f"imsweb-x12_{name}.txt")[0]


def test_negative_bad_segment_identifier() -> None:
    errors = neg("bad_segment_identifier")
    e = one(errors, segment_id="Nd4")
    assert (e.segment_error, e.segment_position, e.loop_id, e.line) == ("1", 9, "2010AA", 11)
    assert one(errors, segment_id="N4", segment_error="3").loop_id == "2010AA"
    assert one(errors, segment_id="NM31").segment_error == "1"
    assert one(errors, segment_id="", segment_position=4).segment_error == "1"  # "*IC*..."
    assert one(errors, segment_id="PER", segment_error="3").loop_id == "1000A"
    missing = one(errors, segment_id="NM1", segment_error="3")
    assert missing.loop_id == "2010BA"


def test_negative_bad_valid_code() -> None:
    errors = neg("bad_valid_code")
    nm1 = one(errors, segment_id="NM1", segment_position=7)  # NM1*117: no such entity here
    assert (nm1.segment_error, nm1.loop_id) == ("2", "2000A")
    assert one(errors, segment_id="NM1", segment_error="3").loop_id == "2010AA"


def test_negative_loop_errors() -> None:
    e = one(neg("loop_errors1_exceeds_max_1_parent"), segment_error="4")
    assert (e.segment_id, e.segment_position, e.loop_id) == ("NM1", 13, "2010AA")
    e = one(neg("loop_errors2_exceeds_max_repeats_multiple_parents"), segment_error="4")
    assert (e.segment_id, e.loop_id) == ("NM1", "2010AA")
    e = one(neg("loop_errors3_missing_loops"), segment_error="3")
    assert (e.segment_id, e.loop_id) == ("NM1", "2010AA")


def test_negative_missing_elements() -> None:
    errors = neg("missing_elements")
    nm1 = one(errors, segment_id="NM1", element_position=2)
    assert (nm1.segment_error, nm1.element_error, nm1.element_reference) == ("8", "1", "1065")
    assert nm1.bad_value is None and nm1.loop_id == "1000B"
    clm = one(errors, segment_id="CLM", element_position=5)
    assert (clm.element_error, clm.element_reference, clm.component_position) == ("1", "C023", None)


def test_negative_missing_required_loops() -> None:
    errors = neg("missing_required_loop_in_one_repeat")
    assert one(errors, segment_error="3", loop_id="2010BA").segment_id == "NM1"
    lx = one(errors, segment_id="LX")
    assert (lx.element_position, lx.element_error, lx.bad_value) == (1, "7", "2")
    assert lx.claim_id is not None
    errors = neg("missing_required_loops_mult_repeats")
    assert [e for e in errors if e.segment_error == "3"]


def test_negative_segment_errors() -> None:
    errors = neg("segment_errors")
    assert one(errors, segment_id="N3").segment_error == "3"
    ref = one(errors, segment_id="REF")
    assert (ref.segment_error, ref.segment_position, ref.loop_id) == ("5", 10, "2010AA")
    hi = one(errors, segment_id="HI", segment_error="3")
    assert hi.loop_id == "2300" and hi.claim_id is not None


def test_negative_segments_out_of_order() -> None:
    errors = neg("segments_out_of_order")
    n4 = one(errors, segment_id="N4", segment_error="7")
    assert (n4.segment_position, n4.loop_id) == (10, "2010AA")
    assert one(errors, segment_id="N4", segment_error="3").segment_position == 9
    assert one(errors, segment_id="N3", segment_error="7").loop_id == "2010AB"


@pytest.mark.parametrize(
    "name",
    [
        "ambiguous_loop",  # clean content; pyx12 only objects to SE count/trailing separators
        "multiple_gs",
        "multiple_isa",
        "multiple_st",
    ],
)
def test_negative_envelope_files_validate_per_set(name: str) -> None:
    errors = neg(name)
    if name == "ambiguous_loop":
        assert errors == []
    else:
        assert errors and all(e.segment_position >= 1 for e in errors)


# --------------------------------------------------------------------------- mutations

CLEAN = (CORPUS / "837p" / "uhin-837.edi").read_text(encoding="ascii")


def mutate(old: str, new: str) -> list[IgError]:
    assert CLEAN.count(old) == 1, old
    errors, claims = validate_text(CLEAN.replace(old, new))
    assert claims == 1
    return errors


def test_clean_file_is_clean() -> None:
    assert validate_text(CLEAN) == ([], 1)


def test_mutation_too_long_element() -> None:
    long_id = "X" * 39
    [e] = mutate("CLM*1606*", f"CLM*{long_id}*")
    assert (e.segment_id, e.segment_error, e.element_position) == ("CLM", "8", 1)
    assert (e.element_error, e.element_reference, e.bad_value) == ("5", "1028", long_id)
    assert (e.segment_position, e.loop_id, e.claim_id) == (19, "2300", long_id)


def test_mutation_bad_code() -> None:
    [e] = mutate("*Y*A*Y*Y*P", "*Y*Q*Y*Y*P")
    assert (e.segment_id, e.element_position, e.element_error, e.bad_value) == ("CLM", 7, "7", "Q")
    assert e.claim_id == "1606"


def test_mutation_missing_required_segment() -> None:
    [e] = mutate("N4*FLORENCEBERG*MI*841061149~", "")
    assert (e.segment_id, e.segment_error, e.loop_id) == ("N4", "3", "2010AA")
    assert e.segment_position == 10  # detected at the REF that follows
    assert e.element_position is None and e.claim_id is None


def test_mutation_unknown_and_foreign_segments() -> None:
    [e] = mutate("BHT*0019*00*1609*20220118*1853*CH~", "BHT*0019*00*1609*20220118*1853*CH~ZZQ*1~")
    assert (e.segment_id, e.segment_error, e.segment_position, e.loop_id) == ("ZZQ", "1", 3, None)
    [e] = mutate("LX*1~", "LX*1~BPR*I*1*C*ACH~")  # 835 segment: known X12, not in the 837
    assert (e.segment_error, e.loop_id, e.claim_id) == ("6", "2400", "1606")
    [e] = mutate("LX*1~", "LX*1~NM1*IL*1*X~")  # the subscriber's NM1, long after 2010BA
    assert (e.segment_error, e.loop_id) == ("7", "2400")
    [e] = mutate("LX*1~", "LX*1~NM1*QC*1*X~")  # patient NM1: no 2000C here, nowhere to go
    assert (e.segment_error, e.loop_id) == ("2", "2400")


def test_mutation_bad_dates() -> None:
    [e] = mutate("RD8*20240815-20240820", "RD8*20240230-20240820")
    assert (e.segment_id, e.element_position, e.element_error, e.loop_id) == ("DTP", 3, "8", "2400")
    assert "20240230" not in e.message
    [e] = mutate("DMG*D8*19461111*F", "DMG*D8*19461341*F")
    assert (e.segment_id, e.element_position, e.element_error) == ("DMG", 2, "8")
    assert "1946" not in e.message  # date of birth never echoed


def test_mutation_not_used_element_and_syntax() -> None:
    [e] = mutate("CLM*1606*2***", "CLM*1606*2*X**")
    assert (e.element_position, e.element_error, e.element_reference) == (3, "I10", "1032")
    errors = mutate("*****XX*1245319599", "*****XX*")
    [e] = errors  # NM109 is situational in the map: the P0809 syntax note catches it
    assert (e.segment_id, e.element_position, e.element_error) == ("NM1", 9, "2")
    assert (e.element_reference, e.loop_id, e.bad_value) == ("67", "2010AA", None)


def test_mutation_too_many_elements_and_components() -> None:
    [e] = mutate("DMG*D8*19461111*F", "DMG*D8*19461111*F*****************X")
    assert (e.element_error, e.element_position) == ("3", 20)
    [e] = mutate("LX*1~", "LX*1:2~")
    assert (e.element_error, e.element_position, e.component_position) == ("13", 1, 2)


def test_mutation_hl_and_lx() -> None:
    [e] = mutate("HL*2*1*22*0", "HL*2*5*22*0")
    assert (e.segment_id, e.element_position, e.element_error, e.bad_value) == ("HL", 2, "7", "5")
    [e] = mutate("HL*2*1*22*0", "HL*3*1*22*0")
    assert (e.element_position, e.element_error) == (1, "7")
    [e] = mutate("LX*1~", "LX*2~")
    assert (e.segment_id, e.element_position, e.element_error, e.loop_id) == ("LX", 1, "7", "2400")


def test_mutation_max_use_and_repeat() -> None:
    errors = mutate("HI*ABK:R69~", "HI*ABK:R69~HI*ABK:R69~")
    e = one(errors, segment_error="5")
    assert (e.segment_id, e.segment_position, e.loop_id) == ("HI", 21, "2300")
    errors = mutate("LX*1~", "LX*1~SV1*HC:90834*2*UN*1***1~")
    assert one(errors, segment_error="5").segment_id == "SV1"


def test_mutation_out_of_sequence() -> None:
    errors = mutate(
        "N3*70623 FREDERIK CLIFF APT 492~\nN4*FLORENCEBERG*MI*841061149~\nREF*EI*123456789~",
        "REF*EI*123456789~\nN3*70623 FREDERIK CLIFF APT 492~\nN4*FLORENCEBERG*MI*841061149~",
    )
    assert {(e.segment_id, e.segment_error) for e in errors} == {
        ("N3", "3"),
        ("N4", "3"),
        ("N3", "7"),
        ("N4", "7"),
    }


def test_repetition_separator_in_simple_element() -> None:
    [e] = mutate("CLM*1606*2***", "CLM*1606^1607*2***")
    assert (e.element_position, e.repetition_position, e.element_error) == (1, 2, "12")
