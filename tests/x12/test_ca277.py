"""277CA (005010X214): a mixed batch rejects exactly its bad claims; every 277CA we build
validates with pyx12's X214 map and re-tokenises with our own counts right; pyx12's known
X214 map defects are pinned down on the TR3's own example."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest

from gateway.x12.acks import Gateway
from gateway.x12.ca277 import AckBatch, _amount, build_277ca, format_amount
from gateway.x12.claims import extract_claims, iter_transaction_sets
from gateway.x12.edits import ClaimVerdict, run_edits
from gateway.x12.segments import Segment
from gateway.x12.tokenizer import IsaHeader, tokenize
from tests.x12.conftest import corpus, pyx12_check
from tests.x12.test_edits import (
    base_segments,
    claim_span,
    context,
    element,
    insert_after,
    render,
    sub,
)

GATEWAY = Gateway("ZZ", "CLEARINGHOUSE")
NOW = datetime(2026, 11, 20, 12, 5)
RECEIVED = date(2026, 11, 20)


def controls() -> Callable[[], int]:
    counter = itertools.count(41)
    return lambda: next(counter)


def batches_of(data: bytes, trace: str = "F1") -> list[AckBatch]:
    out = []
    for ts in iter_transaction_sets(data):
        claims = extract_claims(ts.segments, ts.delimiters, ts.gs08)
        out.append(
            AckBatch(run_edits(claims, context()), received=RECEIVED, trace=f"{trace}-{ts.gs06}")
        )
    return out


def build(batches: list[AckBatch], usage: str = "T") -> bytes:
    built = build_277ca(
        batches,
        gateway=GATEWAY,
        receiver=("ZZ", "DEMOBILLING"),
        usage=usage,
        next_control=controls(),
        now=NOW,
        clearinghouse_name="DEMO CLEARINGHOUSE",
    )
    return built.content


def check_structure(content: bytes) -> list[Segment]:
    """Our tokenizer reads it back; SE01/GE01/IEA01 and control numbers agree."""
    tokens = list(tokenize(content))
    assert isinstance(tokens[0], IsaHeader)
    isa13 = tokens[0].segment.elements[12]
    segments = [t for t in tokens[1:] if isinstance(t, Segment)]
    assert len(segments) == len(tokens) - 1
    groups = [s for s in segments if s.id == "GS"]
    assert segments[-1].id == "IEA" and segments[-1].elements == (str(len(groups)), isa13)
    gs = groups[0]
    ge = next(s for s in segments if s.id == "GE")
    sts = [i for i, s in enumerate(segments) if s.id == "ST"]
    assert ge.elements == (str(len(sts)), gs.elements[5])
    for start in sts:
        end = next(i for i in range(start, len(segments)) if segments[i].id == "SE")
        se = segments[end]
        assert se.elements == (str(end - start + 1), segments[start].elements[1])
    return segments


def assert_pyx12_valid(content: bytes) -> None:
    ok, _report, log = pyx12_check(content)
    assert ok, log


def claim_statuses(segments: list[Segment]) -> dict[str, list[str]]:
    """TRN*2 (CLM01) → STC01s of the 2200D that follows it."""
    out: dict[str, list[str]] = {}
    current: str | None = None
    in_patient = False
    for seg in segments:
        if seg.id == "HL":
            in_patient = seg.elements[2] == "PT"
            current = None
        elif seg.id == "TRN" and in_patient:
            current = seg.elements[1]
            out[current] = []
        elif seg.id == "STC" and current is not None:
            out[current].append(seg.elements[0])
    return out


def mixed_batch() -> tuple[bytes, set[int]]:
    """Six claims; claims 1, 3 and 4 each carry one defect."""
    segs = base_segments(6)
    defects = {
        1: sub("NM1*PR*", lambda s: element(s, 9, "NOPE1")),
        3: sub("SV1*", lambda s: element(s, 7, "4")),
        4: insert_after("HI*", "NM1*82*1*DOE*JANE****XX*1234567890"),
    }
    for k in sorted(defects, reverse=True):
        start, end = claim_span(segs, k)
        segs[start:end] = defects[k](segs[start:end])
    return render(segs), set(defects)


def test_mixed_batch_rejects_exactly_the_bad_claims() -> None:
    data, bad = mixed_batch()
    batches = batches_of(data)
    verdicts: list[ClaimVerdict] = list(batches[0].verdicts)
    assert {i for i, v in enumerate(verdicts) if not v.accepted} == bad
    content = build(batches)
    segments = check_structure(content)
    assert_pyx12_valid(content)

    statuses = claim_statuses(segments)
    # grouped under their billing provider (2000C), so compare as sets
    assert sorted(statuses) == sorted(v.claim_id for v in verdicts)
    for index, verdict in enumerate(verdicts):
        codes = statuses[verdict.claim_id]
        if index in bad:
            assert codes and all(c.split(":")[0] in {"A3", "A6", "A7", "A8"} for c in codes)
        else:
            assert codes == ["A1:20"]
    assert statuses[verdicts[1].claim_id] == ["A3:116:PR"]
    assert statuses[verdicts[3].claim_id] == ["A7:477"]
    assert statuses[verdicts[4].claim_id] == ["A7:562:82"]

    qty = {s.elements[0]: s.elements[1] for s in segments if s.id == "QTY"}
    assert qty["90"] == "3" and qty["AA"] == "3"
    amounts = [s for s in segments if s.id == "AMT"]
    accepted = sum((v.claim.charge or Decimal(0) for v in verdicts if v.accepted), Decimal(0))
    rejected = sum((v.claim.charge or Decimal(0) for v in verdicts if not v.accepted), Decimal(0))
    assert amounts[0].elements == ("YU", format_amount(accepted))
    assert amounts[1].elements == ("YY", format_amount(rejected))
    # STC12 explains in plain words, without PHI
    texts = [s.elements[11] for s in segments if s.id == "STC" and len(s.elements) >= 12]
    assert any("diagnosis pointer 1 points to diagnosis 4" in t for t in texts)
    assert not any(v.claim.member_id in t for v in verdicts for t in texts)


def test_shape_follows_the_guide() -> None:
    data, _ = mixed_batch()
    segments = check_structure(build(batches_of(data)))
    ids = [s.id for s in segments]
    assert ids[:4] == ["GS", "ST", "BHT", "HL"]
    st = segments[1]
    assert st.elements[0] == "277" and st.elements[2] == "005010X214"
    assert segments[0].elements[0] == "HN" and segments[0].elements[7] == "005010X214"
    bht = segments[2]
    assert bht.elements[0] == "0085" and bht.elements[1] == "08" and bht.elements[5] == "TH"
    hl_levels = [s.elements[2] for s in segments if s.id == "HL"]
    assert hl_levels[:2] == ["20", "21"]
    assert set(hl_levels[2:]) == {"19", "PT"}
    nm1 = [s.elements[0] for s in segments if s.id == "NM1"]
    assert nm1[:3] == ["AY", "41", "85"] and nm1.count("QC") == 6
    dtps = [s.elements[0] for s in segments if s.id == "DTP"]
    assert dtps[:2] == ["050", "009"] and dtps.count("472") == 6
    # TRN*2 of the receiver echoes the 837's BHT03
    trn = [s for s in segments if s.id == "TRN"]
    assert trn[1].elements[0] == "2" and trn[1].elements[1] == "7"


def test_several_sets_and_providers() -> None:
    segs = list(base_segments(4))
    data = render(segs)
    batches = batches_of(data) + batches_of(render(base_segments(2)), trace="F2")
    built = build_277ca(
        batches,
        gateway=GATEWAY,
        receiver=("ZZ", "DEMOBILLING"),
        usage="P",
        next_control=controls(),
        now=NOW,
    )
    assert built.sets_received == 2 and built.claims_received == 6
    assert built.claims_accepted == 6 and built.control_number == "000000041"
    segments = check_structure(built.content)
    assert sum(1 for s in segments if s.id == "ST") == 2
    # claims_per_provider=1 alternates the two demo providers: one 2000C per provider
    first_set = segments[: next(i for i, s in enumerate(segments) if s.id == "SE")]
    assert sum(1 for s in first_set if s.id == "HL" and s.elements[2] == "19") == 2
    assert_pyx12_valid(built.content)


def test_institutional_277ca() -> None:
    data = corpus("837i/institutional-claim.837i")
    content = build(batches_of(data))
    segments = check_structure(content)
    assert_pyx12_valid(content)
    refs = {s.elements[0]: s.elements[1] for s in segments if s.id == "REF"}
    assert refs["BLT"] == "141"
    assert "D9" in refs


@pytest.mark.parametrize(
    "name", ["837p/uhin-837.edi", "837p/demo.example1.837", "837i/lfh-demo.837i"]
)
def test_corpus_files_answered(name: str) -> None:
    content = build(batches_of(corpus(name)))
    check_structure(content)
    assert_pyx12_valid(content)


def test_hostile_values_are_cleaned() -> None:
    segs = base_segments(1)
    start, end = claim_span(segs, 0)
    span = segs[start:end]
    span = sub("NM1*IL*", "NM1*IL*1*O^BRIEN:X*ANN****MI*M^1:2")(span)
    span = sub("CLM*", lambda s: element(s, 1, "A^B:C"))(span)
    span = sub("NM1*85*", "NM1*85*2********")(span)
    data = render([*segs[:start], *span, *segs[end:]]).replace(b"BHT*0019*00*7*", b"BHT*0019*00**")
    content = build(batches_of(data))
    check_structure(content)
    assert_pyx12_valid(content)
    assert b"O^BRIEN" not in content and b"OBRIENX" in content


def test_empty_claim_fields_still_valid() -> None:
    body = "ST*837*0001*005010X222A1~HL*1**22*0~CLM~LX*1~SE*5*0001~"
    data = (
        "ISA*00*          *00*          *ZZ*DEMOBILLING    *ZZ*CLEARINGHOUSE  "
        "*261120*1200*^*00501*000000001*0*T*:~GS*HC*A*B*20261120*1200*1*X*005010X222A1~"
        + body
        + "GE*1*1~IEA*1*000000001~"
    ).encode()
    batches = batches_of(data)
    assert not batches[0].verdicts[0].accepted
    content = build(batches)
    check_structure(content)
    assert_pyx12_valid(content)


# ------------------------------------------------------------------- pyx12's X214 map


def test_pyx12_map_defects_on_tr3_business_scenario_1() -> None:
    """pyx12 4.0.0 rejects the X214 TR3's own example 1, for exactly two map defects:

    * 2200C (TRN "Provider of Service Information Trace Identifier") is *required* in
      pyx12's map, situational in the TR3; the example's billing provider level (HL*3)
      has none → "Mandatory loop ... (2200C) missing" at line 20.
    * 2220D STC02 is *required* in pyx12's map, "not used" in the TR3; the example's
      service line STC (``STC*A3:122**U...``) leaves it empty → element error at line 32.

    Anything else pyx12 says about that file would be a new finding: fail on it.  (Our own
    277CAs always carry 2200C TRN/STC and never a 2220D, so they pass both readings.)
    """
    content = corpus("277ca/stupidedi-x214-business-scenario-1.edi")
    ok, report, log = pyx12_check(content)
    assert not ok
    errors: list[tuple[object, ...]] = []
    for ich in report["interchanges"]:
        errors += [("ISA", e["err_cde"]) for e in ich["errors"]]
        for group in ich["groups"]:
            errors += [("GS", e["err_cde"]) for e in group["errors"]]
            for trn in group["transactions"]:
                errors += [("ST", e["err_cde"]) for e in trn["errors"]]
                for seg in trn["segments"]:
                    errors += [
                        (seg["seg_id"], seg["cur_line"], None, e["err_cde"]) for e in seg["errors"]
                    ]
                    for el in seg["elements"]:
                        errors += [
                            (seg["seg_id"], seg["cur_line"], el["ele_pos"], e["err_cde"])
                            for e in el["errors"]
                        ]
    assert sorted(errors, key=str) == sorted(
        [("TRN", 20, None, "3"), ("STC", 32, 2, "1")], key=str
    ), log


def test_tr3_address_and_admission_rejections_are_valid_277cas() -> None:
    """Issue 12's edits (ZIP+4, billing street, inpatient admission data) answered in a
    277CA that pyx12's X214 map accepts, with the entity code where the status needs one."""
    segs = base_segments(3)
    for k, defect in {
        0: sub("N4*SPRINGFIELD*IL*627010001", "N4*SPRINGFIELD*IL*62701"),
        1: sub("N3*100 MAIN STREET", "N3*PO BOX 100"),
        2: insert_after(
            "HI*", "NM1*77*2*CLINIC*****XX*1234567893", "N3*1 ROAD", "N4*SPRINGFIELD*IL*62704"
        ),
    }.items():
        start, end = claim_span(segs, k)
        segs[start:end] = defect(segs[start:end])
    batches = batches_of(render(segs))
    content = build(batches)
    assert_pyx12_valid(content)
    statuses = claim_statuses(check_structure(content))
    ids = [v.claim_id for v in batches[0].verdicts]
    assert [statuses[i] for i in ids] == [["A7:500:85"], ["A7:503:85"], ["A7:500:77"]]

    inpatient = (
        corpus("837i/institutional-claim.837i")
        .replace(b"14:A:1", b"11:A:1")
        .replace(b"CL1*3**01", b"CL1***01")
    )
    content = build(batches_of(inpatient))
    assert_pyx12_valid(content)
    [codes] = claim_statuses(check_structure(content)).values()
    assert {"A6:189", "A6:231"} <= set(codes)  # (with the sample's other defects)


@pytest.mark.parametrize(
    ("charge", "echoed"),
    [
        (None, "0"),
        ("125.50", "125.5"),
        ("-20", "-20"),
        ("999999999999999.99", "999999999999999.99"),
        ("1000000000000000", "0"),  # 1e15: too big for the 277CA's amounts
        ("-1000000000000000", "0"),
        ("NaN", "0"),
        ("sNaN", "0"),
        ("Infinity", "0"),
    ],
)
def test_claim_amount_echoed_or_zero(charge: str | None, echoed: str) -> None:
    class Claim:
        pass

    claim = Claim()
    claim.charge = None if charge is None else Decimal(charge)  # type: ignore[attr-defined]
    assert format_amount(_amount(claim)) == echoed  # type: ignore[arg-type]
