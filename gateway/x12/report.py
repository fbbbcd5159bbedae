"""Plain-text reports for humans: why a file was rejected and what to do.

Never echoes file content: the first bytes are *described* (empty, binary, a known file
type, which segment ID it starts with), and interchange reports carry codes, positions and
line numbers only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.x12.envelope import GROUP_NOTES, SET_NOTES, TA1_NOTES
from gateway.x12.results import InterchangeResult, Response

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (compressed files must be unpacked first)"),
    (b"\x1f\x8b", "a gzip-compressed file (compressed files must be unpacked first)"),
    (b"\xff\xfe", "UTF-16 text (X12 must be sent as ASCII/UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (X12 must be sent as ASCII/UTF-8)"),
    (b"-----BEGIN PGP", "a PGP-armored file (send the decrypted X12)"),
    (b"\x85\x02", "PGP-encrypted data (send the decrypted X12)"),
    (b"<?xml", "an XML document"),
    (b"{", "a JSON document"),
)
_UTF8_BOM = b"\xef\xbb\xbf"


def describe_start(data: bytes) -> str:
    """What the file starts with, in words, without reproducing it."""
    if not data:
        return "The file is empty (0 bytes)."
    size = f"The file is {len(data)} bytes long"
    head = data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    stripped = head.lstrip(b" \t\r\n")
    for magic, name in _MAGIC:
        if stripped.startswith(magic):
            return f"{size} and looks like {name}, not X12."
    if not stripped:
        return f"{size} and contains only blank characters."
    sample = stripped[:64]
    binary = sum(1 for b in sample if b < 0x09 or 0x0D < b < 0x20 or b > 0x7E)
    if binary > len(sample) // 10:
        return f"{size} and starts with binary (non-text) data."
    seg_id = _leading_segment_id(stripped)
    if seg_id:
        return (
            f"{size}; its first segment appears to be '{seg_id}', "
            "but an X12 interchange must start with an ISA segment."
        )
    return f"{size} and starts with text that is not an X12 segment."


def _leading_segment_id(data: bytes) -> str | None:
    ident = b""
    for b in data[:4]:
        if 0x41 <= b <= 0x5A or 0x30 <= b <= 0x39:
            ident += bytes([b])
        else:
            return ident.decode("ascii") if 2 <= len(ident) <= 3 and not b & 0x80 else None
    return None


def unreadable_report(reason: str) -> bytes:
    """The REJECT report for a file in which no ISA could be read."""
    lines = [
        "FILE REJECTED - no X12 interchange could be read",
        "",
        f"What was wrong: {reason}",
        "",
        "What to do: send an ASCII X12 file that starts with a complete 106-character ISA",
        "segment (ISA*00*...*00501*<control number>*<0|1>*<T|P>*:~), with a matching IEA at",
        "the end, uncompressed and unencrypted. Nothing in this file was processed; fix it",
        "and send it again as a new file.",
        "",
    ]
    return "\n".join(lines).encode("ascii", "replace")


def interchange_report(result: InterchangeResult) -> str:
    """Plain-words summary of one interchange's verdict (codes, positions, lines only)."""
    head = f"Interchange {result.control_number!r} (line {result.first_line})"
    if result.ta1_code is not None:
        note = TA1_NOTES.get(result.ta1_code, "envelope error")
        return f"{head}: REJECTED by TA1 {result.ta1_code} - {note}.\n"
    lines = [f"{head}: envelope accepted."]
    for group in result.groups:
        lines.append(f"  Group {group.gs06!r} ({group.gs08}):")
        lines.extend(
            f"    AK9 {c}: {GROUP_NOTES.get(c, 'group error')}" for c in group.group_error_codes
        )
        for t in group.transactions:
            verdict = "accepted" if t.accepted else "REJECTED"
            lines.append(f"    Set {t.st01} {t.st02!r}: {verdict}, {t.claim_count} claim(s)")
            lines.extend(
                f"      IK5 {c}: {SET_NOTES.get(c, 'set error')}" for c in t.set_error_codes
            )
            for e in t.errors[:20]:
                where = f"line {e.line}, " if e.line is not None else ""
                element = (
                    f"{e.segment_id}{e.element_position:02d}"
                    if e.element_position
                    else e.segment_id
                )
                lines.append(
                    f"      {where}segment {e.segment_position} {element}: {e.message or 'error'}"
                )
            if len(t.errors) > 20:
                lines.append(f"      ... and {len(t.errors) - 20} more")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------ TA1 companion (_TA1.txt)

