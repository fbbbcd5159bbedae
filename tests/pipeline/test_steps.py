"""The pipeline's commit step: answers are written once, duplicates are caught across files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.pipeline.steps import analyze_blob, commit_answers, mailbox_name, partner_directory
from gateway.profiles import load_partners
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import PROCESSED, FileRecord, Store
from gateway.x12 import PartnerDirectory
from tests.x12files import corpus_file, readdress, segments

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Store, BlobStore, PartnerDirectory]]:
    config = GatewayConfig(source="test", data_dir=tmp_path, partners_dir=ROOT / "partners")
    directory = partner_directory(config, load_partners(str(ROOT / "partners")))
    store = Store(tmp_path / "g.sqlite3")
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
    assert [p.kind for p in outcome.placed] == ["TA1"]
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
    assert [p.kind for p in out.placed] == ["TA1"]
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
