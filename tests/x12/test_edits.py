"""Front-end edits: one passing and one failing case per edit (mutations of gen_837 output),
the table itself, PHI-free messages, fingerprints/duplicates, edit sets, and a property test
that extraction + edits never raise."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.x12.claims import Claim, extract_claims, iter_transaction_sets
from gateway.x12.edits import (
    DEFAULT_EDIT_SET,
    INTERNAL_ERROR_CODE,
    STANDARD_EDITS,
    ClaimVerdict,
    Edit,
    EditContext,
    Hit,
    claim_fingerprint,
    context_for,
    icd10_status,
    npi_valid,
    run_edits,
)
from tests.x12.conftest import corpus

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 20)
DEMO_NPIS = frozenset({"1234567893", "1987654328"})
DEMO_TINS = frozenset({"123456789", "987654321"})
PAYERS = frozenset({"SIM01", "SIM02", "EXT01"})
OUTDATED_DIAGNOSES = {"M545": "M5450", "R51": "R519"}
"""gen_837.py still uses M54.5 (split in FY2022) and R51 (split in FY2021): both are now
category headers, so the base fixture swaps in their billable children."""


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_837", ROOT / "scripts" / "gen_837.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_837", module)
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()


def context(seen: Callable[[str], bool] | None = None) -> EditContext:
    return EditContext(
        partner_id="demo-billing",
        npis=DEMO_NPIS,
        tins=DEMO_TINS,
        payer_ids=PAYERS,
        today=TODAY,
        seen_fingerprints=seen or (lambda _fp: False),
    )


def base_segments(claims: int = 3, control: int = 7, seed: int = 837) -> list[str]:
    """A valid 837P, one billing provider level per claim (so every mutation stays local)."""
    segments = list(
        GEN.interchange(claims, control, date="20261120", seed=seed, claims_per_provider=1)
    )
    out = []
    for seg in segments:
        if seg.startswith("HI*"):
            for old, new in OUTDATED_DIAGNOSES.items():
                seg = re.sub(rf"(?<=:){old}(?=\*|$)", new, seg)
        out.append(seg)
    return out


def render(segments: Sequence[str]) -> bytes:
    """Segments → bytes, with SE01 recomputed."""
    segs = list(segments)
    st_index = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    se_index = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    segs[se_index] = f"SE*{se_index - st_index + 1}*{segs[se_index].split('*')[2]}"
    return "".join(s + "~\n" for s in segs).encode("ascii")


def claim_span(segments: Sequence[str], k: int) -> tuple[int, int]:
    """Indexes [start, end) of claim ``k``'s billing-provider HL through its last segment."""
    starts = [i for i, s in enumerate(segments) if re.match(r"HL\*\d+\*\*20\*", s)]
    se = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    start = starts[k]
    end = starts[k + 1] if k + 1 < len(starts) else se
    return start, end


Mutation = Callable[[list[str]], list[str]]


def sub(prefix: str, new: str | Callable[[str], str]) -> Mutation:
    """Replace the first segment starting with ``prefix``."""

    def apply(span: list[str]) -> list[str]:
        for i, seg in enumerate(span):
            if seg.startswith(prefix):
                span[i] = new(seg) if callable(new) else new
                return span
        raise AssertionError(f"no {prefix} in the claim")

    return apply


def insert_after(prefix: str, *new: str) -> Mutation:
    def apply(span: list[str]) -> list[str]:
        for i, seg in enumerate(span):
            if seg.startswith(prefix):
                return [*span[: i + 1], *new, *span[i + 1 :]]
        raise AssertionError(f"no {prefix} in the claim")

    return apply


def drop(prefix_re: str) -> Mutation:
    def apply(span: list[str]) -> list[str]:
        return [s for s in span if not re.match(prefix_re, s)]

    return apply


def element(seg: str, index: int, value: str) -> str:
    parts = seg.split("*")
    while len(parts) <= index:
        parts.append("")
    parts[index] = value
    return "*".join(parts)


