"""Per-segment "certainly clean?" checks: the validator's hot path.

For each segment definition of a guide, :func:`compile_fast_check` turns the definition into a
small program (a :class:`FastProgram`: plain numbers, strings and sets, made once when the guide
loads) that answers one question about a segment's elements: *is it certain that*
:func:`gateway.x12.ig_model.check_segment` *would find nothing?* It never says what is wrong: on
False the walker runs the slow, detailed check, which stays the single authority on error codes
and messages. So the fast check only has to be *conservative* — a False for a clean segment
costs time, never correctness — and ``tests/x12/test_ig_fastcheck.py`` checks that property
against the slow path.

What makes it fast:

* one ``isascii() and isprintable()`` over the joined elements replaces the per-element
  character-set regexes (X12's 5010 extended set is exactly printable ASCII);
* elements with code lists are one ``frozenset`` membership test: the set holds only the
  codes that pass every other check of that element (type, length, pattern) and contain
  nothing but letters and digits, so no separator can hide in them;
* numbers, decimals, dates and times use ``str`` methods and small memo tables, not regexes;
* trailing optional elements are skipped by a length test, required ones by a minimum length;
* the program runs in compiled code (this module is compiled with mypyc, see
  ``gateway/_native.py``): it used to be Python source generated per definition and run by
  the interpreter, the costliest part of the validator (``tests/x12/test_ig_fastcheck.py``
  keeps that generator as the reference the programs must agree with).

:meth:`FastProgram.describe` prints a program for debugging.
"""

from __future__ import annotations

import re
from typing import Any, Final

from gateway.x12.ig_model import (
    DATE_QUALIFIERS,
    Elem,
    FastCheck,
    Seg,
    check_format,
    is_date,
    is_time,
    value_error,
)

__all__ = [
    "FastProgram",
    "compile_fast_check",
    "delimiters_allow_fast_path",
    "program_from_state",
]

_MEMO_LIMIT: Final = 65536
_date_memo: dict[str, bool] = {}
_time_memo: dict[str, bool] = {}
_format_memo: dict[tuple[str, str], bool] = {}


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts superscripts that ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _date_ok(value: str) -> bool:
    found = _date_memo.get(value)
    if found is None:
        if len(_date_memo) >= _MEMO_LIMIT:
            _date_memo.clear()
        found = _date_memo[value] = is_date(value)
    return found


def _time_ok(value: str) -> bool:
    found = _time_memo.get(value)
    if found is None:
        if len(_time_memo) >= _MEMO_LIMIT:
            _time_memo.clear()
        found = _time_memo[value] = is_time(value)
    return found


def _format_ok(value: str, fmt: str) -> bool:
    key = (value, fmt)
    found = _format_memo.get(key)
    if found is None:
        if len(_format_memo) >= _MEMO_LIMIT:
            _format_memo.clear()
        found = _format_memo[key] = check_format(value, fmt)
    return found


def _real_len(value: str) -> int:
    """Digits in an X12 R value (``-?(d+(.d*)?|.d+)``), or -1 when it is not one."""
    body = value[1:] if value[:1] == "-" else value
    whole, dot, frac = body.partition(".")
    if whole:
        if not _digits(whole) or (frac and not _digits(frac)):
            return -1
    elif not (dot and _digits(frac)):
        return -1
    return len(whole) + len(frac)


def _num_len(value: str) -> int:
    """Digits in an X12 N value (``-?d+``), or -1 when it is not one."""
    body = value[1:] if value[:1] == "-" else value
    return len(body) if _digits(body) else -1


def delimiters_allow_fast_path(component: str, repetition: str | None) -> bool:
    """The generated checks assume separators that no code value can contain."""
    for sep in (component, repetition or "\x00"):
        if len(sep) != 1 or sep.isalnum() or sep == " ":
            return False
    return True


def _fast_codes(elem: Elem) -> frozenset[str] | None:
    """The codes that pass every check of ``elem`` and are safe from separators."""
    if elem.codes is None and elem.external is None:
        return None
    allowed = (elem.codes or frozenset()) | (elem.external or frozenset())
    return frozenset(
        c for c in allowed if c.isascii() and c.isalnum() and value_error(elem, c, None) is None
    )


