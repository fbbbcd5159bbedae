"""837D (005010X224A2) with our own map (schemas/837.5010.X224.A2.xml): a crafted guide-clean
dental claim, and one defect at a time."""

from __future__ import annotations

from gateway.x12 import analyze
from gateway.x12.ig_maps import SCHEMAS_DIR, map_path
from gateway.x12.igvalidator import PyX12Validator
from gateway.x12.results import IgError
from gateway.x12.segments import Delimiters, Segment
from tests.x12.conftest import DIRECTORY, UPLOADER, make_isa

VALIDATOR = PyX12Validator()
DELIMS = Delimiters("*", "~", ":", "^")

# Three service lines: an exam (no tooth), a two-surface amalgam on tooth 14, scaling in the
# upper right quadrant; a missing tooth (DN2) and a predetermination number at claim level.
CLEAN = """\
ST*837*0001*005010X224A2
BHT*0019*00*0123*20240115*1200*CH
NM1*41*2*DEMO DENTAL BILLING*****46*DEMOBILL
PER*IC*CLAIMS DESK*TE*5555550100
NM1*40*2*CLEARINGHOUSE*****46*CLEARINGHOUSE
HL*1**20*1
NM1*85*2*SMILE DENTAL GROUP*****XX*1234567893
N3*100 MAIN STREET
N4*SPRINGFIELD*IL*627010001
REF*EI*123456789
HL*2*1*22*0
SBR*P*18*******CI
NM1*IL*1*DOE*JANE****MI*MBR000000001
N3*200 ELM STREET
N4*SPRINGFIELD*IL*627020002
DMG*D8*19800115*F
NM1*PR*2*DEMO DENTAL PLAN*****PI*DD001
CLM*DCLM001*285***11:B:1*Y*A*Y*Y
DTP*472*D8*20240110
DN2*3*M
REF*G3*PRED123
HI*ABK:K0251
LX*1
SV3*AD:D0120*60****1
LX*2
SV3*AD:D2150*150*11***1
TOO*JP*14*M:O
LX*3
SV3*AD:D4341*75**10**1
DTP*472*D8*20240110
"""


def segments(body: str) -> list[Segment]:
    lines = body.strip().split("\n")
    lines.append(f"SE*{len(lines) + 1}*0001")
    return [Segment(s.split("*")[0], tuple(s.split("*")[1:]), n) for n, s in enumerate(lines, 1)]


def validate(body: str, guide: str = "005010X224A2") -> tuple[list[IgError], int]:
    return VALIDATOR.validate(segments(body), DELIMS, guide)


def mutate(old: str, new: str) -> list[IgError]:
    assert CLEAN.count(old) == 1, old
    errors, claims = validate(CLEAN.replace(old, new))
    assert claims == 1
    return errors


def test_supported_and_from_our_schemas() -> None:
    assert VALIDATOR.supports("005010X224A2")
    assert map_path("005010X224A2").parent == SCHEMAS_DIR


def test_clean_dental_claim() -> None:
    assert validate(CLEAN) == ([], 1)


def test_dental_claim_is_not_a_professional_one() -> None:
    errors, _ = validate(CLEAN.replace("005010X224A2", "005010X222A1"), "005010X222A1")
    assert {(e.segment_id, e.segment_error) for e in errors} >= {("SV3", "6"), ("SV1", "3")}


def test_bad_tooth_surface() -> None:
    [e] = mutate("TOO*JP*14*M:O", "TOO*JP*14*M:X")
    assert (e.segment_id, e.element_position, e.component_position) == ("TOO", 3, 2)
    assert (e.element_error, e.element_reference, e.loop_id) == ("7", "1369", "2400")
    assert e.claim_id == "DCLM001"


def test_missing_tooth_code() -> None:
    [e] = mutate("TOO*JP*14*M:O", "TOO*JP**M:O")
    assert (e.segment_id, e.element_position, e.element_error) == ("TOO", 2, "1")


def test_bad_tooth_status() -> None:
    [e] = mutate("DN2*3*M", "DN2*3*Q")
    assert (e.segment_id, e.element_position, e.element_error, e.loop_id) == ("DN2", 2, "7", "2300")


def test_procedure_code_must_be_ada() -> None:
    [e] = mutate("SV3*AD:D0120", "SV3*HC:D0120")
    assert (e.segment_id, e.element_position, e.component_position) == ("SV3", 1, 1)
    assert e.element_error == "7"


def test_professional_service_line_in_a_dental_claim() -> None:
    errors = mutate("SV3*AD:D0120*60****1", "SV1*HC:99213*60*UN*1***1")
    assert {(e.segment_id, e.segment_error) for e in errors} == {("SV1", "6"), ("SV3", "3")}


def test_not_used_claim_element() -> None:
    [e] = mutate("CLM*DCLM001*285***11:B:1*Y*A*Y*Y", "CLM*DCLM001*285***11:B:1*Y*A*Y*Y*P")
    assert (e.segment_id, e.element_position, e.element_error) == ("CLM", 10, "I10")


def test_predetermination_reason_code() -> None:
    body = CLEAN.replace("*11:B:1*Y*A*Y*Y", "*11:B:1*Y*A*Y*Y**********PB")
    assert validate(body) == ([], 1)
    [e] = mutate("*11:B:1*Y*A*Y*Y", "*11:B:1*Y*A*Y*Y**********XX")
    assert (e.element_position, e.element_error) == (19, "7")


def test_too_many_teeth_on_a_line() -> None:
    teeth = "\n".join(f"TOO*JP*{n}" for n in range(1, 34))
    errors = mutate("TOO*JP*14*M:O", teeth)
    [e] = [e for e in errors if e.segment_error == "5"]
    assert (e.segment_id, e.loop_id) == ("TOO", "2400")


def test_engine_accepts_an_837d_interchange() -> None:
    body = segments(CLEAN)
    text = (
        make_isa()
        + "GS*HC*SUBMITTER*GATEWAY*20240115*1253*17*X*005010X224A2~"
        + "".join(f"{s.id}*{'*'.join(s.elements)}~" for s in body)
        + "GE*1*17~IEA*1*000000905~"
    )
    analysis = analyze(text.encode(), uploader=UPLOADER, directory=DIRECTORY)
    [ich] = analysis.interchanges
    [group] = ich.groups
    [tx] = group.transactions
    assert ich.ta1_code is None and group.group_error_codes == ()
    assert tx.accepted and tx.claim_count == 1 and tx.st03 == "005010X224A2"
