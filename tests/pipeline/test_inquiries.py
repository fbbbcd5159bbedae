"""Batch inquiries: a 270 file gets its 999, then ``_271.x12`` in the submitter's mailbox,
one 271 per 270 set, matched by TRN (store level, no daemon)."""

from __future__ import annotations

import re

from gateway.pipeline.routing import route_file
from gateway.states import REJECTED, ROUTED
from gateway.x12.claims import iter_transaction_sets
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
        one_set("0003", "TRACE-C", "MBR123456785", payer="EXT01"),
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
    assert [e["outcome"] for e in outcome.inquiries] == ["active", "aaa:75", "aaa:42"]
    assert [e["trn02"] for e in outcome.inquiries] == ["TRACE-A", "TRACE-B", "TRACE-C"]


def test_a_270_failing_the_guide_gets_only_its_999(env: Env) -> None:  # noqa: F811
    broken = one_set("0001", "TRACE-X", "MBR123456780").replace(b"NM1*IL*1*", b"NM1*IL*9*")
    record = env.upload(file_270(broken, control=4402))
    (ack,) = env.mailbox("demo-billing", "999")
    assert b"AK9*R" in ack
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW,
               payers=env.payers)  # fmt: skip
    assert env.mailbox("demo-billing", "271") == []
    assert env.store.get_file(record.id).state == REJECTED  # type: ignore[union-attr]
