"""Test helpers for real X12 files: readdress corpus interchanges to the demo partners."""

from __future__ import annotations

import re
from pathlib import Path

#: Real X12 files written by other projects (vendored from ../shared/corpus, see SOURCES.md).
CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"

DEMO_SENDER = ("ZZ", "DEMOBILLING")
GATEWAY = ("ZZ", "CLEARINGHOUSE")


def corpus_file(relative: str) -> bytes:
    return (CORPUS / relative).read_bytes()


def readdress(
    data: bytes,
    *,
    sender: tuple[str, str] = DEMO_SENDER,
    receiver: tuple[str, str] = GATEWAY,
    control: int | None = None,
    usage: str | None = "T",
) -> bytes:
    """Rewrite every ISA (fixed width) and GS of ``data`` to the given parties.

    ``control`` sets ISA13/IEA02 (incremented per interchange in the file).
    """
    text = data.decode("latin-1")
    out: list[str] = []
    pos = 0
    number = control
    for match in re.finditer(r"ISA(.)", text):
        start = match.start()
        if start < pos:
            continue
        sep = match.group(1)
        isa = text[start : start + 106]
        fields = isa.split(sep)
        if len(fields) < 17:
            continue
        fields[5] = sender[0]
        fields[6] = sender[1].ljust(15)
        fields[7] = receiver[0]
        fields[8] = receiver[1].ljust(15)
        old_control = fields[13]
        if number is not None:
            fields[13] = f"{number:09d}"
        if usage is not None:
            fields[15] = usage
        terminator = text[start + 105]
        new_isa = sep.join(fields[:16]) + sep + fields[16][:1] + terminator
        out.append(text[pos:start])
        out.append(new_isa)
        pos = start + 106
        end = text.find("IEA" + sep, pos)
        body = text[pos:end] if end != -1 else text[pos:]
        body = _rewrite_gs(body, sep, terminator, sender[1], receiver[1])
        out.append(body)
        pos = end if end != -1 else len(text)
        if end != -1 and number is not None:
            iea_end = text.find(terminator, end)
            iea = text[end:iea_end].split(sep)
            if len(iea) >= 3 and iea[2].strip() == old_control.strip():
                iea[2] = fields[13]
            out.append(sep.join(iea))
            pos = iea_end
        if number is not None:
            number += 1
    out.append(text[pos:])
    return "".join(out).encode("latin-1")


def _rewrite_gs(body: str, sep: str, terminator: str, sender: str, receiver: str) -> str:
    parts = body.split(terminator)
    for n, part in enumerate(parts):
        stripped = part.lstrip("\r\n")
        if stripped.startswith("GS" + sep):
            elements = stripped.split(sep)
            if len(elements) > 3:
                elements[2], elements[3] = sender, receiver
            parts[n] = part[: len(part) - len(stripped)] + sep.join(elements)
    return terminator.join(parts)


def isa_fields(data: bytes) -> list[list[str]]:
    """The ISA elements of every interchange in ``data`` (for assertions)."""
    text = data.decode("latin-1")
    result = []
    for match in re.finditer(r"ISA(.)", text):
        sep = match.group(1)
        fields = text[match.start() : match.start() + 106].split(sep)
        if len(fields) >= 17:
            result.append(fields)
    return result


def segments(data: bytes) -> list[list[str]]:
    """All segments of a (single-delimiter-set) X12 document, split into elements."""
    text = data.decode("latin-1")
    sep, term = text[3], text[105]
    return [s.strip().split(sep) for s in text.split(term) if s.strip()]


def engine_verdicts(content: bytes) -> list[tuple[str, bool, list[str]]]:
    """Our own engine on a document the gateway emitted (read as its receiver would):
    (ST01, accepted, error messages) per transaction set; envelope problems raise."""
    from gateway.x12 import EnvelopeParty, PartnerDirectory, analyze
    from gateway.x12.envelope import set_accepted

    isa = isa_fields(content)[0]
    sender, receiver = (isa[5], isa[6].strip()), (isa[7], isa[8].strip())
    directory = PartnerDirectory(
        receiver[0], receiver[1], {sender: EnvelopeParty("emitter", frozenset({"T", "P"}))}
    )
    analysis = analyze(content, uploader="emitter", directory=directory)
    out = []
    for interchange in analysis.interchanges:
        assert interchange.ta1_code is None, interchange.ta1_code
        for group in interchange.groups:
            for tx in group.transactions:
                messages = [f"{e.segment_id}@{e.segment_position}: {e.message}" for e in tx.errors]
                out.append((tx.st01, set_accepted(group, tx), messages))
    return out


def claim_status_276(
    payer: str, npi: str, claims: list[tuple[str, str, str, str]], *, control: int,
    date: str = "20261120",
) -> bytes:  # fmt: skip
    """A 276 X212 interchange from the demo submitter asking about ``claims`` (CLM01, charge,
    member ID, subscriber last name) of one billing provider; TRN02 ``TRK<n>``."""
    segments = [
        "ST*276*0001*005010X212",
        "BHT*0010*13*REF276*20261124*1200",
        "HL*1**20*1",
        f"NM1*PR*2*PAYER*****PI*{payer}",
        "HL*2*1*21*1",
        "NM1*41*2*DEMO BILLING*****46*DEMOBILLING",
        "HL*3*2*19*1",
        f"NM1*1P*2*DEMO FAMILY PRACTICE*****XX*{npi}",
    ]
    for n, (clm01, charge, member, last) in enumerate(claims, start=1):
        segments += [
            f"HL*{3 + n}*3*22*0",
            f"NM1*IL*1*{last}*ANY****MI*{member}",
            f"TRN*1*TRK{n}",
            f"REF*EJ*{clm01}",
            f"AMT*T3*{charge}",
            f"DTP*472*D8*{date}",
        ]
    segments.append(f"SE*{len(segments) + 1}*0001")
    isa = (
        f"ISA*00*          *00*          *ZZ*{'DEMOBILLING':<15}*ZZ*{'CLEARINGHOUSE':<15}*"
        f"261124*1200*^*00501*{control:09d}*0*T*:"
    )
    gs = f"GS*HR*DEMOBILLING*CLEARINGHOUSE*20261124*1200*{control}*X*005010X212"
    return "~".join([isa, gs, *segments, f"GE*1*{control}", f"IEA*1*{control:09d}", ""]).encode()
