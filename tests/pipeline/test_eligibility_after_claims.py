"""Eligibility reads the accumulators the claim leg keeps: after a claim paid toward the
deductible, the next 271 for the same member shows less remaining (store-level, no daemon)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from gateway.pipeline.eligibility import answer_one
from gateway.pipeline.routing import route_file
from gateway.x12.eligibility import EligibilityAnswer, EligibilityRequest, Person, answer_json
from tests.pipeline.test_routing import NOW, Env, _one_claim, env  # noqa: F401 (fixture)
from tests.x12files import segments


def remaining(answer: EligibilityAnswer) -> Decimal:
    generic = next(s for s in answer_json(answer)["serviceTypes"] if s["code"] == "30")
    return Decimal(generic["deductibleRemaining"])


def test_deductible_remaining_drops_after_a_paid_claim(env: Env) -> None:  # noqa: F811
    claim = _one_claim(9101, seed=8)  # therapy 97110: deductible applies
    members = {s[9] for s in segments(claim) if s[0] == "NM1" and s[1] == "IL"}
    (member,) = members
    assert re.fullmatch(r"MBR\d{9}", member)
    ask = EligibilityRequest(
        payer_id="SIM01",
        provider_npi="1234567893",
        provider_name="DEMO FAMILY PRACTICE",
        subscriber=Person("ANY", "NAME", member, "19900101"),
        service_date="20261120",
        trace="1",
    )
    before = answer_one(env.store, ask, env.payers, env.partners, date(2026, 11, 24))
    plan = env.payers["sim01"].plans[before.plan_id]
    assert remaining(before) == plan.deductible

    record = env.upload(claim)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01")
    rows = env.store.query("SELECT deductible_met FROM accumulators WHERE member_id = ?", (member,))
    met = Decimal(rows[0]["deductible_met"])
    assert met > 0

    after = answer_one(env.store, ask, env.payers, env.partners, date(2026, 11, 24))
    assert remaining(after) == plan.deductible - met < remaining(before)
