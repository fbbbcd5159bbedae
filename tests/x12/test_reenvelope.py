"""Split + re-envelope accepted claims per payer: the output re-validates with our engine
(accepted when the source was), extract_claims finds the same claims, the HL tree is rebuilt,
and every outbound claim maps back to its source file/interchange/set/claim."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from gateway.x12.acks import Gateway
from gateway.x12.claims import Claim, extract_claims, iter_transaction_sets
from gateway.x12.engine import analyze
from gateway.x12.reenvelope import (
    ClaimRoute,
    PayerEndpoint,
    Reenveloped,
    ReenvelopeError,
    SourceClaim,
    Submitter,
    group_by_payer,
    reenvelope,
    reenvelope_by_payer,
    source_claims,
)
from gateway.x12.results import EnvelopeParty, FileAnalysis, PartnerDirectory
from gateway.x12.segments import Segment
from gateway.x12.tokenizer import IsaHeader, tokenize
from tests.x12.conftest import CORPUS, DIRECTORY, UPLOADER, corpus, retarget

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import gen_837

GATEWAY = Gateway("ZZ", "CLEARINGHOUSE")
SUBMITTER = Submitter("DEMO CLEARINGHOUSE", "CLEARINGHOUSE", "EDI DESK", "555-555-0100")
NOW = datetime(2026, 11, 20, 12, 30)


def endpoint(payer_id: str) -> PayerEndpoint:
    return PayerEndpoint(payer_id, f"PAYER {payer_id}", ("ZZ", f"P{payer_id}"[:15]))


def counter(start: int = 900) -> Callable[[], int]:
    values = itertools.count(start)
    return lambda: next(values)


def as_payer(out: Reenveloped, payer: PayerEndpoint) -> FileAnalysis:
    """Our engine, standing where the payer stands (the gateway is the sender)."""
    directory = PartnerDirectory(
        gateway_qualifier=payer.interchange[0],
        gateway_id=payer.interchange[1],
        parties={(GATEWAY.qualifier, GATEWAY.id): EnvelopeParty("gateway", frozenset({"T", "P"}))},
    )
    return analyze(out.content, uploader="gateway", directory=directory)


def accepted_sets(analysis: FileAnalysis) -> list[bool]:
    return [
        interchange.ta1_code is None and not group.group_error_codes and t.accepted
        for interchange in analysis.interchanges
        for group in interchange.groups
        for t in group.transactions
    ]


def outbound_claims(out: Reenveloped) -> dict[tuple[str, int], Claim]:
    found: dict[tuple[str, int], Claim] = {}
    for ts in iter_transaction_sets(out.content):
        for claim in extract_claims(ts.segments, ts.delimiters, ts.gs08):
            found[(claim.header.st02, claim.index)] = claim
    return found


def claim_facts(claim: Claim) -> tuple[object, ...]:
    return (
        claim.claim_id,
        claim.charge,
        claim.kind,
        claim.frequency_code,
        claim.billing_npi,
        claim.billing_tin,
        claim.member_id,
        claim.payer_id,
        claim.filing_indicator,
        None if claim.patient is None else (claim.patient.last_or_org, claim.patient.first),
        None if claim.subscriber is None else claim.subscriber.last_or_org,
        tuple(d.code for d in claim.diagnoses),
        tuple(
            (ln.number, ln.procedure_code, ln.modifiers, ln.charge, ln.units, ln.control_number)
            for ln in claim.lines
        ),
        tuple((d.qualifier, d.raw) for d in claim.dates),
        claim.problems == (),
    )


def check_structure(out: Reenveloped) -> list[Segment]:
    tokens = list(tokenize(out.content))
    assert isinstance(tokens[0], IsaHeader)
    assert tokens[0].fixed_width
    isa = tokens[0].segment.elements
    assert isa[12] == out.control_number and isa[5].strip() == GATEWAY.id
    segments = [t for t in tokens[1:] if isinstance(t, Segment)]
    groups = [s for s in segments if s.id == "GS"]
    assert segments[-1].elements == (str(len(groups)), out.control_number)
    starts = [i for i, s in enumerate(segments) if s.id == "ST"]
    for start in starts:
        end = next(i for i in range(start, len(segments)) if segments[i].id == "SE")
        assert segments[end].elements == (str(end - start + 1), segments[start].elements[1])
        check_hl(segments[start : end + 1])
    return segments


def check_hl(st_segments: Sequence[Segment]) -> None:
    """HL01 = 1..n, HL02 points to an earlier HL of the right level, HL04 = has children."""
    hls = [s.elements for s in st_segments if s.id == "HL"]
    assert [int(h[0]) for h in hls] == list(range(1, len(hls) + 1))
    levels = {h[0]: h[2] for h in hls}
    expected_parent = {"20": None, "22": "20", "23": "22"}
    children = {h[1] for h in hls if h[1]}
    for h in hls:
        parent = h[1] or None
        assert (levels[parent] if parent else None) == expected_parent[h[2]]
        assert h[3] == ("1" if h[0] in children else "0")
    assert st_segments[1].id == "BHT" and st_segments[2].elements[0] == "41"


def check_routes(out: Reenveloped, sources: Sequence[SourceClaim]) -> None:
    by_source = {
        (s.file_id, s.transaction.isa13, s.claim.header.st02, s.claim.index): s for s in sources
    }
    found = outbound_claims(out)
    assert len(out.routes) == len(found) == len(sources)
    assert len({r.outbound_key for r in out.routes}) == len(out.routes)
    for route in out.routes:
        assert route.outbound_isa13 == out.control_number
        source = by_source[
            (route.file_id, route.source_isa13, route.source_st02, route.source_index)
        ]
        claim = found[(route.outbound_st02, route.outbound_index)]
        assert claim.claim_id == route.claim_id == source.claim.claim_id
        assert claim_facts(claim) == claim_facts(source.claim)


def run(sources: Sequence[SourceClaim], **kwargs: object) -> dict[str, Reenveloped]:
    by_payer = group_by_payer(sources)
    payers = {pid: endpoint(pid) for pid in by_payer}
    counters: dict[str, Callable[[], int]] = {}

    def next_control(payer_id: str) -> Callable[[], int]:
        return counters.setdefault(payer_id, counter(100 * (len(counters) + 1)))

    return reenvelope_by_payer(
        by_payer,
        payers,
        gateway=GATEWAY,
        submitter=SUBMITTER,
        usage="T",
        next_control=next_control,
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )


CORPUS_837 = sorted(
    f"{folder}/{p.name}"
    for folder in ("837p", "837i")
    if (CORPUS / folder).is_dir()
    for p in (CORPUS / folder).iterdir()
)


@pytest.mark.parametrize("name", CORPUS_837)
def test_corpus_files_reenveloped(name: str) -> None:
    data = corpus(name)
    source = analyze(retarget(data), uploader=UPLOADER, directory=DIRECTORY)
    source_ok = accepted_sets(source)
    # what the front-end edits would let through: claims whose structure could be read
    sources = [s for s in source_claims(name, data) if not s.claim.problems]
    outputs = run(sources)
    for payer_id, out in outputs.items():
        check_structure(out)
        check_routes(out, [s for s in sources if s.claim.payer_id == payer_id])
        result = accepted_sets(as_payer(out, endpoint(payer_id)))
        if source_ok and all(source_ok):
            assert all(result), (payer_id, as_payer(out, endpoint(payer_id)))


def test_patient_loops_keep_their_subscriber() -> None:
    names = ["demo.example1.837", "lfh-demo-file.837", "demo.autoaccident.837", "demo.example2.837"]
    sources = [s for n in names for s in source_claims(n, corpus(f"837p/{n}"))]
    patients = sum(1 for s in sources if s.claim.patient is not None)
    assert patients >= 2
    # one payer endpoint that answers to several 2010BB payer IDs: all in one interchange
    payer = endpoint("MULTI")
    out = reenvelope(sources, payer=payer, gateway=GATEWAY, submitter=SUBMITTER, usage="T",
                     next_control=counter(), now=NOW)  # fmt: skip
    segments = check_structure(out)
    assert sum(1 for s in segments if s.id == "HL" and s.elements[2] == "23") == patients
    check_routes(out, sources)
    assert all(accepted_sets(as_payer(out, payer)))


def test_unreadable_hierarchy_is_refused() -> None:
    """imsweb's x12_complex repeats HL01 values (rejected by the 999; its claims carry
    problems, so the edits reject them): re-enveloping one of them raises."""
    sources = source_claims("F", corpus("837p/imsweb-x12_complex.txt"))
    bad = [s for s in sources if s.claim.problems]
    assert bad
    with pytest.raises(ReenvelopeError, match="hierarchy"):
        run(bad[:1])


def gen_three_payers(claims: int, control: int, sender: str = "DEMOBILLING") -> bytes:
    payers = [("SIM PAYER ONE", "SIM01"), ("SIM PAYER TWO", "SIM02"), ("EXT PAYER", "EXT01")]
    original = gen_837.PAYERS
    gen_837.PAYERS = payers
    try:
        return gen_837.render(
            gen_837.interchange(claims, control, sender=sender, claims_per_provider=7)
        )
    finally:
        gen_837.PAYERS = original


def test_generated_batches_split_across_three_payers() -> None:
    first = gen_three_payers(30, 101)
    second = gen_three_payers(12, 102, sender="OTHERBILLING")
    for data in (first, second):
        directory = PartnerDirectory(
            "ZZ",
            "CLEARINGHOUSE",
            {
                ("ZZ", "DEMOBILLING"): EnvelopeParty("a", frozenset({"T"})),
                ("ZZ", "OTHERBILLING"): EnvelopeParty("b", frozenset({"T"})),
            },
        )
        sender = "DEMOBILLING" if data is first else "OTHERBILLING"
        assert all(accepted_sets(analyze(data, uploader="a" if data is first else "b",
                                         directory=directory)))  # fmt: skip
        assert sender
    sources = source_claims("F1", first) + source_claims("F2", second)
    outputs = run(sources)
    assert sorted(outputs) == ["EXT01", "SIM01", "SIM02"]
    total = 0
    for payer_id, out in outputs.items():
        segments = check_structure(out)
        mine = [s for s in sources if s.claim.payer_id == payer_id]
        check_routes(out, mine)
        assert all(accepted_sets(as_payer(out, endpoint(payer_id))))
        assert {r.file_id for r in out.routes} == {"F1", "F2"}
        total += len(out.routes)
        # the two billing companies' claims share one ST under the gateway's 1000A
        assert [s.elements[2] for s in segments if s.id == "NM1" and s.elements[0] == "41"] == [
            "DEMO CLEARINGHOUSE"
        ]
        receiver = next(s for s in segments if s.id == "NM1" and s.elements[0] == "40")
        assert receiver.elements[8] == payer_id
        # the same provider from two files is one HL 20 (identical 2000A/2010AA loops)
        providers = [s for s in segments if s.id == "HL" and s.elements[2] == "20"]
        assert len(providers) == 2
        # gen_837 writes NM1*41 DEMOBILLING whatever the ISA sender: kept per route
        assert {r.source_submitter_id for r in out.routes} == {"DEMOBILLING"}
    assert total == 42


def test_sets_split_at_the_claim_limit_and_controls() -> None:
    data = gen_837.render(gen_837.interchange(12, 7))
    sources = [s for s in source_claims("F", data) if s.claim.payer_id == "SIM01"]
    out = reenvelope(
        sources,
        payer=endpoint("SIM01"),
        gateway=GATEWAY,
        submitter=SUBMITTER,
        usage="P",
        next_control=counter(41),
        now=NOW,
        max_claims_per_set=4,
    )
    segments = check_structure(out)
    assert out.control_number == "000000041" and out.sets == 2
    gs = [s for s in segments if s.id == "GS"]
    assert [g.elements[5] for g in gs] == ["42"]
    assert [s.elements[1] for s in segments if s.id == "ST"] == ["0043", "0044"]
    assert [s.elements[2] for s in segments if s.id == "BHT"] == [
        "000000041-0043",
        "000000041-0044",
    ]
    assert [(r.outbound_st02, r.outbound_index) for r in out.routes] == [
        ("0043", 0), ("0043", 1), ("0043", 2), ("0043", 3), ("0044", 0), ("0044", 1),
    ]  # fmt: skip
    tokens = list(tokenize(out.content))
    assert isinstance(tokens[0], IsaHeader) and tokens[0].segment.elements[14] == "P"
    check_routes(out, sources)


def test_other_delimiters_are_translated_and_collisions_reported() -> None:
    data = corpus("837p/imsweb-x12_valid_different_separators.txt")
    (ts, *_) = list(iter_transaction_sets(data))
    assert ts.delimiters.element != "*"
    # its second claim hangs under HL*2*3*22 (a parent that does not exist): edits reject it
    sources = [s for s in source_claims("F", data) if not s.claim.problems]
    assert len(sources) == 1
    (out,) = run(sources).values()
    check_structure(out)
    check_routes(out, sources)
    assert out.warnings == ()
    # a '*' inside a name is data in the source, a delimiter for us: changed and reported
    name = next(s for s in ts.segments if s.id == "NM1" and s.elements[0] == "IL").elements[2]
    tampered = data.replace(name.encode(), name.encode()[:2] + b"*" + name.encode()[3:], 1)
    sources = [s for s in source_claims("F", tampered) if not s.claim.problems]
    (out,) = run(sources).values()
    check_structure(out)
    assert len(out.warnings) == 1
    assert "changed to a space" in out.warnings[0] and name not in out.warnings[0]


def test_repeated_clm01_and_bad_hierarchy() -> None:
    data = gen_837.render(gen_837.interchange(2, 9))
    sources = source_claims("F1", data) + source_claims("F2", data)
    sim01 = [s for s in sources if s.claim.payer_id == "SIM01"]
    out = reenvelope(sim01, payer=endpoint("SIM01"), gateway=GATEWAY, submitter=SUBMITTER,
                     usage="T", next_control=counter(), now=NOW)  # fmt: skip
    assert len(out.routes) == 2 and any("more than once" in w for w in out.warnings)
    # both copies are identical: one subscriber HL with two claims
    segments = check_structure(out)
    assert sum(1 for s in segments if s.id == "HL" and s.elements[2] == "22") == 1
    broken = data.replace(b"HL*2*1*22*0", b"HL*2*9*22*0")
    with pytest.raises(ReenvelopeError, match="hierarchy"):
        reenvelope(source_claims("F3", broken)[:1], payer=endpoint("SIM01"), gateway=GATEWAY,
                   submitter=SUBMITTER, usage="T", next_control=counter(), now=NOW)  # fmt: skip
    with pytest.raises(ReenvelopeError, match="no claims"):
        reenvelope([], payer=endpoint("SIM01"), gateway=GATEWAY, submitter=SUBMITTER,
                   usage="T", next_control=counter(), now=NOW)  # fmt: skip


def test_route_keys() -> None:
    route = ClaimRoute(
        "SIM01", "000000001", "2", "0003", 4, "C1", "F", "000000042", "42", "0001", 7
    )
    assert route.outbound_key == ("000000001", "0003", 4, "C1")
    assert route.source_key == ("F", "000000042", "0001", 7, "C1")