def clm05(value: str) -> Mutation:
    return sub("CLM*", lambda s: element(s, 5, value))


def mutated(mutation: Mutation, k: int = 1, claims: int = 3) -> bytes:
    segs = base_segments(claims)
    start, end = claim_span(segs, k)
    span = mutation(segs[start:end])
    return render([*segs[:start], *span, *segs[end:]])


def claims_of(data: bytes) -> list[Claim]:
    return [
        claim
        for ts in iter_transaction_sets(data)
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08)
    ]


def verdicts_of(data: bytes, ctx: EditContext | None = None) -> list[ClaimVerdict]:
    return run_edits(claims_of(data), ctx or context())


def another_valid_npi() -> str:
    for n in range(100000000, 100001000):
        candidate = f"1{n:08d}"[:9]
        for check in "0123456789":
            if npi_valid(candidate + check) and candidate + check not in DEMO_NPIS:
                return candidate + check
    raise AssertionError("no NPI found")


@dataclass(frozen=True)
class Case:
    edit: str
    stc: str
    bad: Mutation
    good: Mutation | None = None
    """A nearby mutation that must pass (None: the unmutated claim is the passing case)."""


CASES: list[Case] = [
    Case("READABLE", "A7:21", drop(r"HL\*\d+\*\d+\*22\*")),
    Case("CLAIM_ID_LENGTH", "A7:478", sub("CLM*", lambda s: element(s, 1, "X" * 21)),
         sub("CLM*", lambda s: element(s, 1, "X" * 20))),
    Case("NPI", "A7:562:82", insert_after("HI*", "NM1*82*1*DOE*JANE****XX*1234567890"),
         insert_after("HI*", "NM1*82*1*DOE*JANE****XX*1234567893")),
    Case("SUBMITTER_PROVIDER", "A8:496:85",
         sub("NM1*85*", lambda s: element(s, 9, another_valid_npi()))),
    Case("TIN", "A7:128:85", sub("REF*EI*", "REF*EI*12-3456789")),
    Case("POSTAL_CODE", "A7:500:85", sub("N4*SPRINGFIELD*IL*627010001", "N4*SPRINGFIELD*IL*62701"),
         sub("N4*SPRINGFIELD*IL*627010001", "N4*TORONTO*ON*M5V2T6*CA")),
    Case("POSTAL_CODE", "A7:500:85", sub("N4*SPRINGFIELD*IL*627010001",
                                         "N4*SPRINGFIELD*IL*62701-0001"),
         # the subscriber's (2010BA) address may keep a five-digit ZIP
         sub("N4*SPRINGFIELD*IL*627020002", "N4*SPRINGFIELD*IL*62702")),
    Case("POSTAL_CODE", "A7:500:77",
         insert_after("HI*", "NM1*77*2*CLINIC*****XX*1234567893", "N3*1 ROAD",
                      "N4*SPRINGFIELD*IL*62704"),
         insert_after("HI*", "NM1*77*2*CLINIC*****XX*1234567893", "N3*1 ROAD",
                      "N4*SPRINGFIELD*IL*627040004")),
    Case("POSTAL_CODE", "A7:500:77",  # 2420C, on a service line
         insert_after("DTP*472*", "NM1*77*2*CLINIC*****XX*1234567893", "N3*1 ROAD",
                      "N4*SPRINGFIELD*IL*62704"),
         insert_after("DTP*472*", "NM1*77*2*CLINIC*****XX*1234567893", "N3*1 ROAD",
                      "N4*SPRINGFIELD*IL*627040004")),
    Case("BILLING_STREET", "A7:503:85", sub("N3*100 MAIN STREET", "N3*PO BOX 100"),
         insert_after("REF*EI*", "NM1*87*2", "N3*PO BOX 100", "N4*SPRINGFIELD*IL*62701")),
    Case("TAXONOMY", "A7:145:85", insert_after("HL*", "PRV*BI*PXC*207Q00000"),
         insert_after("HL*", "PRV*BI*PXC*207Q00000X")),
    Case("PAYER_ROUTABLE", "A3:116:PR", sub("NM1*PR*", lambda s: element(s, 9, "NOPE1")),
         sub("NM1*PR*", lambda s: element(s, 9, "EXT01"))),
    Case("FILING_INDICATOR", "A7:480:IL", sub("SBR*", "SBR*P*18*******QQ"),
         sub("SBR*", "SBR*P*18*******MB")),
    Case("SERVICE_DATES", "A7:187", sub("DTP*472*", "DTP*472*D8*20261301")),
    Case("SERVICE_DATES", "A7:187", sub("DTP*472*", "DTP*472*D8*20261121"),
         sub("DTP*472*", "DTP*472*D8*20261120")),
    Case("SERVICE_DATES", "A7:187", sub("DTP*472*", "DTP*472*RD8*20261010-20261001"),
         sub("DTP*472*", "DTP*472*RD8*20261001-20261010")),
    Case("OTHER_DATES", "A7:21", insert_after("CLM*", "DTP*431*D8*20260230"),
         insert_after("CLM*", "DTP*431*D8*20260228")),
    Case("BIRTH_DATE", "A7:158:IL", sub("DMG*", "DMG*D8*20261015*F"),
         sub("DMG*", "DMG*D8*19000101*F")),
    Case("BIRTH_DATE", "A7:158:IL", sub("DMG*", "DMG*D8*18700101*F")),
    Case("BIRTH_DATE", "A7:158:IL", sub("DMG*", "DMG*D8*19991332*F")),
    Case("ICD_QUALIFIER", "A7:254", sub("HI*", "HI*BK:4019"), sub("HI*", "HI*ABK:I10")),
    Case("ICD_CODE", "A7:254", sub("HI*", "HI*ABK:J06"), sub("HI*", "HI*ABK:J069")),
    Case("ICD_CODE", "A7:255", sub("HI*", "HI*ABK:J069*ABF:Q9999"),
         sub("HI*", "HI*ABK:J069*ABF:Q909")),
    Case("ICD_CODE", "A7:254", sub("HI*", "HI*ABK:J06.9")),
    Case("DIAGNOSIS_DUPLICATE", "A7:255", sub("HI*", "HI*ABK:J069*ABF:J069"),
         sub("HI*", "HI*ABK:J069*ABF:I10")),
    Case("PRINCIPAL_DIAGNOSIS", "A7:254", sub("HI*", "HI*ABK:W010XXA*ABF:S72001A"),
         sub("HI*", "HI*ABK:S72001A*ABF:W010XXA")),
    Case("PRINCIPAL_DIAGNOSIS", "A7:254", sub("HI*", "HI*ABK:S72001S*ABF:M8000XA")),
    Case("DIAGNOSIS_POINTER", "A7:477", sub("SV1*", lambda s: element(s, 7, "3")),
         sub("SV1*", lambda s: element(s, 7, "2:1"))),
    Case("DIAGNOSIS_POINTER", "A7:477", sub("SV1*", lambda s: element(s, 7, "1:13"))),
    Case("PROCEDURE_CODE", "A7:507", sub("SV1*", lambda s: s.replace("SV1*HC:", "SV1*ZZ:"))),
    Case("PROCEDURE_CODE", "A7:507", sub("SV1*", lambda s: element(s, 1, "HC:9921")),
         sub("SV1*", lambda s: element(s, 1, "HC:G0008"))),
    Case("MODIFIERS", "A7:453", sub("SV1*", lambda s: element(s, 1, "HC:99213:25:25")),
         sub("SV1*", lambda s: element(s, 1, "HC:99213:25:59"))),
    Case("MODIFIERS", "A7:453", sub("SV1*", lambda s: element(s, 1, "HC:99213:2"))),
    Case("PLACE_OF_SERVICE", "A7:249", clm05("98:B:1"), clm05("22:B:1")),
    Case("PLACE_OF_SERVICE", "A7:249", sub("SV1*", lambda s: element(s, 5, "98")),
         sub("SV1*", lambda s: element(s, 5, "11"))),
    Case("UNITS", "A7:476", sub("SV1*", lambda s: element(s, 4, "0")),
         sub("SV1*", lambda s: element(s, 4, "2.5"))),
    Case("NDC", "A7:218", insert_after("SV1*", "LIN**N4*1234567890", "CTP****2*UN"),
         insert_after("SV1*", "LIN**N4*12345678901", "CTP****2*UN")),
    Case("CLAIM_CHARGE", "A7:178", sub("CLM*", lambda s: element(s, 2, "0"))),
    Case("CLAIM_CHARGE", "A7:178", sub("CLM*", lambda s: element(s, 2, ""))),
    Case("LINE_CHARGE", "A7:178", sub("SV1*", lambda s: element(s, 2, "-5"))),
    Case("BALANCE", "A7:400", sub("CLM*", lambda s: element(s, 2, "1.00"))),
    Case("FREQUENCY_CODE", "A7:535", clm05("11:B:6")),
    Case("ORIGINAL_REFERENCE", "A6:464", clm05("11:B:7"),
         lambda span: insert_after("CLM*", "REF*F8*PAYERCLAIM123")(clm05("11:B:7")(span))),
    Case("ORIGINAL_REFERENCE", "A6:464", clm05("11:B:8")),
]  # fmt: skip


