"""The pipeline's commit step: answers are written once, duplicates are caught across files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.pipeline.steps import (
    Outcome,
    analyze_blob,
    commit_answers,
    mailbox_name,
)
from gateway.profiles import edit_context, load_partners, partner_directory
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import PROCESSED, FileRecord, Store
from gateway.x12 import PartnerDirectory
from tests import dbs
from tests.x12files import corpus_file, readdress, segments

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Store, BlobStore, PartnerDirectory]]:
    config = GatewayConfig(
        source="test", data_dir=tmp_path, partners_dir=ROOT / "partners", **dbs.settings(tmp_path)
    )
    directory = partner_directory(config, load_partners(str(ROOT / "partners")))
    store = Store(dbs.location(tmp_path / "g.sqlite3"))
    yield store, BlobStore(tmp_path / "blobs"), directory
    store.close()


def _receive(store: Store, blobs: BlobStore, data: bytes) -> tuple[FileRecord, str]:
    sha = blobs.put(data)
    record = store.add_file("demo-billing", "sftp", "x.837", sha, len(data))
    return record, str(blobs.path(sha))


def test_mailbox_names() -> None:
    assert mailbox_name(0, "F1", "999") == "19700101000000_F1_999.x12"
    assert mailbox_name(0, "F1", "TA1") == "19700101000000_F1_TA1.x12"
    assert mailbox_name(0, "F1", "REJECT") == "19700101000000_F1_REJECT.txt"


def test_directory_from_profiles(env: tuple[Store, BlobStore, PartnerDirectory]) -> None:
    _, _, directory = env
    assert directory.gateway_id == "CLEARINGHOUSE"
    party = directory.parties[("ZZ", "DEMOBILLING")]
    assert party.partner_id == "demo-billing" and party.usage_indicators == {"T", "P"}


def test_answer_is_committed_once(env: tuple[Store, BlobStore, PartnerDirectory]) -> None:
    store, blobs, directory = env
    data = readdress(corpus_file("837p/uhin-837.edi"), control=7)
    record, path = _receive(store, blobs, data)
    analysis = analyze_blob(path, "demo-billing", directory)
    first = commit_answers(store, blobs, record, analysis, directory, 1_800_000_000.0)
    assert [p.kind for p in first.placed] == ["999"]
    assert (stored := store.get_file(record.id)) is not None and stored.state == PROCESSED
    # a second run of the same step (a crash before the caller saw the result) does nothing
    again = commit_answers(store, blobs, record, analysis, directory, 1_800_000_100.0)
    assert again.already_done and again.placed == []
    (entry,) = store.list_mailbox("demo-billing")
    ack = blobs.read(entry.sha256)
    ak9 = [s for s in segments(ack) if s[0] == "AK9"]
    assert ak9[0][1] == "A"
    assert [r.kind for r in store.responses_for(record.id)] == ["999"]


def test_same_interchange_in_a_later_file_is_a_duplicate(
    env: tuple[Store, BlobStore, PartnerDirectory],
) -> None:
    store, blobs, directory = env
    data = readdress(corpus_file("837p/uhin-837.edi"), control=8)
    first, path = _receive(store, blobs, data)
    commit_answers(
        store, blobs, first, analyze_blob(path, "demo-billing", directory), directory, 1.0
    )
    second, path = _receive(store, blobs, data)
    outcome = commit_answers(
        store,
        blobs,
        second,
        analyze_blob(path, "demo-billing", directory),
        directory,
        2.0,
    )
    assert outcome.duplicates == ["000000008"]
    assert [p.kind for p in outcome.placed] == ["TA1", "REPORT"]  # REPORT: its plain words
    ta1 = [s for s in segments(blobs.read(outcome.placed[0].sha256)) if s[0] == "TA1"]
    assert ta1[0][4:6] == ["R", "025"]


def test_rejected_envelope_may_be_resent_with_the_same_control_number(
    env: tuple[Store, BlobStore, PartnerDirectory],
) -> None:
    store, blobs, directory = env
    good = readdress(corpus_file("837p/uhin-837.edi"), control=9)
    bad = good.replace(b"IEA*1*000000009", b"IEA*1*000000010")
    first, path = _receive(store, blobs, bad)
    out = commit_answers(
        store, blobs, first, analyze_blob(path, "demo-billing", directory), directory, 1.0
    )
    assert [p.kind for p in out.placed] == ["TA1", "REPORT"]
    second, path = _receive(store, blobs, good)
    out = commit_answers(
        store, blobs, second, analyze_blob(path, "demo-billing", directory), directory, 2.0
    )
    assert [p.kind for p in out.placed] == ["999"] and out.duplicates == []


def test_control_numbers_are_fresh_across_files(
    env: tuple[Store, BlobStore, PartnerDirectory],
) -> None:
    store, blobs, directory = env
    controls = set()
    for n in range(3):
        data = readdress(corpus_file("837p/uhin-837.edi"), control=20 + n)
        record, path = _receive(store, blobs, data)
        out = commit_answers(
            store, blobs, record, analyze_blob(path, "demo-billing", directory), directory, float(n)
        )
        isa13 = out.placed[0].responses[0].outbound_control
        controls.add(isa13)
    assert len(controls) == 3


def test_garbage_gets_a_report(env: tuple[Store, BlobStore, PartnerDirectory]) -> None:
    store, blobs, directory = env
    record, path = _receive(store, blobs, b"\x00\x01 not x12 at all")
    out = commit_answers(
        store, blobs, record, analyze_blob(path, "demo-billing", directory), directory, 1.0
    )
    assert [p.kind for p in out.placed] == ["REJECT"]
    assert out.placed[0].name.endswith("_REJECT.txt")


def _gen(claims: int, control: int) -> bytes:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_837", ROOT / "scripts" / "gen_837.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    data: bytes = gen.render(gen.interchange(claims, control, date="20261120"))
    return data


def _process(
    env: tuple[Store, BlobStore, PartnerDirectory], data: bytes, now: float
) -> tuple[FileRecord, Outcome]:
    store, blobs, directory = env
    record, path = _receive(store, blobs, data)
    partners = load_partners(str(ROOT / "partners"))
    context = edit_context(partners, "demo-billing", date(2026, 11, 20))
    found = analyze_blob(path, "demo-billing", directory, context)
    return record, commit_answers(store, blobs, record, found, directory, now)


def _statuses(doc: bytes) -> dict[str, list[str]]:
    """CLM01 (TRN*2 in a patient HL) -> its STC01 codes."""
    out: dict[str, list[str]] = {}
    current = None
    patient = False
    for seg in segments(doc):
        if seg[0] == "HL":
            patient, current = seg[3] == "PT", None
        elif seg[0] == "TRN" and patient:
            current = seg[2]
            out[current] = []
        elif seg[0] == "STC" and current is not None:
            out[current].append(seg[1])
    return out


def test_mixed_batch_999_accepts_and_277ca_rejects_exactly_the_bad_claims(
    env: tuple[Store, BlobStore, PartnerDirectory],
) -> None:
    store, blobs, _ = env
    data = _gen(6, 31).decode()
    # claim 2: unknown payer (A3:116); claim 5: CLM02 != sum of lines (A7:400)
    lines = data.split("~\n")
    in_claim = None
    for n, seg in enumerate(lines):
        if seg.startswith("CLM*"):
            in_claim = seg.split("*")[1]
        if seg.startswith("NM1*PR*") and lines[n + 1].startswith("CLM*C31X2*"):
            lines[n] = seg.replace("*PI*SIM02", "*PI*NOPE9")
        if in_claim == "C31X5" and seg.startswith("CLM*"):
            parts = seg.split("*")
            parts[2] = "999.99"
            lines[n] = "*".join(parts)
    record, outcome = _process(env, "~\n".join(lines).encode(), 1_800_000_000.0)
    kinds = {p.kind: p for p in outcome.placed}
    assert set(kinds) == {"999", "277CA"}
    ack = blobs.read(kinds["999"].sha256)
    assert next(s for s in segments(ack) if s[0] == "AK9")[1] == "A"
    ca = blobs.read(kinds["277CA"].sha256)
    statuses = _statuses(ca)
    assert statuses["C31X2"] == ["A3:116:PR"]
    assert statuses["C31X5"] == ["A7:400"]
    assert all(v == ["A1:20"] for k, v in statuses.items() if k not in ("C31X2", "C31X5"))
    rows = store.claims_for(record.id)
    assert [r.accepted for r in rows] == [True, False, True, True, False, True]
    assert rows[1].codes == ("A3:116:PR",)
    assert kinds["277CA"].name.endswith("_277CA.x12")
    from tests.x12.conftest import pyx12_check

    ok, _, log = pyx12_check(ca)
    assert ok, log


def test_claim_accepted_in_an_earlier_file_is_a_duplicate(
    env: tuple[Store, BlobStore, PartnerDirectory],
) -> None:
    _, blobs, _ = env
    _process(env, _gen(2, 41), 1.0)
    # the same claims in a new interchange (new ISA13) -> both rejected A3:78
    _, outcome = _process(env, _gen(2, 42).replace(b"C42X", b"C41X"), 2.0)
    ca = blobs.read({p.kind: p for p in outcome.placed}["277CA"].sha256)
    assert _statuses(ca) == {"C41X1": ["A3:78"], "C41X2": ["A3:78"]}


def test_the_999_is_committed_before_the_edits_and_never_twice(
    env: tuple[Store, BlobStore, PartnerDirectory], tmp_path: Path
) -> None:
    """The daemon's two steps: the TA1/999 as soon as the guide pass is done (the file still
    received), then the claims and the 277CA. A restart between them (the first step run
    again) places nothing twice."""
    from gateway.pipeline.steps import (
        analyze_only,
        commit_acks,
        commit_claims,
        edit_blob,
        load_analysis,
    )
    from gateway.store.sqlite import RECEIVED

    store, blobs, directory = env
    data = readdress(corpus_file("837p/uhin-837.edi"), control=8)
    record, path = _receive(store, blobs, data)
    analysis = analyze_only(path, "demo-billing", directory)
    first = commit_acks(store, blobs, record, analysis, directory, 1_790_000_000.0)
    assert [p.kind for p in first.placed] == ["999"] and first.accepted_999
    assert store.get_file(record.id).state == RECEIVED  # type: ignore[union-attr]
    kept = store.acked_analysis(record.id)
    assert kept and load_analysis(blobs.read(kept)) == analysis
    assert [m.kind for m in store.list_mailbox("demo-billing")] == ["999"]
    # a restart: the first step again is a no-op
    again = commit_acks(store, blobs, record, analysis, directory, 1_790_000_100.0)
    assert again.already_done and again.placed == []
    context = edit_context(load_partners(str(ROOT / "partners")), "demo-billing", date.today())
    found = edit_blob(path, analysis, context, str(tmp_path / "spill"))
    second = commit_claims(store, blobs, record, found, directory, 1_790_000_200.0)
    assert [p.kind for p in second.placed] == ["277CA"] and not second.answers_only
    assert second.accepted_999 and second.duplicates == []
    assert store.get_file(record.id).state == PROCESSED  # type: ignore[union-attr]
    assert sorted(m.kind for m in store.list_mailbox("demo-billing")) == ["277CA", "999"]
    # and the claims' step is not taken twice either
    assert commit_claims(store, blobs, record, found, directory, 1_790_000_300.0).already_done


def test_claims_step_of_a_duplicate_interchange_records_no_claims(
    env: tuple[Store, BlobStore, PartnerDirectory], tmp_path: Path
) -> None:
    from gateway.pipeline.steps import analyze_only, commit_acks, commit_claims, edit_blob

    store, blobs, directory = env
    data = readdress(corpus_file("837p/uhin-837.edi"), control=9)
    context = edit_context(load_partners(str(ROOT / "partners")), "demo-billing", date.today())
    outcomes = []
    for n in range(2):
        record, path = _receive(store, blobs, data)
        analysis = analyze_only(path, "demo-billing", directory)
        acks = commit_acks(store, blobs, record, analysis, directory, 1_790_000_000.0 + n)
        found = edit_blob(path, analysis, context, str(tmp_path / f"spill{n}"))
        outcomes.append(
            (
                record,
                acks,
                commit_claims(store, blobs, record, found, directory, 1_790_000_500.0 + n),
            )
        )
    (_, first_acks, first), (second_record, second_acks, second) = outcomes
    assert first_acks.duplicates == [] and first.placed
    assert second_acks.duplicates == ["000000009"] and [p.kind for p in second_acks.placed] == [
        "TA1",
        "REPORT",
    ]
    assert second.placed == [] and not second.accepted_999
    assert store.claims_for(second_record.id) == []


def test_a_file_that_fails_after_its_999_tells_the_submitter(
    env: tuple[Store, BlobStore, PartnerDirectory],
) -> None:
    from gateway.pipeline.steps import analyze_only, commit_acks, fail_file
    from gateway.store.sqlite import FAILED

    store, blobs, directory = env
    # failing before any answer: nothing to take back, no report
    record, _ = _receive(store, blobs, b"ISA*garbage")
    assert fail_file(store, blobs, record, "boom", 3, 1_790_000_000.0) is None
    assert store.list_mailbox("demo-billing") == []
    # failing after the 999 went out: the submitter is told its claims went nowhere
    record, path = _receive(store, blobs, readdress(corpus_file("837p/uhin-837.edi"), control=11))
    commit_acks(
        store, blobs, record, analyze_only(path, "demo-billing", directory), directory, 1.79e9
    )
    name = fail_file(store, blobs, record, "boom", 3, 1_790_000_100.0)
    assert name == mailbox_name(1_790_000_100.0, record.id, "FAILED")
    assert name is not None and name.endswith("_FAILED.txt")
    assert store.get_file(record.id).state == FAILED  # type: ignore[union-attr]
    (report,) = [m for m in store.list_mailbox("demo-billing") if m.kind == "REPORT"]
    text = blobs.read(report.sha256)
    assert b"None of its" in text and record.id.encode() in text and b"new ISA13" in text
