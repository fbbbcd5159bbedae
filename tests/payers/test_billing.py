"""The pure billing core (gateway/payers/billing.py): balances and states from facts, patient
payments applied (claim, account oldest first, credit), A/R aging buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gateway.payers.billing import (
    ZERO,
    Adjustment,
    ClaimFacts,
    PatientPayment,
    RemitLine,
    RemitPost,
    WriteOff,
    account_number,
    age_bucket,
    aging,
    balances,
    patient_reason,
)

D = Decimal


def remit(paid: str, adjustments: list[tuple[str, str, str]], billed: str = "100.00",
          state: str = "paid in full", status: str = "1", day: int = 1) -> RemitPost:  # fmt: skip
    adj = tuple(Adjustment(1, g, c, D(a)) for g, c, a in adjustments)
    pr = sum((a.amount for a in adj if a.group == "PR"), ZERO)
    co = sum((a.amount for a in adj if a.group == "CO"), ZERO)
    return RemitPost(
        "SIM01", "Payer", "T1", 1, date(2026, 10, day), 1.0, status,
        "reversal" if status == "22" else "original", "ICN1", "", date(2026, 10, day),
        D(billed), D(paid), co, pr, D(billed) - D(paid) - co - pr, state, (), adj,
        (RemitLine(1, "HC:99213", date(2026, 10, day), D(billed), D(paid)),), "MBR1", "DOE",
        "JANE",
    )  # fmt: skip


def facts(claim_id: int, *remits: RemitPost, accepted: bool = True, **kw: object) -> ClaimFacts:
    return ClaimFacts(claim_id, "demo", "F1", f"C{claim_id}", "SIM01", "1234567893",
                      D("100.00"), "1", accepted, (), 1_795_000_000.0, remits=remits,
                      **kw)  # type: ignore[arg-type]  # fmt: skip


def test_states_through_the_cycle() -> None:
    rejected = facts(1, accepted=False)
    pending = facts(2, route_state="routed")
    payer_rejected = facts(3, route_state="payer_rejected")
    paid = facts(4, remit("80.00", [("CO", "45", "20.00")]))
    copay = facts(5, remit("60.00", [("CO", "45", "15.00"), ("PR", "3", "25.00")]))
    denied = facts(6, remit("0.00", [("CO", "197", "100.00")], state="denied"))
    reversed_ = facts(7, remit("80.00", [("CO", "45", "20.00")]),
                      remit("-80.00", [("CO", "45", "-20.00")], billed="-100.00",
                            status="22", state="reversed"))  # fmt: skip
    got = {b.facts.claim_id: b for b in balances(
        [rejected, pending, payer_rejected, paid, copay, denied, reversed_])}  # fmt: skip
    assert [got[i].state for i in range(1, 8)] == [
        "rejected (clearinghouse)", "pending", "rejected (payer)", "paid in full",
        "paid in full", "denied", "reversed",
    ]  # fmt: skip
    assert got[1].balance == ZERO and got[2].balance == D("100.00")
    assert got[4].balance == ZERO and got[4].contractual == D("20.00")
    assert got[5].balance == D("25.00") and got[5].patient_balance == D("25.00")
    assert got[6].denied == D("100.00") and got[6].balance == D("100.00")
    assert got[6].denial_codes == (("CO", "197"),)
    assert got[7].balance == ZERO and got[7].insurance_paid == ZERO


def test_account_payment_pays_oldest_first_then_credit() -> None:
    first = facts(1, remit("0.00", [("CO", "45", "20.00"), ("PR", "1", "80.00")],
                           state="patient responsibility", day=1))  # fmt: skip
    second = facts(2, remit("60.00", [("CO", "45", "15.00"), ("PR", "2", "25.00")], day=9))
    account = first.account
    assert account == second.account == account_number("1234567893", "MBR1", "DOE", "JANE")
    assert account is not None and "MBR1" not in account
    pay = PatientPayment("R1", None, account, D("120.00"), date(2026, 11, 1), "card", 5.0)
    one, two = balances([first, second], [pay])
    assert one.patient_paid == D("80.00") and one.state == "closed"
    assert two.patient_paid == D("40.00") and two.patient_balance == D("-15.00")
    assert two.state == "closed" and two.balance == D("-15.00")  # a credit


def test_claim_payment_and_partial_and_statement_states() -> None:
    owed = facts(1, remit("60.00", [("CO", "45", "15.00"), ("PR", "2", "25.00")]),
                 statements=(("S1", 2.0),))  # fmt: skip
    (billed,) = balances([owed])
    assert billed.state == "patient responsibility billed"
    pay = PatientPayment("R1", 1, "", D("10.00"), date(2026, 11, 1), "cash", 5.0)
    (part,) = balances([owed], [pay])
    assert part.state == "patient paid" and part.balance == D("15.00")


def test_write_off_covers_the_denial_then_the_patient() -> None:
    writeoff = WriteOff(1, 1, D("50.00"), "hardship", date(2026, 12, 1), 3.0)
    posted = remit("40.00", [("CO", "11", "35.00"), ("PR", "3", "25.00")], state="partly paid")
    claim = facts(1, posted, writeoffs=(writeoff,))
    (b,) = balances([claim])
    assert b.balance == D("10.00") and b.patient_balance == D("10.00")
    assert b.state == "partly paid"


def test_aging_buckets_add_up() -> None:
    assert [age_bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 120, 121)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "91-120", "91-120", "120+"]  # fmt: skip
    claims = balances([
        facts(1, remit("0.00", [("PR", "1", "100.00")], state="patient responsibility", day=1)),
        facts(2, route_state="routed"),
    ])  # fmt: skip
    result = aging(claims, date(2026, 12, 4))
    assert result.total["61-90"] == D("100.00")  # 2026-10-01: 64 days
    assert result.open_balance == D("200.00") and result.claims == 2
    assert sum(result.by_payer["SIM01"].values(), ZERO) == result.open_balance


def test_patient_reasons_in_words() -> None:
    assert [patient_reason(c) for c in ("1", "2", "3", "96")] == [
        "deductible", "coinsurance", "copay", "not covered by your plan"]  # fmt: skip
