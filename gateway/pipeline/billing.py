"""Patient billing over the store: claims with their derived balance and state, their whole
history, A/R aging, patient payments and appeals. No Twisted: the HTTP API
(gateway/api/billing.py) runs these in the store thread, the CLI directly.

A partner sees the claims it submitted and the claims of its own providers (the NPIs in its
profile); anything else is answered as if it did not exist. What these return is PHI-free
for logs only where said (the audit details); the JSON answers are the partner's own data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.payers.billing import (
    STATES,
    ZERO,
    Aging,
    ClaimBalance,
    PatientPayment,
    aging,
    balances,
    denials_in,
)
from gateway.payers.carc import carc_words, group_words, rarc_words
from gateway.profiles import Partner
from gateway.store.sqlite import Store

MAX_CLAIMS = 1000


class BillingError(Exception):
    """A request the billing calls refuse: ``status`` (400/404/409/422), a code, a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def npis_of(partner: Partner) -> list[str]:
    return sorted({p.npi for p in partner.providers})


def claim_balances(store: Store, partner: Partner) -> list[ClaimBalance]:
    """Every claim the partner may see, with its balance and state (patient payments
    applied)."""
    facts = store.claim_facts(partner.id, npis_of(partner))
    return balances(facts, store.patient_payments(partner.id))


def one_claim(store: Store, partner: Partner, claim_id: int) -> ClaimBalance:
    found = [c for c in claim_balances(store, partner) if c.facts.claim_id == claim_id]
    if not found:
        raise BillingError(404, "not_found", "no such claim")
    return found[0]


# ------------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class ClaimFilter:
    states: frozenset[str] = frozenset()
    payer: str = ""
    npi: str = ""
    carc: str = ""
    """Denied with this CARC (any non-PR, non-allowance group)."""
    service_from: date | None = None
    service_to: date | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None

    def keeps(self, c: ClaimBalance) -> bool:
        f = c.facts
        if self.states and c.state not in self.states:
            return False
        if self.payer and self.payer not in (f.payer_id, f.payer_partner_id):
            return False
        if self.npi and f.billing_npi != self.npi:
            return False
        if self.carc and self.carc not in {carc for _, carc in c.denial_codes}:
            return False
        dos = f.service_date
        if self.service_from and (dos is None or dos < self.service_from):
            return False
        if self.service_to and (dos is None or dos > self.service_to):
            return False
        if self.submitted_from and f.submitted_on < self.submitted_from:
            return False
        return not (self.submitted_to and f.submitted_on > self.submitted_to)


