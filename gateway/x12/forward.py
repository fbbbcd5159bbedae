"""Forward transaction sets verbatim under a new envelope (gateway → partner). PURE.

What an external payer sends back (its 999, 277CA, 835) is addressed to the gateway. The
partner it is for expects the gateway as its trading partner, so each ST..SE is kept exactly
as the payer wrote it (same delimiters, same content, same ST02) and wrapped in a new
ISA/GS with the gateway as sender, fresh ISA13/GS06 from ``next_control()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from gateway.x12.acks import Gateway, format_control
from gateway.x12.claims import TransactionSet

#: GS01 functional identifier code by transaction set (ST01).
FUNCTIONAL_IDS = {
    "835": "HP",
    "277": "HN",
    "999": "FA",
    "837": "HC",
    "270": "HS",
    "271": "HB",
    "276": "HR",
    "275": "PI",
}


def rewrap(
    sets: Sequence[TransactionSet],
    *,
    gateway: Gateway,
    receiver: tuple[str, str],
    usage: str,
    next_control: Callable[[], int],
    now: datetime,
) -> tuple[bytes, str]:
    """One interchange holding ``sets`` (all with the same delimiters and ST01); returns the
    bytes and its ISA13."""
    if not sets:
        raise ValueError("nothing to forward")
    d = sets[0].delimiters
    e, t, c = d.element, d.segment, d.component
    repetition = d.repetition or "^"
    if any(s.delimiters != d for s in sets):
        raise ValueError("sets with different delimiters go in different interchanges")
    st01 = sets[0].segments[0].elements[0] if sets[0].segments[0].elements else ""
    isa13 = format_control(next_control(), 9)
    gs06 = str(next_control() % 1_000_000_000)
    isa = e.join(
        [
            "ISA", "00", " " * 10, "00", " " * 10,
            gateway.qualifier, gateway.id.ljust(15)[:15],
            receiver[0], receiver[1].ljust(15)[:15],
            now.strftime("%y%m%d"), now.strftime("%H%M"), repetition, "00501", isa13,
            "0", usage, c,
        ]
    )  # fmt: skip
    out = [isa + t]
    version = sets[0].gs08 or "005010"
    gs = e.join(
        ["GS", FUNCTIONAL_IDS.get(st01, "HC"), gateway.id, receiver[1], now.strftime("%Y%m%d"),
         now.strftime("%H%M"), gs06, "X", version]
    )  # fmt: skip
    out.append(gs + t)
    for ts in sets:
        for segment in ts.segments:
            out.append(e.join((segment.id, *segment.elements)) + t)
    out.append(e.join(("GE", str(len(sets)), gs06)) + t)
    out.append(e.join(("IEA", "1", isa13)) + t)
    return "".join(out).encode("latin-1"), isa13


def _components(value: str, ts: TransactionSet) -> list[str]:
    return value.split(ts.delimiters.component)


def read_277ca_claims(ts: TransactionSet) -> list[tuple[str, tuple[str, ...]]]:
    """CLM01 (2200D ``TRN*2``) and the claim's STC01-1 categories, per claim of a 277CA."""
    claims: list[tuple[str, list[str]]] = []
    level = ""
    for segment in ts.segments:
        elements = segment.elements
        if segment.id == "HL":
            level = elements[2] if len(elements) > 2 else ""
        elif segment.id == "TRN" and level == "PT" and len(elements) > 1 and elements[0] == "2":
            claims.append((elements[1], []))
        elif segment.id == "STC" and level == "PT" and claims and elements:
            claims[-1][1].append(_components(elements[0], ts)[0])
    return [(clm01, tuple(categories)) for clm01, categories in claims]


def read_999(ts: TransactionSet) -> tuple[str, list[tuple[str, str]]]:
    """AK102 (the acknowledged GS06) and, per AK2, (ST02, IK501 A/E/R)."""
    gs06 = ""
    sets: list[tuple[str, str]] = []
    current = ""
    for segment in ts.segments:
        elements = segment.elements
        if segment.id == "AK1" and len(elements) > 1:
            gs06 = elements[1]
        elif segment.id == "AK2" and len(elements) > 1:
            current = elements[1]
        elif segment.id == "IK5" and elements:
            sets.append((current, elements[0]))
    return gs06, sets
