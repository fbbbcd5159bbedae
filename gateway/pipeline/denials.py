"""The denial worklist: every claim an 835 denied in whole or in part (a non-PR adjustment
that is not the contract's allowance: gateway/payers/billing.py), with its reasons and
remarks in plain words (gateway/payers/carc.py), the recommended next step, the deadline
where the payer's profile states one, and what has been done already (appeals, a corrected or
void claim sent, billed to the patient). No Twisted: ``GET /api/v1/denials`` and
``gateway denials``.

Deadlines, from the payer's profile (simulated payers: partners/payers/<id>/):

* appeal: the 835's payment date + ``[payer] appeal_days``;
* corrected or void claim: the date of service + the member's plan ``timely_filing_days``.

An external payer's profile states neither: no deadline is shown (never guessed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from gateway.payers.billing import ZERO, ClaimBalance
from gateway.payers.carc import (
    APPEAL,
    BILL_PATIENT,
    CORRECTED,
    VOID,
    carc_words,
    group_words,
    next_step,
    rarc_words,
)
from gateway.payers.config import PayerConfig
from gateway.pipeline.billing import claim_balances, money
from gateway.profiles import Partner, PartnerSet


def _payer_config(
    c: ClaimBalance, partners: PartnerSet, payers: Mapping[str, PayerConfig]
) -> PayerConfig | None:
    f = c.facts
    if f.payer_partner_id and f.payer_partner_id in payers:
        return payers[f.payer_partner_id]
    for pid, config in payers.items():
        if config.payer_id == f.payer_id:
            return payers[pid]
    return None


def _deadline(c: ClaimBalance, step: str, config: PayerConfig | None) -> dict[str, Any] | None:
    f = c.facts
    latest = f.latest
    if config is None or latest is None:
        return None
    if step == APPEAL and config.appeal_days and latest.payment_date:
        day = latest.payment_date + timedelta(days=config.appeal_days)
        return {"kind": "appeal", "date": day.isoformat(),
                "rule": f"{config.appeal_days} days after the payment date"}  # fmt: skip
    if step in (CORRECTED, VOID) and f.service_date is not None:
        member = config.member(latest.member_id) if latest.member_id else None
        coverage = member.coverage_on(f.service_date) if member else None
        plan = config.plans.get(coverage.plan) if coverage else None
        if plan is not None:
            day = f.service_date + timedelta(days=plan.timely_filing_days)
            return {"kind": "timely filing", "date": day.isoformat(),
                    "rule": f"{plan.timely_filing_days} days after the date of service "
                            f"({plan.name})"}  # fmt: skip
    return None


def _done(c: ClaimBalance, followers: list[ClaimBalance]) -> list[dict[str, Any]]:
    f = c.facts
    done: list[dict[str, Any]] = [
        {"what": "appealed", "date": a.appeal_date.isoformat(), "reason": a.reason,
         "documents": list(a.documents)}
        for a in f.appeals
    ]  # fmt: skip
    for other in followers:
        what = "void sent" if other.facts.frequency_code == "8" else "corrected claim sent"
        done.append({"what": what, "claim_id": other.facts.claim_id, "state": other.state})
    done += [
        {"what": "written off", "date": w.writeoff_date.isoformat(), "amount": money(w.amount),
         "reason": w.reason}
        for w in f.writeoffs
    ]  # fmt: skip
    if f.statements:
        done.append({"what": "billed to the patient", "statement": f.statements[-1][0]})
    return done


def followers_of(c: ClaimBalance, claims: list[ClaimBalance]) -> list[ClaimBalance]:
    """The corrected (frequency 7) or void (8) claims sent after ``c`` that answer it: their
    835 names its payer claim number as the original, or (not answered yet) the same patient
    control number and provider, sent later."""
    f = c.facts
    payer_claims = {r.payer_claim_id for r in f.remits if r.payer_claim_id}
    out = []
    for other in claims:
        o = other.facts
        if o.claim_id == f.claim_id or o.frequency_code not in ("7", "8"):
            continue
        if any(r.original_payer_claim_id in payer_claims for r in o.remits if r.kind != "reversal"):
            out.append(other)
        elif (not o.remits and o.clm01 == f.clm01 and o.billing_npi == f.billing_npi
              and o.claim_id > f.claim_id):  # fmt: skip
            out.append(other)
    return out


def worklist_entry(
    c: ClaimBalance,
    claims: list[ClaimBalance],
    partners: PartnerSet,
    payers: Mapping[str, PayerConfig],
) -> dict[str, Any]:
    f = c.facts
    latest = f.latest
    assert latest is not None
    amounts: dict[tuple[str, str], Decimal] = {}
    for a in latest.adjustments:
        if (a.group, a.carc) in c.denial_codes:
            amounts[(a.group, a.carc)] = amounts.get((a.group, a.carc), ZERO) + a.amount
    main = max(amounts, key=lambda k: amounts[k]) if amounts else c.denial_codes[0]
    step, advice = next_step(main[1])
    if step == BILL_PATIENT and main[0] == "CO":
        # CO: the contract forbids billing the patient unless they agreed in advance
        advice += " (group CO: only with the patient's signed agreement)"
    followers = followers_of(c, claims)
    done = _done(c, followers)
    return {
        "claim_id": f.claim_id,
        "patient_control_number": f.clm01,
        "payer_id": f.payer_id,
        "payer_claim_number": latest.payer_claim_id,
        "billing_npi": f.billing_npi,
        "service_date": f.service_date.isoformat() if f.service_date else None,
        "payment_date": latest.payment_date.isoformat() if latest.payment_date else None,
        "state": c.state,
        "billed": money(f.billed),
        "paid": money(c.insurance_paid),
        "denied": money(c.denied),
        "balance": money(c.balance),
        "reasons": [
            {
                "group": g,
                "group_words": group_words(g),
                "carc": carc,
                "words": carc_words(carc),
                "amount": money(amounts.get((g, carc), ZERO)),
            }
            for g, carc in c.denial_codes
        ],
        "remarks": [{"code": m, "words": rarc_words(m)} for m in latest.all_remarks],
        "next_step": {"action": step, "advice": advice},
        "deadline": _deadline(c, step, _payer_config(c, partners, payers)),
        "done": done,
        "status": "worked" if done else "open",
    }


def denial_worklist(
    store: Any,
    partner: Partner,
    partners: PartnerSet,
    payers: Mapping[str, PayerConfig],
    today: date,
) -> dict[str, Any]:
    """The partner's worklist: open items first, then by deadline and date of service."""
    claims = claim_balances(store, partner)
    items = [
        worklist_entry(c, claims, partners, payers)
        for c in claims
        if c.denial_codes and c.facts.latest is not None
    ]
    items.sort(key=lambda e: (e["status"] != "open",
                              (e["deadline"] or {}).get("date", "9999"),
                              e["service_date"] or "", e["claim_id"]))  # fmt: skip
    overdue = sum(1 for e in items if e["deadline"] and e["deadline"]["date"] < today.isoformat())
    return {
        "partner": partner.id,
        "as_of": today.isoformat(),
        "claims": len(items),
        "overdue": overdue,
        "denials": items,
    }


