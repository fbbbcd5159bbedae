"""Requests for more information through the store-level pipeline (no daemon): a pend rule
that asks sends a 277 RFAI (valid X213) and keeps the claim pended; a matching 275 from the
claim's provider answers it and the next cycle pays; unanswered past its due date the claim
is denied CARC 252; a 275 for someone else's request, for no request or over the size limit
is reported and nothing is forwarded."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from gateway.audit import AuditLog
from gateway.config import AttachmentsConfig
from gateway.pipeline.claim_status import answer_one
from gateway.pipeline.core import report_cycles
from gateway.pipeline.routing import route_file, run_payer_cycle
from gateway.store.rfai import ANSWERED, CLOSED, EXPIRED, OPEN, SIMULATED, InfoRequestRow
from gateway.trace import build_trace, print_trace
from gateway.x12.claim_status import statuses_of
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.remit_read import read_835
from gateway.x12.rfai import (
    IMPLEMENTATION_275,
    IMPLEMENTATION_277RFAI,
    Attachment,
    InfoRequest,
    RequestedItem,
    read_275,
    read_277_rfai,
    write_275,
    write_277_rfai,
)
from tests.pipeline.test_claim_status import request_for
from tests.pipeline.test_routing import GEN, NOW, Env, _one_claim, _upload_as, env  # noqa: F401
from tests.x12.test_rfai import errors_of
from tests.x12files import segments

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TODAY = datetime.fromtimestamp(NOW, UTC).date()


def pended_claim(control: int) -> bytes:
    return _one_claim(control).replace(b"MBR000000001", b"MBR900000005")


def cycle(env: Env, now: float = NOW + 60, as_of: date | None = None) -> object:  # noqa: F811
    partner = env.partners.get("sim01")
    assert partner is not None
    return run_payer_cycle(
        env.store, env.blobs, payer=partner, payer_config=env.payers["sim01"],
        partners=env.partners, config=env.config, now=now, as_of=as_of,
    )  # fmt: skip


def requests(env: Env) -> list[dict[str, object]]:  # noqa: F811
    return [dict(r) for r in env.store.query("SELECT * FROM info_requests ORDER BY id")]


def attachment_for(payer_claim: str, control: str, data: bytes = PDF) -> Attachment:
    return Attachment(
        st02="0001", payer_claim_number=payer_claim, patient_control_number="",
        attachment_control=control, loinc=("11506-3",), format="PDF", data=data,
        payer_id="SIM01", provider_npi="1234567893", provider_name="DEMO FAMILY PRACTICE",
        patient_last="DOE", patient_first="JANE", member_id="MBR900000005",
    )  # fmt: skip


def x275(attachment: Attachment, control: int) -> bytes:
    return write_275(
        attachment, sender_id="DEMOBILLING", receiver_isa_id="CLEARINGHOUSE",
        control_number=control, now=datetime(2026, 11, 24, 10, 0), usage="T",
    )  # fmt: skip


def upload_275(env: Env, data: bytes) -> tuple[str, list[bytes]]:  # noqa: F811
    """Upload a 275 as demo-billing and route it; its file id and the reports it got."""
    before = len(env.mailbox("demo-billing", "REPORT"))
    record = env.upload(data)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    return record.id, env.mailbox("demo-billing", "REPORT")[before:]


def test_a_request_is_sent_answered_and_the_claim_paid(env: Env) -> None:  # noqa: F811
    env.route(pended_claim(901))
    first = cycle(env)
    assert first.pended == 1  # type: ignore[attr-defined]
    (request,) = requests(env)
    assert request["state"] == OPEN and request["items"] == "11506-3"
    assert request["due"] == (TODAY + timedelta(days=30)).isoformat()
    assert request["provider_partner_id"] == "demo-billing"
    (rfai,) = env.mailbox("demo-billing", "277RFAI")
    assert errors_of(rfai, IMPLEMENTATION_277RFAI) == []
    (ts,) = iter_transaction_sets(rfai)
    (asked,) = read_277_rfai(ts.segments, ts.delimiters)
    assert asked.payer_claim_number == request["payer_claim_id"]
    assert asked.attachment_control == request["id"]
    assert [i.code for i in asked.items] == ["11506-3"]
    names = [m.name for m in env.store.list_mailbox("demo-billing") if m.kind == "277RFAI"]
    assert names[0].endswith(f"_{request['id']}_277RFAI.x12")
    # the next cycle keeps it pended: no 835 for it
    held = cycle(env, NOW + 120)
    assert held.held == 1 and held.decided == 0  # type: ignore[attr-defined]
    assert env.mailbox("demo-billing", "835") == []
    # the provider answers with a PDF
    file_id, reports = upload_275(
        env, x275(attachment_for(str(request["payer_claim_id"]), str(request["id"])), 41)
    )
    assert reports == []
    (answered,) = requests(env)
    assert answered["state"] == ANSWERED
    (stored,) = env.store.query("SELECT * FROM attachments")
    assert stored["file_id"] == file_id and stored["size"] == len(PDF)
    assert env.blobs.read(stored["sha256"]) == PDF
    # the next cycle adjudicates it; the 835 pays it
    released = cycle(env, NOW + 180)
    assert released.released == 1 and released.paid == 1  # type: ignore[attr-defined]
    (remit,) = env.mailbox("demo-billing", "835")
    (read,) = read_835(remit)
    (claim,) = read.claims
    assert claim.decision.payer_claim_id == request["payer_claim_id"]
    assert claim.decision.paid > 0
    assert requests(env)[0]["state"] == CLOSED


def test_unanswered_past_the_due_date_is_denied_252(env: Env) -> None:  # noqa: F811
    env.route(pended_claim(902))
    cycle(env)
    (request,) = requests(env)
    due = date.fromisoformat(str(request["due"]))
    on_the_day = cycle(env, NOW + 120, as_of=due)
    assert on_the_day.held == 1  # type: ignore[attr-defined]
    after = cycle(env, NOW + 180, as_of=due + timedelta(days=1))
    assert after.denied == 1  # type: ignore[attr-defined]
    assert requests(env)[0]["state"] == EXPIRED
    (remit,) = env.mailbox("demo-billing", "835")
    (read,) = read_835(remit)
    (claim,) = read.claims
    assert claim.decision.paid == 0
    reasons = {(a.group, a.reason) for line in claim.decision.lines for a in line.adjustments}
    assert reasons == {("CO", "252")}
    assert {r for line in claim.decision.lines for r in line.remarks} == {"M127"}
    events = [e["event"] for e in after.events]  # type: ignore[attr-defined]
    assert events == ["rfai.expired"]


def test_bad_attachments_are_reported_and_go_nowhere(env: Env) -> None:  # noqa: F811
    env.route(pended_claim(903))
    cycle(env)
    (request,) = requests(env)
    number, control = str(request["payer_claim_id"]), str(request["id"])
    # no such request
    _, reports = upload_275(env, x275(attachment_for("NOPE0000000001", ""), 51))
    assert len(reports) == 1 and b"no open request" in reports[0]
    # another provider's request: the same answer, nothing about that claim
    with env.store.transaction() as tx:
        tx.add_info_request(
            InfoRequestRow("RFAIOTHER", None, None, "X", "sim01", "SIM01", "someone-else",
                           "OTHERCLAIM1", "RFAIOTHER", ("11506-3",), "2099-01-01", OPEN,
                           SIMULATED, 0.0, 0.0)
        )  # fmt: skip
    _, reports = upload_275(env, x275(attachment_for("OTHERCLAIM1", "RFAIOTHER"), 52))
    assert len(reports) == 1 and b"no open request" in reports[0]
    # over the size limit
    env.config = replace(env.config, attachments=AttachmentsConfig(max_bytes=10))
    _, reports = upload_275(env, x275(attachment_for(number, control), 53))
    assert len(reports) == 1 and b"at most 10 bytes" in reports[0]
    assert [r["state"] for r in requests(env)] == [OPEN, OPEN]  # theirs and ours
    assert env.store.query("SELECT * FROM attachments") == []
    assert env.mailbox("sim01", "275") == []


def test_pend_rules_without_request_keep_todays_behaviour(env: Env) -> None:  # noqa: F811
    rules = env.payers["sim01"].pend_rules
    plain = tuple(replace(r, request=()) for r in rules)
    env.payers["sim01"] = replace(env.payers["sim01"], pend_rules=plain)
    env.route(pended_claim(904))
    cycle(env)
    assert requests(env) == [] and env.mailbox("demo-billing", "277RFAI") == []
    released = cycle(env, NOW + 120)
    assert released.released == 1  # type: ignore[attr-defined]


def test_trace_shows_the_request_and_the_275(env: Env, tmp_path: Path) -> None:  # noqa: F811
    data = pended_claim(905)
    env.route(data)
    audit = AuditLog(tmp_path / "audit.jsonl")
    report_cycles(audit, [cycle(env)])  # type: ignore[list-item]
    (request,) = requests(env)
    file_id, _ = upload_275(
        env, x275(attachment_for(str(request["payer_claim_id"]), str(request["id"])), 61)
    )
    audit.close()
    clm01 = next(s for s in segments(data) if s[0] == "CLM")[1]
    found = build_trace(env.store, tmp_path / "audit.jsonl", clm01, env.blobs.read)
    (claim,) = found.claims
    (asked,) = claim["information_requests"]
    assert asked["id"] == request["id"] and asked["state"] == ANSWERED
    assert asked["items"] == ["11506-3"] and asked["file_name"].endswith("_277RFAI.x12")
    (attached,) = asked["attachments"]
    assert attached == {**attached, "file_id": file_id, "format": "PDF", "size": len(PDF)}
    assert file_id in found.file_ids
    assert "rfai.sent" in [e["event"] for e in found.events]
    out = io.StringIO()
    print_trace(found, out)
    text = out.getvalue()
    assert f"information requested {request['id']}" in text
    assert f"275 in file {file_id}: PDF {len(PDF)} bytes" in text
    assert b"DOE" not in text.encode() and "MBR900000005" not in text  # no PHI


def test_an_external_payers_request_is_forwarded_and_its_275_goes_back(env: Env) -> None:  # noqa: F811
    data: bytes = GEN.render(GEN.interchange(1, 906, date="20261120", payers=["EXT01"]))  # type: ignore[attr-defined]
    env.route(data)
    clm = next(s for s in segments(data) if s[0] == "CLM")
    asked = InfoRequest(
        payer_claim_number="EXT-CLM-77", patient_control_number=clm[1],
        billed_amount=Decimal(clm[2]), service_from=date(2026, 11, 20),
        service_to=date(2026, 11, 20), items=(RequestedItem("18842-5"),),
        due=date(2026, 12, 31), patient_last="DOE", patient_first="JANE", member_id="M1",
        provider_npi="1234567893", provider_name="DEMO FAMILY PRACTICE",
        attachment_control="EXTACN1",
    )  # fmt: skip
    rfai = write_277_rfai(
        [asked], payer_name="EXTERNAL PAYER", payer_id="EXT01", receiver_name="CLEARINGHOUSE",
        receiver_id="CLEARINGHOUSE", sender_id="EXT01PAYER", receiver_isa_id="CLEARINGHOUSE",
        control_number=7401, now=datetime(2026, 11, 25, 9, 0), usage="T",
    )  # fmt: skip
    record = _upload_as(env, "ext01", rfai)
    outcome = route_file(env.store, env.blobs, record, partners=env.partners, config=env.config,
                         now=NOW)  # fmt: skip
    assert outcome.problems == []
    (forwarded,) = env.mailbox("demo-billing", "277RFAI")
    assert errors_of(forwarded, IMPLEMENTATION_277RFAI) == []
    (request,) = requests(env)
    assert request["state"] == OPEN and request["source"] == "external"
    assert request["payer_claim_id"] == "EXT-CLM-77" and request["due"] == "2026-12-31"
    # claim status: waiting for the discharge summary
    status = answer_one(env.store, request_for(data), partner_id="demo-billing",
                        payers=env.payers, partners=env.partners, channel="test",
                        now=datetime.fromtimestamp(NOW + 600, UTC))  # fmt: skip
    assert statuses_of(status) == "P3:297"
    assert status.message == "waiting for information: discharge summary, due 2026-12-31"
    # the provider's 275 set goes to the payer's mailbox, re-enveloped from the gateway, the
    # document byte for byte; the file's other set (no request of the payer's) stays here
    answer = replace(attachment_for("EXT-CLM-77", "EXTACN1"), payer_id="EXT01")
    stranger = replace(attachment_for("NOT-A-CLAIM", "NOPE"), data=b"%PDF-other")
    _, reports = upload_275(env, x275(answer, 71) + x275(stranger, 72))
    assert len(reports) == 1 and b"NOT-A-CLAIM" in reports[0]
    (sent,) = env.mailbox("ext01", "275")
    assert sent.startswith(
        b"ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*EXT01PAYER     *"
    )
    (ts,) = iter_transaction_sets(sent)
    assert [a.data for a in read_275(ts.segments, ts.delimiters)] == [PDF]
    assert b"%PDF-other" not in sent
    assert errors_of(sent, IMPLEMENTATION_275) == []
    assert requests(env)[0]["state"] == ANSWERED
