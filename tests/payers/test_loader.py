"""Loading payer directories: the demo ones load; every problem comes with file and line."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.errors import ConfigError, Problem
from gateway.payers.loader import TomlLines, load_payer, parse_amount
from tests.payers.builders import SIM01_DIR, SIM02_DIR


@pytest.mark.parametrize("directory", [SIM01_DIR, SIM02_DIR], ids=["sim01", "sim02"])
def test_demo_payers_load(directory: Path) -> None:
    config = load_payer(directory)
    assert config.payer_id == directory.name.upper()
    assert config.enrollment_rule is not None
    for digit in "0123456789":
        member = config.member(f"MBR00000000{digit}")
        assert member is not None
        assert member.coverage[0].start == date(2020, 1, 1)
        assert member.coverage[0].plan in config.plans
    assert config.member("MBR12345") is None
    assert config.member("XYZ123456789") is None
    assert config.member("MBR900000001") is not None
    assert config.member("MBR900000001").coverage[0].end == date(2025, 12, 31)  # type: ignore[union-attr]
    assert config.category("99213") == "office_visit"
    assert config.category("97110") == "therapy"
    assert config.category("90471") == "preventive"
    assert config.category("99395") == "preventive"
    assert config.category("73630") == "other"
    assert config.fee_schedule.fees["99213"] > 0


def test_sim01_plan_by_last_digit() -> None:
    config = load_payer(SIM01_DIR)
    plans = [config.member(f"MBR00000000{d}").coverage[0].plan for d in "0123456789"]  # type: ignore[union-attr]
    assert plans == ["PPO500"] * 6 + ["HDHP2000"] * 3 + ["BASIC1000"]


@pytest.fixture
def payer_dir(tmp_path: Path) -> Path:
    target = tmp_path / "sim01"
    shutil.copytree(SIM01_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` once; return the 1-based line where ``new`` starts."""
    text = path.read_text()
    assert old in text, old
    index = text.index(old)
    path.write_text(text.replace(old, new, 1))
    return text[:index].count("\n") + 1


