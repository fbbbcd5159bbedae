"""Plain data shared by the AS2 parse/build functions (no behaviour beyond small helpers)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography import x509

from gateway.as2.mic import Mic, ReceiptOptions

AS2_VERSION = "1.2"


@dataclass(frozen=True)
class PartnerAs2:
    """One trading partner's AS2 policy, as the profile gives it.

    ``certificates``: the partner's signing certificates we accept (more than one during a
    rollover).  ``allowed_digests``: MIC/signature digests we agree to use with this partner
    (hashlib names or micalg spellings); None means every supported one.  ``accepted_ciphers``:
    content encryption we accept (asn1crypto names, e.g. ``aes256_cbc``; AES-CBC only unless the
    profile lists more).  ``async_mdn_urls``: where an asynchronous MDN may be POSTed (exact URLs,
    or prefixes ending in ``/``); empty: never asynchronously.
    """

    as2_name: str
    certificates: Sequence[x509.Certificate] = ()
    require_signature: bool = True
    require_encryption: bool = True
    allowed_digests: frozenset[str] | None = None
    partner_id: str | None = None
    accepted_ciphers: frozenset[str] = frozenset({"aes128_cbc", "aes192_cbc", "aes256_cbc"})
    async_mdn_urls: tuple[str, ...] = ()

    def allows_async_mdn(self, url: str | None) -> bool:
        """Whether an asynchronous MDN may go to ``url`` (see `async_mdn_url_allowed`)."""
        return async_mdn_url_allowed(url, self.async_mdn_urls)


@dataclass(frozen=True)
class MdnRequest:
    """What the sender asked for in Disposition-Notification-To/-Options, Receipt-Delivery-Option.

    ``micalg`` is the algorithm chosen for the MIC (as the sender spelled it).
    """

    to: str
    options: ReceiptOptions
    micalg: str
    async_url: str | None = None

    @property
    def signed(self) -> bool:
        return self.options.signed

    @property
    def is_async(self) -> bool:
        return self.async_url is not None


@dataclass(frozen=True)
class As2Request:
    """The AS2 envelope of an inbound message: known before any of the body is touched."""

    message_id: str  # without the angle brackets
    as2_from: str
    as2_to: str
    as2_version: str | None = None
    subject: str | None = None
    mdn: MdnRequest | None = None


@dataclass(frozen=True)
class InboundMessage:
    """An accepted inbound message: the payload and how it was protected."""

    request: As2Request
    partner: PartnerAs2
    payload: bytes
    content_type: str
    filename: str | None
    signed: bool
    encrypted: bool
    compressed: bool
    mic: Mic
    signer_certificate: x509.Certificate | None = None
    signature_digest: str | None = None
    decryption_certificate: x509.Certificate | None = None
    cipher: str | None = None
    key_transport: str | None = None
    payload_headers: Sequence[tuple[str, str]] = field(default_factory=tuple)

    @property
    def message_id(self) -> str:
        return self.request.message_id

    @property
    def as2_from(self) -> str:
        return self.request.as2_from

    @property
    def as2_to(self) -> str:
        return self.request.as2_to

    @property
    def mdn(self) -> MdnRequest | None:
        return self.request.mdn


@dataclass(frozen=True)
class OutboundMessage:
    """A built AS2 message: HTTP headers + body to POST, and the MIC the MDN must return."""

    headers: list[tuple[str, str]]
    body: bytes
    message_id: str  # without the angle brackets
    mic: Mic


@dataclass(frozen=True)
class OutboundMdn:
    """A built MDN: HTTP headers + body (the sync response, or the async POST)."""

    headers: list[tuple[str, str]]
    body: bytes
    message_id: str
    original_message_id: str
    disposition: str
    signed: bool


@dataclass(frozen=True)
class Mdn:
    """A received MDN.

    ``disposition_type`` is ``processed`` or ``failed``; ``modifier`` e.g.
    ``Error: decryption-failed``, ``Warning: ...``, ``Failure: unsupported MIC-algorithms``.
    """

    message_id: str | None
    original_message_id: str | None
    as2_from: str | None
    as2_to: str | None
    disposition: str
    disposition_type: str
    modifier: str | None
    mic: Mic | None
    signed: bool
    signer_certificate: x509.Certificate | None
    reporting_ua: str | None
    final_recipient: str | None
    text: str

    @property
    def processed(self) -> bool:
        """``processed`` with no Error/Failure modifier (a Warning still counts as processed)."""
        if self.disposition_type != "processed":
            return False
        return self.modifier is None or self.modifier.lower().startswith("warning")

    def is_positive(self, expected_mic: Mic | None) -> bool:
        """Processed and, when a MIC was expected, returned with the same MIC."""
        return self.processed and (expected_mic is None or expected_mic.matches(self.mic))


_DOT_SEGMENT = re.compile(r"(^|/)\.\.?(/|$)")
_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)


def async_mdn_url_allowed(url: str | None, allowed: Sequence[str]) -> bool:
    """``url`` (a Receipt-Delivery-Option) is one of ``allowed`` or under one of its prefixes.

    An entry ending in ``/`` is a prefix (``https://as2.example/mdn/`` allows
    ``https://as2.example/mdn/abc``); any other entry must match exactly.  Scheme and host compare
    case-insensitively.  Only http(s) URLs without user info, whitespace or ``.``/``..`` path
    segments qualify, so a prefix cannot be escaped.
    """
    if not url or not allowed:
        return False
    if any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        return False
    target = urlsplit(url)
    if target.scheme.lower() not in ("http", "https") or not target.hostname:
        return False
    if "@" in target.netloc or _DOT_SEGMENT.search(target.path):
        return False
    if _ENCODED_SEPARATOR.search(target.path):  # %2e%2e/, %2f, %5c: a prefix escaped encoded
        return False
    for entry in allowed:
        rule = urlsplit(entry.strip())
        if (rule.scheme.lower(), rule.netloc.lower()) != (
            target.scheme.lower(),
            target.netloc.lower(),
        ):
            continue
        if rule.path.endswith("/") and not rule.query and not rule.fragment:
            if target.path.startswith(rule.path) and not target.fragment:
                return True
        elif (rule.path or "/", rule.query, rule.fragment) == (
            target.path or "/",
            target.query,
            target.fragment,
        ):
            return True
    return False


_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$")


def quote_as2_name(name: str) -> str:
    """AS2-From/AS2-To header value: bare when it is an atom, else a quoted-string."""
    if _ATEXT.match(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote_as2_name(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def strip_message_id(value: str) -> str:
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1].strip()
    return value


def make_message_id(as2_name: str) -> str:
    """A fresh Message-ID (without angle brackets) whose domain part names the sender."""
    domain = re.sub(r"[^A-Za-z0-9.-]", "", as2_name) or "as2"
    return f"{uuid.uuid4().hex}@{domain.lower()}.as2"