# kinds of a simple element's size test
_LEN: Final = 0
_NUM: Final = 1
_REAL: Final = 2
_DATE: Final = 3
_TIME: Final = 4
_OTHER: Final = 5
"""A type the fast check does not judge: never clean (the slow path judges)."""

# usages
_OPTIONAL: Final = 0
_REQUIRED: Final = 1
_NOT_USED: Final = 2

# kinds of step
_NOT_USED_RUN: Final = 0
_SIMPLE: Final = 1
_REPEATED: Final = 2
_COMPOSITE: Final = 3

# syntax rules (X12: paired, required, exclusion, conditional, list conditional)
_RULES: Final = {"P": 0, "R": 1, "E": 2, "C": 3, "L": 4}
_PAIRED: Final = 0
_REQUIRED_ONE: Final = 1
_EXCLUSION: Final = 2
_CONDITIONAL: Final = 3


class _Simple:
    """The checks of one simple element (or component)."""

    def __init__(
        self,
        usage: int,
        codes: frozenset[str] | None,
        separators: bool,
        size: int,
        lo: int,
        hi: int,
        regex: re.Pattern[str] | None,
        fmt: bool,
    ) -> None:
        self.usage = usage
        self.codes = codes
        """When set, membership is the whole type and length test."""
        self.separators = separators
        self.size = size
        self.lo = lo
        self.hi = hi
        self.regex = regex
        self.fmt = fmt
        """Checked against the format its date qualifier names (DTP03)."""

    def state(self) -> tuple[object, ...]:
        return (
            self.usage, self.codes, self.separators, self.size, self.lo, self.hi, self.regex,
            self.fmt,
        )  # fmt: skip

    def ok(self, v: str, c: str, rp: str, fmt: str | None) -> bool:
        if not v:
            return self.usage != _REQUIRED
        if self.usage == _NOT_USED:
            return False
        codes = self.codes
        if codes is not None:
            if v not in codes:
                return False
        else:
            if self.separators and (c in v or rp in v):
                return False
            size = self.size
            if size == _LEN:
                length = len(v)
            elif size == _NUM:
                length = _num_len(v)
            elif size == _REAL:
                length = _real_len(v)
            elif size == _DATE:
                if not _date_ok(v):
                    return False
                length = len(v)
            elif size == _TIME:
                if not _time_ok(v):
                    return False
                length = len(v)
            else:
                return False
            if not self.lo <= length <= self.hi:
                return False
        regex = self.regex
        if regex is not None and not regex.search(v):
            return False
        return not (self.fmt and fmt is not None and not _format_ok(v, fmt))


class _Step:
    """What is checked of one element (or of a run of 'not used' ones)."""

    def __init__(
        self,
        kind: int,
        index: int,
        end: int = 0,
        simple: _Simple | None = None,
        repeat: int = 1,
        usage: int = _OPTIONAL,
        parts: list[_Simple] | None = None,
    ) -> None:
        self.kind = kind
        self.index = index
        self.end = end
        """``_NOT_USED_RUN``: the run is ``el[index:end]``."""
        self.simple = simple
        self.repeat = repeat
        self.usage = usage
        """``_COMPOSITE``: the composite's usage."""
        self.parts: list[_Simple] = parts if parts is not None else []

    def state(self) -> tuple[object, ...]:
        return (
            self.kind, self.index, self.end,
            None if self.simple is None else self.simple.state(), self.repeat, self.usage,
            [part.state() for part in self.parts],
        )  # fmt: skip