def _problems(directory: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_payer(directory)
    return caught.value.problems


def _at(problems: list[Problem], file: str, line: int | None, words: str) -> None:
    for problem in problems:
        if Path(problem.file).name == file and problem.line == line and words in problem.message:
            return
    raise AssertionError(
        f"no problem {file}:{line} {words!r} in:\n" + "\n".join(map(str, problems))
    )


def test_every_problem_at_once_with_file_and_line(payer_dir: Path) -> None:
    plans, roster, payer = (
        payer_dir / "plans.toml",
        payer_dir / "roster.toml",
        payer_dir / "payer.toml",
    )
    fees = payer_dir / "fee_schedule.csv"
    bad_amount = _edit(plans, 'deductible = "2000.00"', 'deductible = "20.001"')
    bad_percent = _edit(
        plans,
        'coinsurance_percent = 30\nout_of_pocket_max = "5000.00"',
        'coinsurance_percent = 130\nout_of_pocket_max = "5000.00"',
    )
    unknown_plan = _edit(
        roster,
        'coverage = [{ plan = "PPOPA", start = 2020-01-01 }]',
        'coverage = [{ plan = "NOPE", start = 2020-01-01 }]',
    )
    digit = _edit(roster, '"9" = "BASIC1000"', '"9" = "MISSING"')
    unknown_key = _edit(
        payer, '[[diagnosis_rules]]\nprocedure = "97110"', '[[diagnosis_rules]]\nprocedur = "97110"'
    )
    pend_status = _edit(payer, 'status = "P3:297"', 'status = "A1:20"')
    duplicate_fee = len(fees.read_text().splitlines()) + 1
    fees.write_text(fees.read_text() + "99213,80.00,again\n")
    bad_fee = _edit(fees, "97140,35.00", "97140,thirty")

    problems = _problems(payer_dir)
    _at(problems, "plans.toml", bad_amount, "'deductible' must be an amount")
    _at(problems, "plans.toml", bad_percent, "'coinsurance_percent' must be at most 100")
    _at(problems, "roster.toml", unknown_plan, "plan 'NOPE' is not defined")
    _at(problems, "roster.toml", digit, "plan 'MISSING' is not defined")
    _at(problems, "payer.toml", unknown_key + 1, "unknown key 'procedur'")
    _at(problems, "payer.toml", unknown_key, "'procedure' is required")
    _at(problems, "payer.toml", pend_status, "status must be like P2:46")
    _at(problems, "fee_schedule.csv", duplicate_fee, "99213 is listed twice (first on line 4)")
    _at(problems, "fee_schedule.csv", bad_fee, "allowed amount 'thirty'")
    assert len(problems) >= 9
    message = str(ConfigError(problems))
    assert f"plans.toml:{bad_amount}:" in message


def test_toml_syntax_error_has_its_line(payer_dir: Path) -> None:
    line = _edit(payer_dir / "plans.toml", "[plans.HDHP2000]", "[plans.HDHP2000")
    problems = _problems(payer_dir)
    _at(problems, "plans.toml", line, "TOML syntax")


def test_missing_files(tmp_path: Path) -> None:
    problems = _problems(tmp_path)
    assert {Path(p.file).name for p in problems} == {"payer.toml", "plans.toml", "roster.toml"}
    assert all(p.line is None and "missing" in p.message for p in problems)


def test_roster_problems(payer_dir: Path) -> None:
    roster = payer_dir / "roster.toml"
    missing_digit = _edit(roster, '"0" = "PPO500"\n', "")
    overlap = _edit(
        roster,
        'coverage = [{ plan = "HDHP2000", start = 2026-11-01 }]',
        'coverage = [{ plan = "HDHP2000", start = 2026-11-01 }, '
        '{ plan = "PPO500", start = 2026-12-01, end = 2027-01-31 }]',
    )
    backwards = _edit(
        roster,
        'coverage = [{ plan = "PPO500", start = 2020-01-01, end = 2025-12-31 }]',
        'coverage = [{ plan = "PPO500", start = 2020-01-01, end = 2019-12-31 }]',
    )
    twice = _edit(roster, 'id = "MBR900000006"', 'id = "MBR900000005"')
    problems = _problems(payer_dir)
    _at(problems, "roster.toml", overlap, "coverage periods overlap")
    _at(problems, "roster.toml", backwards, "ends before it starts")
    _at(problems, "roster.toml", twice, "listed twice")
    _at(problems, "roster.toml", missing_digit - 1, "needs every digit")


def test_plan_problems(payer_dir: Path) -> None:
    plans = payer_dir / "plans.toml"
    oop = _edit(plans, 'out_of_pocket_max = "6000.00"', 'out_of_pocket_max = "600.00"')
    category = _edit(plans, "[plans.PPO500.benefits.preventive]", "[plans.PPO500.benefits.vision]")
    days = _edit(plans, "timely_filing_days = 90", "timely_filing_days = 0")
    code = _edit(plans, 'non_covered = ["97110",', 'non_covered = ["97 110",')
    problems = _problems(payer_dir)
    _at(problems, "plans.toml", oop, "out_of_pocket_max < deductible")
    _at(problems, "plans.toml", category, "unknown service category 'vision'")
    _at(problems, "plans.toml", days, "'timely_filing_days' must be an integer >= 1")
    _at(problems, "plans.toml", code, "is not a code")


def test_fee_schedule_header_and_missing_file(payer_dir: Path) -> None:
    (payer_dir / "fee_schedule.csv").write_text("code,amount\n99213,1.00\n")
    _at(_problems(payer_dir), "fee_schedule.csv", 1, "header must start with")
    (payer_dir / "fee_schedule.csv").unlink()
    _at(_problems(payer_dir), "fee_schedule.csv", None, "missing")


def test_toml_lines_locates_tables_arrays_and_dotted_keys() -> None:
    text = (
        "[a]\nx = 1\n[[m]]\nid = 1\n[[m]]\nid = 2\n  y.z = 3\n"
        '[plans."P 1"]\ndeductible = 1\n[plans]\nQ.deductible = 2\n'
    )
    lines = TomlLines(text)
    assert lines.line("a", "x") == 2
    assert lines.line("m#1", "id") == 6
    assert lines.line("m#1", "y.z") == 7
    assert lines.line("m#1", "nope") == 5
    assert lines.line("plans.P 1", "deductible") == 9
    assert lines.line("plans.Q", "deductible") == 11
    assert lines.line("plans.Q") == 11
    assert lines.line("zzz") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (25, Decimal("25.00")),
        ("25.5", Decimal("25.50")),
        (25.25, Decimal("25.25")),
        ("1.000", Decimal("1.00")),
        ("1.001", None),
        (-1, None),
        ("x", None),
        (True, None),
        ("NaN", None),
    ],
)
def test_parse_amount(value: object, expected: Decimal | None) -> None:
    assert parse_amount(value) == expected


def test_pend_rule_that_asks_for_documents(payer_dir: Path) -> None:
    (rule,) = [r for r in load_payer(payer_dir).pend_rules if r.request]
    assert rule.status == "P3:297" and rule.request == ("11506-3",) and rule.due_days == 30
    assert rule.members == frozenset({"MBR900000005"})
    payer = payer_dir / "payer.toml"
    bad = _edit(payer, 'request = ["11506-3"]', 'request = ["progress-note"]')
    days = _edit(payer, "due_days = 30", "due_days = 0")
    problems = _problems(payer_dir)
    _at(problems, "payer.toml", bad, "'progress-note' is not a LOINC code")
    _at(problems, "payer.toml", days, "'due_days' must be an integer >= 1")
