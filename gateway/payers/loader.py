"""Load a simulated payer's configuration directory (format: ``partners/payers/README.md``).

::

    partners/payers/sim01/
        payer.toml         [payer], [[categories]], [fee_schedule] (+ modifiers),
                           [[diagnosis_rules]], [[pend_rules]]
        plans.toml         [plans.<ID>] with [plans.<ID>.benefits.<category>]
        roster.toml        [enrollment_rule], [[members]]
        fee_schedule.csv   procedure,allowed[,description]

:func:`load_payer` reads everything and raises ONE :class:`~gateway.errors.ConfigError`
listing every problem with its file and line (tomllib gives lines for syntax errors only;
for the rest the key is found in the text, like ``gateway.config.key_line``).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError, Problem
from gateway.payers.config import (
    HUNDRED,
    ZERO,
    Benefit,
    Category,
    Coverage,
    DiagnosisRule,
    EnrollmentRule,
    FeeSchedule,
    Member,
    PayerConfig,
    PendRule,
    Plan,
    RemitInfo,
    StartingAccumulator,
)
from gateway.profiles import PartnerSet

PAYER_FILE = "payer.toml"
PLANS_FILE = "plans.toml"
ROSTER_FILE = "roster.toml"
DEFAULT_FEE_FILE = "fee_schedule.csv"
_LOINC = re.compile(r"\d{1,7}-\d")
_PEND_STATUS = re.compile(r"P[0-5]:\d{1,5}")
_CODE = re.compile(r"[A-Z0-9]{1,48}")
_DIGITS = "0123456789"


# ----------------------------------------------------------------------- TOML lines


def _norm_key(text: str) -> str:
    parts = [p.strip().strip("\"'") for p in text.split(".")]
    return ".".join(parts)


_ARRAY_HEADER = re.compile(r"^\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(
    r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(\s*\.\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*\s*="""
)


class TomlLines:
    """Best-effort line numbers of tables and keys in a TOML text.

    A table is named as in its header (``plans.PPO500``); the n-th ``[[members]]`` block is
    ``members#n`` (0-based). Dotted keys are kept dotted (``a.b = 1`` → key ``a.b``).
    """

    def __init__(self, text: str) -> None:
        self.headers: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}
        counts: dict[str, int] = {}
        current = ""
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            match = _ARRAY_HEADER.match(line)
            if match:
                name = _norm_key(match.group(1))
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = f"{name}#{index}"
                self.headers.setdefault(current, number)
                continue
            match = _TABLE_HEADER.match(line)
            if match:
                current = _norm_key(match.group(1))
                self.headers.setdefault(current, number)
                continue
            match = _KEY.match(line)
            if match:
                key = _norm_key(line[: match.end() - 1])
                self.keys.setdefault((current, key), number)

    def line(self, table: str, key: str | None = None) -> int | None:
        """The line of ``key`` in ``table`` (else of the table's header, else None).

        A key not found directly is looked for as a dotted key in a parent table
        (``[plans]`` ``PPO500.deductible = ...``) before falling back to the header.
        """
        if key is not None:
            found = self.keys.get((table, key))
            if found is not None:
                return found
            head, _, tail = table.rpartition(".")
            while tail:
                found = self.keys.get((head, f"{tail}.{key}"))
                if found is not None:
                    return found
                head, _, more = head.rpartition(".")
                tail = f"{more}.{tail}" if more else ""
        found = self.headers.get(table)
        if found is not None:
            return found
        head, _, tail = table.rpartition(".")
        if not tail:
            return None
        dotted = [n for (t, k), n in self.keys.items() if t == head and k.startswith(tail + ".")]
        return self.keys.get((head, tail)) or min(dotted, default=None)


# ---------------------------------------------------------------------- the reader


@dataclass
class _File:
    path: Path
    data: dict[str, Any]
    lines: TomlLines