@pytest.fixture(scope="module")
def base_verdicts() -> list[ClaimVerdict]:
    return verdicts_of(render(base_segments()))


def test_base_batch_is_accepted(base_verdicts: list[ClaimVerdict]) -> None:
    assert [v.failures for v in base_verdicts] == [(), (), ()]
    assert all(v.accepted for v in base_verdicts)


def _ids(case: Case) -> str:
    return f"{case.edit}-{case.stc}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_edit_fails_only_its_claim(case: Case) -> None:
    verdicts = verdicts_of(mutated(case.bad))
    assert len(verdicts) == 3
    bad = verdicts[1]
    assert not bad.accepted
    assert (case.edit, case.stc) in {(f.edit, f.stc_code) for f in bad.failures}, bad.failures
    assert verdicts[0].accepted and verdicts[2].accepted


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.good], ids=[_ids(c) for c in CASES if c.good]
)
def test_edit_passes_nearby_good_value(case: Case) -> None:
    assert case.good is not None
    verdicts = verdicts_of(mutated(case.good))
    assert [v.failures for v in verdicts] == [(), (), ()]


def test_clm01_unique_in_batch() -> None:
    segs = base_segments()
    first_clm = next(s for s in segs if s.startswith("CLM*")).split("*")[1]
    verdicts = verdicts_of(mutated(sub("CLM*", lambda s: element(s, 1, first_clm))))
    assert [v.accepted for v in verdicts] == [False, False, True]
    for verdict in verdicts[:2]:
        assert {f.stc_code for f in verdict.failures} == {"A7:478"}


