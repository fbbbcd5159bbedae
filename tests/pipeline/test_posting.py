"""Posting every 835 that reaches a provider (gateway/pipeline/posting.py) through the
routing steps: simulated payers' 835s and external payers' forwarded ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.payers.posting import ZERO, posting_of
from gateway.payers.remit_render import CSV_HEADER
from gateway.pipeline.posting import post_835
from gateway.pipeline.routing import route_file
from gateway.store.ledger import LedgerClaim
from gateway.x12.remit_read import read_835
from tests.payerfiles import ext01_835
from tests.pipeline.test_routing import Env, _one_claim, _replacement, _upload_as, batch

NOW = 1_795_600_000.0


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.store.close()


def _route(env: Env, data: bytes) -> None:
    record = env.upload(data)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)


def _ledger(env: Env, payer_key: str, trace: str) -> list[LedgerClaim]:
    with env.store.transaction() as tx:
        return tx.ledger_claims(payer_key, trace)


def _mailbox_names(env: Env, partner_id: str) -> dict[str, str]:
    return {m.name: m.kind for m in env.store.list_mailbox(partner_id)}


def _assert_posted_to_the_cent(env: Env, partner_id: str) -> int:
    """Every 835 in the partner's mailbox is in the ledger, claim by claim, to the cent."""
    checked = 0
    names = _mailbox_names(env, partner_id)
    for m in env.store.list_mailbox(partner_id):
        if m.kind != "835":
            continue
        stem = m.name.rsplit(".", 1)[0]
        assert names.get(f"{stem}.csv") == "835-CSV" and names.get(f"{stem}.txt") == "835-TXT"
        assert names.get(f"{stem}.pdf") == "835-PDF"
        for remit in read_835(env.blobs.read(m.sha256)):
            assert remit.ok, remit.errors
            posting = posting_of(remit)
            with env.store.transaction() as tx:
                (payment,) = [p for p in tx.ledger_payments(partner_id) if p.trace == posting.trace]
                adjustments = tx.ledger_adjustments(payment.payer_key, payment.trace)
            assert payment.amount == remit.total
            assert payment.mailbox_name == m.name
            ledger = _ledger(env, payment.payer_key, payment.trace)
            assert len(ledger) == len(remit.claims)
            for row, claim in zip(ledger, remit.claims, strict=True):
                d = claim.decision
                cas = [*d.adjustments, *(a for ln in d.lines for a in ln.adjustments)]
                assert row.matched, "every claim the gateway routed is matched"
                assert row.patient_control == d.claim_id
                assert row.payer_claim_id == d.payer_claim_id
                assert (row.billed, row.paid) == (d.charge, d.paid)
                assert row.contractual == sum((a.amount for a in cas if a.group == "CO"), ZERO)
                assert row.patient_responsibility == d.patient_responsibility
                assert row.patient_responsibility == sum(
                    (a.amount for a in cas if a.group == "PR"), ZERO
                )
                mine = [a for a in adjustments if a.seq == row.seq]
                assert sum((a.amount for a in mine), ZERO) == sum((a.amount for a in cas), ZERO)
                # billed - paid - contractual = patient responsibility + other
                assert (
                    row.billed - row.paid - row.contractual
                    == row.patient_responsibility + row.other
                )
                checked += 1
            assert sum((c.paid for c in ledger), ZERO) - payment.plb_total == payment.amount
    return checked


def test_demo_batch_posts_every_claim_to_the_cent(env: Env) -> None:
    _route(env, batch(30, 801))
    env.cycle("sim01")
    env.cycle("sim02")
    checked = _assert_posted_to_the_cent(env, "demo-billing")
    assert checked >= 10
    with env.store.transaction() as tx:
        states = {
            c.state
            for p in tx.ledger_payments("demo-billing")
            for c in tx.ledger_claims(p.payer_key, p.trace)
        }
        assert tx.ledger_unmatched() == []
    assert {"paid in full", "denied"} <= states, states


