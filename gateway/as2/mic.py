"""Message Integrity Check (RFC 4130 §7.3.1) and Disposition-Notification-Options (§7.3).

Algorithm names come in two spellings: RFC 3851 (``sha1``, ``sha256``) and RFC 5751
(``sha-1``, ``sha-256``).  Both are accepted; a MIC is reported with the spelling the sender used.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.as2.errors import UnsupportedFormat, UnsupportedMicAlgorithms

# Spelling (lower-cased) -> hashlib name.
_ALGORITHMS = {
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha224": "sha224",
    "sha-224": "sha224",
    "sha256": "sha256",
    "sha-256": "sha256",
    "sha384": "sha384",
    "sha-384": "sha384",
    "sha512": "sha512",
    "sha-512": "sha512",
}
SUPPORTED_HASHES = frozenset(_ALGORITHMS.values())
DEFAULT_MICALG = "sha-256"


def hash_name(micalg: str) -> str | None:
    """``sha-256`` / ``SHA256`` -> ``sha256``; None when not supported."""
    return _ALGORITHMS.get(micalg.strip().lower())


def micalg_name(hash_name_: str) -> str:
    """hashlib name -> RFC 5751 micalg spelling (``sha256`` -> ``sha-256``)."""
    return "sha-" + hash_name_[3:] if hash_name_.startswith("sha") else hash_name_


@dataclass(frozen=True)
class Mic:
    """A MIC as it appears in Received-Content-MIC: base64 digest and algorithm name."""

    digest: str
    algorithm: str

    def __str__(self) -> str:
        return f"{self.digest}, {self.algorithm}"

    def matches(self, other: Mic | None) -> bool:
        """Same digest with the same hash (whatever the spelling)."""
        return (
            other is not None
            and self.digest == other.digest
            and hash_name(self.algorithm) == hash_name(other.algorithm)
        )

    @classmethod
    def parse(cls, value: str) -> Mic:
        """``<base64>, <algorithm>`` (Received-Content-MIC field body)."""
        digest, sep, algorithm = value.partition(",")
        if not sep or not digest.strip() or not algorithm.strip():
            raise ValueError(f"not a Received-Content-MIC value: {value!r}")
        return cls(digest.strip(), algorithm.strip())


def compute_mic(data: bytes, micalg: str) -> Mic:
    name = hash_name(micalg)
    if name is None:
        raise ValueError(f"unsupported MIC algorithm {micalg!r}")
    return Mic(base64.b64encode(hashlib.new(name, data).digest()).decode("ascii"), micalg)


@dataclass(frozen=True)
class ReceiptOptions:
    """Parsed Disposition-Notification-Options (RFC 4130 §7.3).

    ``protocol``/``micalgs`` are ``(importance, values)``; importance is ``required`` or
    ``optional`` (anything else is kept as written).
    """

    protocol: tuple[str, tuple[str, ...]] | None
    micalgs: tuple[str, tuple[str, ...]] | None

    @property
    def signed(self) -> bool:
        """The sender asked for a signed receipt (pkcs7-signature)."""
        return self.protocol is not None and any(
            v.lower() == "pkcs7-signature" for v in self.protocol[1]
        )


def parse_receipt_options(value: str | None) -> ReceiptOptions:
    """``signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional,
    sha256, sha1`` -> ReceiptOptions.  Unknown parameters are ignored."""
    protocol: tuple[str, tuple[str, ...]] | None = None
    micalgs: tuple[str, tuple[str, ...]] | None = None
    for param in (value or "").split(";"):
        name, sep, rest = param.partition("=")
        if not sep:
            continue
        items = [item.strip().strip('"') for item in rest.split(",")]
        importance = items[0].lower() if items else ""
        values = tuple(item for item in items[1:] if item)
        key = name.strip().lower()
        if key == "signed-receipt-protocol":
            protocol = (importance, values)
        elif key == "signed-receipt-micalg":
            micalgs = (importance, values)
    return ReceiptOptions(protocol, micalgs)


def choose_micalg(
    options: ReceiptOptions,
    *,
    allowed: Iterable[str] | None = None,
    default: str = DEFAULT_MICALG,
) -> str:
    """The first requested algorithm we support (and the partner policy allows), as spelled.

    ``allowed`` holds hashlib names (``sha256``) or either spelling; None allows every supported
    one.  When none is supported: ``failed/Failure: unsupported MIC-algorithms`` if the sender
    marked the parameter ``required``, else ``default``.
    """
    if options.protocol is not None:
        importance, protocols = options.protocol
        if importance == "required" and not options.signed:
            raise UnsupportedFormat(f"signed-receipt-protocol {', '.join(protocols)!r}")
    permitted = (
        SUPPORTED_HASHES
        if allowed is None
        else frozenset(h for h in (hash_name(a) or a.lower() for a in allowed))
    )
    if options.micalgs is None:
        return default
    importance, requested = options.micalgs
    for alg in requested:
        name = hash_name(alg)
        if name is not None and name in permitted:
            return alg
    if importance == "required":
        raise UnsupportedMicAlgorithms(
            f"none of the required MIC algorithms {', '.join(requested)!r} is supported"
        )
    return default