class FastProgram:
    """The fast check of one segment definition (see the module docstring), called as
    ``program(elements, component_separator, repetition_separator) -> certainly clean``."""

    def __init__(
        self,
        need: int,
        ndef: int,
        qualifiers: list[int],
        has_fmt: bool,
        steps: list[_Step],
        rules: list[tuple[int, list[int]]],
        situational: list[tuple[int, int, frozenset[str] | None]],
    ) -> None:
        self.need = need
        """Elements required up to the last required one."""
        self.ndef = ndef
        """Elements defined."""
        self.qualifiers = qualifiers
        """0-based positions of date qualifiers (1250) whose value names DTP03's format."""
        self.has_fmt = has_fmt
        self.steps = steps
        self.rules = rules
        """Syntax rules: (``_RULES[kind]``; 0-based positions, -1 past the definition)."""
        self.situational = situational
        """(0-based ``when``, 0-based ``position``, values or None: when empty)."""

    def __call__(self, el: tuple[str, ...], c: str, rp: str) -> bool:
        return self.check(el, c, rp)

    def check(self, el: tuple[str, ...], c: str, rp: str) -> bool:
        # Elements past the end read as empty (as if padded to the definition's length).
        n = len(el)
        if n < self.need:
            return False
        for k in range(self.ndef, n):
            if el[k]:
                return False
        joined = "".join(el)
        if not (joined.isascii() and joined.isprintable()):
            return False
        fmt: str | None = None
        if self.has_fmt:
            for i in self.qualifiers:
                if n > i and el[i] in DATE_QUALIFIERS:
                    fmt = el[i]
        for step in self.steps:
            kind = step.kind
            index = step.index
            if kind == _NOT_USED_RUN:
                for k in range(index, min(step.end, n)):
                    if el[k]:
                        return False
                continue
            v = el[index] if index < n else ""
            if kind == _SIMPLE:
                simple = step.simple
                assert simple is not None
                if not simple.ok(v, c, rp, fmt):
                    return False
            elif kind == _REPEATED:
                simple = step.simple
                assert simple is not None
                if rp in v:
                    values = v.split(rp)
                    if len(values) > step.repeat:
                        return False
                    for value in values:
                        if not value or not simple.ok(value, c, rp, fmt):
                            return False
                elif not simple.ok(v, c, rp, fmt):
                    return False
            elif not _composite_ok(step, v, c, rp):
                return False
        for rule, positions in self.rules:
            if not _rule_ok(rule, positions, el, n, c):
                return False
        for when, position, codes in self.situational:
            value = el[when] if when < n else ""
            applies = not value if codes is None else value in codes
            if applies and not _present(el, n, position, c):
                return False
        return True

    def state(self) -> tuple[object, ...]:
        """Plain data (for pickling a compiled guide: :func:`program_from_state`)."""
        return (
            self.need, self.ndef, list(self.qualifiers), self.has_fmt,
            [step.state() for step in self.steps], [(k, list(p)) for k, p in self.rules],
            list(self.situational),
        )  # fmt: skip

    def describe(self) -> str:
        """The program, readable (for debugging)."""
        steps = "\n".join(f"  {step.state()}" for step in self.steps)
        return (
            f"need {self.need}, defined {self.ndef}, date qualifiers {self.qualifiers}\n"
            f"{steps}\n  rules {self.rules}\n  situational {self.situational}"
        )


def _composite_ok(step: _Step, v: str, c: str, rp: str) -> bool:
    if rp in v:
        return False
    if not v.strip(c):
        return step.usage != _REQUIRED
    if step.usage == _NOT_USED:
        return False
    parts = step.parts
    values = v.split(c)
    count = len(parts)
    if len(values) > count and any(values[count:]):
        return False
    for j in range(count):
        if not parts[j].ok(values[j] if len(values) > j else "", c, rp, None):
            return False
    return True


def _present(el: tuple[str, ...], n: int, p: int, c: str) -> bool:
    """Element ``p`` (0-based; -1: none) holds more than component separators."""
    if p < 0 or p >= n:
        return False
    v = el[p]
    if not v:
        return False
    return v[0] != c or v.strip(c) != ""


def _rule_ok(rule: int, positions: list[int], el: tuple[str, ...], n: int, c: str) -> bool:
    """A syntax rule holds (P: all or none present; R: one at least; E: one at most; C: the
    first present, all the others too; L: the first present, one other at least)."""
    if rule == _PAIRED or rule == _EXCLUSION:
        present = 0
        for p in positions:
            if _present(el, n, p, c):
                present += 1
        if rule == _EXCLUSION:
            return present <= 1
        return present == 0 or present == len(positions)
    if rule == _REQUIRED_ONE:
        for p in positions:
            if _present(el, n, p, c):
                return True
        return False
    if not _present(el, n, positions[0], c):
        return True
    if len(positions) == 1:  # (a C or L rule names two elements at least: never so)
        return False
    if rule == _CONDITIONAL:
        for k in range(1, len(positions)):
            if not _present(el, n, positions[k], c):
                return False
        return True
    for k in range(1, len(positions)):  # L
        if _present(el, n, positions[k], c):
            return True
    return False


