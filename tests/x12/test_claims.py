"""Claim extraction: corpus 837P/837I files, the HL hierarchy, positions, odd input."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from gateway import _native
from gateway.x12.claims import (
    KEEP_LEVELS,
    Claim,
    ClaimStream,
    Place,
    TransactionSet,
    extract_claims,
    iter_transaction_sets,
    parse_date_value,
    parse_decimal,
)
from gateway.x12.segments import Delimiters, Segment
from gateway.x12.tokenizer import tokenize
from tests.x12.conftest import CORPUS, corpus
from tests.x12.test_edits import base_segments, render

DELIMS = Delimiters(element="*", segment="~", component=":", repetition="^")


def claims_of(data: bytes) -> list[Claim]:
    return [
        claim
        for ts in iter_transaction_sets(data)
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08)
    ]


def test_uhin_837p() -> None:
    [claim] = claims_of(corpus("837p/uhin-837.edi"))
    assert claim.kind == "professional"
    assert claim.header.implementation.startswith("005010X222")
    assert claim.header.submitter is not None and claim.header.submitter.entity == "41"
    assert claim.billing_provider is not None and claim.billing_provider.id_qualifier == "XX"
    assert claim.billing_npi == claim.billing_provider.id
    assert claim.billing_tin.isdigit()
    assert claim.payer is not None and claim.payer.entity == "PR"
    assert claim.subscriber is not None and claim.subscriber.entity == "IL"
    assert claim.charge is not None and claim.charge > 0
    assert claim.facility_qualifier == "B" and claim.frequency_code == "1"
    assert claim.diagnoses and claim.diagnoses[0].role == "principal"
    assert claim.diagnoses[0].pointer == 1
    assert claim.lines and all(line.segment == "SV1" for line in claim.lines)
    assert claim.problems == ()
    assert claim.service_period() is not None


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (CORPUS / "837p").glob("demo.*.837")) or ["demo.example1.837"],
)
def test_demo_837p_files(name: str) -> None:
    data = corpus(f"837p/{name}")
    claims = claims_of(data)
    assert len(claims) == data.count(b"CLM*")
    for claim in claims:
        assert claim.kind == "professional"
        assert claim.lines
        assert claim.subscriber is not None and claim.payer is not None
        for line in claim.lines:
            assert line.where.segment_id in ("SV1", "LX")


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (CORPUS / "837i").glob("*")) or ["lfh-demo.837i"]
)
def test_837i_files(name: str) -> None:
    data = corpus(f"837i/{name}")
    claims = claims_of(data)
    assert len(claims) == data.count(b"CLM*")
    for claim in claims:
        assert claim.kind == "institutional"
        assert claim.lines and all(line.segment == "SV2" for line in claim.lines)
        assert all(len(line.revenue_code) == 4 for line in claim.lines)
        assert claim.problems == ()


def test_institutional_details() -> None:
    [claim] = claims_of(corpus("837i/institutional-claim.837i"))
    assert claim.facility_qualifier == "A"
    assert claim.bill_type == claim.facility_code + claim.frequency_code
    assert [(d.qualifier, d.role) for d in claim.diagnoses] == [
        ("BK", "principal"),
        ("BF", "other"),
        ("BF", "other"),
    ]
    assert [d.pointer for d in claim.diagnoses] == [1, 2, 3]
    assert any(d.qualifier == "434" for d in claim.dates)
    taxonomy = claim.taxonomies[0]
    assert taxonomy.qualifier == "BI" and taxonomy.entity == "85"
    # the COB loop's NM1*IL/NM1*PR (2330A/B) are not this claim's subscriber/payer
    assert claim.payer is not None and claim.payer.id == "00435"


def test_hierarchy_with_patient_and_positions() -> None:
    segs = base_segments(2)
    # make claim 2 a dependent's: HL 22 child code 1, then HL 23 + PAT + NM1*QC + DMG
    hl22 = [i for i, s in enumerate(segs) if s.startswith("HL*") and "*22*" in s][1]
    hl_id = int(segs[hl22].split("*")[1])
    segs[hl22] = segs[hl22][:-1] + "1"
    payer = next(i for i in range(hl22, len(segs)) if segs[i].startswith("NM1*PR*"))
    segs[payer + 1 : payer + 1] = [
        f"HL*{hl_id + 1}*{hl_id}*23*0",
        "PAT*19",
        "NM1*QC*1*KID*PAT",
        "DMG*D8*20150101*F",
    ]
    data = render(segs)
    claims = claims_of(data)
    assert len(claims) == 2
    kid = claims[1]
    assert kid.patient is not None and kid.patient.last_or_org == "KID"
    assert kid.person is kid.patient
    assert kid.patient_dob is not None and kid.patient_dob.raw == "20150101"
    assert kid.subscriber is not None and kid.member_id.startswith("MBR")
    assert claims[0].patient is None and claims[0].person is claims[0].subscriber
    # positions count ST = 1 and point at the real segments
    ts = next(iter_transaction_sets(data))
    for claim in claims:
        assert ts.segments[claim.where.position - 1].id == "CLM"
        for line in claim.lines:
            assert ts.segments[line.where.position - 1].id == "SV1"
            assert ts.segments[line.lx.position - 1].id == "LX"
        assert claim.billing_provider is not None
        assert ts.segments[claim.billing_provider.where.position - 1].elements[0] == "85"


def test_claim_line_details() -> None:
    segs = base_segments(1)
    sv1 = next(i for i, s in enumerate(segs) if s.startswith("SV1*"))
    segs[sv1] = "SV1*HC:99213:25:59*95.00*UN*2*11**1:2"
    segs[sv1 + 1 : sv1 + 1] = ["LIN**N4*12345678901", "CTP****2*UN"]
    segs.insert(sv1 + 4, "REF*6R*LINE0001")
    [claim] = claims_of(render(segs))
    line = claim.lines[0]
    assert line.procedure_qualifier == "HC" and line.procedure_code == "99213"
    assert line.modifiers == ("25", "59")
    assert line.charge == Decimal("95.00") and line.units == Decimal(2)
    assert line.place_of_service == "11"
    assert line.diagnosis_pointers == ("1", "2")
    assert [(d.qualifier, d.code, d.quantity_raw, d.unit) for d in line.drugs] == [
        ("N4", "12345678901", "2", "UN")
    ]
    assert line.control_number == "LINE0001"
    assert [d.qualifier for d in line.service_dates] == ["472"]


def test_dental_sv3() -> None:
    body = [
        "ST*837*0001*005010X224A2",
        "BHT*0019*00*1*20261120*1200*CH",
        "NM1*41*2*SUB*****46*S1",
        "HL*1**20*1",
        "NM1*85*2*DENTAL*****XX*1234567893",
        "REF*EI*123456789",
        "HL*2*1*22*0",
        "SBR*P*18*******CI",
        "NM1*IL*1*DOE*JO****MI*M1",
        "NM1*PR*2*PAYER*****PI*SIM01",
        "CLM*D1*80***11:B:1*Y*A*Y*Y",
        "HI*ABK:K0251",
        "LX*1",
        "SV3*AD:D1110*80*11***1*****1",
        "DTP*472*D8*20261101",
        "SE*16*0001",
    ]
    segments = [Segment(*_split(s), line=n) for n, s in enumerate(body, start=1)]
    [claim] = extract_claims(segments, DELIMS)
    assert claim.kind == "dental"
    line = claim.lines[0]
    assert (line.procedure_qualifier, line.procedure_code) == ("AD", "D1110")
    assert line.units_raw == "1" and line.place_of_service == "11"
    assert line.diagnosis_pointers == ("1",)


def _split(text: str) -> tuple[str, tuple[str, ...]]:
    parts = text.split("*")
    return parts[0], tuple(parts[1:])


def test_odd_structure_becomes_problems() -> None:
    body = ["ST*837*0001*005010X222A1", "CLM**abc", "HL*1*9*22*0", "CLM*X", "LX*1", "SE*6*0001"]
    segments = [Segment(*_split(s), line=n) for n, s in enumerate(body, start=1)]
    claims = extract_claims(segments, DELIMS)
    assert len(claims) == 2
    assert claims[0].charge is None
    messages = [m for c in claims for m, _ in c.problems]
    assert any("HL 22/23" in m for m in messages)
    assert any("billing provider" in m for m in messages)
    assert any("service lines" in m for m in messages)
    assert extract_claims([], DELIMS) == []


def test_iter_transaction_sets_maps_envelopes() -> None:
    data = corpus("837p-negative/imsweb-x12_multiple_st.txt")
    sets = list(iter_transaction_sets(data))
    assert len(sets) == data.count(b"ST*837")
    assert [(s.interchange_index, s.group_index) for s in sets] == [(0, 0)] * len(sets)
    assert [s.set_index for s in sets] == list(range(len(sets)))
    assert all(s.segments[0].id == "ST" and s.segments[-1].id == "SE" for s in sets)
    isa_count = sum(1 for t in tokenize(data) if not isinstance(t, Segment))
    assert isa_count >= 1


def test_parsers() -> None:
    where = Place("DTP", 1, 1)
    assert parse_date_value("472", "RD8", "20260101-20260105", where).valid
    assert not parse_date_value("472", "RD8", "20260101", where).valid
    assert not parse_date_value("472", "D8", "20260230", where).valid
    assert parse_date_value("435", "DT", "202601011230", where).valid
    assert parse_decimal("12.50") == Decimal("12.50")
    assert parse_decimal("1e5") is None and parse_decimal("NaN") is None
    assert parse_decimal("") is None and parse_decimal("1" * 40) is None


# ------------------------------------------------------------------ ClaimStream

CLAIM_FILES = sorted(
    p.relative_to(CORPUS).as_posix()
    for folder in ("837p", "837i", "837p-negative")
    for p in (CORPUS / folder).glob("*")
    if p.is_file()
)


def _streamed(ts: TransactionSet, keep_levels: int = KEEP_LEVELS) -> list[Claim]:
    stream = ClaimStream(ts.delimiters, ts.gs08, keep_levels)
    out: list[Claim] = []
    for segment in ts.segments:
        done = stream.feed(segment)
        if done is not None:
            out += done
    return out + stream.finish()


@pytest.mark.parametrize("name", CLAIM_FILES or ["837p/uhin-837.edi"])
def test_claim_stream_finds_what_extract_claims_finds(name: str) -> None:
    for ts in iter_transaction_sets(corpus(name)):
        whole = extract_claims(ts.segments, ts.delimiters, ts.gs08)
        unknown_length = [replace(c, header=replace(c.header, segment_count=0)) for c in whole]
        assert _streamed(ts) == unknown_length


def test_claim_stream_hands_each_claim_over_when_it_ends() -> None:
    ts = next(iter_transaction_sets(render(base_segments(2))))
    stream = ClaimStream(ts.delimiters, ts.gs08)
    ended = [(segment.id, stream.feed(segment)) for segment in ts.segments]
    # None for every segment that ends no claim; the second claim's HL ends the first one
    assert [(sid, [c.index for c in done]) for sid, done in ended if done is not None] == [
        ("HL", [0])
    ]
    assert [c.index for c in stream.finish()] == [1]
    assert stream.finish() == []


def test_claim_stream_forgets_old_levels_only_when_asked() -> None:
    body = [
        "ST*837*0001*005010X222A1",
        "HL*1**20*1",
        "NM1*85*2*BILLING*****XX*1234567893",
        "HL*2*1*22*1",
        "NM1*IL*1*DOE*JO****MI*M1",
        "HL*3*1*22*0",
        "HL*4*1*22*0",
        "HL*5*2*23*0",  # its parent, HL 2, is three subscriber levels back
        "NM1*QC*1*DOE*KID",
        "CLM*K1*10***11:B:1",
        "LX*1",
        "SV1*HC:99213*10*UN*1***1",
        "SE*13*0001",
    ]
    segments = [Segment(*_split(s), line=n) for n, s in enumerate(body, start=1)]
    ts = TransactionSet(0, 0, 0, "1", "1", "005010X222A1", DELIMS, tuple(segments))
    [kept] = _streamed(ts, keep_levels=0)
    assert kept.problems == () and kept.subscriber is not None and kept.patient is not None
    assert [kept] == [
        replace(c, header=replace(c.header, segment_count=0))
        for c in extract_claims(segments, DELIMS)
    ]
    [forgot] = _streamed(ts, keep_levels=1)  # HL 2 dropped once three others came after it
    assert [m for m, _ in forgot.problems] == [
        "the claim has no billing provider (2010AA)",
        "the claim has no subscriber (2010BA)",
    ]


@pytest.mark.skipif(not _native.compiled(), reason="the mark takes effect compiled only")
def test_claim_records_are_not_tracked_by_the_cycle_collector() -> None:
    """@mypyc_attr(acyclic=True): the collector never walks a claim's records."""
    [claim] = claims_of(corpus("837p/uhin-837.edi"))
    line = claim.lines[0]
    records: list[object] = [claim, claim.header, claim.where, line, *line.dates]
    records += [claim.subscriber, claim.subscriber_dob, claim.diagnoses[0], *claim.addresses]
    assert all(r is not None and not gc.is_tracked(r) for r in records)


