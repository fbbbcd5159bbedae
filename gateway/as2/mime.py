"""A small MIME reader/writer on bytes, for AS2 bodies of any size.

The stdlib ``email`` package re-parses and re-serialises every part (and copies bodies several
times); at 5 MB it manages 1-4 messages/s.  AS2 needs little of it: header blocks, Content-Type
parameters, multipart boundaries and a few transfer encodings.  Everything here slices the bytes
as received — a multipart part is returned exactly as it was on the wire, which is what a MIC and a
detached signature are computed over (RFC 4130 §7.3.1).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

CRLF = b"\r\n"


class MimeError(ValueError):
    """The bytes are not the MIME structure they claim to be."""


class Headers:
    """Ordered header fields with case-insensitive lookup (first occurrence wins)."""

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._index: dict[str, str] = {}
        for name, value in items:
            self.add(name, value)

    @classmethod
    def of(cls, headers: Mapping[str, str] | Iterable[tuple[str, str]] | Headers) -> Headers:
        if isinstance(headers, Headers):
            return headers
        if isinstance(headers, Mapping):
            return cls(headers.items())
        return cls(headers)

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._index.setdefault(name.lower(), value)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._index.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class ContentType:
    """A parsed Content-Type: lower-cased type/subtype and parameters (names lower-cased)."""

    mime_type: str
    params: Mapping[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        return self.params.get(name.lower())


@dataclass(frozen=True)
class Entity:
    """One MIME entity: its header fields, its body, and the exact bytes it was parsed from."""

    headers: Headers
    body: bytes
    raw: bytes

    @property
    def content_type(self) -> ContentType:
        return parse_content_type(self.headers.get("content-type"))

    def decoded_body(self) -> bytes:
        return decode_transfer_encoding(self.body, self.headers.get("content-transfer-encoding"))


def parse_headers(raw: bytes) -> Headers:
    """Parse a header block (without the blank line); LF or CRLF line ends; folded lines joined."""
    headers = Headers()
    name: str | None = None
    value = ""
    for line in raw.decode("latin-1").split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t":
            if name is None:
                raise MimeError("header block starts with a continuation line")
            value += " " + line.strip()
            continue
        if name is not None:
            headers.add(name, value)
        colon = line.find(":")
        if colon <= 0:
            raise MimeError(f"not a header field: {line[:60]!r}")
        name, value = line[:colon].strip(), line[colon + 1 :].strip()
    if name is not None:
        headers.add(name, value)
    return headers


def split_entity(data: bytes) -> tuple[bytes, bytes]:
    """Split an entity into (header block, body) at the first empty line (CRLF or LF)."""
    if data.startswith(CRLF):
        return b"", data[2:]
    if data.startswith(b"\n"):
        return b"", data[1:]
    crlf = data.find(b"\r\n\r\n")
    limit = crlf if crlf >= 0 else len(data)
    lf = data.find(b"\n\n", 0, limit + 1)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return data[:lf], data[lf + 2 :]
    if crlf >= 0:
        return data[:crlf], data[crlf + 4 :]
    # A header block with no body (or a body with no headers): decide by the first line.
    first = data.split(b"\n", 1)[0]
    if re.match(rb"^[!-9;-~]+:", first):
        return data, b""
    raise MimeError("no header/body separator")


def parse_entity(data: bytes) -> Entity:
    header_block, body = split_entity(data)
    return Entity(parse_headers(header_block), body, data)


_TOKEN_CHARS = r"[^\s()<>@,;:\\\"/\[\]?=]+"  # noqa: S105 - RFC 2045 token, not a secret
_PARAM = re.compile(
    rf"\s*;\s*({_TOKEN_CHARS})\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|({_TOKEN_CHARS}))",
    re.DOTALL,
)


def parse_content_type(value: str | None) -> ContentType:
    """Parse ``type/subtype; name=value; name="quoted value"`` (RFC 2045 §5.1)."""
    if not value:
        return ContentType("text/plain", {})
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    rest = ";" + rest if rest else ""
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None:
            # Skip a malformed parameter up to the next ';' rather than failing the message.
            nxt = rest.find(";", pos + 1)
            if nxt < 0:
                break
            pos = nxt
            continue
        name = match.group(1).lower()
        quoted = match.group(2)
        params.setdefault(
            name, re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
        )
        pos = match.end()
    return ContentType(head.strip().lower(), params)


def disposition_filename(value: str | None) -> str | None:
    """The filename parameter of a Content-Disposition header, if any."""
    if not value:
        return None
    return parse_content_type(value).param("filename")


def multipart_parts(body: bytes, boundary: str) -> list[bytes]:
    """The parts of a multipart body, each exactly as received (headers + body, no delimiter).

    The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1); a bare LF is
    accepted in place of CRLF.  Preamble and epilogue are dropped.
    """
    if not boundary:
        raise MimeError("multipart without a boundary")
    delim = b"--" + boundary.encode("latin-1")
    size = len(delim)
    # The first delimiter may open the body or follow a preamble line.
    pos = 0 if body.startswith(delim) else _find_delimiter(body, delim, 0)
    if pos < 0:
        raise MimeError("multipart boundary not found")
    parts: list[bytes] = []
    while True:
        after = pos + size
        if body[after : after + 2] == b"--":
            return parts
        eol = body.find(b"\n", after)
        if eol < 0:
            raise MimeError("multipart ends without a closing delimiter")
        start = eol + 1
        nxt = _find_delimiter(body, delim, start - 1)
        if nxt < 0:
            raise MimeError("multipart ends without a closing delimiter")
        end = nxt - 1  # the LF before the delimiter
        if end > start and body[end - 1 : end] == b"\r":
            end -= 1
        parts.append(body[start : max(start, end)])
        pos = nxt


def _find_delimiter(body: bytes, delim: bytes, start: int) -> int:
    """Index of the next ``delim`` at a line start (after ``\\n``) at or after ``start``."""
    needle = b"\n" + delim
    size = len(delim)
    while True:
        hit = body.find(needle, start)
        if hit < 0:
            return -1
        after = hit + 1 + size
        tail = body[after : after + 2]
        if tail == b"--" or not tail or tail[:1] in b"\r\n \t":
            return hit + 1
        start = hit + 1


def decode_transfer_encoding(body: bytes, encoding: str | None) -> bytes:
    """Undo Content-Transfer-Encoding (base64, quoted-printable; 7bit/8bit/binary as is)."""
    enc = (encoding or "binary").strip().lower()
    if enc in ("binary", "8bit", "7bit", ""):
        return body
    if enc == "base64":
        try:
            return base64.b64decode(body.translate(None, b" \t\r\n"), validate=True)
        except binascii.Error as exc:
            raise MimeError(f"invalid base64 body: {exc}") from exc
    if enc == "quoted-printable":
        return binascii.a2b_qp(body)
    raise MimeError(f"unsupported Content-Transfer-Encoding {encoding!r}")


def canonicalize(data: bytes) -> bytes:
    """Bare LF → CRLF (RFC 5751 §3.1.1 canonical form); a no-op (no copy) when already canonical."""
    if b"\n" not in data:
        return data
    if data.count(b"\n") == data.count(b"\r\n"):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


_NEEDS_QUOTE = re.compile(r"[\s()<>@,;:\\\"/\[\]?=]")


def quote(value: str) -> str:
    """A parameter value as a token, or as a quoted-string when it needs quoting."""
    if value and not _NEEDS_QUOTE.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_params(value: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """``value; name=param; ...`` with parameters quoted as needed."""
    items = params.items() if isinstance(params, Mapping) else params
    return value + "".join(f"; {name}={quote(param)}" for name, param in items)


def build_entity(headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    """Header fields, an empty line, the body — CRLF throughout the header block."""
    block = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return block.encode("latin-1") + CRLF + body


def build_multipart(parts: Sequence[bytes], boundary: str) -> bytes:
    """A multipart body from complete entities (each already has its own header block)."""
    delim = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for part in parts:
        chunks += [delim, CRLF, part, CRLF]
    chunks += [delim, b"--", CRLF]
    return b"".join(chunks)


def make_boundary() -> str:
    return "----=_Part_" + uuid.uuid4().hex


def base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character CRLF-terminated lines (RFC 2045 §6.8)."""
    encoded = base64.b64encode(data)
    return CRLF.join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + CRLF