def parse_day(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BillingError(400, "invalid_query", f"{name}: a date YYYY-MM-DD") from exc


def claim_filter(args: Mapping[str, str]) -> ClaimFilter:
    """The filter of ``GET /api/v1/claims`` query parameters (400 on a bad one)."""
    states = frozenset(s for s in args.get("state", "").split(",") if s)
    unknown = sorted(states - set(STATES))
    if unknown:
        raise BillingError(
            400, "invalid_query", f"state {unknown[0]!r}: one of {', '.join(STATES)}"
        )

    def day(name: str) -> date | None:
        return parse_day(name, args[name]) if args.get(name) else None

    return ClaimFilter(
        states=states,
        payer=args.get("payer", ""),
        npi=args.get("npi", ""),
        carc=args.get("carc", ""),
        service_from=day("service_from"),
        service_to=day("service_to"),
        submitted_from=day("submitted_from"),
        submitted_to=day("submitted_to"),
    )


def claim_json(c: ClaimBalance) -> dict[str, Any]:
    f = c.facts
    latest = f.latest
    return {
        "id": f.claim_id,
        "patient_control_number": f.clm01,
        "payer_id": f.payer_id,
        "billing_npi": f.billing_npi,
        "frequency_code": f.frequency_code,
        "submitted_at": _iso(f.submitted_at),
        "service_date": f.service_date.isoformat() if f.service_date else None,
        "state": c.state,
        "account": f.account,
        "payer_claim_number": latest.payer_claim_id if latest else None,
        "billed": money(f.billed),
        "insurance_paid": money(c.insurance_paid),
        "contractual": money(c.contractual),
        "denied": money(c.denied),
        "patient_responsibility": money(c.patient_responsibility),
        "patient_paid": money(c.patient_paid),
        "written_off": money(c.written_off),
        "balance": money(c.balance),
        "patient_balance": money(c.patient_balance),
        "denials": [
            {"group": g, "carc": carc, "words": carc_words(carc)} for g, carc in c.denial_codes
        ],
    }


def list_claims(
    store: Store, partner: Partner, query: ClaimFilter, limit: int = MAX_CLAIMS
) -> dict[str, Any]:
    """``GET /api/v1/claims``: the partner's claims (newest first) and the posted 835 claims
    that match none of them ("needs attention")."""
    kept = [c for c in claim_balances(store, partner) if query.keeps(c)]
    kept.reverse()
    unmatched = store.unmatched(partner.id)
    return {
        "partner": partner.id,
        "truncated": len(kept) > limit,
        "claims": [claim_json(c) for c in kept[:limit]],
        "needs_attention": [
            {
                "payer": u.payer_key,
                "trace_number": u.trace,
                "claim_seq": u.seq,
                "patient_control_number": u.patient_control,
                "payer_claim_number": u.payer_claim_id,
                "billing_npi": u.billing_npi,
                "paid": money(u.paid),
                "patient_responsibility": money(u.patient_responsibility),
                "reason": "matches no claim the gateway routed to this payer",
            }
            for u in unmatched
        ],
    }


def history(c: ClaimBalance) -> list[dict[str, Any]]:
    """What happened to the claim, in order."""
    f = c.facts
    events: list[tuple[float, dict[str, Any]]] = []
    if f.accepted:
        events.append((f.submitted_at, {"event": "accepted by the clearinghouse"}))
    else:
        events.append((f.submitted_at, {"event": "rejected by the clearinghouse",
                                        "codes": list(f.codes)}))  # fmt: skip
    if f.route_id is not None and f.route_state is not None:
        events.append((f.submitted_at, {"event": "routed", "payer": f.payer_partner_id}))
        if f.route_state not in ("routed", "adjudicated") and f.route_updated_at is not None:
            events.append((f.route_updated_at, {"event": f"payer: {f.route_state}"}))
    for r in f.remits:
        events.append((r.posted_at, {
            "event": "835 posted",
            "payer": r.payer_key,
            "trace_number": r.trace,
            "payment_date": r.payment_date.isoformat() if r.payment_date else None,
            "payer_claim_number": r.payer_claim_id,
            "status": r.status_code,
            "kind": r.kind,
            "state": r.state,
            "billed": money(r.billed),
            "paid": money(r.paid),
            "patient_responsibility": money(r.patient_responsibility),
            "adjustments": [
                {"line": a.line_number, "group": a.group, "carc": a.carc,
                 "amount": money(a.amount), "words": carc_words(a.carc),
                 "group_words": group_words(a.group)}
                for a in r.adjustments
            ],
            "remarks": [{"code": m, "words": rarc_words(m)} for m in r.remarks],
            "lines": [
                {"line": ln.line_number, "procedure": ln.procedure,
                 "service_date": ln.service_date.isoformat() if ln.service_date else None,
                 "billed": money(ln.billed), "paid": money(ln.paid)}
                for ln in r.lines
            ],
        }))  # fmt: skip
    for statement_id, at in f.statements:
        events.append((at, {"event": "on a patient statement", "statement": statement_id}))
    for p, applied in c.payments:
        events.append((p.posted_at, {
            "event": "patient payment", "reference": p.reference, "method": p.method,
            "payment_date": p.payment_date.isoformat(), "applied": money(applied),
        }))  # fmt: skip
    for w in f.writeoffs:
        events.append((w.recorded_at, {
            "event": "written off", "n": w.n, "amount": money(w.amount), "reason": w.reason,
            "date": w.writeoff_date.isoformat(),
        }))  # fmt: skip
    for a in f.appeals:
        events.append((a.recorded_at, {
            "event": "appeal", "n": a.n, "reason": a.reason,
            "appeal_date": a.appeal_date.isoformat(), "documents": list(a.documents),
        }))  # fmt: skip
    head = 3 if len(events) > 2 and events[2][1]["event"].startswith("payer:") else 2
    tail = sorted(events[head:], key=lambda e: e[0])  # the claim's own steps come first
    return [{"at": _iso(at), **event} for at, event in events[:head] + tail]


def claim_detail(store: Store, partner: Partner, claim_id: int) -> dict[str, Any]:
    """``GET /api/v1/claims/{id}``: the claim and its whole history."""
    claims = claim_balances(store, partner)
    found = [c for c in claims if c.facts.claim_id == claim_id]
    if not found:
        raise BillingError(404, "not_found", "no such claim")
    c = found[0]
    # a corrected (7) or void (8) claim links back to the claim (and denial) it answers
    originals = {r.original_payer_claim_id for r in c.facts.remits if r.original_payer_claim_id}
    corrects = [
        {"claim_id": o.facts.claim_id, "payer_claim_number": r.payer_claim_id,
         "state": o.state, "denials": [carc for _, carc in denials_in(r)]}
        for o in claims
        for r in o.facts.remits
        if r.payer_claim_id in originals and r.kind != "reversal" and o is not c
    ]  # fmt: skip
    return {**claim_json(c), "corrects": corrects, "history": history(c)}


def aging_json(result: Aging) -> dict[str, Any]:
    def buckets(values: Mapping[str, Decimal]) -> dict[str, Any]:
        return {
            **{k: money(v) for k, v in values.items()},
            "total": money(sum(values.values(), ZERO)),
        }

    return {
        "as_of": result.as_of.isoformat(),
        "basis": result.basis,
        "claims": result.claims,
        "open_balance": money(result.open_balance),
        "total": buckets(result.total),
        "by_payer": {k: buckets(v) for k, v in sorted(result.by_payer.items())},
        "by_provider": {k: buckets(v) for k, v in sorted(result.by_provider.items())},
    }


def ar_aging(store: Store, partner: Partner, as_of: date, basis: str) -> dict[str, Any]:
    """``GET /api/v1/ar-aging``: open balances by age (``basis`` ``service`` or
    ``submission``), in total, by payer and by provider."""
    if basis not in ("service", "submission"):
        raise BillingError(400, "invalid_query", "basis: service or submission")
    return {"partner": partner.id, **aging_json(aging(claim_balances(store, partner), as_of,
                                                      basis))}  # fmt: skip


# ----------------------------------------------------------------------- patient payments

METHODS = ("cash", "check", "card", "ach", "other")


def _field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BillingError(400, "invalid_field", f"{name}: a string")
    return str(value).strip()


def _amount(raw: Any) -> Decimal:
    """A positive amount of at most 2 decimals (a string or number), else 422."""
    try:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise InvalidOperation
        amount = Decimal(str(raw))
    except InvalidOperation as exc:
        raise BillingError(422, "invalid_field", 'amount: a decimal, e.g. "25.00"') from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise BillingError(422, "invalid_field", "amount: positive, at most 2 decimals")
    return amount


def post_patient_payment(
    store: Store, partner: Partner, body: Any, now: float
) -> tuple[int, dict[str, Any]]:
    """``POST /api/v1/patient-payments``: (201 posted | 200 this reference was posted
    already, the answer). Refused: unknown claim or account 404, non-positive or malformed
    amount 422, a reference reused for another payment 409."""
    if not isinstance(body, dict):
        raise BillingError(400, "bad_json", "the body must be a JSON object")
    reference = _field(body, "reference")
    if not reference or len(reference) > 64:
        raise BillingError(422, "invalid_field", "reference: required, at most 64 characters")
    amount = _amount(body.get("amount"))
    method = _field(body, "method").lower() or "other"
    if method not in METHODS:
        raise BillingError(422, "invalid_field", f"method: one of {', '.join(METHODS)}")
    day = _field(body, "date")
    paid_on = (
        parse_day("date", day).isoformat()
        if day
        else datetime.fromtimestamp(now, UTC).date().isoformat()
    )
    claim_raw, account = body.get("claim_id"), _field(body, "account")
    if (claim_raw is None) == (not account):
        raise BillingError(422, "invalid_field", "give either claim_id or account")
    claims = claim_balances(store, partner)
    claim_id: int | None = None
    if claim_raw is not None:
        if isinstance(claim_raw, bool) or not isinstance(claim_raw, int):
            raise BillingError(422, "invalid_field", "claim_id: an integer")
        found = [c for c in claims if c.facts.claim_id == claim_raw]
        if not found:
            raise BillingError(404, "unknown_claim", f"no claim {claim_raw}")
        claim_id = claim_raw
        account = found[0].facts.account or ""
    elif not any(c.facts.account == account for c in claims):
        raise BillingError(404, "unknown_account", f"no account {account}")
    payment = PatientPayment(
        reference, claim_id, account, amount, date.fromisoformat(paid_on), method, now
    )
    with store.transaction() as tx:
        stored = tx.add_patient_payment(partner.id, payment)
    same = (stored.claim_id, stored.account, stored.amount, stored.payment_date) == (
        payment.claim_id, payment.account, payment.amount, payment.payment_date
    )  # fmt: skip
    if not same:
        raise BillingError(409, "reference_used", f"reference {reference} names another payment")
    status = 201 if stored.posted_at == now else 200
    after = balances(store.claim_facts(partner.id, npis_of(partner)),
                     store.patient_payments(partner.id))  # fmt: skip
    touched = [c for c in after if any(p.reference == reference for p, _ in c.payments)]
    credit = sum((c.patient_balance for c in touched if c.patient_balance < 0), ZERO)
    return status, {
        "reference": stored.reference,
        "claim_id": stored.claim_id,
        "account": stored.account,
        "amount": money(stored.amount),
        "date": stored.payment_date.isoformat(),
        "method": stored.method,
        "already_posted": status == 200,
        "applied": [
            {
                "claim_id": c.facts.claim_id,
                "amount": money(a),
                "patient_balance": money(c.patient_balance),
                "balance": money(c.balance),
            }
            for c in touched
            for p, a in c.payments
            if p.reference == reference
        ],
        "credit": money(-credit) if credit < 0 else "0.00",
    }


# ------------------------------------------------------------------------------ appeals


def _reason_and_date(body: Any, now: float) -> tuple[str, date]:
    """The ``reason`` (required) and ``date`` (default today) of a claim's record."""
    if not isinstance(body, dict):
        raise BillingError(400, "bad_json", "the body must be a JSON object")
    reason = _field(body, "reason")
    if not reason or len(reason) > 500:
        raise BillingError(422, "invalid_field", "reason: required, at most 500 characters")
    day = _field(body, "date")
    return reason, parse_day("date", day) if day else datetime.fromtimestamp(now, UTC).date()


def post_appeal(
    store: Store, partner: Partner, claim_id: int, body: Any, now: float
) -> dict[str, Any]:
    """``POST /api/v1/claims/{id}/appeals``: record an appeal (reason, date, documents)."""
    reason, when = _reason_and_date(body, now)
    documents = body.get("documents", [])
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise BillingError(422, "invalid_field", "documents: a list of strings (names, links)")
    one_claim(store, partner, claim_id)  # 404 unless the partner's
    with store.transaction() as tx:
        appeal = tx.add_appeal(partner.id, claim_id, reason, when, documents, now)
    return {
        "claim_id": claim_id,
        "n": appeal.n,
        "reason": appeal.reason,
        "date": appeal.appeal_date.isoformat(),
        "documents": list(appeal.documents),
    }


def post_writeoff(
    store: Store, partner: Partner, claim_id: int, body: Any, now: float
) -> dict[str, Any]:
    """``POST /api/v1/claims/{id}/write-offs``: write off (part of) the claim's open balance
    (amount, reason, date). More than is open, or nothing open, is refused (422)."""
    reason, when = _reason_and_date(body, now)
    amount = _amount(body.get("amount"))
    claim = one_claim(store, partner, claim_id)
    if amount > claim.balance:
        raise BillingError(
            422, "invalid_field", f"amount: at most the open balance, {money(claim.balance)}"
        )
    with store.transaction() as tx:
        w = tx.add_writeoff(partner.id, claim_id, amount, reason, when, now)
    after = one_claim(store, partner, claim_id)
    return {
        "claim_id": claim_id,
        "n": w.n,
        "amount": money(w.amount),
        "reason": w.reason,
        "date": w.writeoff_date.isoformat(),
        "balance": money(after.balance),
        "state": after.state,
    }
