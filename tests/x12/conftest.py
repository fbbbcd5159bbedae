"""Shared fixtures for the X12 engine tests: partner directory, corpus access, fakes, checkers."""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.x12.results import EnvelopeParty, IgError, PartnerDirectory
from gateway.x12.segments import Delimiters, Segment

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"  # vendored, see SOURCES.md

GATEWAY = ("ZZ", "GATEWAY")
SUBMITTER = ("ZZ", "SUBMITTER")
UPLOADER = "acme"

DIRECTORY = PartnerDirectory(
    gateway_qualifier=GATEWAY[0],
    gateway_id=GATEWAY[1],
    parties={
        SUBMITTER: EnvelopeParty(partner_id=UPLOADER, usage_indicators=frozenset({"T", "P"})),
        ("ZZ", "PRODONLY"): EnvelopeParty(partner_id="prodco", usage_indicators=frozenset({"P"})),
        ("ZZ", "OTHER"): EnvelopeParty(partner_id="other", usage_indicators=frozenset({"T"})),
    },
)


def corpus(relative: str) -> bytes:
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"corpus file {relative} not available")
    return path.read_bytes()


def retarget(
    data: bytes, sender: tuple[str, str] = SUBMITTER, receiver: tuple[str, str] = GATEWAY
) -> bytes:
    """Rewrite ISA05-ISA08 of every ISA to the test directory's ids (widths kept at 2/15)."""
    out = bytearray()
    pos = 0
    for match in re.finditer(rb"ISA(?=[^A-Za-z0-9\s])", data):
        start = match.start()
        if start < pos:
            continue
        sep = data[start + 3 : start + 4]
        parts = data[start:].split(sep, 9)
        if len(parts) < 10:
            continue
        parts[5] = sender[0].encode()
        parts[6] = sender[1].ljust(15).encode()
        parts[7] = receiver[0].encode()
        parts[8] = receiver[1].ljust(15).encode()
        head_len = sum(len(p) + 1 for p in data[start:].split(sep, 9)[:9])
        out += data[pos:start] + sep.join(parts[:9]) + sep
        pos = start + head_len
    out += data[pos:]
    return bytes(out)


def make_isa(
    *,
    sender: tuple[str, str] = SUBMITTER,
    receiver: tuple[str, str] = GATEWAY,
    control: str = "000000905",
    ack: str = "0",
    usage: str = "T",
    date: str = "240115",
    time: str = "1253",
    version: str = "00501",
    repetition: str = "^",
    element: str = "*",
    component: str = ":",
    terminator: str = "~",
) -> str:
    fields = [
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender[0],
        sender[1].ljust(15),
        receiver[0],
        receiver[1].ljust(15),
        date,
        time,
        repetition,
        version,
        control,
        ack,
        usage,
        component,
    ]
    return "ISA" + element + element.join(fields) + terminator


CLAIM_BODY = [
    "BHT*0019*00*0123*20240115*0932*CH",
    "NM1*41*2*BILLING*****46*999999999",
    "PER*IC*CONTACT*TE*3015551234",
    "NM1*40*2*RECEIVER*****46*111222333",
    "HL*1**20*1",
    "NM1*85*2*GROUP*****XX*1234567893",
    "N3*1 MAIN ST",
    "N4*CITY*MD*212345678",
    "REF*EI*123456789",
    "HL*2*1*22*0",
    "SBR*P*18*******CI",
    "NM1*IL*1*DOE*JOHN****MI*ABC123",
    "NM1*PR*2*PAYER*****PI*12345",
    "CLM*PCN1*100***11:B:1*Y*A*Y*I",
    "HI*ABK:J20",
    "LX*1",
    "SV1*HC:99213*100*UN*1***1",
    "DTP*472*D8*20240110",
]


def make_set(
    st02: str = "0001",
    body: Sequence[str] = CLAIM_BODY,
    *,
    se_count: int | None = None,
    se_control: str | None = None,
    st03: str = "005010X222A1",
    trailer: bool = True,
) -> list[str]:
    st = f"ST*837*{st02}*{st03}" if st03 else f"ST*837*{st02}"
    segs = [st, *body]
    if trailer:
        count = len(segs) + 1 if se_count is None else se_count
        segs.append(f"SE*{count}*{st02 if se_control is None else se_control}")
    return segs


def make_group(
    sets: Sequence[Sequence[str]],
    *,
    gs06: str = "1",
    ge_count: int | None = None,
    ge_control: str | None = None,
    gs08: str = "005010X222A1",
    trailer: bool = True,
) -> list[str]:
    segs = [f"GS*HC*SENDERAPP*RECEIVERAPP*20240115*1253*{gs06}*X*{gs08}"]
    for s in sets:
        segs.extend(s)
    if trailer:
        count = len(sets) if ge_count is None else ge_count
        segs.append(f"GE*{count}*{gs06 if ge_control is None else ge_control}")
    return segs


def make_interchange(
    groups: Sequence[Sequence[str]] | None = None,
    *,
    iea_count: int | None = None,
    iea_control: str | None = None,
    trailer: bool = True,
    newline: str = "\n",
    **isa: Any,
) -> bytes:
    groups = [make_group([make_set()])] if groups is None else groups
    head = make_isa(**isa)
    control = isa.get("control", "000000905")
    segs: list[str] = []
    for g in groups:
        segs.extend(g)
    if trailer:
        count = len(groups) if iea_count is None else iea_count
        segs.append(f"IEA*{count}*{control if iea_control is None else iea_control}")
    return (head + newline + "".join(s + "~" + newline for s in segs)).encode("latin-1")


@dataclass
class FakeValidator:
    """Supports a fixed set of guides; reports the errors ``rule`` finds, counts CLM segments."""

    implementations: frozenset[str] = frozenset({"005010X222A1", "005010X223A2"})
    rule: Callable[[Sequence[Segment], Delimiters], list[IgError]] | None = None
    calls: list[tuple[str, int]] = field(default_factory=list)

    def supports(self, implementation: str) -> bool:
        return implementation in self.implementations

    def validate(
        self, segments: Sequence[Segment], delimiters: Delimiters, implementation: str
    ) -> tuple[list[IgError], int]:
        self.calls.append((implementation, len(segments)))
        errors = self.rule(segments, delimiters) if self.rule else []
        return errors, sum(1 for s in segments if s.id == "CLM")


@pytest.fixture
def fake() -> FakeValidator:
    return FakeValidator()


@pytest.fixture
def controls() -> Callable[[], int]:
    counter = itertools.count(1)
    return lambda: next(counter)


def pyx12_check(content: bytes) -> tuple[bool, dict[str, Any], str]:
    """Validate an X12 document with pyx12 (text mode) and, when pyx12 accepts it, with our
    own engine. Returns (ok, pyx12's json errors, log)."""
    import logging

    import pyx12.params
    import pyx12.x12n_document

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        params = pyx12.params.params()
        out = io.StringIO()
        ok = pyx12.x12n_document.x12n_document(
            params, io.StringIO(content.decode("ascii")), None, None, fd_json=out
        )
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    report = json.loads(text) if text.strip() else {}
    if ok:
        # Our own engine must accept what we emit too (its 999/277CA/835 guides).
        from tests.x12files import engine_verdicts

        for st01, accepted, messages in engine_verdicts(content):
            if not accepted:
                ok = False
                log.write(f"our engine rejects the {st01}: {messages[:10]}\n")
    return bool(ok), report, log.getvalue()


def iter_segment_ids(content: bytes) -> Iterator[str]:
    for seg in content.decode("ascii").split("~"):
        seg = seg.strip()
        if seg:
            yield seg.split("*")[0]