class _Loader:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []

    # ------------------------------------------------------------------ plumbing

    def problem(self, file: _File | Path, line: int | None, message: str) -> None:
        path = file.path if isinstance(file, _File) else file
        item = Problem(str(path), line, message)
        if item not in self.problems:
            self.problems.append(item)

    def at(self, file: _File, table: str, key: str | None, message: str) -> None:
        self.problem(file, file.lines.line(table, key), message)

    def read_toml(self, name: str, *, required: bool = True) -> _File | None:
        path = self.directory / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if required:
                self.problem(path, None, "file is missing")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, None, f"cannot read: {exc}")
            return None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            self.problem(path, int(match.group(1)) if match else None, f"TOML syntax: {exc}")
            return None
        return _File(path, data, TomlLines(text))

    def known(self, file: _File, table: str, node: Mapping[str, Any], keys: set[str]) -> None:
        for key in node:
            if key not in keys:
                self.at(file, table, key, f"unknown key {key!r} in [{table.split('#')[0]}]")

    def table(self, file: _File, node: Any, table: str) -> dict[str, Any]:
        if not isinstance(node, dict):
            self.at(file, table, None, f"[{table.split('#')[0]}] must be a table")
            return {}
        return node

    def tables(self, file: _File, name: str) -> list[tuple[str, dict[str, Any]]]:
        """The ``[[name]]`` blocks of a file, each with its locator name."""
        node = file.data.get(name, [])
        if not isinstance(node, list):
            self.at(file, name, None, f"{name} must be written as [[{name}]] tables")
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        for index, item in enumerate(node):
            where = f"{name}#{index}"
            if not isinstance(item, dict):
                self.at(file, where, None, f"each {name} entry must be a table")
                continue
            out.append((where, item))
        return out

    def text(
        self, file: _File, node: Mapping[str, Any], table: str, key: str, *, required: bool
    ) -> str:
        value = node.get(key)
        if value is None:
            if required:
                self.at(file, table, None, f"{key!r} is required")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.at(file, table, key, f"{key!r} must be a non-empty string")
            return ""
        return value.strip()

    def amount(
        self,
        file: _File,
        node: Mapping[str, Any],
        table: str,
        key: str,
        *,
        required: bool,
        default: Decimal = ZERO,
        maximum: Decimal | None = None,
    ) -> Decimal:
        if key not in node:
            if required:
                self.at(file, table, None, f"{key!r} is required")
            return default
        parsed = parse_amount(node[key])
        if parsed is None:
            self.at(file, table, key, f"{key!r} must be an amount >= 0 with at most 2 decimals")
            return default
        if maximum is not None and parsed > maximum:
            self.at(file, table, key, f"{key!r} must be at most {maximum}")
            return default
        return parsed

    def integer(
        self, file: _File, node: Mapping[str, Any], table: str, key: str, *, minimum: int
    ) -> int | None:
        value = node.get(key)
        if value is None:
            self.at(file, table, None, f"{key!r} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.at(file, table, key, f"{key!r} must be an integer >= {minimum}")
            return None
        return value

    def boolean(
        self, file: _File, node: Mapping[str, Any], table: str, key: str, default: bool
    ) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            self.at(file, table, key, f"{key!r} must be true or false")
            return default
        return value

    def day(
        self, file: _File, node: Mapping[str, Any], table: str, key: str, *, required: bool
    ) -> date | None:
        value = node.get(key)
        if value is None:
            if required:
                self.at(file, table, None, f"{key!r} is required")
            return None
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.at(file, table, key, f"{key!r} must be a date (YYYY-MM-DD)")
        return None

    def codes(self, file: _File, node: Mapping[str, Any], table: str, key: str) -> tuple[str, ...]:
        value = node.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.at(file, table, key, f"{key!r} must be a list of strings")
            return ()
        out: list[str] = []
        for item in value:
            code = item.strip().upper()
            if not _CODE.fullmatch(code):
                self.at(file, table, key, f"{key!r}: {item!r} is not a code (A-Z, 0-9)")
                continue
            if code in out:
                self.at(file, table, key, f"{key!r}: {code!r} is listed twice")
                continue
            out.append(code)
        return tuple(out)

    # ---------------------------------------------------------------- payer.toml

    def payer(self, file: _File) -> tuple[str, str]:
        self.known(
            file,
            "",
            file.data,
            {"payer", "categories", "fee_schedule", "diagnosis_rules", "pend_rules", "remit"},
        )
        node = self.table(file, file.data.get("payer", {}), "payer")
        if "payer" not in file.data:
            self.problem(file, None, "[payer] is required")
        self.known(file, "payer", node, {"id", "name", "appeal_days"})
        payer_id = self.text(file, node, "payer", "id", required=True)
        name = self.text(file, node, "payer", "name", required=False) or payer_id
        return payer_id, name

    def appeal_days(self, file: _File) -> int | None:
        """``[payer] appeal_days``: the appeal window after a denial (optional)."""
        node = file.data.get("payer", {})
        if not isinstance(node, dict) or "appeal_days" not in node:
            return None
        return self.integer(file, node, "payer", "appeal_days", minimum=1)

    def remit(self, file: _File) -> RemitInfo:
        """``[remit]``: what the 835 says about the payer (address, TIN, contact)."""
        if "remit" not in file.data:
            return RemitInfo()
        node = self.table(file, file.data["remit"], "remit")
        keys = {"tin", "address", "city", "state", "postal_code", "contact_name", "phone"}
        self.known(file, "remit", node, keys)
        values = {k: self.text(file, node, "remit", k, required=False) for k in keys}
        tin = values["tin"]
        if tin and (len(tin) != 9 or not tin.isdigit()):
            self.at(file, "remit", "tin", "tin must be 9 digits")
        postal = values["postal_code"]
        if postal and (len(postal) not in (5, 9) or not postal.isdigit()):
            self.at(file, "remit", "postal_code", "postal_code must be 5 or 9 digits")
        state = values["state"]
        if state and (len(state) != 2 or not state.isalpha()):
            self.at(file, "remit", "state", "state must be a 2-letter code")
        return RemitInfo(**{k: v for k, v in values.items() if v})

    def categories(self, file: _File) -> tuple[Category, ...]:
        out: list[Category] = []
        names: set[str] = set()
        for where, node in self.tables(file, "categories"):
            self.known(file, where, node, {"name", "prefixes"})
            name = self.text(file, node, where, "name", required=True)
            prefixes = self.codes(file, node, where, "prefixes")
            if not prefixes:
                self.at(file, where, "prefixes", "a category needs at least one prefix")
            if name in names:
                self.at(file, where, "name", f"category {name!r} is defined twice")
            if name:
                names.add(name)
                out.append(Category(name, prefixes))
        return tuple(out)

    def fee_schedule(self, file: _File) -> FeeSchedule:
        node = self.table(file, file.data.get("fee_schedule", {}), "fee_schedule")
        self.known(file, "fee_schedule", node, {"file", "unlisted_percent_of_charge", "modifiers"})
        name = self.text(file, node, "fee_schedule", "file", required=False) or DEFAULT_FEE_FILE
        unlisted = self.amount(
            file,
            node,
            "fee_schedule",
            "unlisted_percent_of_charge",
            required=False,
            default=HUNDRED,
            maximum=HUNDRED,
        )
        modifiers: dict[str, Decimal] = {}
        table = "fee_schedule.modifiers"
        mods = self.table(file, node.get("modifiers", {}), table)
        for modifier in mods:
            if not re.fullmatch(r"[A-Z0-9]{2}", modifier):
                self.at(file, table, modifier, f"modifier {modifier!r} must be 2 characters")
                continue
            modifiers[modifier] = self.amount(
                file, mods, table, modifier, required=True, maximum=Decimal(1000)
            )
        fees = self.fee_file(self.directory / name)
        return FeeSchedule(fees, modifiers, unlisted)

    def fee_file(self, path: Path) -> dict[str, Decimal]:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(path, None, "fee schedule file is missing")
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, None, f"cannot read: {exc}")
            return {}
        reader = csv.reader(io.StringIO(text))
        fees: dict[str, Decimal] = {}
        first: dict[str, int] = {}
        header_seen = False
        for row in reader:
            line = reader.line_num
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if not header_seen:
                header_seen = True
                columns = [c.strip().lower() for c in row]
                if columns[:2] != ["procedure", "allowed"]:
                    self.problem(path, line, "the header must start with: procedure,allowed")
                    return {}
                continue
            if len(row) < 2:
                self.problem(path, line, "a row needs a procedure code and an allowed amount")
                continue
            code = row[0].strip().upper()
            if not _CODE.fullmatch(code):
                self.problem(path, line, f"{row[0]!r} is not a procedure code")
                continue
            allowed = parse_amount(row[1].strip())
            if allowed is None:
                self.problem(
                    path, line, f"allowed amount {row[1]!r} must be >= 0 with at most 2 decimals"
                )
                continue
            if code in first:
                self.problem(path, line, f"{code} is listed twice (first on line {first[code]})")
                continue
            first[code] = line
            fees[code] = allowed
        if not header_seen:
            self.problem(path, None, "the fee schedule is empty (header: procedure,allowed)")
        return fees

    def diagnosis_rules(self, file: _File) -> dict[str, DiagnosisRule]:
        out: dict[str, DiagnosisRule] = {}
        for where, node in self.tables(file, "diagnosis_rules"):
            self.known(file, where, node, {"procedure", "allowed_prefixes"})
            procedure = self.text(file, node, where, "procedure", required=True).upper()
            prefixes = self.codes(file, node, where, "allowed_prefixes")
            if not prefixes:
                self.at(file, where, "allowed_prefixes", "at least one diagnosis prefix needed")
            if procedure in out:
                self.at(file, where, "procedure", f"a rule for {procedure} exists already")
            elif procedure:
                out[procedure] = DiagnosisRule(procedure, prefixes)
        return out

    def pend_rules(self, file: _File) -> tuple[PendRule, ...]:
        out: list[PendRule] = []
        for where, node in self.tables(file, "pend_rules"):
            self.known(
                file,
                where,
                node,
                {
                    "name", "status", "text", "min_charge", "procedures", "members", "request",
                    "request_text", "due_days",
                },
            )  # fmt: skip
            name = self.text(file, node, where, "name", required=True)
            status = self.text(file, node, where, "status", required=True)
            if status and not _PEND_STATUS.fullmatch(status):
                self.at(file, where, "status", "status must be like P2:46 (category P0-P5)")
            text = self.text(file, node, where, "text", required=False) or name
            min_charge = (
                self.amount(file, node, where, "min_charge", required=True)
                if "min_charge" in node
                else None
            )
            procedures = frozenset(self.codes(file, node, where, "procedures"))
            members = frozenset(self.codes(file, node, where, "members"))
            if min_charge is None and not procedures and not members:
                self.at(file, where, None, "a pend rule needs min_charge, procedures or members")
            request = self.loinc_codes(file, node, where)
            request_text = self.text(file, node, where, "request_text", required=False)
            due_days = (
                self.integer(file, node, where, "due_days", minimum=1) if "due_days" in node else 30
            )
            if (request_text or "due_days" in node) and not request:
                self.at(file, where, "request", "request_text and due_days need request = [...]")
            rule = PendRule(name, status, text, min_charge, procedures, members, request)
            out.append(replace(rule, request_text=request_text or "", due_days=due_days or 30))
        return tuple(out)

    def loinc_codes(self, file: _File, node: Mapping[str, Any], table: str) -> tuple[str, ...]:
        """``request``: LOINC codes (``11506-3``) an information request asks for."""
        value = node.get("request", [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.at(file, table, "request", "'request' must be a list of LOINC codes")
            return ()
        out: list[str] = []
        for item in value:
            code = item.strip()
            if not _LOINC.fullmatch(code):
                self.at(file, table, "request", f"{item!r} is not a LOINC code (like 11506-3)")
            elif code not in out:
                out.append(code)
        return tuple(out)

    # ---------------------------------------------------------------- plans.toml

    def plans(self, file: _File, categories: set[str]) -> dict[str, Plan]:
        self.known(file, "", file.data, {"plans"})
        node = self.table(file, file.data.get("plans", {}), "plans")
        if not node:
            self.problem(file, None, "no [plans.<ID>] defined")
        out: dict[str, Plan] = {}
        for plan_id, raw in node.items():
            table = f"plans.{plan_id}"
            plan = self.table(file, raw, table)
            self.known(
                file,
                table,
                plan,
                {
                    "name",
                    "deductible",
                    "coinsurance_percent",
                    "out_of_pocket_max",
                    "timely_filing_days",
                    "prior_auth_required",
                    "non_covered",
                    "benefits",
                },
            )
            deductible = self.amount(file, plan, table, "deductible", required=True)
            oop = self.amount(file, plan, table, "out_of_pocket_max", required=True)
            if oop < deductible:
                self.at(file, table, "out_of_pocket_max", "out_of_pocket_max < deductible")
            benefits: dict[str, Benefit] = {}
            btable = f"{table}.benefits"
            for category, braw in self.table(file, plan.get("benefits", {}), btable).items():
                ctable = f"{btable}.{category}"
                if category not in categories:
                    self.at(file, ctable, None, f"unknown service category {category!r}")
                bnode = self.table(file, braw, ctable)
                self.known(file, ctable, bnode, {"copay", "deductible", "coinsurance"})
                benefits[category] = Benefit(
                    copay=self.amount(file, bnode, ctable, "copay", required=False),
                    deductible=self.boolean(file, bnode, ctable, "deductible", True),
                    coinsurance=self.boolean(file, bnode, ctable, "coinsurance", True),
                )
            out[plan_id] = Plan(
                id=plan_id,
                name=self.text(file, plan, table, "name", required=False) or plan_id,
                deductible=deductible,
                coinsurance_percent=self.amount(
                    file, plan, table, "coinsurance_percent", required=True, maximum=HUNDRED
                ),
                out_of_pocket_max=oop,
                timely_filing_days=self.integer(file, plan, table, "timely_filing_days", minimum=1)
                or 365,
                benefits=benefits,
                prior_auth_required=frozenset(self.codes(file, plan, table, "prior_auth_required")),
                non_covered=frozenset(self.codes(file, plan, table, "non_covered")),
            )
        return out

    # --------------------------------------------------------------- roster.toml

    def enrollment_rule(self, file: _File, plans: Mapping[str, Plan]) -> EnrollmentRule | None:
        if "enrollment_rule" not in file.data:
            return None
        table = "enrollment_rule"
        node = self.table(file, file.data[table], table)
        self.known(file, table, node, {"prefix", "digits", "coverage_start", "plan_by_last_digit"})
        prefix = self.text(file, node, table, "prefix", required=True)
        digits = self.integer(file, node, table, "digits", minimum=1)
        start = self.day(file, node, table, "coverage_start", required=True)
        by_digit: dict[str, str] = {}
        dtable = f"{table}.plan_by_last_digit"
        mapping = self.table(file, node.get("plan_by_last_digit", {}), dtable)
        for digit, plan in mapping.items():
            if digit not in _DIGITS or len(digit) != 1:
                self.at(file, dtable, digit, f"{digit!r} is not a digit 0-9")
            elif not isinstance(plan, str) or plan not in plans:
                self.at(file, dtable, digit, f"plan {plan!r} is not defined in {PLANS_FILE}")
            else:
                by_digit[digit] = plan
        missing = [d for d in _DIGITS if d not in mapping]
        if missing:
            self.at(file, dtable, None, f"plan_by_last_digit needs every digit; missing {missing}")
        if not prefix or digits is None or start is None:
            return None
        return EnrollmentRule(prefix, digits, start, by_digit)

    def members(self, file: _File, plans: Mapping[str, Plan]) -> dict[str, Member]:
        self.known(file, "", file.data, {"enrollment_rule", "members"})
        out: dict[str, Member] = {}
        for where, node in self.tables(file, "members"):
            self.known(
                file,
                where,
                node,
                {"id", "coverage", "accumulators", "note", "first_name", "last_name",
                 "birth_date", "group_number"},
            )  # fmt: skip
            member_id = self.text(file, node, where, "id", required=True)
            coverage = self.coverage(file, node, where, plans)
            starting = self.starting(file, node, where)
            if member_id in out:
                self.at(file, where, "id", f"member {member_id!r} is listed twice")
                continue
            if member_id:
                note = self.text(file, node, where, "note", required=False)
                first = self.text(file, node, where, "first_name", required=False).upper()
                last = self.text(file, node, where, "last_name", required=False).upper()
                born = self.day(file, node, where, "birth_date", required=False)
                group = self.text(file, node, where, "group_number", required=False)
                out[member_id] = Member(
                    member_id, coverage, starting, note, first, last, born, group
                )
        return out

    def coverage(
        self, file: _File, node: Mapping[str, Any], where: str, plans: Mapping[str, Plan]
    ) -> tuple[Coverage, ...]:
        raw = node.get("coverage")
        if not isinstance(raw, list) or not raw or not all(isinstance(c, dict) for c in raw):
            self.at(file, where, "coverage", "coverage must be a list of {plan, start[, end]}")
            return ()
        periods: list[Coverage] = []
        for item in raw:
            unknown = set(item) - {"plan", "start", "end"}
            if unknown:
                self.at(file, where, "coverage", f"coverage: unknown keys {sorted(unknown)}")
            plan = item.get("plan")
            if not isinstance(plan, str) or plan not in plans:
                self.at(file, where, "coverage", f"plan {plan!r} is not defined in {PLANS_FILE}")
                continue
            start = self.day(file, item, where, "start", required=False)
            end = self.day(file, item, where, "end", required=False)
            if start is None:
                self.at(file, where, "coverage", "each coverage period needs a start date")
                continue
            if end is not None and end < start:
                self.at(file, where, "coverage", "a coverage period ends before it starts")
                continue
            periods.append(Coverage(plan, start, end))
        periods.sort(key=lambda c: c.start)
        for earlier, later in itertools.pairwise(periods):
            if earlier.end is None or earlier.end >= later.start:
                self.at(file, where, "coverage", "coverage periods overlap")
        return tuple(periods)

    def starting(
        self, file: _File, node: Mapping[str, Any], where: str
    ) -> tuple[StartingAccumulator, ...]:
        raw = node.get("accumulators", [])
        if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
            self.at(file, where, "accumulators", "accumulators must be a list of tables")
            return ()
        out: list[StartingAccumulator] = []
        for item in raw:
            year = item.get("year")
            if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2999:
                self.at(file, where, "accumulators", "each accumulator needs a year")
                continue
            values: list[Decimal] = []
            for key in ("deductible_met", "oop_met"):
                parsed = parse_amount(item.get(key, 0))
                if parsed is None:
                    self.at(file, where, "accumulators", f"{key} must be an amount >= 0")
                    parsed = ZERO
                values.append(parsed)
            if any(s.year == year for s in out):
                self.at(file, where, "accumulators", f"year {year} is listed twice")
                continue
            if values[1] < values[0]:
                self.at(file, where, "accumulators", "oop_met must include deductible_met")
            out.append(StartingAccumulator(year, values[0], values[1]))
        return tuple(out)


def parse_amount(value: object) -> Decimal | None:
    """A TOML/CSV amount (int, float or string) as a 2-place Decimal >= 0, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    if not number.is_finite() or number < 0:
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and number != number.quantize(Decimal("0.01")):
        return None
    return number.quantize(Decimal("0.01"))


def load_payer(directory: Path | str) -> PayerConfig:
    """Read a payer directory; raise :class:`ConfigError` with every problem (file + line)."""
    loader = _Loader(Path(directory))
    payer_file = loader.read_toml(PAYER_FILE)
    plans_file = loader.read_toml(PLANS_FILE)
    roster_file = loader.read_toml(ROSTER_FILE)
    payer_id = name = ""
    categories: tuple[Category, ...] = ()
    fee_schedule = FeeSchedule({})
    diagnosis: dict[str, DiagnosisRule] = {}
    pend: tuple[PendRule, ...] = ()
    remit = RemitInfo()
    if payer_file is not None:
        payer_id, name = loader.payer(payer_file)
        appeal_days = loader.appeal_days(payer_file)
        remit = loader.remit(payer_file)
        categories = loader.categories(payer_file)
        fee_schedule = loader.fee_schedule(payer_file)
        diagnosis = loader.diagnosis_rules(payer_file)
        pend = loader.pend_rules(payer_file)
    plans: dict[str, Plan] = {}
    if plans_file is not None:
        plans = loader.plans(plans_file, {c.name for c in categories})
    rule: EnrollmentRule | None = None
    members: dict[str, Member] = {}
    if roster_file is not None:
        rule = loader.enrollment_rule(roster_file, plans)
        members = loader.members(roster_file, plans)
        if rule is None and not members:
            loader.problem(roster_file, None, "no [enrollment_rule] and no [[members]]")
    if loader.problems:
        raise ConfigError(loader.problems)
    return PayerConfig(
        payer_id=payer_id,
        name=name,
        plans=plans,
        members=members,
        fee_schedule=fee_schedule,
        categories=categories,
        enrollment_rule=rule,
        diagnosis_rules=diagnosis,
        pend_rules=pend,
        remit=remit,
        source=str(directory),
        appeal_days=appeal_days,
    )


def load_simulated_payers(partners: PartnerSet, partners_dir: Path | str) -> dict[str, PayerConfig]:
    """The adjudication configuration of every simulated payer in ``partners``:
    ``<partners_dir>/payers/<partner id>/``. Every problem of every payer is reported at once
    (:class:`ConfigError`), including a payer ID the profile does not answer for."""
    configs: dict[str, PayerConfig] = {}
    problems: list[Problem] = []
    for partner in sorted(partners.partners.values(), key=lambda p: p.id):
        if partner.role != "payer" or partner.kind != "simulated":
            continue
        directory = Path(partners_dir) / "payers" / partner.id
        if not directory.is_dir():
            problems.append(
                Problem(partner.source, None, f"simulated payer {partner.id!r}: no {directory}")
            )
            continue
        try:
            config = load_payer(directory)
        except ConfigError as exc:
            problems += exc.problems
            continue
        if config.payer_id not in partner.payer_ids:
            problems.append(
                Problem(
                    str(directory / PAYER_FILE),
                    None,
                    f"payer id {config.payer_id!r} is not one of {partner.id!r}'s payer ids "
                    f"({', '.join(partner.payer_ids)})",
                )
            )
            continue
        configs[partner.id] = config
    if problems:
        raise ConfigError(problems)
    return configs
