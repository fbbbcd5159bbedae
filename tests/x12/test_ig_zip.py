"""Billing provider / service facility ZIP+4 (issue 12): the same answer for 837P and 837I.

TR3 (X222A1, X223A2, X224A2), N403 of 2010AA and of the service facility location: "When
reporting the ZIP code for U.S. addresses, the full nine digit ZIP code is required"; N404
(country) is present only outside the U.S. pyx12's 837I map put an unconditional ``[0-9]{9}``
on 2010AA N403 (a 999 rejecting the whole set, and refusing Canadian addresses), its 837P map
nothing. Now both guides leave N403's length to the front-end edit ``POSTAL_CODE``, which
rejects only the claims concerned (277CA A7:500:85, or :77 for a service facility).
"""

from __future__ import annotations

from datetime import date

import pytest

from gateway.x12.claims import extract_claims, iter_transaction_sets
from gateway.x12.edits import EditContext, run_edits
from tests.x12.test_ig_pwk import CLEAN_837I
from tests.x12.test_igvalidator import CLEAN as CLEAN_837P
from tests.x12.test_igvalidator import validate_text

BILLING = {
    "837P": (CLEAN_837P, "N4*FLORENCEBERG*MI*841061149~"),
    "837I": (CLEAN_837I, "N4*CENTERVILLE*PA*171110001~"),
}


def edit_codes(text: str) -> list[set[str]]:
    claims = [
        claim
        for ts in iter_transaction_sets(text.encode("ascii"))
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08)
    ]
    context = EditContext(
        partner_id="p",
        npis=frozenset(c.billing_npi for c in claims),
        tins=frozenset(c.billing_tin for c in claims),
        payer_ids=frozenset(c.payer_id for c in claims),
        today=date(2026, 11, 20),
    )
    return [
        {f.stc_code for f in v.failures if f.edit == "POSTAL_CODE"}
        for v in run_edits(claims, context)
    ]


@pytest.mark.parametrize("kind", sorted(BILLING))
@pytest.mark.parametrize(
    ("n4", "rejected"),
    [
        ("N4*CITY*PA*17111~", True),  # five digits, U.S.
        ("N4*CITY*PA*17111-0001~", True),  # hyphen
        ("N4*CITY*PA*1711100~", True),
        ("N4*CITY*PA~", True),  # no ZIP at all for a U.S. address
        ("N4*CITY*PA*171110001~", False),
        ("N4*TORONTO*ON*M5V2T6*CA~", False),  # Canada: N404 present
    ],
)
def test_billing_zip_same_answer_for_837p_and_837i(kind: str, n4: str, rejected: bool) -> None:
    clean, billing_n4 = BILLING[kind]
    text = clean.replace(billing_n4, n4, 1)
    errors, _ = validate_text(text)
    # the guide (999) takes the claim in both guides (the 837I map used to refuse it)
    assert [e.message for e in errors if e.segment_id == "N4"] == []
    assert edit_codes(text) == [{"A7:500:85"} if rejected else set()]


def test_service_facility_zip_837i_2310e() -> None:
    facility = "NM1*77*2*CLINIC*****XX*1245319599~N3*1 MAIN ST~N4*CITY*PA*17111~"
    text = CLEAN_837I.replace("LX*1~", facility + "LX*1~", 1)
    assert validate_text(text)[0] == []
    assert edit_codes(text) == [{"A7:500:77"}]
    assert edit_codes(text.replace("N4*CITY*PA*17111~", "N4*CITY*PA*171110001~")) == [set()]


def test_other_addresses_keep_five_digits() -> None:
    """Pay-to (2010AB), subscriber and payer addresses carry no ZIP+4 note in the TR3."""
    pay_to = "NM1*87*2~N3*PO BOX 1~N4*CITY*MI*84106~"
    text = CLEAN_837P.replace("REF*EI*123456789~", "REF*EI*123456789~" + pay_to, 1)
    text = text.replace("N4*SOUTH JOSEPHLAND*MI*841061149~", "N4*SOUTH JOSEPHLAND*MI*84106~")
    assert validate_text(text)[0] == []
    assert edit_codes(text) == [set()]
