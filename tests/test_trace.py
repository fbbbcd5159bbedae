"""``gateway trace``: a claim's story ends with the 835 that paid it; 835s and payer 277CAs
are found by their ISA13; a claim's trace shows its own payer's answers only."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.audit import AuditLog
from gateway.pipeline.core import report_cycles
from gateway.pipeline.routing import route_file
from gateway.trace import Trace, build_trace, print_trace
from tests.pipeline.test_routing import NOW, Env, batch


class Traced(Env):
    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.audit_path = tmp / "audit.jsonl"
        self.audit = AuditLog(self.audit_path)

    def trace(self, query: str) -> Trace:
        return build_trace(self.store, self.audit_path, query, self.blobs.read)

    def text(self, query: str) -> str:
        out = io.StringIO()
        print_trace(self.trace(query), out)
        return out.getvalue()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Traced]:
    e = Traced(tmp_path)
    record = e.upload(batch(3, 901))  # C901X1 -> SIM01, C901X2 -> SIM02, C901X3 -> EXT01
    route_file(e.store, e.blobs, record, partners=e.partners, config=e.config, now=NOW)
    report_cycles(e.audit, [e.cycle("sim01", NOW + 60), e.cycle("sim02", NOW + 61)])  # type: ignore[list-item]
    e.file_id = record.id  # type: ignore[attr-defined]
    yield e
    e.audit.close()
    e.store.close()


def events(env: Traced, name: str) -> list[dict[str, Any]]:
    lines = env.audit_path.read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == name]


def test_a_claim_trace_ends_with_the_835_that_paid_it_and_its_pick_up(env: Traced) -> None:
    (claim,) = env.trace("C901X1").claims
    (route,) = claim["routes"]
    remit = route["remit"]
    assert remit is not None and remit["payer_id"] == "SIM01"
    assert remit["file_name"].endswith("_835.x12") and remit["partner"] == "demo-billing"
    assert remit["trace"].startswith("SIM01") and remit["date"].startswith("2026-11-25")
    assert remit["payment_date"] == "2026-11-25"  # BPR16
    assert remit["picked_up"] is None
    text = env.text("C901X1")
    assert f"payment trace {remit['trace']}" in text and "not picked up yet" in text
    assert env.store.pick_up("demo-billing", remit["file_name"]) is not None
    picked = env.trace("C901X1").claims[0]["routes"][0]["remit"]["picked_up"]
    assert picked is not None
    assert f"835 {remit['file_name']}" in env.text("C901X1") and "picked up 20" in env.text(
        "C901X1"
    )


def test_a_claim_trace_lists_its_own_payers_277ca_only(env: Traced) -> None:
    (f,) = env.trace("C901X1").files
    payers = {m["payer"] for m in f["other_files"] if m["kind"] == "277CA"}
    assert payers == {"SIM01"}
    timeline = env.trace("C901X1").events
    assert not [e for e in timeline if e.get("payer_id") == "SIM02"]
    assert [e for e in timeline if e.get("payer_id") == "SIM01"]
    # the file's own trace shows both payers' 277CAs and both 835s
    whole = env.trace(env.file_id)  # type: ignore[attr-defined]
    (f,) = whole.files
    assert {m["payer"] for m in f["other_files"] if m["kind"] == "277CA"} == {"SIM01", "SIM02"}
    assert {r["payer_id"] for r in whole.remits} == {"SIM01", "SIM02"}
    assert "\n835s\n" in env.text(env.file_id)  # type: ignore[attr-defined]


def test_payer_277ca_and_835_are_found_by_their_isa13(env: Traced) -> None:
    (ca,) = [e for e in events(env, "ack.277ca.written") if e["payer_id"] == "SIM02"]
    found = env.trace(ca["isa13"])
    assert found.file_ids == [env.file_id]  # type: ignore[attr-defined]
    assert "payer answer ISA13" in found.matched_as
    (remit,) = [e for e in events(env, "remit.835.built") if e["payer_id"] == "SIM01"]
    found = env.trace(remit["isa13"])
    assert found.file_ids == [env.file_id] and "835 ISA13" in found.matched_as  # type: ignore[attr-defined]
    assert [r["isa13"] for r in found.remits if r["payer_id"] == "SIM01"] == [remit["isa13"]]


def test_an_external_payers_835_is_named_too(env: Traced) -> None:
    from tests.payerfiles import ext01_835
    from tests.pipeline.test_routing import _upload_as

    (ext_batch,) = env.mailbox("ext01", "837")
    answer = _upload_as(env, "ext01", ext01_835(ext_batch))
    outcome = route_file(
        env.store, env.blobs, answer, partners=env.partners, config=env.config, now=NOW + 120
    )
    assert outcome.problems == []
    (claim,) = env.trace("C901X3").claims
    remit = claim["routes"][0]["remit"]
    assert remit is not None and remit["partner"] == "demo-billing"
    assert remit["file_name"].endswith("_835-EXT01.x12")  # forwarded to the provider
    assert remit["date"].startswith("2026-11-25")
