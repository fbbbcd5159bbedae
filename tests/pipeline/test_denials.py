"""The denial worklist (gateway/pipeline/denials.py): the demo's denied claims (CARC 27
coverage ended, 197 no authorization, 96 not covered) with plain words, next steps, deadlines
from the payer's profile, and what was done (an appeal, a corrected claim that links back)."""

from __future__ import annotations

from datetime import date

from gateway.pipeline import billing
from gateway.pipeline.denials import denial_worklist, worklist_text
from tests.pipeline.test_routing import NOW, Env, _replacement
from tests.pipeline.test_statements import one_visit


def _worklist(env: Env) -> dict:  # type: ignore[type-arg]
    return denial_worklist(env.store, env.demo, env.partners, env.payers, date(2026, 12, 4))


def test_demo_denials_in_plain_words_with_next_steps_and_deadlines(env: Env) -> None:
    ended = one_visit(8601, 3, [("99213", "95.00")], 900_000_000, "ENDED*ALICE")
    no_auth = one_visit(8602, 4, [("97110", "45.00")], 900_000_002, "PRIORAUTH*CARLA")
    not_covered = one_visit(8603, 5, [("97110", "45.00")], 8, "SMITH*ALEX")  # BASIC1000
    for data in (ended, no_auth, not_covered):
        env.route(data)
    env.cycle("sim01")
    worklist = _worklist(env)
    by_carc = {r["carc"]: e for e in worklist["denials"] for r in e["reasons"]}
    assert {"27", "197", "96"} <= set(by_carc), by_carc.keys()
    assert by_carc["27"]["reasons"][0]["words"] == "Expenses incurred after coverage terminated"
    assert by_carc["27"]["next_step"]["action"] == "bill the patient"
    assert by_carc["197"]["next_step"]["action"] == "corrected claim"
    assert "REF*G1" in by_carc["197"]["next_step"]["advice"]
    assert by_carc["96"]["next_step"]["action"] == "bill the patient"
    assert "signed agreement" in by_carc["96"]["next_step"]["advice"]  # CO group
    # deadlines from SIM01's profile: timely filing of the member's plan (PPOPA: 180 days)
    assert by_carc["197"]["deadline"] == {
        "kind": "timely filing", "date": "2027-04-02",
        "rule": "180 days after the date of service (PPO 500 with prior authorization for therapy)",
    }  # fmt: skip
    assert all(e["status"] == "open" and e["done"] == [] for e in worklist["denials"])
    text = worklist_text(worklist)
    assert "CO-197" in text and "NEXT: corrected claim" in text and "M62" in text


def test_appeal_and_a_corrected_claim_are_what_was_done(env: Env) -> None:
    original = one_visit(8611, 4, [("97110", "45.00")], 900_000_002, "PRIORAUTH*CARLA")
    env.route(original)
    env.cycle("sim01")
    (entry,) = _worklist(env)["denials"]
    claim_id = entry["claim_id"]
    billing.post_appeal(env.store, env.demo, claim_id, {"reason": "auth on file",
                        "date": "2026-12-01"}, NOW + 10)  # fmt: skip
    (entry,) = _worklist(env)["denials"]
    assert entry["status"] == "worked" and entry["done"][0]["what"] == "appealed"
    # the corrected claim, now with the authorization number, goes through
    with_auth = one_visit(8611, 4, [("97110", "45.00")], 900_000_002, "PRIORAUTH*CARLA",
                          authorization="AUTH12345")  # fmt: skip
    corrected = _replacement(with_auth, 8711, "7", entry["payer_claim_number"])
    env.route(corrected)
    env.cycle("sim01", now=NOW + 120)
    claims = billing.claim_balances(env.store, env.demo)
    first = next(c for c in claims if c.facts.claim_id == claim_id)
    second = next(c for c in claims if c.facts.claim_id != claim_id)
    assert first.state == "reversed"
    detail = billing.claim_detail(env.store, env.demo, second.facts.claim_id)
    (link,) = detail["corrects"]
    assert link["claim_id"] == claim_id and link["denials"] == ["197"]
