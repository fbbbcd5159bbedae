"""Plain-text reports for humans: why a file was rejected and what to do.

Never echoes file content: the first bytes are *described* (empty, binary, a known file
type, which segment ID it starts with), and interchange reports carry codes, positions and
line numbers only.
"""

from __future__ import annotations

from gateway.x12.envelope import GROUP_NOTES, SET_NOTES, TA1_NOTES
from gateway.x12.results import InterchangeResult

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