def test_reversal_and_corrected_claim_post_as_such(env: Env) -> None:
    original = _one_claim(601)
    _route(env, original)
    env.cycle("sim01")
    with env.store.transaction() as tx:
        (first,) = tx.ledger_payments("demo-billing")
    ((claim,),) = [_ledger(env, first.payer_key, first.trace)]
    assert claim.kind == "original" and claim.state != "reversed"
    _route(env, _replacement(original, 701, "7", claim.payer_claim_id))
    env.cycle("sim01", now=NOW + 120)
    with env.store.transaction() as tx:
        payments = tx.ledger_payments("demo-billing")
    assert len(payments) == 2
    second = next(p for p in payments if p.trace != first.trace)
    rows = _ledger(env, second.payer_key, second.trace)
    reversal = next(r for r in rows if r.status_code == "22")
    assert reversal.kind == "reversal" and reversal.state == "reversed"
    assert reversal.payer_claim_id == claim.payer_claim_id
    assert (reversal.billed, reversal.paid) == (-claim.billed, -claim.paid)
    assert reversal.contractual == -claim.contractual
    corrected = next(r for r in rows if r.status_code != "22")
    assert corrected.kind == "corrected" and corrected.paid == claim.paid
    assert corrected.original_payer_claim_id == claim.payer_claim_id
    assert _assert_posted_to_the_cent(env, "demo-billing") == 3


def test_the_same_835_twice_posts_once(env: Env) -> None:
    _route(env, batch(4, 802))
    env.cycle("sim01")
    (m,) = [m for m in env.store.list_mailbox("demo-billing") if m.kind == "835"]
    content = env.blobs.read(m.sha256)
    before = env.store.query("SELECT COUNT(*) FROM ledger_claims")[0][0]
    with env.store.transaction() as tx:
        details = post_835(tx, env.blobs, "demo-billing", "sim01", "again_835.x12", content, NOW)
    assert details["posted_payments"] == 0 and details["already_posted"] == 1
    assert env.store.query("SELECT COUNT(*) FROM ledger_claims")[0][0] == before
    assert "again_835.csv" not in _mailbox_names(env, "demo-billing")


def test_a_claim_matching_no_route_posts_unmatched(env: Env) -> None:
    _route(env, batch(4, 803))
    env.cycle("sim01")
    (m,) = [m for m in env.store.list_mailbox("demo-billing") if m.kind == "835"]
    content = env.blobs.read(m.sha256)
    # the same payment as if from another payer partner: no route of its matches
    content = content.replace(b"TRN*1*", b"TRN*1*X")
    with env.store.transaction() as tx:
        details = post_835(tx, env.blobs, "demo-billing", "nobody", "other_835.x12", content, NOW)
    assert details["posted_payments"] == 1
    assert details["unmatched_claims"] == details["posted_claims"] != 0
    with env.store.transaction() as tx:
        unmatched = tx.ledger_unmatched("demo-billing")
    assert len(unmatched) == details["posted_claims"]
    assert all(c.trace.startswith("X") and not c.matched for c in unmatched)


def test_external_payer_835_posts_too(env: Env) -> None:
    _route(env, batch(6, 505))
    (ext_batch,) = env.mailbox("ext01", "837")
    answer = _upload_as(env, "ext01", ext01_835(ext_batch))
    outcome = route_file(
        env.store, env.blobs, answer, partners=env.partners, config=env.config, now=NOW
    )
    assert outcome.problems == []
    (forwarded,) = [p for p in outcome.forwarded if p.kind == "835"]
    assert forwarded.details["posted_claims"] == 2 and forwarded.details["unmatched_claims"] == 0
    assert _assert_posted_to_the_cent(env, "demo-billing") == 2
    with env.store.transaction() as tx:
        (payment,) = tx.ledger_payments("demo-billing")
    assert (payment.payer_key, payment.trace) == ("EXT01", "EXT0000001")
    (csv_doc,) = env.mailbox("demo-billing", "835-CSV")
    header, *rows = csv_doc.decode().splitlines()
    assert header.split(",") == list(CSV_HEADER)
    assert sum(1 for r in rows if r.startswith("line,")) >= 2
    (text,) = env.mailbox("demo-billing", "835-TXT")
    assert b"CHECK/EFT # EXT0000001" in text


def test_audit_details_carry_no_phi(env: Env) -> None:
    _route(env, batch(4, 804))
    outcome = env.cycle("sim01")
    placed = [p for p in outcome.placed if p.kind == "835"]  # type: ignore[attr-defined]
    assert placed
    for p in placed:
        assert set(p.details) >= {"posted_claims", "posting_files", "unmatched_claims"}
        text = repr(p.details)
        (m,) = [m for m in env.store.list_mailbox("demo-billing") if m.name == p.name]
        for remit in read_835(env.blobs.read(m.sha256)):
            for c in remit.claims:
                assert c.decision.patient_last not in text
                assert c.decision.claim_id not in text
