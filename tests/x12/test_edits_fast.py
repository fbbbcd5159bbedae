"""The edits' clean-claim fast paths give the answers of the full checks.

* each standard check's quick test only says "clean" when its full check (``_<edit>_hits``,
  the check as it always was) finds nothing;
* :func:`run_edits` with the standard table (run in one call, ``_standard_failures``) gives
  the verdicts of the same rows run one by one, also when a check raises;
* :func:`claim_fingerprint` hashes the text the original joins built.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.x12 import edits as edits_module
from gateway.x12.claims import Claim
from gateway.x12.edits import (
    DEFAULT_EDIT_SET,
    INTERNAL_ERROR_CODE,
    STANDARD_EDITS,
    ClaimVerdict,
    Edit,
    EditContext,
    EditSet,
    Hit,
    claim_fingerprint,
    run_edits,
)
from tests.x12.conftest import CORPUS
from tests.x12.test_edits import (
    CASES,
    DEMO_NPIS,
    DEMO_TINS,
    ELEMENT_VALUES,
    PAYERS,
    base_segments,
    claims_of,
    element,
    mutate_elements,
    mutated,
    render,
)


def _contexts() -> list[EditContext]:
    return [
        EditContext("demo", DEMO_NPIS, DEMO_TINS, PAYERS, date(2026, 11, 20)),
        EditContext(
            "demo",
            DEMO_NPIS,
            DEMO_TINS,
            PAYERS,
            date(2026, 10, 5),
            seen_fingerprints=lambda fp: fp[-1] in "05",
        ),
        EditContext("demo", frozenset(), frozenset(), frozenset(), date(2015, 9, 1)),
        EditContext(
            "demo",
            DEMO_NPIS,
            DEMO_TINS,
            PAYERS,
            date(2030, 1, 1),
            icd10=lambda code: "billable" if code[:1] in "JIEZ" else "header",
        ),
    ]


def _one_by_one(rows: Iterable[Edit]) -> EditSet:
    """The same rows, each check wrapped so that run_edits runs them one by one."""

    def wrapped(check: Callable[..., Iterable[Hit]]) -> Callable[[Claim, object], list[Hit]]:
        return lambda claim, scope: list(check(claim, scope))

    table = tuple(
        Edit(e.code, e.category, e.status, e.entity, e.location, e.message, wrapped(e.check))
        for e in rows
    )
    return EditSet("one-by-one", (("one-by-one", table),))


def _answers(verdicts: list[ClaimVerdict]) -> list[tuple[object, ...]]:
    return [(v.accepted, v.fingerprint, v.failures) for v in verdicts]


def _batches() -> list[bytes]:
    batches = [render(base_segments(4)), mutated(lambda span: span)]
    for case in CASES:
        batches.append(mutated(case.bad))
        if case.good is not None:
            batches.append(mutated(case.good))
    for folder in ("837p", "837i", "837p-negative"):
        batches += [path.read_bytes() for path in sorted((CORPUS / folder).iterdir())]
    return batches


BATCHES = _batches()


def _full_check(edit: Edit) -> Callable[..., Iterable[Hit]] | None:
    """The full check behind a standard row (``check_npi`` -> ``_npi_hits``)."""
    name = edit.check.__name__.removeprefix("check_")
    found: Callable[..., Iterable[Hit]] | None = getattr(edits_module, f"_{name}_hits", None)
    return found


def test_every_standard_check_has_its_full_check() -> None:
    missing = [e.code for e in STANDARD_EDITS if _full_check(e) is None]
    assert missing == ["DUPLICATE"]  # check_duplicate is its own full check


class _FixedScope:
    def __init__(self, context: EditContext) -> None:
        self.context = context

    def claim_id_count(self, claim_id: str) -> int:
        return 1

    def seen_before(self, claim: Claim) -> bool:
        return False


def _quick_tests_agree(claims: list[Claim]) -> None:
    for context in _contexts():
        scope = _FixedScope(context)
        for claim in claims:
            for edit in STANDARD_EDITS:
                full = _full_check(edit)
                if full is None:
                    continue
                try:
                    expected: tuple[Hit, ...] | str = tuple(full(claim, scope))
                except Exception as exc:
                    expected = type(exc).__name__
                try:
                    got: tuple[Hit, ...] | str = tuple(edit.check(claim, scope))
                except Exception as exc:
                    got = type(exc).__name__
                assert got == expected, (edit.code, claim.index)


@pytest.mark.parametrize("data", BATCHES)
def test_quick_tests_never_hide_a_finding(data: bytes) -> None:
    _quick_tests_agree(claims_of(data))


@pytest.mark.parametrize("data", BATCHES)
def test_standard_table_in_one_call_is_the_rows_one_by_one(data: bytes) -> None:
    claims = claims_of(data)
    for context in _contexts():
        for fused, rows in (
            (DEFAULT_EDIT_SET, STANDARD_EDITS),
            (
                DEFAULT_EDIT_SET.extend("more", STANDARD_EDITS[:3]),
                STANDARD_EDITS + STANDARD_EDITS[:3],
            ),
        ):
            assert _answers(run_edits(claims, context, fused)) == _answers(
                run_edits(claims, context, _one_by_one(rows))
            )


def test_a_raising_check_fails_only_its_edit() -> None:
    claims = claims_of(render(base_segments(3)))

    def broken_lookup(code: str) -> edits_module.IcdStatus:
        raise RuntimeError("lookup down")

    def broken_store(fingerprint: str) -> bool:
        raise RuntimeError("store down")

    base = _contexts()[0]
    for context, code in (
        (
            EditContext("d", DEMO_NPIS, DEMO_TINS, PAYERS, base.today, icd10=broken_lookup),
            "ICD_CODE",
        ),
        (
            EditContext(
                "d", DEMO_NPIS, DEMO_TINS, PAYERS, base.today, seen_fingerprints=broken_store
            ),
            "DUPLICATE",
        ),
    ):
        verdicts = run_edits(claims, context)
        assert _answers(verdicts) == _answers(
            run_edits(claims, context, _one_by_one(STANDARD_EDITS))
        )
        for verdict in verdicts:
            assert [f.edit for f in verdict.failures] == [INTERNAL_ERROR_CODE]
            assert verdict.failures[0].message == (
                f"The claim could not be checked ({code} edit failed)."
            )


def _reference_fingerprint(claim: Claim) -> str:
    """claim_fingerprint as first written (nested joins)."""

    def amount(value: object, raw: str) -> str:
        if value is None:
            return "?" + raw.strip()
        assert isinstance(value, Decimal)
        return format(value.normalize(), "f") if value else "0"

    person = claim.patient
    parts: list[str] = [
        "fp1",
        claim.kind,
        claim.billing_npi,
        claim.billing_tin,
        claim.payer_id.strip().upper(),
        claim.member_id.strip().upper(),
        "|".join(
            (
                person.last_or_org.strip().upper(),
                person.first.strip().upper(),
                claim.patient_dob.raw if claim.patient_dob else "",
            )
        )
        if person is not None
        else "",
        amount(claim.charge, claim.charge_raw),
        claim.facility_code,
        ",".join(d.qualifier + ":" + d.code.strip().upper() for d in claim.diagnoses),
    ]
    for line in claim.lines:
        dates = ",".join(
            f"{d.start.isoformat()}/{d.end.isoformat()}" if d.start and d.end else "?" + d.raw
            for d in line.service_dates
        )
        parts.append(
            "|".join(
                (
                    line.procedure_qualifier,
                    line.procedure_code.strip().upper(),
                    ",".join(m.upper() for m in line.modifiers),
                    line.revenue_code,
                    amount(line.units, line.units_raw),
                    amount(line.charge, line.charge_raw),
                    dates,
                )
            )
        )
    if not any(line.service_dates for line in claim.lines):
        parts.append(",".join(d.raw for d in claim.dates if d.qualifier in ("434", "472", "435")))
    return hashlib.sha256("\x1e".join(parts).encode("utf-8", "replace")).hexdigest()


@pytest.mark.parametrize("data", BATCHES)
def test_fingerprint_text_unchanged(data: bytes) -> None:
    for claim in claims_of(data):
        assert claim_fingerprint(claim) == _reference_fingerprint(claim)
        assert claim_fingerprint(claim) == _reference_fingerprint(claim)  # memos warm


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_claims_agree(data: st.DataObject) -> None:
    values = st.one_of(ELEMENT_VALUES, st.sampled_from(MORE_VALUES))
    segs = mutate_elements(data, base_segments(2), values)
    claims = claims_of(render(segs))
    _quick_tests_agree(claims)
    for claim in claims:
        assert claim_fingerprint(claim) == _reference_fingerprint(claim)
    for context in _contexts():
        assert _answers(run_edits(claims, context)) == _answers(
            run_edits(claims, context, _one_by_one(STANDARD_EDITS))
        )


MORE_VALUES = [
    "-0", "0.00", "01", "13", "1:2:3:4:5", "HC:99213:25:25", "HC:99213:ab:AB", "HC:9921F",
    "D8", "RD8", "DT", "TM", "20261001-20260901", "20261001-20261002", "202610011200", "2460",
    "ABK:V0001", "ABK:S12345S", "ABF:j069", "ABF:J06.9", "BK:4019", "BF:V123", "APR:I10",
    "XX", "1234567893", "1234567890", "N4", "7", "8", "12345678901", "62701", "PO BOX 12",
    "18700101", "20270101", "ABK:M545", "ABF:i10", " sim01 ", "1.5",
]  # fmt: skip


def test_random_batches_agree() -> None:
    rng = random.Random(12)
    for _ in range(20):
        segs = base_segments(3, seed=rng.randrange(1000))
        for _ in range(rng.randint(1, 5)):
            index = rng.randrange(3, len(segs) - 4)
            pos = rng.randint(1, len(segs[index].split("*")) + 1)
            segs[index] = element(segs[index], pos, rng.choice(MORE_VALUES))
        claims = claims_of(render(segs))
        _quick_tests_agree(claims)
        for context in _contexts():
            assert _answers(run_edits(claims, context)) == _answers(
                run_edits(claims, context, _one_by_one(STANDARD_EDITS))
            )