def test_duplicate_of_accepted_claim_is_rejected() -> None:
    data = render(base_segments())
    first = verdicts_of(data)
    recorded = {v.fingerprint for v in first if v.accepted}
    again = verdicts_of(data, context(recorded.__contains__))
    assert [v.accepted for v in again] == [False, False, False]
    assert all({f.stc_code for f in v.failures} == {"A3:78"} for v in again)


def test_duplicate_inside_one_batch_and_replacements_are_not_duplicates() -> None:
    segs = base_segments(2)
    start, end = claim_span(segs, 0)
    twin = [s for s in segs[start:end]]
    twin = [element(s, 1, "OTHERCLM01") if s.startswith("CLM*") else s for s in twin]
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    verdicts = verdicts_of(render([*segs[:se], *twin, *segs[se:]]))
    assert [v.accepted for v in verdicts] == [True, True, False]
    assert {f.stc_code for f in verdicts[2].failures} == {"A3:78"}
    assert verdicts[0].fingerprint == verdicts[2].fingerprint

    replacement = insert_after("CLM*", "REF*F8*PAYERCLAIM1")(
        [element(s, 5, "11:B:7") if s.startswith("CLM*") else s for s in twin]
    )
    verdicts = verdicts_of(render([*segs[:se], *replacement, *segs[se:]]))
    assert [v.accepted for v in verdicts] == [True, True, True]


