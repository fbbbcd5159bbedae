"""A rejecting TA1 comes with a plain-words companion (``..._TA1.txt``) in the mailbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.x12.envelope import TA1_NOTES
from gateway.x12.report import TA1_ADVICE, Ta1Rejection, ta1_report
from tests.pipeline.test_routing import Env, batch


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.store.close()


def names(env: Env) -> list[str]:
    return sorted(m.name for m in env.store.list_mailbox("demo-billing"))


def test_duplicate_interchange_gets_a_ta1_and_words_beside_it(env: Env) -> None:
    env.upload(batch(2, 4711))
    first = set(names(env))
    assert not [n for n in first if n.endswith("_TA1.txt")]  # accepted: no report
    record = env.upload(batch(2, 4711))  # the same ISA13 again
    new = sorted(set(names(env)) - first)
    assert [n.rsplit("_", 1)[1] for n in new] == ["TA1.txt", "TA1.x12"]
    stem = {n.rsplit(".", 1)[0] for n in new}
    assert len(stem) == 1 and record.id in new[0]  # same name stem, this file's id
    (entry,) = [m for m in env.store.list_mailbox("demo-billing") if m.name.endswith(".txt")]
    assert entry.kind == "REPORT" and entry.file_id == record.id
    text = env.blobs.read(entry.sha256).decode()
    assert "'000004711'" in text and "TA1 code 025" in text
    assert "already used" in text and "new control number" in text
    assert "SMITH" not in text and "MBR" not in text  # no content, no PHI


def test_wrong_sender_report_says_what_to_do(env: Env) -> None:
    data = batch(1, 4712).replace(b"ZZ*DEMOBILLING    ", b"ZZ*SOMEONEELSE    ", 1)
    env.upload(data)
    (report,) = [m for m in env.store.list_mailbox("demo-billing") if m.kind == "REPORT"]
    text = env.blobs.read(report.sha256).decode()
    assert "TA1 code 006" in text and "trading partner agreement" in text


def test_every_advised_code_has_a_note_and_unknown_codes_still_read() -> None:
    assert set(TA1_ADVICE) <= set(TA1_NOTES)
    text = ta1_report([Ta1Rejection("000000001", "017", 3), Ta1Rejection("2", "999")]).decode()
    assert "(line 3): TA1 code 017" in text and "not allowed here" in text
    assert "TA1 code 999" in text and "What to do:" in text
