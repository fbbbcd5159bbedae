"""PWK (paperwork) in the 837 guides, and segments that share an ID within one loop.

837P 2400 has two PWK definitions: "Line Supplemental Information" (PWK01 a report type, one
of which is CT) and "Durable Medical Equipment Certificate of Medical Necessity Indicator"
(PWK01 = CT, PWK02 AB/AD/AF/AG/NS), as in the 837P TR3's oxygen and wheelchair examples. The
validator used to match on PWK01 alone and judged ``PWK*CT*AD`` against the first one
("PWK02 is not a valid code"). Every PWK variant of 2300 and 2400 of the 837P, 837I and 837D
guides is tried here, valid and invalid, with code lists typed from the TR3s (not read from
the maps under test).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.x12.ig_maps import load_guide
from gateway.x12.ig_model import Loop, Seg
from gateway.x12.results import IgError
from tests.x12.test_ig_837d import CLEAN as CLEAN_837D
from tests.x12.test_ig_837d import validate as validate_837d
from tests.x12.test_igvalidator import CLEAN as CLEAN_837P
from tests.x12.test_igvalidator import validate_text

# TR3 code lists (005010X222A1/X223A2/X224A2, PWK01 DE 755 and PWK02 DE 756).
REPORT_TYPES = (
    "03 04 05 06 07 08 09 10 11 13 15 21 A3 A4 AM AS B2 B3 B4 BR BS BT CB CK CT D2 DA DB DG "
    "DJ DS EB HC HR I5 IR LA M1 MT NN OB OC OD OE OX OZ P4 P5 PE PN PO PQ PY PZ RB RR RT RX "
    "SG V5 XP"
).split()
TRANSMISSION = ("AA", "BM", "EL", "EM", "FT", "FX")
SENT_SEPARATELY = frozenset({"BM", "EL", "EM", "FT", "FX"})
DME_TRANSMISSION = ("AB", "AD", "AF", "AG", "NS")

# A clean 837I: the corpus's institutional-claim.837i with its three guide defects mended
# (5-digit billing ZIP, CLM06 present, DTP*434 in D8).
CLEAN_837I = (
    "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*GATEWAY        *131031*1147*^*00501"
    "*000000907*1*T*:~GS*HC*SUBMITTER*GATEWAY*20131031*1147*1*X*005010X223A2~"
    "ST*837*987654*005010X223A2~BHT*0019*00*0123*19960918*0932*CH~"
    "NM1*41*2*JONES HOSPITAL*****46*12345~PER*IC*JANE DOE*TE*9005555555~"
    "NM1*40*2*MEDICARE*****46*00120~HL*1**20*1~PRV*BI*PXC*203BA0200N~"
    "NM1*85*2*JONES HOSPITAL*****XX*9876540809~N3*225 MAIN STREET BARKLEY BUILDING~"
    "N4*CENTERVILLE*PA*171110001~REF*EI*567891234~HL*2*1*22*0~SBR*P*18*******MB~"
    "NM1*IL*1*DOE*JON*T***MI*030005074A~N3*125 CITY AVENUE~N4*CENTERVILLE*PA*17111~"
    "DMG*D8*19261111*M~NM1*PR*2*MEDICARE B*****PI*00435~"
    "CLM*756048Q*89.93***14:A:1**A*Y*Y~DTP*434*RD8*19960911-19960911~CL1*3**01~"
    "HI*BK:3669~LX*1~SV2*0305*HC:85025*13.39*UN*1~DTP*472*D8*19960911~"
    "LX*2~SV2*0730*HC:93005*76.54*UN*3~DTP*472*D8*19960911~SE*28*987654~"
    "GE*1*1~IEA*1*000000907~"
)

Validate = Callable[[str], list[IgError]]


def _837p(anchor: str) -> Validate:
    def run(pwk: str) -> list[IgError]:
        assert CLEAN_837P.count(anchor) == 1
        return validate_text(CLEAN_837P.replace(anchor, anchor + pwk + "~"))[0]

    return run


def _837i(anchor: str) -> Validate:
    def run(pwk: str) -> list[IgError]:
        assert CLEAN_837I.count(anchor) == 1
        return validate_text(CLEAN_837I.replace(anchor, anchor + pwk + "~", 1))[0]

    return run


def _837d_2300(pwk: str) -> list[IgError]:
    anchor = "DN2*3*M\n"
    assert CLEAN_837D.count(anchor) == 1
    return validate_837d(
        CLEAN_837D.replace(anchor, anchor + pwk.strip("~").replace("~", "\n") + "\n")
    )[0]


PLACES: dict[str, Validate] = {
    "837P 2300": _837p("CLM*1606*2***11:B:1*Y*A*Y*Y*P~"),
    "837P 2400": _837p("SV1*HC:90834*2*UN*1***1~"),
    "837I 2300": _837i("CL1*3**01~"),
    "837I 2400": _837i("SV2*0305*HC:85025*13.39*UN*1~"),
    "837D 2300": _837d_2300,
}


def supplemental(report: str, transmission: str) -> str:
    control = "***AC*ATT0001" if transmission in SENT_SEPARATELY else ""
    return f"PWK*{report}*{transmission}{control}"


def test_clean_bases() -> None:
    assert validate_text(CLEAN_837I) == ([], 1)
    for name, run in PLACES.items():
        assert run("PWK*OZ*AA") == [], name


@pytest.mark.parametrize("place", sorted(PLACES))
def test_every_supplemental_variant_is_accepted(place: str) -> None:
    run = PLACES[place]
    wrong = {
        pwk: [e.message for e in errors]
        for report in REPORT_TYPES
        for transmission in TRANSMISSION
        for pwk in [supplemental(report, transmission)]
        if (errors := run(pwk))
    }
    assert wrong == {}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_bad_supplemental_codes_are_rejected(place: str) -> None:
    run = PLACES[place]
    [e] = run("PWK*ZZ*FX***AC*ATT0001")
    assert (e.segment_id, e.element_position, e.element_error, e.bad_value) == ("PWK", 1, "7", "ZZ")
    [e] = run("PWK*OZ*XX")
    assert (e.element_position, e.element_error, e.bad_value) == (2, "7", "XX")
    errors = run("PWK*OZ*AA~" * 11)
    assert [(e.segment_id, e.segment_error) for e in errors] == [("PWK", "5")]


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("transmission", sorted(SENT_SEPARATELY))
def test_attachment_sent_separately_needs_its_control_number(place: str, transmission: str) -> None:
    """TR3: PWK05/PWK06 "Required when PWK02 = BM, EL, EM, FX or FT" (a rule of the guide
    that pyx12's map cannot state; gateway/x12/ig_overrides.py)."""
    run = PLACES[place]
    errors = run(f"PWK*OZ*{transmission}")
    assert [(e.element_position, e.element_error, e.segment_error) for e in errors] == [
        (5, "I9", "8"),
        (6, "I9", "8"),
    ]
    assert "required when PWK02 is BM" in errors[0].message
    # half of the pair: the P0506 syntax note says what is missing, once
    [e] = run(f"PWK*OZ*{transmission}***AC")
    assert (e.element_position, e.element_error) == (6, "2")
    assert run(f"PWK*OZ*{transmission}***AC*ATT0001") == []
    assert run("PWK*OZ*AA") == []  # available on request at the provider: no number needed


@pytest.mark.parametrize("transmission", DME_TRANSMISSION)
def test_837p_2400_dme_certificate_indicator(transmission: str) -> None:
    run = PLACES["837P 2400"]
    assert run(f"PWK*CT*{transmission}") == []
    # with supplemental PWKs, in either order (same position in the TR3)
    assert run(f"PWK*CT*{transmission}~PWK*OZ*BM***AC*ATT0001~PWK*CT*FX***AC*ATT0002") == []
    assert run(f"PWK*OZ*AA~PWK*CT*{transmission}") == []


def test_837p_2400_dme_certificate_indicator_errors() -> None:
    run = PLACES["837P 2400"]
    # used at most once per line
    [e] = run("PWK*CT*AD~PWK*CT*AB")
    assert (e.segment_id, e.segment_error) == ("PWK", "5")
    assert "Durable Medical Equipment" in e.message
    # PWK05/06 are not used in the DME indicator
    errors = run("PWK*CT*AD***AC*ATT0001")
    assert [(e.element_position, e.element_error) for e in errors] == [(5, "I10"), (6, "I10")]
    # CT with a code of neither definition: judged against the first (supplemental) one
    [e] = run("PWK*CT*ZZ")
    assert (e.element_position, e.element_error, e.bad_value) == (2, "7", "ZZ")
    # a DME code under another report type is not a DME indicator
    [e] = run("PWK*OZ*AD")
    assert (e.element_position, e.element_error, e.bad_value) == (2, "7", "AD")


@pytest.mark.parametrize("place", ["837P 2300", "837I 2300", "837I 2400", "837D 2300"])
def test_dme_indicator_only_on_837p_lines(place: str) -> None:
    [e] = PLACES[place]("PWK*CT*AD")
    assert (e.segment_id, e.element_position, e.element_error, e.bad_value) == ("PWK", 2, "7", "AD")


# ------------------------------------------------------------------ same ID in one loop


def _shared_qualifiers(loop: Loop, out: set[tuple[str | None, str, str]]) -> None:
    by_id: dict[str, list[Seg]] = {}
    for i, child in enumerate(loop.children):
        if i == 0 and loop.id is not None:
            continue
        seg = child if isinstance(child, Seg) else child.trigger
        by_id.setdefault(seg.id, []).append(seg)
        if isinstance(child, Loop):
            _shared_qualifiers(child, out)
    for seg_id, segs in by_id.items():
        if len(segs) < 2:
            continue
        assert all(s.key is not None for s in segs), (loop.id, seg_id)  # none unkeyed
        seen: set[str] = set()
        for s in segs:
            assert s.key is not None
            for code in s.key[2]:
                if code in seen:
                    out.add((loop.id, seg_id, code))
                seen.add(code)


@pytest.mark.parametrize(
    ("guide", "expected"),
    [
        ("005010X222A1", {("2400", "PWK", "CT")}),
        ("005010X223A2", set()),
        ("005010X224A2", set()),
        ("005010X221A1", set()),
        ("005010X214", set()),
        ("005010X231A1", set()),
    ],
)
def test_only_2400_pwk_shares_a_qualifier(
    guide: str, expected: set[tuple[str | None, str, str]]
) -> None:
    """Census: the repeated segment IDs of every loop (REF, DTP, NM1, AMT, CRC, HI, PWK... in
    2300/2400 and everywhere else) are told apart by their qualifier, except 2400 PWK*CT."""
    found: set[tuple[str | None, str, str]] = set()
    _shared_qualifiers(load_guide(guide).root, found)
    assert found == expected


# Each a valid segment for a different same-ID definition of 837P 2300 / 2400 (in TR3
# order): matched to the wrong one, its other elements (date format, codes) would be refused.
CLAIM_DATES = [
    "DTP*431*D8*20240801",
    "DTP*454*D8*20240802",
    "DTP*304*D8*20240803",
    "DTP*439*D8*20240701",
    "DTP*360*RD8*20240701-20240705",
    "DTP*090*D8*20240801",
    "DTP*091*D8*20240810",
    "DTP*435*D8*20240815",
    "DTP*096*D8*20240816",
]
CLAIM_SEGMENTS = [
    "AMT*F5*10",
    "REF*G1*PA0001",
    "REF*9F*REF0001",
    "REF*EA*MR0001",
    "REF*D9*CH0001",
    "NTE*ADD*NOTE",
    "CRC*E1*Y*L1",
    "CRC*ZZ*N*NU",
]
CLAIM_PARTIES = [
    "NM1*DN*1*REFER*RITA****XX*1245319599",
    "NM1*82*1*RENDER*RON****XX*1245319599",
    "NM1*77*2*FACILITY*****XX*1245319599",
    "N3*1 MAIN ST",
    "N4*OGDEN*UT*844010001",
    "NM1*DQ*1*SUPER*SUE****XX*1245319599",
]
LINE_SEGMENTS = [
    "PWK*CT*AD", "PWK*OZ*FX***AC*ATT0001", "CRC*09*Y*ZV", "CRC*70*N*65",
    "DTP*472*RD8*20240815-20240820", "DTP*471*D8*20240801", "DTP*607*D8*20240802",
    "DTP*463*D8*20240803", "DTP*461*D8*20240804", "DTP*304*D8*20240805",
    "DTP*738*D8*20240806", "DTP*739*D8*20240807", "DTP*011*D8*20240808",
    "DTP*455*D8*20240809", "DTP*454*D8*20240810",
    "REF*9B*R1", "REF*G1*PA0001", "REF*6R*LINE0001", "REF*EW*MAMMO1", "REF*X4*CLIA1",
    "AMT*T*1.5", "AMT*F4*2",
]  # fmt: skip


def _segments(items: list[str]) -> str:
    return "".join(s + "~" for s in items)


def test_repeated_ids_in_2300_and_2400_land_on_their_definitions() -> None:
    clm = "CLM*1606*2***11:B:1*Y*A*Y*Y*P~"
    text = (
        CLEAN_837P.replace(clm, clm + _segments(CLAIM_DATES))
        .replace("HI*ABK:R69~", _segments(CLAIM_SEGMENTS) + "HI*ABK:R69~")
        .replace("LX*1~", _segments(CLAIM_PARTIES) + "LX*1~")
        .replace("DTP*472*RD8*20240815-20240820~", "")
        .replace("SV1*HC:90834*2*UN*1***1~", "SV1*HC:90834*2*UN*1***1~" + _segments(LINE_SEGMENTS))
    )
    errors, claims = validate_text(text)
    assert claims == 1
    assert [e.message for e in errors] == []
    # and one of each with a wrong second element is refused where it belongs
    for good, bad, position in [
        ("DTP*360*RD8*20240701-20240705", "DTP*360*D6*240701", 2),  # disability: D8/RD8
        ("DTP*435*D8*20240815", "DTP*435*RD8*20240815-20240816", 2),  # admission: D8 only
        ("CRC*09*Y*ZV", "CRC*09*Y*65", 3),  # DME condition codes, not hospice's
        ("CRC*70*N*65", "CRC*70*N*ZV", 3),
    ]:
        errors, _ = validate_text(text.replace(good + "~", bad + "~", 1))
        assert [(e.segment_id, e.element_position, e.element_error) for e in errors] == [
            (bad[:3], position, "7")
        ], bad