def _period_by_definition(claim: Claim) -> tuple[object, object] | None:
    """``service_period`` as it is defined: over :meth:`Claim.service_dates` (line dates,
    else the claim's 472/434), the readable ones' earliest start and latest end."""
    valid = [d for d in claim.service_dates() if d.start is not None and d.end is not None]
    if not valid:
        return None
    return min(d.start for d in valid if d.start), max(d.end for d in valid if d.end)


def _dated(segments: list[str], old: str, new: str) -> bytes:
    return render([s.replace(old, new, 1) if s.startswith("DTP*472") else s for s in segments])


def _claim_dates(segments: list[str], dtp: str) -> list[str]:
    """The lines' DTP*472s dropped, ``dtp`` in each claim's 2300 (after its HI)."""
    out = []
    for segment in segments:
        if not segment.startswith("DTP*472"):
            out.append(segment)
        if segment.startswith("HI*"):
            out.append(dtp)
    return out


def test_service_period_is_its_definition() -> None:
    """Over every corpus 837 and claims whose dates are missing, ranges, unreadable, or only
    at claim level (DTP*472 / DTP*434 in 2300)."""
    files = [p.read_bytes() for kind in ("837p", "837i") for p in sorted((CORPUS / kind).glob("*"))]
    base = base_segments(4)
    files += [
        _dated(base, "D8*2026100", "RD8*20260930-2026100"),
        _dated(base, "D8*2026100", "D8*2026130"),  # unreadable (no such day)
        render([s for s in base if not s.startswith("DTP*472")]),  # no line dates at all
        render([s.replace("DTP*472", "DTP*434") for s in base]),  # a line's 434 is not one
        render(_claim_dates(base, "DTP*434*RD8*20261001-20261005")),
        render(_claim_dates(base, "DTP*472*D8*20261003")),
        render(_claim_dates(base, "DTP*472*D8*20261399")),
    ]
    seen = 0
    periods = set()
    for data in files:
        for claim in claims_of(data):
            assert claim.service_period() == _period_by_definition(claim)
            seen += 1
            periods.add(claim.service_period())
    assert seen > 20
    assert None in periods and (date(2026, 10, 1), date(2026, 10, 5)) in periods
    assert (date(2026, 10, 3), date(2026, 10, 3)) in periods