def _simple(elem: Elem, separators: bool, fmt: bool) -> _Simple:
    usage = _REQUIRED if elem.usage == "R" else _NOT_USED if elem.usage == "N" else _OPTIONAL
    codes = _fast_codes(elem)
    lo, hi = elem.min_len, elem.max_len
    dtype = elem.dtype
    if dtype in ("AN", "ID"):
        size = _LEN
    elif dtype.startswith("N"):
        size, lo = _NUM, max(lo, 0)
    elif dtype == "R":
        size, lo = _REAL, max(lo, 0)
    elif dtype == "DT":
        size = _DATE
    elif dtype == "TM":
        size = _TIME
    else:
        size = _OTHER
    if size == _OTHER and codes is None:
        return _Simple(usage, None, separators, _OTHER, lo, hi, None, False)
    return _Simple(usage, codes, separators, size, lo, hi, elem.regex, fmt)


def compile_fast_check(seg: Seg) -> FastCheck:
    """The fast check for ``seg`` (see the module docstring)."""
    defs = seg.elems
    ndef = len(defs)
    required = [i for i, d in enumerate(defs) if d is not None and d.usage == "R"]
    need = required[-1] + 1 if required else 0
    qualifiers = [i for i, d in enumerate(defs) if isinstance(d, Elem) and d.ref == "1250"]
    has_fmt = any(isinstance(d, Elem) and d.ref == "1251" for d in defs)
    steps: list[_Step] = []
    i = 0
    while i < ndef:
        d = defs[i]
        if d is None:
            i += 1
            continue
        if d.usage == "N":  # a run of 'not used' elements: one test
            end = i
            while end < ndef:
                nxt = defs[end]
                if nxt is not None and nxt.usage != "N":
                    break
                end += 1
            if end - i > 1:
                steps.append(_Step(_NOT_USED_RUN, i, end))
                i = end
                continue
        if isinstance(d, Elem):
            simple = _simple(d, separators=True, fmt=has_fmt and d.ref == "1251")
            if d.repeat > 1:
                steps.append(_Step(_REPEATED, i, simple=simple, repeat=d.repeat))
            else:
                steps.append(_Step(_SIMPLE, i, simple=simple))
        else:
            usage = _REQUIRED if d.usage == "R" else _NOT_USED if d.usage == "N" else _OPTIONAL
            parts = [_simple(part, separators=False, fmt=False) for part in d.parts]
            steps.append(_Step(_COMPOSITE, i, usage=usage, parts=parts))
        i += 1
    rules = [
        (_RULES.get(rule.kind, _RULES["L"]), [p - 1 if p <= ndef else -1 for p in rule.positions])
        for rule in seg.syntax
    ]
    situational = [(sit.when - 1, sit.position - 1, sit.values) for sit in seg.situational]
    return FastProgram(need, ndef, qualifiers, has_fmt, steps, rules, situational)


def program_from_state(state: tuple[Any, ...]) -> FastProgram:
    """The program whose :meth:`FastProgram.state` is ``state``: how a compiled guide's checks
    come back from the on-disk guide cache (:mod:`gateway.x12.ig_maps`)."""
    need, ndef, qualifiers, has_fmt, steps, rules, situational = state
    return FastProgram(
        need, ndef, qualifiers, has_fmt, [_step_from_state(s) for s in steps],
        [(kind, positions) for kind, positions in rules], situational,
    )  # fmt: skip


def _simple_from_state(state: tuple[Any, ...]) -> _Simple:
    return _Simple(*state)


def _step_from_state(state: tuple[Any, ...]) -> _Step:
    kind, index, end, simple, repeat, usage, parts = state
    return _Step(
        kind, index, end, None if simple is None else _simple_from_state(simple), repeat, usage,
        [_simple_from_state(part) for part in parts],
    )  # fmt: skip
