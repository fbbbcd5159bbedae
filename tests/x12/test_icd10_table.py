"""The packaged ICD-10-CM table agrees with the simple-icd-10-cm package it was made from."""

from __future__ import annotations

import warnings

import pytest

from gateway.x12.edits import _icd_table, icd10_status


def test_table_matches_the_package() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        icd = pytest.importorskip("simple_icd_10_cm")
    codes, billable = _icd_table()
    source = [c for c in icd.get_all_codes(with_dots=False) if not icd.is_chapter_or_block(c)]
    assert codes == frozenset(source)
    assert billable == frozenset(c for c in source if icd.is_leaf(c))


def test_status() -> None:
    assert icd10_status("J069") == "billable"
    assert icd10_status("M545") == "header"  # a category, not billable
    assert icd10_status("Z9999") == "unknown"
    assert icd10_status("J06.9") == "unknown"  # the X12 form has no decimal point
    assert icd10_status("A00-A09") == "unknown"  # a block is not a code
