"""Third-party 835s replayed through the external-payer path (store level, no daemon).

Every 835 of the corpus (the TR3 business scenarios from stupidedi and the LinuxForHealth
samples, tests/fixtures/corpus/835/) is rewritten as EXT01 would send it (its envelope, its
TRN03, REF*2U, and CLP01s of claims we routed to it; tests.payerfiles.as_ext01), uploaded
as EXT01, acknowledged with our 999, and routed: the guide-valid ones reach the payee's
billing company, the broken ones get a clear answer and reach nobody.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.pipeline.routing import route_file
from gateway.x12.remit_read import read_835
from tests.payerfiles import as_ext01
from tests.pipeline.test_routing import GEN, NOW, Env, _upload_as
from tests.x12files import CORPUS, engine_verdicts, segments

FILES = sorted(p.name for p in (CORPUS / "835").iterdir())
VALID = [n for n in FILES if n.startswith("stupidedi-")]
BROKEN = [n for n in FILES if not n.startswith("stupidedi-")]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.store.close()


def _corpus(name: str) -> bytes:
    return (CORPUS / "835" / name).read_bytes()


def _clp_count(data: bytes) -> int:
    return sum(1 for s in segments(data) if s[0] == "CLP")


def _routed_to_ext01(env: Env, claims: int, control: int) -> list[str]:
    """demo-billing sends ``claims`` claims for EXT01; they are routed; their CLM01s."""
    data: bytes = GEN.render(  # type: ignore[attr-defined]
        GEN.interchange(claims, control, date="20261120", payers=["EXT01"])  # type: ignore[attr-defined]
    )
    record = env.upload(data)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    rows = env.store.query("SELECT clm01 FROM routes WHERE payer_id = 'EXT01' ORDER BY id")
    assert len(rows) == claims
    return [r["clm01"] for r in rows]


def _replay(env: Env, remit: bytes) -> tuple[list[str], list[list[str]]]:
    """Upload ``remit`` as EXT01 and route it: (the routing problems, our 999's segments)."""
    answer = _upload_as(env, "ext01", remit)
    (ack,) = env.mailbox("ext01", "999")
    outcome = route_file(
        env.store, env.blobs, answer, partners=env.partners, config=env.config, now=NOW
    )
    return outcome.problems, segments(ack)


def _set_of(data: bytes) -> list[list[str]]:
    """The ST..SE of the (single) transaction set in ``data``."""
    segs = segments(data)
    start = next(i for i, s in enumerate(segs) if s[0] == "ST")
    end = next(i for i, s in enumerate(segs) if s[0] == "SE")
    return segs[start : end + 1]


@pytest.mark.parametrize("name", VALID)
def test_corpus_835_reaches_the_payee(env: Env, name: str) -> None:
    """(Before: our 999 rejected every one of them, "ST03 ... is required but missing".)"""
    source = _corpus(name)
    claims = _clp_count(source)
    clm01s = _routed_to_ext01(env, claims, 610)
    remit = as_ext01(source, clm01s, control=7700)
    problems, ack = _replay(env, remit)
    assert [s for s in ack if s[0] in ("IK3", "IK5", "AK9")] == [
        ["IK5", "A"],
        ["AK9", "A", "1", "1", "1"],
    ]
    assert problems == []
    (forwarded,) = env.mailbox("demo-billing", "835")
    isa = segments(forwarded)[0]
    assert (isa[6].strip(), isa[8].strip()) == ("CLEARINGHOUSE", "DEMOBILLING")
    assert _set_of(forwarded) == _set_of(remit)  # the payer's set, verbatim, re-enveloped
    assert all(ok for _, ok, _ in engine_verdicts(forwarded)), engine_verdicts(forwarded)
    (read,) = read_835(forwarded)
    assert read.ok, read.errors
    assert [c.decision.claim_id for c in read.claims] == clm01s
    assert read.total == sum((c.decision.paid for c in read.claims), Decimal(0)) - sum(
        (p.amount for p in read.payment.provider_adjustments), Decimal(0)
    )
    states = env.store.query(
        "SELECT state, payer_claim_id FROM routes WHERE payer_id = 'EXT01' ORDER BY id"
    )
    assert {r["state"] for r in states} == {"adjudicated"}
    assert [r["payer_claim_id"] for r in states] == [
        c.decision.payer_claim_id or None for c in read.claims
    ]
    (row,) = env.store.query("SELECT payer_id, partner_id, claims FROM remits")
    assert (row["payer_id"], row["partner_id"], row["claims"]) == ("EXT01", "demo-billing", claims)
    assert env.mailbox("ext01", "REPORT") == []


# The LinuxForHealth samples are the same TR3 scenarios transcribed with defects; each is a
# genuinely broken 835 (PER*BL, the payer's technical contact, is required in 1000A):
BROKEN_BECAUSE = {
    # BPR16 missing (the date slid into BPR15); SVC01 "HC>55669" while ISA16 says ':'
    "cob-contractural-adjustment.835": [("BPR", "2"), ("PER", "9"), ("SVC", "19")],
    # TS3 carries TS309/TS311, not used in 5010 (4010 leftovers)
    "lfh-demo.835": [("PER", "9"), ("TS3", "11"), ("TS3", "21")],
    # BPR16 "20002316" is not a date
    "managed-care.835": [("BPR", "2"), ("PER", "8")],
    "medicare-part-a.835": [("PER", "9"), ("TS3", "11"), ("TS3", "21")],
    # as cob-contractural-adjustment: BPR16 missing, SVC01 with '>'
    "secondary-payment.835": [("BPR", "2"), ("PER", "9"), ("SVC", "27")],
    # SVC01 lost its ':' ("SVC*HC*24599.00*..."): the amounts shift and the line does not
    # balance (tests/x12/test_remit_read.py); the guide already refuses it
    "tertiary-payment.835": [("BPR", "2"), ("PER", "9"), ("SVC", "18")],
}


@pytest.mark.parametrize("name", BROKEN)
def test_broken_corpus_835_gets_a_999_and_reaches_nobody(env: Env, name: str) -> None:
    from tests.x12.conftest import pyx12_check

    source = _corpus(name)
    clm01s = _routed_to_ext01(env, _clp_count(source), 620)
    remit = as_ext01(source, clm01s, control=7710)
    problems, ack = _replay(env, remit)
    ik3 = [(s[1], s[2]) for s in ack if s[0] == "IK3"]
    assert ik3[: len(BROKEN_BECAUSE[name])] == BROKEN_BECAUSE[name]
    assert next(s for s in ack if s[0] == "IK5")[1] == "R"
    assert next(s for s in ack if s[0] == "AK9")[1] == "R"
    (ack_doc,) = env.mailbox("ext01", "999")
    ok, _, log = pyx12_check(ack_doc)
    assert ok, log
    assert problems == []  # nothing accepted, nothing to route: the 999 is the answer
    assert env.mailbox("demo-billing", "835") == []
    states = env.store.query("SELECT state FROM routes WHERE payer_id = 'EXT01'")
    assert {r["state"] for r in states} == {"routed"}  # still waiting for a good 835


def test_corpus_835_with_a_claim_we_never_routed(env: Env) -> None:
    """Eight of the nine CLPs are claims we routed to EXT01, the ninth is not: the payment is
    not split and not refused (EXT01 is authenticated and the 835 balances): it is forwarded
    whole, the eight post matched and the ninth unmatched ("needs attention"). (Before: the
    whole payment was refused back to the payer and the eight kept waiting.)"""
    source = _corpus("stupidedi-multiple-claims-single-check.edi")
    clm01s = _routed_to_ext01(env, 8, 630)
    remit = as_ext01(source, clm01s, control=7720)
    (stranger,) = [s[1] for s in segments(remit) if s[0] == "CLP"][8:]
    problems, _ = _replay(env, remit)
    assert problems == []
    (forwarded,) = env.mailbox("demo-billing", "835")
    assert f"CLP*{stranger}*".encode() in forwarded
    assert env.mailbox("ext01", "REPORT") == []
    (needs_attention,) = env.store.query(
        "SELECT patient_control FROM ledger_claims WHERE route_id IS NULL"
    )
    assert needs_attention["patient_control"] == stranger
    states = env.store.query("SELECT state FROM routes WHERE payer_id = 'EXT01'")
    assert [r["state"] for r in states] == ["adjudicated"] * 8


def test_unbalanced_corpus_835_is_reported_not_forwarded(env: Env) -> None:
    """Guide-valid but unbalanced (CLP04 no longer CLP03 - adjustments): reported."""
    source = _corpus("stupidedi-era-sample.edi")
    clm01s = _routed_to_ext01(env, 1, 640)
    remit = as_ext01(source, clm01s, control=7730)
    (clp,) = [s for s in segments(remit) if s[0] == "CLP"]
    old = "*".join(clp).encode()
    clp[4] = str(Decimal(clp[4]) + 1)
    remit = remit.replace(old, "*".join(clp).encode())
    problems, ack = _replay(env, remit)
    assert next(s for s in ack if s[0] == "AK9")[1] == "A"
    assert any("claim-balance" in p for p in problems) and any(
        "payment-balance" in p for p in problems
    )
    assert env.mailbox("demo-billing", "835") == []
    (report,) = env.mailbox("ext01", "REPORT")
    assert b"balance" in report


def test_corpus_835_naming_another_payer_id_is_refused(env: Env) -> None:
    """REF*2U*999 (the TR3 example's payer ID) left as it was: not one of EXT01's IDs."""
    source = _corpus("stupidedi-dollars-and-data-sent-together.edi")
    clm01s = _routed_to_ext01(env, _clp_count(source), 650)
    problems, _ = _replay(env, as_ext01(source, clm01s, control=7740, payer_id=None))
    (problem,) = problems
    assert "REF*2U names payer ID 999, which ext01 does not answer for" in problem
    assert env.mailbox("demo-billing", "835") == []