def test_fingerprints_stable_and_distinct() -> None:
    a = [v.fingerprint for v in verdicts_of(render(base_segments(5)))]
    b = [claim_fingerprint(c) for c in claims_of(render(base_segments(5)))]
    assert a == b
    assert len(set(a)) == 5
    assert all(re.fullmatch(r"[0-9a-f]{64}", fp) for fp in a)
    # CLM01 is not part of it; the charge is
    renamed = verdicts_of(mutated(sub("CLM*", lambda s: element(s, 1, "NEWNUMBER1"))))
    assert renamed[1].fingerprint == a[1]
    changed = verdicts_of(mutated(insert_after("DTP*472*", "REF*6R*1")))
    assert changed[1].fingerprint == a[1]
    other_date = verdicts_of(mutated(sub("DTP*472*", "DTP*472*D8*20261111")))
    assert other_date[1].fingerprint != a[1]


# ------------------------------------------------------------------------------ the table


def test_table_is_well_formed() -> None:
    codes = [e.code for e in STANDARD_EDITS]
    assert len(codes) == len(set(codes))
    for edit in STANDARD_EDITS:
        assert re.fullmatch(r"[A-Z_]+", edit.code)
        assert edit.category in {"A3", "A6", "A7", "A8"}
        assert edit.status.isdigit()
        assert edit.entity is None or re.fullmatch(r"[0-9A-Z]{2,3}", edit.entity)
        assert edit.location and edit.message and callable(edit.check)


def test_every_edit_has_failing_and_passing_cases() -> None:
    covered = {c.edit for c in CASES} | {
        "CLAIM_ID_UNIQUE",
        "DUPLICATE",
        "REVENUE_CODE",  # institutional: see test_revenue_code
        # institutional: see test_edits_tr3.py
        "ADMISSION_DATE",
        "ADMISSION_TYPE",
        "ADMISSION_TYPE_CODE",
    }
    assert covered == {e.code for e in STANDARD_EDITS}


def test_revenue_code() -> None:
    data = corpus("837i/institutional-claim.837i")
    ok = verdicts_of(data)
    assert not any(f.edit == "REVENUE_CODE" for f in ok[0].failures)
    bad = verdicts_of(data.replace(b"SV2*0305*", b"SV2*305*"))
    assert "A7:455" in {f.stc_code for f in bad[0].failures if f.edit == "REVENUE_CODE"}


def test_edit_sets_compose_and_disable() -> None:
    def no_sim02(claim: Claim, scope: object) -> list[Hit]:
        return [Hit("This payer takes no claims today.")] if claim.payer_id == "SIM02" else []

    payer_table = (Edit("SIM02_CLOSED", "A3", "116", "PR", "2010BB", "closed", no_sim02),)
    edits = DEFAULT_EDIT_SET.extend("sim02", payer_table)
    assert edits.edits[-1].code == "SIM02_CLOSED"
    claims = claims_of(render(base_segments(4)))
    verdicts = run_edits(claims, context(), edits)
    assert [v.accepted for v in verdicts] == [c.payer_id != "SIM02" for c in claims]
    assert not all(v.accepted for v in verdicts)

    lenient = DEFAULT_EDIT_SET.without("TIN")
    assert "TIN" not in {e.code for e in lenient.edits}
    verdicts = run_edits(claims_of(mutated(sub("REF*EI*", "REF*EI*1"))), context(), lenient)
    assert all(v.accepted for v in verdicts)


