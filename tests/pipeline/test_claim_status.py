"""Claim status from the claim's real lifecycle in the store (store-level, no daemon): not
found, at the clearinghouse, at the payer, pended for records, paid with the 835's trace,
corrected and voided, rejected by our edits; never another partner's claim. Every 277 built
from the answers validates against our X212 map."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gateway.pipeline.claim_status import answer_one, json_277
from gateway.pipeline.routing import route_file
from gateway.x12.claim_status import StatusAnswer, StatusRequest, statuses_of
from gateway.x12.eligibility import Person
from gateway.x12.remit_read import read_835
from tests.pipeline.test_routing import NOW, Env, _one_claim, _replacement, env  # noqa: F401
from tests.x12.test_claim_status import validate_277
from tests.x12files import claim_status_276, segments

LATER = datetime.fromtimestamp(NOW + 600, UTC)


def request_for(data: bytes, **kw: object) -> StatusRequest:
    segs = segments(data)
    clm = next(s for s in segs if s[0] == "CLM")
    npi = next(s for s in segs if s[0] == "NM1" and s[1] == "85")[9]
    payer = next(s for s in segs if s[0] == "NM1" and s[1] == "PR")[9]
    member = next(s for s in segs if s[0] == "NM1" and s[1] == "IL")
    base = StatusRequest(
        payer_id=payer, provider_npi=npi, provider_name="DEMO FAMILY PRACTICE",
        receiver_name="DEMO BILLING", receiver_id="DEMOBILLING",
        subscriber=Person(member[4], member[3], member[9]), trace="TRACE1", claim_id=clm[1],
        charge=Decimal(clm[2]),
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def ask(env: Env, request: StatusRequest, partner: str = "demo-billing") -> StatusAnswer:  # noqa: F811
    answer = answer_one(env.store, request, partner_id=partner, payers=env.payers,
                        partners=env.partners, channel="test", now=LATER)  # fmt: skip
    x12 = json_277(answer, config=env.config, receiver=("ZZ", "DEMOBILLING"), control=7,
                   now=LATER)  # fmt: skip
    assert validate_277(x12) == []
    return answer


def route(env: Env, data: bytes) -> None:  # noqa: F811
    record = env.upload(data)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)


def test_lifecycle_from_not_found_to_paid(env: Env) -> None:  # noqa: F811
    data = _one_claim(801)
    request = request_for(data)
    assert statuses_of(ask(env, request)) == "A4:35"
    record = env.upload(data)
    at_clearinghouse = ask(env, request)
    assert statuses_of(at_clearinghouse) == "A1:20" and at_clearinghouse.source == "clearinghouse"
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    assert statuses_of(ask(env, request)) == "P1:20"
    env.cycle("sim01")
    paid = ask(env, request)
    (remit,) = env.mailbox("demo-billing", "835")
    (read,) = read_835(remit)
    (claim,) = read.claims
    assert paid.statuses[0].category == "F1" and paid.statuses[0].code == "65"
    assert paid.paid == claim.decision.paid > 0
    assert paid.payment_trace == read.payment.trace_number  # TRN02 of the 835 that paid it
    assert paid.payment_date == read.payment.payment_date
    assert paid.payer_claim_id == claim.decision.payer_claim_id
    assert paid.lines and sum(line.paid for line in paid.lines) == paid.paid
    # the same claim asked by the payer's claim number only
    by_number = ask(env, replace(request, claim_id="", payer_claim_id=paid.payer_claim_id))
    assert statuses_of(by_number) == statuses_of(paid)
    # a charge that differs: the search is unsuccessful
    assert statuses_of(ask(env, replace(request, charge=Decimal("1.00")))) == "D0:35"
    rows = env.store.query("SELECT status, source, clm01 FROM status_requests")
    assert len(rows) == 6
    assert {"A4:35", "A1:20", "P1:20", "D0:35"} <= {r["status"] for r in rows}


def test_another_partners_or_providers_claim_is_not_found(env: Env) -> None:  # noqa: F811
    data = _one_claim(802)
    route(env, data)
    env.cycle("sim01")
    request = request_for(data)
    assert statuses_of(ask(env, request, partner="someone-else")) == "A4:35"
    assert statuses_of(ask(env, replace(request, provider_npi="1993999998"))) == "A4:35"
    assert statuses_of(ask(env, replace(request, payer_id="SIM02"))) == "A4:35"
    assert ask(env, request).category == "F1"


def test_pended_for_records_is_waiting_for_information(env: Env) -> None:  # noqa: F811
    data = _one_claim(803).replace(b"MBR000000001", b"MBR900000005")
    route(env, data)
    env.cycle("sim01")
    pended = ask(env, request_for(data))
    assert statuses_of(pended) == "P3:297"
    # the pend rule asks for a progress note (a 277 RFAI): due 30 days after the cycle
    due = (datetime.fromtimestamp(NOW + 60, UTC).date() + timedelta(days=30)).isoformat()
    assert pended.requested == "progress note"
    assert pended.message == f"waiting for information: progress note, due {due}"
    assert pended.due is not None and pended.due.isoformat() == due
    # the next cycle keeps it waiting: the request is open
    env.cycle("sim01", now=NOW + 120)
    assert statuses_of(ask(env, request_for(data))) == "P3:297"


def test_corrected_claim_is_revised_and_a_void_reversed(env: Env) -> None:  # noqa: F811
    original = _one_claim(804)
    route(env, original)
    env.cycle("sim01")
    first = ask(env, request_for(original))
    corrected = _replacement(original, 904, "7", first.payer_claim_id)
    route(env, corrected)
    env.cycle("sim01", now=NOW + 120)
    revised = ask(env, request_for(corrected))
    assert [s.category for s in revised.statuses][:2] == ["F1", "F3"]
    assert revised.payer_claim_id != first.payer_claim_id
    assert revised.message.startswith("Corrected claim re-adjudicated")
    other = _one_claim(806, seed=3)
    route(env, other)
    env.cycle("sim01", now=NOW + 180)
    paid = ask(env, request_for(other))
    void = _replacement(other, 906, "8", paid.payer_claim_id)
    route(env, void)
    env.cycle("sim01", now=NOW + 240)
    voided = ask(env, request_for(void))
    assert statuses_of(voided) == "F3:101" and voided.paid == 0


def test_rejected_by_our_edits_is_a_clearinghouse_answer(env: Env) -> None:  # noqa: F811
    data = _one_claim(805)
    clm = next(s for s in segments(data) if s[0] == "CLM")
    bad = data.replace(f"CLM*{clm[1]}*{clm[2]}*".encode(), f"CLM*{clm[1]}*999.99*".encode())
    env.upload(bad)
    answer = ask(env, request_for(bad))
    assert answer.source == "clearinghouse" and statuses_of(answer) == "A7:400"


def test_batch_276_file_gets_its_999_then_a_277(env: Env) -> None:  # noqa: F811
    """A 276 file (SFTP/API/AS2 alike): the 999, then ``<stamp>_<file id>_277.x12`` with one
    277 per 276 set, each claim answered from its lifecycle."""
    data = _one_claim(807)
    route(env, data)
    env.cycle("sim01")
    asked = request_for(data)
    status_file = claim_status_276(
        "SIM01", asked.provider_npi,
        [(asked.claim_id, str(asked.charge), asked.subscriber.member_id,
          asked.subscriber.last_name), ("NOSUCH", "1.00", "MBR1", "X")],
        control=8807, date=next(s for s in segments(data) if s[0] == "DTP")[3],
    )  # fmt: skip
    record = env.upload(status_file)
    (ack,) = [a for a in env.mailbox("demo-billing", "999") if b"AK1*HR*" in a]
    assert b"AK9*A*1*1*1" in ack
    outcome = route_file(env.store, env.blobs, record, partners=env.partners,
                         config=env.config, now=NOW, payers=env.payers)  # fmt: skip
    (content,) = env.mailbox("demo-billing", "277")
    (placed,) = outcome.answer_files
    assert placed.name.endswith(f"_{record.id}_277.x12")
    assert validate_277(content) == []
    text = content.decode()
    assert "TRN*2*TRK1~STC*F1:65*" in text and "TRN*2*TRK2~STC*A4:35*" in text
    assert [e["outcome"] for e in outcome.inquiries] == ["F1", "A4"]
    assert all(e["inquiry"] == "276" for e in outcome.inquiries)


def test_batch_276s_for_an_external_payer_go_to_its_mailbox_and_back(env: Env) -> None:  # noqa: F811
    """A 276 file naming an external payer: routed to its mailbox (``_276.x12``); its 277
    X212 (TRN echoed) comes back through the inquiry routes and reaches the submitter."""
    from datetime import UTC, datetime

    from gateway.x12.claim_status import (
        SetAnswers,
        Status,
        StatusAnswer,
        build_277,
        envelope_for,
        read_276,
    )
    from gateway.x12.claims import iter_transaction_sets
    from tests.pipeline.test_inquiries import upload_as

    status_file = claim_status_276("EXT01", "1234567893", [("C9X1", "10.00", "MBR1", "DOE"),
                                                           ("C9X2", "20.00", "MBR2", "ROE")],
                                   control=8830)  # fmt: skip
    record = env.upload(status_file)
    outcome = route_file(env.store, env.blobs, record, partners=env.partners,
                         config=env.config, now=NOW, payers=env.payers)  # fmt: skip
    assert not outcome.problems and env.mailbox("demo-billing", "277") == []
    (sent,) = env.mailbox("ext01", "276")
    assert b"GS*HR*CLEARINGHOUSE*EXT01PAYER*" in sent
    when = datetime(2026, 11, 25, tzinfo=UTC)
    answers = [
        SetAnswers(r.reference, (StatusAnswer(r, (Status("F1", "65"),), when.date()),))
        for ts in iter_transaction_sets(sent)
        for r in read_276(ts.segments, ts.delimiters)
    ]
    answer = build_277(answers, envelope_for(("ZZ", "EXT01PAYER"), ("ZZ", "CLEARINGHOUSE"),
                                             5601, when, "T"))  # fmt: skip
    assert validate_277(answer) == []
    back = upload_as(env, "ext01", answer)
    routed = route_file(env.store, env.blobs, back, partners=env.partners,  # type: ignore[arg-type]
                        config=env.config, now=NOW + 5, payers=env.payers)  # fmt: skip
    assert not routed.problems, routed.problems
    forwarded = env.mailbox("demo-billing", "277")  # one per answer set
    assert forwarded and all(validate_277(f) == [] for f in forwarded)
    assert sorted(re.findall(rb"TRN\*2\*([^~]+)~", b"".join(forwarded))) == [b"TRK1", b"TRK2"]
    assert b"".join(forwarded).count(b"STC*F1:65*") == 2
    assert b"*ZZ*CLEARINGHOUSE  *ZZ*DEMOBILLING    *" in forwarded[0]


def test_a_claim_our_999_rejected_is_answered_with_that_reason(env: Env) -> None:  # noqa: F811
    """Its set never reached the edits (the guide check rejected it): the claim is still
    the clearinghouse's to answer for, A3:21 with the reason, not "not found"."""
    data = _one_claim(806)
    # CLM05-1 (place of service) not a code: a guide error, the 999 rejects the set
    bad = re.sub(rb"(CLM\*[^*~]*\*[^*~]*\*\*\*)11:", rb"\1ZZ:", data, count=1)
    assert bad != data
    env.upload(bad)
    answer = ask(env, request_for(bad))
    assert answer.source == "clearinghouse"
    assert statuses_of(answer) == "A3:21"
    assert "999" in answer.message and "implementation-guide" in answer.message


def test_a_claim_in_an_interchange_our_ta1_rejected_is_answered_with_that_reason(
    env: Env,  # noqa: F811
) -> None:
    data = _one_claim(807)
    # ISA15 usage indicator not allowed for the partner's interchange: TA1 rejects it
    isa_end = data.index(b"~")
    fields = data[:isa_end].split(b"*")
    fields[15] = b"X"
    bad = b"*".join(fields) + data[isa_end:]
    env.upload(bad)
    answer = ask(env, request_for(bad))
    assert answer.source == "clearinghouse" and statuses_of(answer) == "A3:21"
    assert "TA1" in answer.message


def test_a_rejected_resubmission_does_not_hide_the_accepted_claim(env: Env) -> None:  # noqa: F811
    """The same claim sent again is rejected as a duplicate (A3:78); the status is still
    that of the claim the payer has."""
    data = _one_claim(808)
    env.upload(data)
    again = data.replace(b"000000808", b"000000908").replace(b"*808*X*", b"*908*X*")
    again = again.replace(b"GE*1*808", b"GE*1*908")
    env.upload(again)
    answer = ask(env, request_for(data))
    assert statuses_of(answer) == "A1:20"
