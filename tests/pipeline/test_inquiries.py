"""Batch inquiries: a 270 file gets its 999, then ``_271.x12`` in the submitter's mailbox,
one 271 per 270 set, matched by TRN (store level, no daemon)."""

from __future__ import annotations

import re

from gateway.pipeline.routing import route_file
from gateway.states import REJECTED, ROUTED
from gateway.x12.claims import iter_transaction_sets
from gateway.x12.eligibility import (
    Benefit,
    EligibilityAnswer,
    Envelope,
    SetAnswers,
    build_271,
    read_270,
)
from tests.payers.test_eligibility import validate_271
from tests.pipeline.test_routing import NOW, Env, env  # noqa: F401 (fixture)
from tests.x12files import corpus_file, readdress

CORPUS = "270-271/subscriber-health-benefit-check.270"


def one_set(st02: str, trn: str, member: str, payer: str = "SIM01") -> bytes:
    """The corpus 270's ST..SE, renumbered, for ``member`` at ``payer`` (date of service 2026)."""
    text = corpus_file(CORPUS).decode()
    body = text[text.index("ST*270") : text.index("GE*")]
    body = body.replace("*1234*", f"*{st02}*").replace("SE*13*1234", f"SE*13*{st02}")
    body = body.replace("93175-012547", trn).replace("11122333301", member)
    body = body.replace("842610001", payer).replace("20060501", "20261120")
    return body.encode()


def file_270(*sets: bytes, control: int = 4401) -> bytes:
    text = corpus_file(CORPUS).decode()
    head = text[: text.index("ST*270")]
    tail = text[text.index("GE*") :].replace("GE*1*", f"GE*{len(sets)}*")
    return readdress(head.encode() + b"".join(sets) + tail.encode(), control=control)


def test_batch_270_file_gets_a_271_per_set_matched_by_trn(env: Env) -> None:  # noqa: F811
    data = file_270(
        one_set("0001", "TRACE-A", "MBR123456780"),
        one_set("0002", "TRACE-B", "NOPE12345"),
        one_set("0003", "TRACE-C", "MBR123456785", payer="SIM02"),
    )
    record = env.upload(data)
    assert len(env.mailbox("demo-billing", "999")) == 1
    outcome = route_file(env.store, env.blobs, record, partners=env.partners, config=env.config,
                         now=NOW, payers=env.payers)  # fmt: skip
    assert env.store.get_file(record.id).state == ROUTED  # type: ignore[union-attr]
    assert not outcome.problems
    (content,) = env.mailbox("demo-billing", "271")
    (placed,) = outcome.answer_files
    assert re.fullmatch(rf"\d{{14}}_{record.id}_271\.x12", placed.name)
    assert validate_271(content) == []
    sets = list(iter_transaction_sets(content))
    assert len(sets) == 3  # one 271 per 270 set
    text = content.decode()
    assert "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*DEMOBILLING    *" in text
    traces = re.findall(r"TRN\*2\*([^*~]+)\*", text)
    assert traces == ["TRACE-A", "TRACE-B", "TRACE-C"]
    assert [e["outcome"] for e in outcome.inquiries] == ["active", "aaa:75", "active"]
    assert [e["trn02"] for e in outcome.inquiries] == ["TRACE-A", "TRACE-B", "TRACE-C"]


def upload_as(where: Env, partner_id: str, data: bytes) -> object:
    from gateway.pipeline.steps import analyze_blob, commit_answers

    sha = where.blobs.put(data)
    record = where.store.add_file(partner_id, "sftp", "x.x12", sha, len(data))
    found = analyze_blob(str(where.blobs.path(sha)), partner_id, where.directory)
    commit_answers(where.store, where.blobs, record, found, where.directory, NOW)
    return where.store.get_file(record.id)


def test_batch_270s_for_an_external_payer_go_to_its_mailbox_and_back(env: Env) -> None:  # noqa: F811

    data = file_270(
        one_set("0001", "LOCAL-1", "MBR123456780"),
        one_set("0002", "EXT-1", "MBR123456785", payer="EXT01"),
        one_set("0003", "EXT-2", "MBR123456786", payer="EXT01"),
        control=4410,
    )
    record = env.upload(data)
    outcome = route_file(env.store, env.blobs, record, partners=env.partners, config=env.config,
                         now=NOW, payers=env.payers)  # fmt: skip
    assert not outcome.problems
    (local,) = env.mailbox("demo-billing", "271")
    assert re.findall(rb"TRN\*2\*([^*~]+)\*", local) == [b"LOCAL-1"]
    (sent,) = env.mailbox("ext01", "270")
    (batch,) = outcome.inquiry_batches
    assert batch.partner_id == "ext01" and batch.details["requests"] == 2
    assert b"*ZZ*CLEARINGHOUSE  *ZZ*EXT01PAYER     *" in sent and b"GS*HS*" in sent
    # the payer answers each 270 set with a 271, TRN echoed
    requests = [
        r for ts in iter_transaction_sets(sent) for r in read_270(ts.segments, ts.delimiters)
    ]
    answers = [SetAnswers(r.reference, (EligibilityAnswer(r, "EXTERNAL PAYER", active=True,
               benefits=(Benefit("1", ("30",)),)),)) for r in requests]  # fmt: skip
    from datetime import UTC, datetime

    envelope = Envelope("ZZ", "EXT01PAYER", "ZZ", "CLEARINGHOUSE", 5501, "T",
                        datetime(2026, 11, 24, tzinfo=UTC))  # fmt: skip
    answer = upload_as(env, "ext01", build_271(answers, envelope))
    routed = route_file(env.store, env.blobs, answer, partners=env.partners,  # type: ignore[arg-type]
                        config=env.config, now=NOW + 5, payers=env.payers)  # fmt: skip
    assert not routed.problems, routed.problems
    forwarded = [p for p in routed.forwarded if p.kind == "271"]
    assert [p.partner_id for p in forwarded] == ["demo-billing"] * 2
    back = env.mailbox("demo-billing", "271")[1:]
    assert all(validate_271(c) == [] for c in back)
    assert sorted(re.findall(rb"TRN\*2\*([^*~]+)\*", b"".join(back))) == [b"EXT-1", b"EXT-2"]
    assert b"*ZZ*CLEARINGHOUSE  *ZZ*DEMOBILLING    *" in back[0]
    again = upload_as(env, "ext01", build_271(answers, replace_control(envelope, 5502)))
    twice = route_file(env.store, env.blobs, again, partners=env.partners,  # type: ignore[arg-type]
                       config=env.config, now=NOW + 9, payers=env.payers)  # fmt: skip
    assert twice.problems and "already answered" in twice.problems[0]


def replace_control(envelope: object, control: int) -> object:
    import dataclasses

    return dataclasses.replace(envelope, control=control)  # type: ignore[type-var]


def test_a_270_failing_the_guide_gets_only_its_999(env: Env) -> None:  # noqa: F811
    broken = one_set("0001", "TRACE-X", "MBR123456780").replace(b"NM1*IL*1*", b"NM1*IL*9*")
    record = env.upload(file_270(broken, control=4402))
    (ack,) = env.mailbox("demo-billing", "999")
    assert b"AK9*R" in ack
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW,
               payers=env.payers)  # fmt: skip
    assert env.mailbox("demo-billing", "271") == []
    assert env.store.get_file(record.id).state == REJECTED  # type: ignore[union-attr]