def test_failing_check_rejects_only_its_claim() -> None:
    def broken(claim: Claim, scope: object) -> list[Hit]:
        if claim.index == 1:
            raise ZeroDivisionError
        return []

    edits = DEFAULT_EDIT_SET.extend("broken", (Edit("BROKEN", "A7", "21", None, "", "", broken),))
    verdicts = run_edits(claims_of(render(base_segments())), context(), edits)
    assert [v.accepted for v in verdicts] == [True, False, True]
    assert verdicts[1].failures[0].edit == INTERNAL_ERROR_CODE


def test_context_for_profile() -> None:
    from gateway.profiles import load_partners

    partners = load_partners(ROOT / "partners")
    demo = partners.get("demo-billing")
    assert demo is not None
    payer_ids = [p for partner in partners.partners.values() for p in partner.payer_ids]
    ctx = context_for(demo, payer_ids, today=TODAY)
    assert ctx.npis == DEMO_NPIS and ctx.tins == DEMO_TINS
    assert {"SIM01", "SIM02", "EXT01"} <= ctx.payer_ids
    assert all(v.accepted for v in run_edits(claims_of(render(base_segments())), ctx))


def test_icd_lookup() -> None:
    assert icd10_status("J069") == "billable"
    assert icd10_status("M545") == "header"
    assert icd10_status("J06.9") == "unknown"
    assert icd10_status("QQQQ") == "unknown"


# ------------------------------------------------------------------------------- no PHI


PHI_MUTATIONS: list[Mutation] = [c.bad for c in CASES]


def test_failure_messages_carry_no_phi() -> None:
    for mutation in PHI_MUTATIONS:
        data = mutated(mutation)
        claims = claims_of(data)
        for verdict in run_edits(claims, context()):
            claim = verdict.claim
            secrets = {claim.claim_id, claim.member_id}
            for party in (claim.subscriber, claim.patient):
                if party is not None:
                    secrets |= {party.last_or_org, party.first}
            if claim.subscriber_dob is not None:
                secrets.add(claim.subscriber_dob.raw)
            secrets |= {dx.code for dx in claim.diagnoses}
            secrets = {s for s in secrets if len(s) >= 3}
            for failure in verdict.failures:
                for secret in secrets:
                    assert secret not in failure.message, (failure.edit, failure.message)
            assert not any(str(s) in repr(verdict.audit()) for s in secrets)


# ------------------------------------------------------------------------------ property


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=4000), st.binary(min_size=0, max_size=6)),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=0, max_value=4000),
)
def test_extract_and_edit_never_raise(edits: list[tuple[int, bytes]], cut: int) -> None:
    data = bytearray(render(base_segments(3)))
    for offset, chunk in edits:
        offset %= len(data) + 1
        data[offset : offset + len(chunk)] = chunk
    for payload in (bytes(data), bytes(data[: len(data) - cut % len(data)])):
        claims = claims_of(payload)
        verdicts = run_edits(claims, context())
        assert len(verdicts) == len(claims)
        assert not any(f.edit == INTERNAL_ERROR_CODE for v in verdicts for f in v.failures)


ELEMENT_VALUES = st.sampled_from(
    ["", "0", "-1", "1e999", "NaN", "99999999999999999999", ":::", "ABK:", "20261340", "X" * 90]
)


def mutate_elements(
    data: st.DataObject, segs: list[str], values: st.SearchStrategy[str]
) -> list[str]:
    """``segs`` with one to six elements of claim segments set to drawn ``values``."""
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        index = data.draw(st.integers(min_value=3, max_value=len(segs) - 4))
        parts = segs[index].split("*")
        pos = data.draw(st.integers(min_value=1, max_value=len(parts) + 2))
        segs[index] = element(segs[index], pos, data.draw(values))
    return segs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_element_mutations_never_raise(data: st.DataObject) -> None:
    segs = mutate_elements(data, base_segments(2), ELEMENT_VALUES)
    claims = claims_of(render(segs))
    verdicts = run_edits(claims, context())
    assert not any(f.edit == INTERNAL_ERROR_CODE for v in verdicts for f in v.failures)
