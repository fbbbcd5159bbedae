"""Generated per-segment "certainly clean?" checks: the validator's hot path.

For each segment definition of a guide, :func:`compile_fast_check` writes a small straight-line
Python function (compiled once, when the guide loads) that answers one question about a
segment's elements: *is it certain that* :func:`gateway.x12.ig_model.check_segment` *would find
nothing?* It never says what is wrong: on False the walker runs the slow, detailed check, which
stays the single authority on error codes and messages. So the fast check only has to be
*conservative* — a False for a clean segment costs time, never correctness — and
``tests/x12/test_ig_fastcheck.py`` checks that property against the slow path.

What makes it fast:

* one ``isascii() and isprintable()`` over the joined elements replaces the per-element
  character-set regexes (X12's 5010 extended set is exactly printable ASCII);
* elements with code lists are one ``frozenset`` membership test: the set holds only the
  codes that pass every other check of that element (type, length, pattern) and contain
  nothing but letters and digits, so no separator can hide in them;
* numbers, decimals, dates and times use ``str`` methods and small memo tables, not regexes;
* trailing optional elements are skipped by a length test, required ones by a minimum length.

The generated source is kept on the function (``__source__``) for debugging.
"""

from __future__ import annotations

import marshal
from typing import Final

from gateway.x12.ig_model import (
    DATE_QUALIFIERS,
    Comp,
    Elem,
    FastCheck,
    Seg,
    check_format,
    is_date,
    is_time,
    value_error,
)

