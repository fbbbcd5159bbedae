"""``gateway eligibility``: flags or a JSON file, in-process or against the API; the table."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import threads

from gateway.cli import main
from gateway.eligibility_cli import build_request, print_answer
from tests.api.conftest import DEMO_TOKEN, MakeApi, make_api  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def _no_configured_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process answers read no store: the PostgreSQL pass's GATEWAY_DATABASE_URL (an empty
    schema) must not stand in for the ``--data-dir`` these tests name."""
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)


FLAGS = ["--payer", "SIM01", "--npi", "1234567893", "--provider", "Demo Family Practice",
         "--member", "MBR900000002", "--first", "Bruno", "--last", "Met", "--dob", "19810702",
         "--service-type", "30", "--service-type", "98", "--date", "20260601"]  # fmt: skip


def test_in_process_flags_print_a_table(tmp_path: Path, capsys: object) -> None:
    code = main(["eligibility", "--data-dir", str(tmp_path / "none"), *FLAGS])
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert code == 0, out
    assert "coverage   active" in out and "PPO 500" in out
    row = next(line for line in out.splitlines() if line.startswith("30 "))
    assert row.split()[-4:] == ["500.00", "0.00", "3000.00", "2500.00"]
    assert not (tmp_path / "none").exists()  # looking never creates a store


def test_json_file_and_aaa(tmp_path: Path, capsys: object) -> None:
    request = build_request({}, {"payer": "SIM01", "npi": "1234567893", "provider": "X",
                                 "member": "NOPE1"})  # fmt: skip
    path = tmp_path / "ask.json"
    path.write_text(json.dumps(request))
    code = main(["eligibility", "--data-dir", str(tmp_path / "none"), "--json", str(path)])
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert code == 1 and "AAA 75 (2100C): Subscriber/insured not found" in out
    code = main(["eligibility", "--data-dir", str(tmp_path / "none"), "--json", str(path),
                 "--npi", "1234567890"])  # fmt: skip
    assert code == 2 and "provider.npi" in capsys.readouterr().out  # type: ignore[attr-defined]


def test_refusal_words() -> None:
    out = io.StringIO()
    assert print_answer(401, {"error": "unauthorized", "message": "no"}, out) == 2
    assert out.getvalue() == "refused (401): no\n"


@pytest_twisted.ensureDeferred
async def test_against_the_running_api(make_api: MakeApi) -> None:  # noqa: F811
    api = await make_api()
    out = io.StringIO()

    def ask() -> int:
        import sys

        saved, sys.stdout = sys.stdout, out
        try:
            return main(["eligibility", "--url", f"http://127.0.0.1:{api.number}",
                         "--token", DEMO_TOKEN, *FLAGS])  # fmt: skip
        finally:
            sys.stdout = saved

    assert await threads.deferToThread(ask) == 0, out.getvalue()
    assert "coverage   active" in out.getvalue() and "trace      0" in out.getvalue()
    (event,) = api.named("eligibility.answered")
    assert event["channel"] == "api-json"
