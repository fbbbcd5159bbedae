"""Front-end edits for 5010 TR3 rules that pyx12's maps cannot state (issue 12), on crafted
claims and on every 837P/837I of the corpus.

* POSTAL_CODE (A7:500:85 / :77): nine-digit ZIP for a U.S. billing provider or service
  facility address (2010AA, 837P 2310C/2420C, 837I 2310E, 837D 2310C/2420D N403).
* BILLING_STREET (A7:503:85): "The Billing Provider Address must be a street address. Post
  Office Box or Lock Box addresses are to be sent in the Pay-To Address Loop" (2010AA N3).
* ADMISSION_DATE (A6:189), ADMISSION_TYPE (A6:231): 837I inpatient claims (type of bill 11x,
  12x, 18x, 21x, 22x, 28x, 41x) carry the admission date (2300 DTP*435, X12 RFI 1520) and the
  admission type (CL101); ADMISSION_TYPE_CODE (A7:231): CL101 is a NUBC code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.x12.claims import extract_claims, iter_transaction_sets
from gateway.x12.edits import STANDARD_EDITS, EditContext, EditSet, run_edits
from tests.x12.test_ig_pwk import CLEAN_837I
from tests.x12.test_igvalidator import CORPUS, validate_text

NEW = ("POSTAL_CODE", "BILLING_STREET", "ADMISSION_DATE", "ADMISSION_TYPE", "ADMISSION_TYPE_CODE")
EDITS = EditSet("tr3", (("tr3", tuple(e for e in STANDARD_EDITS if e.code in NEW)),))


def codes(data: bytes) -> list[set[str]]:
    claims = [
        claim
        for ts in iter_transaction_sets(data)
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08)
    ]
    context = EditContext("p", frozenset(), frozenset(), frozenset(), date(2026, 11, 20))
    return [
        {f"{f.edit} {f.stc_code}" for f in v.failures} for v in run_edits(claims, context, EDITS)
    ]


def test_table_has_the_tr3_edits() -> None:
    assert {e.code for e in EDITS.edits} == set(NEW)


INPATIENT = CLEAN_837I.replace("14:A:1", "11:A:1")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("outpatient 14x, no admission date", CLEAN_837I, set()),
        ("inpatient 11x, no admission date", INPATIENT, {"ADMISSION_DATE A6:189"}),
        (
            "inpatient with admission date",
            INPATIENT.replace("CL1*", "DTP*435*DT*199609110800~CL1*"),
            set(),
        ),
        (
            "inpatient 21x (SNF), no CL101",
            CLEAN_837I.replace("14:A:1", "21:A:1").replace(
                "CL1*3**01", "DTP*435*D8*19960911~CL1***01"
            ),
            {"ADMISSION_TYPE A6:231"},
        ),
        (
            "outpatient, no CL101",
            CLEAN_837I.replace("CL1*3**01", "CL1***01"),
            set(),
        ),
        (
            "CL101 not a NUBC code",
            CLEAN_837I.replace("CL1*3**01", "CL1*7**01"),
            {"ADMISSION_TYPE_CODE A7:231"},
        ),
        (
            "billing provider at a PO box",
            CLEAN_837I.replace("N3*225 MAIN STREET BARKLEY BUILDING", "N3*P.O. BOX 225"),
            {"BILLING_STREET A7:503:85"},
        ),
        (
            "lock box on the second address line",
            CLEAN_837I.replace(
                "N3*225 MAIN STREET BARKLEY BUILDING", "N3*225 MAIN STREET*LOCKBOX 7"
            ),
            {"BILLING_STREET A7:503:85"},
        ),
        (
            "subscriber at a PO box",
            CLEAN_837I.replace("N3*125 CITY AVENUE", "N3*PO BOX 125"),
            set(),
        ),
        (
            "street name with BOX in it",
            CLEAN_837I.replace("N3*225 MAIN STREET BARKLEY BUILDING", "N3*12 BOXWOOD ROAD"),
            set(),
        ),
    ],
)
def test_837i_tr3_edits(name: str, text: str, expected: set[str]) -> None:
    # the guide takes every one of these claims: only the 277CA says what is wrong
    assert validate_text(text)[0] == [], name
    assert codes(text.encode("ascii")) == [expected]


def test_pay_to_po_box_is_where_it_belongs() -> None:
    pay_to = "NM1*87*2~N3*PO BOX 225~N4*CENTERVILLE*PA*17111~"
    text = CLEAN_837I.replace("REF*EI*567891234~", "REF*EI*567891234~" + pay_to)
    assert validate_text(text)[0] == []
    assert codes(text.encode("ascii")) == [set()]


#: What the TR3 edits say about the corpus (claims flagged per edit), every other file: none.
CORPUS_FINDINGS: dict[str, dict[str, int]] = {
    "demo.example11.837": {"BILLING_STREET A7:503:85": 1},  # "P O BOX 123" in 2010AA
    "lfh-demo-file.837": {},
    "uhin-837.edi": {},
    "demo.example1.837": {},
    "demo.example12.837": {},
    "demo.ambulance.example5.837": {},
    "out-of-network-repriced-claim.837i": {},
    "ppo-repriced-claim.837i": {},
}


@pytest.mark.parametrize(
    "path",
    sorted([*(CORPUS / "837p").iterdir(), *(CORPUS / "837i").iterdir()]),
    ids=lambda p: p.name,
)
def test_corpus(path: Path) -> None:
    found: dict[str, int] = {}
    for claim_codes in codes(path.read_bytes()):
        for code in claim_codes:
            found[code] = found.get(code, 0) + 1
    if path.name in CORPUS_FINDINGS:
        assert found == CORPUS_FINDINGS[path.name]
    else:
        # the TR3 scenarios and imsweb files use five-digit billing/facility ZIPs
        assert set(found) <= {"POSTAL_CODE A7:500:85", "POSTAL_CODE A7:500:77"}
        assert found.get("POSTAL_CODE A7:500:85", 0) >= 1