__all__ = [
    "compile_fast_check",
    "delimiters_allow_fast_path",
    "fast_check_parts",
    "rebuild_fast_check",
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


class _Writer:
    def __init__(self, seg: Seg) -> None:
        self.seg = seg
        self.lines: list[str] = []
        self.env: dict[str, object] = {
            "_date_ok": _date_ok,
            "_time_ok": _time_ok,
            "_format_ok": _format_ok,
            "_real_len": _real_len,
            "_num_len": _num_len,
            "_DQ": DATE_QUALIFIERS,
        }
        self.counter = 0

    def const(self, value: object) -> str:
        self.counter += 1
        name = f"_k{self.counter}"
        self.env[name] = value
        return name

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def simple(self, depth: int, elem: Elem, var: str, separators: bool, fmt: bool) -> None:
        """Checks of a simple element (or component) whose value is in ``var``."""
        if elem.usage == "N":
            self.emit(depth, f"if {var}: return False")
            return
        if elem.usage == "R":
            self.emit(depth, f"if not {var}: return False")
        else:
            self.emit(depth, f"if {var}:")
            depth += 1
        codes = _fast_codes(elem)
        if codes is not None:
            self.emit(depth, f"if {var} not in {self.const(codes)}: return False")
        else:
            if separators:
                self.emit(depth, f"if C in {var} or RP in {var}: return False")
            lo, hi = elem.min_len, elem.max_len
            dtype = elem.dtype
            if dtype in ("AN", "ID"):
                size = f"len({var})"
            elif dtype.startswith("N"):
                size = f"_num_len({var})"
                lo = max(lo, 0)
            elif dtype == "R":
                size = f"_real_len({var})"
                lo = max(lo, 0)
            elif dtype == "DT":
                self.emit(depth, f"if not _date_ok({var}): return False")
                size = f"len({var})"
            elif dtype == "TM":
                self.emit(depth, f"if not _time_ok({var}): return False")
                size = f"len({var})"
            else:  # a type we do not fast-check: let the slow path judge
                self.emit(depth, "return False")
                return
            # N/R lengths are -1 when malformed: a lower bound of 0 still rejects them.
            self.emit(depth, f"if not {lo} <= {size} <= {hi}: return False")
        if elem.regex is not None:
            self.emit(depth, f"if not {self.const(elem.regex)}.search({var}): return False")
        if fmt:
            self.emit(depth, f"if fmt is not None and not _format_ok({var}, fmt): return False")

    def composite(self, depth: int, comp: Comp, var: str) -> None:
        self.emit(depth, f"if RP in {var}: return False")
        self.emit(depth, f"if {var}.strip(C):")
        if comp.usage == "N":
            self.emit(depth + 1, "return False")
        else:
            count = len(comp.parts)
            self.emit(depth + 1, f"p = {var}.split(C)")
            self.emit(depth + 1, "np = len(p)")
            self.emit(depth + 1, f"if np > {count} and any(p[{count}:]): return False")
            for j, part in enumerate(comp.parts):
                self.emit(depth + 1, f"v{j} = p[{j}] if np > {j} else ''")
                self.simple(depth + 1, part, f"v{j}", separators=False, fmt=False)
        if comp.usage == "R":
            self.emit(depth, "else: return False")

    def build(self) -> str:
        seg = self.seg
        defs = seg.elems
        ndef = len(defs)
        required = [i for i, d in enumerate(defs) if d is not None and d.usage == "R"]
        need = required[-1] + 1 if required else 0
        self.emit(0, "def check(el, C, RP):")
        self.emit(1, "n = len(el)")
        if need:
            self.emit(1, f"if n < {need}: return False")
        self.emit(1, f"if n > {ndef} and any(el[{ndef}:]): return False")
        self.emit(1, "j = ''.join(el)")
        self.emit(1, "if not (j.isascii() and j.isprintable()): return False")
        qualifiers = [i for i, d in enumerate(defs) if isinstance(d, Elem) and d.ref == "1250"]
        has_fmt = any(isinstance(d, Elem) and d.ref == "1251" for d in defs)
        if has_fmt:
            self.emit(1, "fmt = None")
            for i in qualifiers:
                self.emit(1, f"if n > {i} and el[{i}] in _DQ: fmt = el[{i}]")
        if ndef > need:
            # Short segments are padded once so that no element needs a length guard.
            self.emit(
                1, f"if n < {ndef}: el = el + {self.const(('',) * (ndef - need))}[n - {need}:]"
            )
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
                    self.emit(1, f"if any(el[{i}:{end}]): return False")
                    i = end
                    continue
            depth = 1
            self.emit(depth, f"v = el[{i}]")
            if isinstance(d, Elem) and d.repeat > 1:
                # each repetition on its own (an empty one: let the slow path judge)
                self.emit(depth, "if RP in v:")
                self.emit(depth + 1, "vs = v.split(RP)")
                self.emit(depth + 1, f"if len(vs) > {d.repeat} or not all(vs): return False")
                self.emit(depth, "else: vs = (v,)")
                self.emit(depth, "for v in vs:")
                self.simple(depth + 1, d, "v", separators=True, fmt=has_fmt and d.ref == "1251")
            elif isinstance(d, Elem):
                self.simple(depth, d, "v", separators=True, fmt=has_fmt and d.ref == "1251")
            else:
                self.composite(depth, d, "v")
            i += 1
        for rule in seg.syntax:
            flags = [
                f"(el[{p - 1}].strip(C) != '')" if p <= ndef else "False" for p in rule.positions
            ]
            first, rest = flags[0], flags[1:]
            if rule.kind == "P":
                cond = f"({' or '.join(flags)}) and not ({' and '.join(flags)})"
            elif rule.kind == "R":
                cond = f"not ({' or '.join(flags)})"
            elif rule.kind == "E":
                cond = f"({' + '.join(flags)}) > 1"
            elif rule.kind == "C":
                cond = f"{first} and not ({' and '.join(rest)})"
            else:  # L
                cond = f"{first} and not ({' or '.join(rest)})"
            self.emit(1, f"if {cond}: return False")
        for sit in seg.situational:
            # el is padded to ndef here; a rule never names an element past the definition
            w, p = sit.when - 1, sit.position - 1
            if sit.values is None:
                applies = f"not el[{w}]"
            else:
                applies = f"el[{w}] in {self.const(sit.values)}"
            self.emit(1, f"if {applies} and not el[{p}].strip(C): return False")
        self.emit(1, "return True")
        return "\n".join(self.lines) + "\n"


def compile_fast_check(seg: Seg) -> FastCheck:
    """The generated check for ``seg`` (see the module docstring)."""
    writer = _Writer(seg)
    source = writer.build()
    code = compile(source, f"<fast check {seg.id}>", "exec")
    return rebuild_fast_check(marshal.dumps(code), dict(writer.env), source)


def rebuild_fast_check(code: bytes, env: dict[str, object], source: str) -> FastCheck:
    """The check from its marshalled code object and constants (what
    :func:`fast_check_parts` gives): how a compiled guide's checks come back from the
    on-disk guide cache (:mod:`gateway.x12.ig_maps`) without compiling them again."""
    namespace = dict(env)
    exec(marshal.loads(code), namespace)  # noqa: S102, S302 - our own generated code
    check = namespace["check"]
    assert callable(check)
    check.__source__ = source  # type: ignore[attr-defined]
    check.__fast_parts__ = (code, env, source)  # type: ignore[attr-defined]
    return check


def fast_check_parts(check: object) -> tuple[bytes, dict[str, object], str] | None:
    """(marshalled code, constants, source) of a generated check, None for any other
    function (for pickling a compiled guide)."""
    parts = getattr(check, "__fast_parts__", None)
    return parts if isinstance(parts, tuple) else None