_RESEND = "Correct it and send the file again as a new file."
_STRUCTURE = (
    "The file's envelope (ISA ... IEA) is damaged or incomplete: the program that produced it "
    "wrote it wrongly, or it was cut short or edited in transit. Produce it again from your "
    "billing system and send it as a new file."
)
_HEADER_FIELD = "A field of the ISA header has a value that is not allowed here. " + _RESEND
#: What a billing person can do about each TA1 note code (TA105), in plain words.
TA1_ADVICE: dict[str, str] = {
    "001": "The control number at the start (ISA13) and at the end (IEA02) must be the same. "
    + _RESEND,
    "003": "Use version 00501 in ISA12 (HIPAA 5010). " + _RESEND,
    "004": _STRUCTURE,
    "005": "The sender qualifier (ISA05) is not the one in your trading partner agreement. "
    + _RESEND,
    "006": "The sender ID (ISA05/ISA06) is not the one this mailbox is enrolled with. Use the "
    "sender qualifier and ID of your trading partner agreement (ask the clearinghouse if you "
    "do not know them). " + _RESEND,
    "007": "The receiver qualifier (ISA07) must be the clearinghouse's. " + _RESEND,
    "008": "The file is addressed to someone else: the receiver (ISA07/ISA08) must be the "
    "clearinghouse's ID from your trading partner agreement. " + _RESEND,
    "014": "The interchange date (ISA09) must be a real date, YYMMDD. " + _RESEND,
    "015": "The interchange time (ISA10) must be a real time, HHMM. " + _RESEND,
    "018": "The control number (ISA13) must be 9 digits. " + _RESEND,
    "020": "Test and production files are kept apart: ISA15 says T (test) or P (production), "
    "and your enrollment does not allow this one yet. Send test files with T until the "
    "clearinghouse moves you to production.",
    "021": _STRUCTURE,
    "022": _STRUCTURE,
    "023": _STRUCTURE,
    "024": _STRUCTURE,
    "025": "This control number (ISA13) was already used by a file we received from you "
    "earlier. If this file is a copy of one you already sent, nothing needs to be done: the "
    "first copy is being processed. If it is a new file, give it a new control number (ISA13 "
    "and IEA02; billing software usually does this by itself) and send it again.",
    "026": _STRUCTURE,
}


@dataclass(frozen=True)
class Ta1Rejection:
    control_number: str
    """The rejected interchange's ISA13."""
    code: str
    """TA105 note code."""
    first_line: int = 1


def ta1_rejections(responses: Iterable[Response]) -> list[Ta1Rejection]:
    """The rejecting TA1s among ``responses`` (none when every envelope was accepted)."""
    out: list[Ta1Rejection] = []
    for r in responses:
        if r.kind != "TA1" or r.accepted:
            continue
        code = str(r.details.get("ta1_code") or "")
        line = r.details.get("first_line")
        out.append(
            Ta1Rejection(r.interchange_control or "", code, line if isinstance(line, int) else 1)
        )
    return out


def ta1_report(rejections: Iterable[Ta1Rejection]) -> bytes:
    """The plain-words companion of a rejecting TA1 (``..._TA1.txt`` beside ``..._TA1.x12``):
    what was wrong and what to do, per rejected interchange. Codes and positions only."""
    lines = [
        "INTERCHANGE REJECTED - the envelope of your file could not be accepted",
        "",
        "The TA1 acknowledgment beside this report (same name, .x12) says the same in X12.",
        "Nothing inside a rejected interchange was processed; no claim in it reached a payer.",
    ]
    for r in rejections:
        note = TA1_NOTES.get(r.code, "envelope error")
        advice = TA1_ADVICE.get(r.code) or (
            _HEADER_FIELD if r.code.startswith("01") else f"Fix the envelope. {_RESEND}"
        )
        lines += [
            "",
            f"Interchange {r.control_number!r} (line {r.first_line}): TA1 code {r.code}",
            f"What was wrong: {note}.",
            f"What to do: {advice}",
        ]
    lines += [
        "",
        "Other interchanges in the same file, if any, were answered separately (999).",
        "",
    ]
    return "\n".join(lines).encode("ascii", "replace")
