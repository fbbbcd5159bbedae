"""Claims with their derived balance and state, A/R aging, patient payments and appeals
(gateway/pipeline/billing.py) over the demo batch, store-level (no daemon)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.payers.billing import ZERO
from gateway.pipeline import billing
from gateway.pipeline.billing import BillingError, ClaimFilter
from tests.pipeline.test_routing import NOW, Env, _one_claim, _replacement, batch


def test_demo_batch_balances_states_and_aging_add_up(env: Env) -> None:
    env.route(batch(30, 811))
    env.cycle("sim01")
    env.cycle("sim02")
    claims = billing.claim_balances(env.store, env.demo)
    assert len(claims) == 30
    states = {c.state for c in claims}
    assert {"pending", "paid in full", "partly paid", "patient responsibility"} <= states
    for c in claims:
        if c.facts.remits:
            (r,) = c.facts.remits
            # the ledger's figures: billed - paid - CO - PR = other; ours split CO
            assert (
                c.insurance_paid == r.paid and c.patient_responsibility == r.patient_responsibility
            )
            assert c.contractual + c.denied == r.contractual + r.other
            assert c.balance == c.denied + c.patient_responsibility
        else:
            assert c.state == "pending" and c.balance == c.facts.billed
    ext = [c for c in claims if c.facts.payer_id == "EXT01"]
    assert ext and all(c.state == "pending" for c in ext)
    aging = billing.ar_aging(env.store, env.demo, date(2026, 12, 4), "service")
    open_total = sum((c.balance for c in claims), ZERO)
    assert aging["open_balance"] == f"{open_total:.2f}"
    assert sum(Decimal(v) for k, v in aging["total"].items() if k != "total") == open_total
    for group in ("by_payer", "by_provider"):
        assert sum(Decimal(b["total"]) for b in aging[group].values()) == open_total
    assert set(aging["by_payer"]) == {"SIM01", "SIM02", "EXT01"}
    # date of service October 2026: 31-60 days before 2026-12-04 (EXT01's pending: submitted
    # 2026-11-24, 0-30)
    assert Decimal(aging["total"]["31-60"]) > 0 and Decimal(aging["total"]["0-30"]) > 0
    by_submission = billing.ar_aging(env.store, env.demo, date(2026, 12, 4), "submission")
    assert by_submission["total"]["0-30"] == by_submission["total"]["total"]


def test_filters_and_a_partner_sees_only_its_own(env: Env) -> None:
    env.route(batch(12, 812))
    env.cycle("sim01")
    env.cycle("sim02")
    demo = env.demo
    everything = billing.list_claims(env.store, demo, ClaimFilter())
    assert len(everything["claims"]) == 12 and everything["needs_attention"] == []
    pending = billing.list_claims(env.store, demo, billing.claim_filter({"state": "pending"}))
    assert {c["payer_id"] for c in pending["claims"]} == {"EXT01"}
    sim01 = billing.list_claims(env.store, demo, billing.claim_filter({"payer": "SIM01"}))
    assert {c["payer_id"] for c in sim01["claims"]} == {"SIM01"}
    denied_11 = billing.list_claims(env.store, demo, billing.claim_filter({"carc": "11"}))
    assert denied_11["claims"] and all(
        any(d["carc"] == "11" for d in c["denials"]) for c in denied_11["claims"]
    )
    october = billing.claim_filter({"service_from": "2026-10-01", "service_to": "2026-10-05"})
    dated = billing.list_claims(env.store, demo, october)["claims"]
    assert dated and all("2026-10-01" <= c["service_date"] <= "2026-10-05" for c in dated)
    with pytest.raises(BillingError) as bad:
        billing.claim_filter({"state": "lost"})
    assert bad.value.status == 400
    ext01 = env.partners.get("ext01")
    assert ext01 is not None
    assert billing.list_claims(env.store, ext01, ClaimFilter())["claims"] == []
    first = everything["claims"][-1]["id"]
    with pytest.raises(BillingError) as hidden:
        billing.claim_detail(env.store, ext01, first)
    assert hidden.value.status == 404
    detail = billing.claim_detail(env.store, demo, first)
    assert [e["event"] for e in detail["history"]][:2] == [
        "accepted by the clearinghouse",
        "routed",
    ]


def test_reversal_and_corrected_claim(env: Env) -> None:
    original = _one_claim(611)
    env.route(original)
    env.cycle("sim01")
    (claim,) = billing.claim_balances(env.store, env.demo)
    payer_claim = claim.facts.latest.payer_claim_id  # type: ignore[union-attr]
    env.route(_replacement(original, 711, "7", payer_claim))
    env.cycle("sim01", now=NOW + 120)
    first, corrected = billing.claim_balances(env.store, env.demo)
    assert first.state == "reversed" and first.balance == ZERO
    assert [r.kind for r in first.facts.remits] == ["original", "reversal"]
    assert first.insurance_paid == ZERO  # the original and its reversal net to zero
    assert corrected.facts.frequency_code == "7"
    (posting,) = corrected.facts.remits
    assert posting.kind == "corrected" and posting.original_payer_claim_id == payer_claim
    assert corrected.insurance_paid == claim.insurance_paid


def _payment(env: Env, body: dict[str, object], now: float = NOW + 500) -> tuple[int, dict]:
    return billing.post_patient_payment(env.store, env.demo, body, now)


def test_patient_payments_idempotent_refused_and_credit(env: Env) -> None:
    env.route(batch(6, 813))
    env.cycle("sim01")
    claims = billing.claim_balances(env.store, env.demo)
    owed = next(c for c in claims if c.patient_responsibility > 0)
    cid = owed.facts.claim_id
    status, body = _payment(env, {"claim_id": cid, "amount": "10.00", "reference": "R1",
                                  "method": "card", "date": "2026-12-01"})  # fmt: skip
    assert status == 201 and body["applied"][0]["amount"] == "10.00"
    again, body2 = _payment(env, {"claim_id": cid, "amount": "10.00", "reference": "R1",
                                  "method": "card", "date": "2026-12-01"}, NOW + 900)  # fmt: skip
    assert again == 200 and body2["already_posted"] is True
    after = next(c for c in billing.claim_balances(env.store, env.demo) if c.facts.claim_id == cid)
    assert after.patient_paid == Decimal("10.00") and after.state == "patient paid"
    for bad, status_code in (
        ({"claim_id": 99999, "amount": "5", "reference": "R2"}, 404),
        ({"claim_id": cid, "amount": "0", "reference": "R3"}, 422),
        ({"claim_id": cid, "amount": "-5.00", "reference": "R4"}, 422),
        ({"claim_id": cid, "amount": "abc", "reference": "R5"}, 422),
        ({"account": "PANOSUCH", "amount": "5.00", "reference": "R6"}, 404),
        ({"claim_id": cid, "amount": "11.00", "reference": "R1"}, 409),
        ({"claim_id": cid, "amount": "5.00"}, 422),
    ):
        with pytest.raises(BillingError) as refused:
            _payment(env, bad)
        assert refused.value.status == status_code, bad
    # over-payment on the account: the rest of the patient's share, then a credit
    rest = owed.patient_responsibility - Decimal("10.00")
    status, body = _payment(env, {"account": owed.facts.account, "reference": "R7",
                                  "amount": f"{rest + Decimal('7.50'):.2f}"})  # fmt: skip
    assert status == 201 and body["credit"] == "7.50"
    final = next(c for c in billing.claim_balances(env.store, env.demo) if c.facts.claim_id == cid)
    assert final.state == "closed" and final.patient_balance == Decimal("-7.50")
    assert env.store.query("SELECT COUNT(*) FROM patient_payments")[0][0] == 2


def test_appeal_is_kept_in_the_history(env: Env) -> None:
    env.route(batch(3, 814))
    env.cycle("sim01")
    cid = billing.claim_balances(env.store, env.demo)[0].facts.claim_id
    answer = billing.post_appeal(env.store, env.demo, cid, {
        "reason": "authorization was on file", "date": "2026-12-02",
        "documents": ["auth-letter.pdf"]}, NOW + 100)  # fmt: skip
    assert answer["n"] == 1
    detail = billing.claim_detail(env.store, env.demo, cid)
    (appeal,) = [e for e in detail["history"] if e["event"] == "appeal"]
    assert appeal["documents"] == ["auth-letter.pdf"] and appeal["appeal_date"] == "2026-12-02"
    with pytest.raises(BillingError) as refused:
        billing.post_appeal(env.store, env.demo, cid, {"reason": ""}, NOW)
    assert refused.value.status == 422


def test_write_off_leaves_ar_and_is_refused_beyond_the_balance(env: Env) -> None:
    env.route(batch(12, 815))
    env.cycle("sim01")
    env.cycle("sim02")
    claims = billing.claim_balances(env.store, env.demo)
    target = next(c for c in claims if c.denied > 0 and c.patient_responsibility > 0)
    cid = target.facts.claim_id
    with pytest.raises(BillingError) as refused:
        billing.post_writeoff(env.store, env.demo, cid, {
            "amount": f"{target.balance + 1:.2f}", "reason": "too much"}, NOW)  # fmt: skip
    assert refused.value.status == 422
    first = billing.post_writeoff(env.store, env.demo, cid, {
        "amount": f"{target.denied:.2f}", "reason": "diagnosis cannot be supported",
        "date": "2026-12-02"}, NOW + 1)  # fmt: skip
    assert first["balance"] == f"{target.patient_responsibility:.2f}"
    assert first["state"] != "written off"  # the patient's share is still open
    last = billing.post_writeoff(env.store, env.demo, cid, {
        "amount": f"{target.patient_responsibility:.2f}", "reason": "hardship"},
        NOW + 2)  # fmt: skip
    assert last["balance"] == "0.00" and last["state"] == "written off"
    after = next(c for c in billing.claim_balances(env.store, env.demo)
                 if c.facts.claim_id == cid)  # fmt: skip
    assert after.patient_balance == ZERO and after.written_off == target.balance
    aging = billing.ar_aging(env.store, env.demo, date(2026, 12, 4), "service")
    others = sum((c.balance for c in claims if c.facts.claim_id != cid), ZERO)
    assert aging["open_balance"] == f"{others:.2f}"
    events = [e["event"] for e in billing.claim_detail(env.store, env.demo, cid)["history"]]
    assert events.count("written off") == 2


def test_unmatched_835_claims_are_listed_as_needing_attention(env: Env) -> None:
    from gateway.pipeline.posting import post_835

    env.route(batch(3, 816))
    env.cycle("sim01")
    (m,) = [m for m in env.store.list_mailbox("demo-billing") if m.kind == "835"]
    content = env.blobs.read(m.sha256).replace(b"TRN*1*", b"TRN*1*X")
    with env.store.transaction() as tx:
        post_835(tx, env.blobs, "demo-billing", "nobody", "other_835.x12", content, NOW)
    listed = billing.list_claims(env.store, env.demo, ClaimFilter())
    assert listed["needs_attention"]
    assert all(u["trace_number"].startswith("X") for u in listed["needs_attention"])
    assert len(listed["claims"]) == 3  # the matched claims are not counted twice
    ext01 = env.partners.get("ext01")
    assert ext01 is not None
    assert billing.list_claims(env.store, ext01, ClaimFilter())["needs_attention"] == []
