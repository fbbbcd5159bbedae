"""``gateway statements run`` and ``gateway denials`` (gateway/billing_cli.py) as real
processes over a store the routing steps filled."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.pipeline.routing import route_file
from tests import dbs
from tests.pipeline.test_routing import NOW, Env
from tests.pipeline.test_statements import one_visit
from tests.test_cli import gateway

pytestmark = pytest.mark.skipif(dbs.BASE is not None, reason="a SQLite data directory")


def _data_dir(tmp_path: Path) -> Path:
    env = Env(tmp_path)
    try:
        carla = one_visit(8802, 3, [("97110", "45.00")], 900_000_002, "PRIORAUTH*CARLA")
        for data in (one_visit(8801, 1, [("97110", "45.00")]), carla):
            record = env.upload(data)
            route_file(env.store, env.blobs, record, partners=env.partners, config=env.config,
                       now=NOW)  # fmt: skip
        env.cycle("sim01")
    finally:
        env.store.close()
    (tmp_path / "g.sqlite3").rename(tmp_path / "gateway.sqlite3")
    return tmp_path


def test_statements_run_then_nothing_new(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    first = gateway("statements", "run", "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 statement(s) to demo-billing")
    assert "_STATEMENT.pdf" in first.stdout and "_STATEMENTS.csv" in first.stdout
    assert "GRACE" not in first.stdout + first.stderr  # PHI stays in the mailbox
    again = gateway("statements", "run", "--data-dir", str(data), "--provider", "1234567893")
    assert again.returncode == 0 and again.stdout.startswith("0 statement(s)")
    audit = (data / "log" / "audit.jsonl").read_text()
    assert '"statements.run"' in audit and "GRACE" not in audit


def test_denials_lists_the_worklist(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    result = gateway("denials", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert "CO-197" in result.stdout and "NEXT: corrected claim" in result.stdout
    as_json = gateway("denials", "--data-dir", str(data), "--json")
    assert '"carc": "197"' in as_json.stdout
    missing = gateway("denials", "--data-dir", str(tmp_path / "none"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