def worklist_text(worklist: Mapping[str, Any]) -> str:
    """The worklist for a terminal (``gateway denials``)."""
    lines = [
        f"DENIAL WORKLIST  {worklist['partner']}  as of {worklist['as_of']}  "
        f"{worklist['claims']} claim(s), {worklist['overdue']} past deadline",
        "",
    ]
    for e in worklist["denials"]:
        deadline = e["deadline"]
        due = f"by {deadline['date']} ({deadline['kind']})" if deadline else "no deadline stated"
        lines.append(
            f"claim {e['claim_id']}  {e['patient_control_number']}  payer {e['payer_id']} "
            f"ICN {e['payer_claim_number']}  DOS {e['service_date']}  {e['state']}  "
            f"denied {e['denied']} of {e['billed']}  [{e['status']}]"
        )
        for r in e["reasons"]:
            lines.append(f"    {r['group']}-{r['carc']} {r['amount']:>8}  {r['words']}")
        for m in e["remarks"]:
            lines.append(f"    {m['code']:<12} {m['words']}")
        lines.append(f"    NEXT: {e['next_step']['action']}: {e['next_step']['advice']}")
        lines.append(f"    DEADLINE: {due}")
        for d in e["done"]:
            what = ", ".join(
                f"{k} {', '.join(v) if isinstance(v, list) else v}"
                for k, v in d.items()
                if k != "what"
            )
            lines.append(f"    DONE: {d['what']} ({what})")
        lines.append("")
    return "\n".join(lines) + "\n"
