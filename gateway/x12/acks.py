"""Builders for the acknowledgments we send: TA1 interchanges and 999s (005010X231A1).

Our own delimiters (``* ~ : ^``), one segment per line.  Every value echoed from the inbound
file is cleaned (printable ASCII only, our delimiters removed, cut to the element's maximum
length) so that the acknowledgment is itself valid X12 whatever the input was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.x12.envelope import ISA_QUALIFIERS, USAGE_INDICATORS, group_accepted_count
from gateway.x12.results import GroupResult, IgError, InterchangeResult, TransactionResult
from gateway.x12.segments import Delimiters

OUTBOUND = Delimiters(element="*", segment="~", component=":", repetition="^")
SEGMENT_END = "~\n"
IMPLEMENTATION_999 = "005010X231A1"
MAX_IK3_PER_SET = 100
"""IK3 loops written per transaction set; IK5 is still R when more errors exist."""
MAX_IK4_PER_IK3 = 99
"""The 2110 loop repeats at most 99 times (X231A1)."""
MAX_SET_CODES = 5
"""IK502..IK506 / AK905..AK909."""
_CONTROL_MODULUS = 1_000_000_000
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {
    OUTBOUND.element,
    OUTBOUND.segment,
    OUTBOUND.component,
    OUTBOUND.repetition or "^",
}
# what clean() removes: everything outside printable ASCII, and our delimiters
_UNSAFE = re.compile(
    "[^\x20-\x7e]|["
    + re.escape("".join(sorted(frozenset(map(chr, range(0x20, 0x7F))) - _PRINTABLE)))
    + "]"
)
_MISSING_ELEMENT_CODES = frozenset({"1", "2", "I9"})
_GENERIC_ELEMENT_CODE = "I12"


@dataclass(frozen=True)
class Gateway:
    """Who we are in the envelopes we build."""

    qualifier: str
    id: str


@dataclass(frozen=True)
class BuiltAck:
    """An acknowledgment interchange and what it says, for the audit details."""

    content: bytes
    control_number: str
    """Our ISA13."""
    sets_received: int = 0
    sets_accepted: int = 0
    claims_received: int = 0
    claims_accepted: int = 0
    errors_reported: int = 0
    """IK3 loops written."""
    errors_omitted: int = 0
    """IG errors not written because of :data:`MAX_IK3_PER_SET`."""


# ------------------------------------------------------------------------------ helpers


def clean(value: str, max_len: int) -> str:
    """``value`` safe to echo in one of our elements: printable ASCII, no delimiters."""
    if not value:
        return ""
    if (
        value.isascii()
        and value.isprintable()
        and not ("*" in value or "~" in value or ":" in value or "^" in value)
    ):
        return value.strip()[:max_len]  # the common case, without the regex
    return _UNSAFE.sub("", value).strip()[:max_len]


# the fast path of clean() names the delimiters
assert set(map(chr, range(0x20, 0x7F))) - _PRINTABLE == {"*", "~", ":", "^"}


def format_control(number: int, width: int) -> str:
    """A control number from :func:`next_control`, zero-padded to ``width`` (max 9 digits)."""
    return f"{number % _CONTROL_MODULUS:0{width}d}"


def _segment(seg_id: str, *elements: str) -> str:
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return OUTBOUND.element.join([seg_id, *values]) + SEGMENT_END


def _render(segments: Iterable[str]) -> bytes:
    return "".join(segments).encode("ascii")


def _digits(value: str, width: int, fallback: str) -> str:
    digits = "".join(c for c in value if c.isascii() and c.isdigit())
    if not digits:
        return fallback
    return digits[-width:].rjust(width, "0")


def _isa(gateway: Gateway, inbound: InterchangeResult, control: str, now: datetime) -> str:
    qualifier = inbound.sender_qualifier if inbound.sender_qualifier in ISA_QUALIFIERS else "ZZ"
    usage = inbound.usage_indicator if inbound.usage_indicator in USAGE_INDICATORS else "P"
    receiver = clean(inbound.sender_id, 15) or "UNKNOWN"
    return _segment(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        clean(gateway.qualifier, 2).ljust(2),
        clean(gateway.id, 15).ljust(15),
        qualifier,
        receiver.ljust(15),
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        OUTBOUND.repetition or "^",
        "00501",
        control,
        "0",
        usage,
        OUTBOUND.component,
    )


def _iea(groups: int, control: str) -> str:
    return _segment("IEA", str(groups), control)


# ---------------------------------------------------------------------------------- TA1


def build_ta1(
    inbound: InterchangeResult,
    *,
    code: str | None,
    gateway: Gateway,
    control: int,
    now: datetime,
) -> BuiltAck:
    """``ISA TA1 IEA*0``: TA104 ``R`` with ``code``, or ``A``/``000`` when ``code`` is None.

    TA101-TA103 echo ISA13/ISA09/ISA10; values that are not valid X12 (the reason for some
    rejections) are replaced by digits taken from them, or by our own date/time.
    """
    isa13 = format_control(control, 9)
    ta1 = _segment(
        "TA1",
        _digits(inbound.control_number, 9, "000000000"),
        _echo_date(inbound.date, now),
        _echo_time(inbound.time, now),
        "A" if code is None else "R",
        code or "000",
    )
    content = _render([_isa(gateway, inbound, isa13, now), ta1, _iea(0, isa13)])
    return BuiltAck(content=content, control_number=isa13)


def _echo_date(value: str, now: datetime) -> str:
    if len(value) == 6 and value.isascii() and value.isdigit():
        return value
    return now.strftime("%y%m%d")


def _echo_time(value: str, now: datetime) -> str:
    if len(value) == 4 and value.isascii() and value.isdigit():
        return value
    return now.strftime("%H%M")


# ---------------------------------------------------------------------------------- 999


def build_999(
    inbound: InterchangeResult,
    *,
    gateway: Gateway,
    next_control: Callable[[], int],
    now: datetime,
) -> BuiltAck:
    """One 999 interchange answering ``inbound``: a GS*FA + ST*999 per inbound GS.

    Control numbers: ISA13, then GS06 and ST02 of each group, each from ``next_control()``.
    """
    isa13 = format_control(next_control(), 9)
    out = [_isa(gateway, inbound, isa13, now)]
    totals = _Totals()
    for group in inbound.groups:
        out.extend(_functional_group(group, gateway, inbound, next_control, now, totals))
    out.append(_iea(len(inbound.groups), isa13))
    return BuiltAck(
        content=_render(out),
        control_number=isa13,
        sets_received=totals.sets,
        sets_accepted=totals.accepted,
        claims_received=totals.claims,
        claims_accepted=totals.claims_accepted,
        errors_reported=totals.ik3,
        errors_omitted=totals.omitted,
    )


@dataclass
class _Totals:
    sets: int = 0
    accepted: int = 0
    claims: int = 0
    claims_accepted: int = 0
    ik3: int = 0
    omitted: int = 0


def _functional_group(
    group: GroupResult,
    gateway: Gateway,
    inbound: InterchangeResult,
    next_control: Callable[[], int],
    now: datetime,
    totals: _Totals,
) -> list[str]:
    gs06 = str(next_control() % _CONTROL_MODULUS)
    st02 = format_control(next_control(), 4)
    body = _transaction_999(group, totals)
    st = _segment("ST", "999", st02, IMPLEMENTATION_999)
    se = _segment("SE", str(len(body) + 2), st02)
    gs = _segment(
        "GS",
        "FA",
        _application_code(group.gs03, gateway.id),
        _application_code(group.gs02, inbound.sender_id),
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        gs06,
        "X",
        IMPLEMENTATION_999,
    )
    return [gs, st, *body, se, _segment("GE", "1", gs06)]


def _application_code(value: str, fallback: str) -> str:
    code = clean(value, 15)
    if len(code) < 2:
        code = clean(fallback, 15).ljust(2, "0")
    return code


def _transaction_999(group: GroupResult, totals: _Totals) -> list[str]:
    out = [
        _segment(
            "AK1",
            clean(group.gs01, 2) or "HC",
            _digits(group.gs06, 9, "0").lstrip("0") or "0",
            clean(group.gs08, 12) or "005010",
        )
    ]
    group_ok = not group.group_error_codes
    for transaction in group.transactions:
        out.extend(_set_response(transaction, totals))
        totals.sets += 1
        totals.claims += transaction.claim_count
        if transaction.accepted and group_ok:
            totals.accepted += 1
            totals.claims_accepted += transaction.claim_count
    out.append(_ak9(group))
    return out


def _ak9(group: GroupResult) -> str:
    received = len(group.transactions)
    accepted = group_accepted_count(group)
    if group.group_error_codes or (received and accepted == 0):
        code = "R"
    elif accepted == received:
        code = "A"
    else:
        code = "P"
    codes = list(group.group_error_codes)[:MAX_SET_CODES]
    return _segment("AK9", code, str(received), str(received), str(accepted), *codes)


def _set_response(transaction: TransactionResult, totals: _Totals) -> list[str]:
    st02 = clean(transaction.st02, 9)
    if len(st02) < 4:
        st02 = st02.rjust(4, "0")
    out = [
        _segment(
            "AK2",
            clean(transaction.st01, 3).ljust(3, "0"),
            st02,
            clean(transaction.st03 or "", 35),
        )
    ]
    loops, omitted = _ik3_loops(transaction.errors)
    totals.ik3 += len(loops)
    totals.omitted += omitted
    for loop in loops:
        out.extend(loop)
    codes = list(transaction.set_error_codes)[:MAX_SET_CODES]
    out.append(_segment("IK5", "A" if transaction.accepted else "R", *codes))
    return out


# ------------------------------------------------------------------------------ IK3/IK4


@dataclass
class _Loop:
    key: tuple[str, int]
    element_level: bool
    segments: list[str]
    ik4_count: int = 0


def _ik3_loops(errors: Sequence[IgError]) -> tuple[list[list[str]], int]:
    """IK3 loops (IK3, CTX, IK4...) for ``errors``; element errors of one segment share
    an IK3.  Returns the loops and how many errors did not fit under the cap."""
    loops: list[_Loop] = []
    omitted = 0
    for error in errors:
        key = (error.segment_id, error.segment_position)
        element_level = error.element_position is not None
        last = loops[-1] if loops else None
        if element_level and last and last.key == key and last.element_level:
            if last.ik4_count < MAX_IK4_PER_IK3:
                last.segments.append(_ik4(error))
                last.ik4_count += 1
            continue
        if len(loops) >= MAX_IK3_PER_SET:
            omitted += 1
            continue
        loop = _Loop(key, element_level, [_ik3(error)])
        if error.claim_id:
            claim = clean(error.claim_id, 35)
            if claim:
                loop.segments.append(_segment("CTX", f"CLM01{OUTBOUND.component}{claim}"))
        if element_level:
            loop.segments.append(_ik4(error))
            loop.ik4_count = 1
        loops.append(loop)
    return [loop.segments for loop in loops], omitted


def _ik3(error: IgError) -> str:
    seg_id = "".join(c for c in error.segment_id.upper() if c.isascii() and c.isalnum())[:3]
    loop_id = clean(error.loop_id or "", 4)
    if error.element_position is not None:
        code = "8"
    else:
        code = clean(error.segment_error or "", 3)
    return _segment("IK3", seg_id.ljust(2, "X"), str(max(1, error.segment_position)), loop_id, code)


def _ik4(error: IgError) -> str:
    position = str(max(1, error.element_position or 1))
    if error.component_position is not None or error.repetition_position is not None:
        component = "" if error.component_position is None else str(error.component_position)
        position += OUTBOUND.component + component
        if error.repetition_position is not None:
            position += OUTBOUND.component + str(error.repetition_position)
    reference = error.element_reference or ""
    if not (reference.isascii() and reference.isdigit() and len(reference) <= 4):
        reference = ""
    code = clean(error.element_error or "", 3) or _GENERIC_ELEMENT_CODE
    bad = ""
    if error.bad_value is not None and code not in _MISSING_ELEMENT_CODES:
        bad = clean(error.bad_value, 99)
    return _segment("IK4", position, reference, code, bad)
