"""AS2 errors that carry the MDN disposition they must be answered with (RFC 4130 §7.4.3, §7.5.3).

Every error raised while parsing an inbound message is an `As2Error`; its `disposition` is the text
that goes after ``automatic-action/MDN-sent-automatically;`` in the MDN.  The error also carries
what was known about the message when it failed (`request`: Message-ID, AS2 names, the receipt the
sender asked for; `mic`: the MIC when it could already be computed), so an error MDN can be built
from the exception alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from gateway.as2.mic import Mic
    from gateway.as2.model import As2Request


class As2Error(Exception):
    """Base class: ``processed/Error: <modifier>``."""

    disposition_type: ClassVar[str] = "processed/Error"
    modifier: ClassVar[str] = "unexpected-processing-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.request: As2Request | None = None
        self.mic: Mic | None = None
        self.authenticated = False
        """True when the partner's signature had verified before this error (only then may an
        error MDN go to an asynchronous URL)."""

    @property
    def disposition(self) -> str:
        """E.g. ``processed/Error: decryption-failed``."""
        return f"{self.disposition_type}: {self.modifier}"


class UnexpectedProcessingError(As2Error):
    """Malformed message or anything not covered by a more specific modifier."""

    modifier = "unexpected-processing-error"


class AuthenticationFailed(As2Error):
    """The sender could not be authenticated: unknown signer, invalid signature value."""

    modifier = "authentication-failed"


class UnknownPartner(AuthenticationFailed):
    """AS2-From or AS2-To names nobody we trade with (RFC 4130 has no own modifier for it)."""

    def __init__(self, header: str, name: str) -> None:
        super().__init__(f"unknown {header} {name!r}")
        self.header = header
        self.name = name


class DecryptionFailed(As2Error):
    """The enveloped data could not be decrypted with any of our keys."""

    modifier = "decryption-failed"


class DecompressionFailed(As2Error):
    """The compressed data (RFC 5402 / RFC 3274) could not be decompressed."""

    modifier = "decompression-failed"


class InsufficientMessageSecurity(As2Error):
    """The partner's policy requires signing/encryption the message does not have."""

    modifier = "insufficient-message-security"


class IntegrityCheckFailed(As2Error):
    """The signed content does not match its signature (content altered in transit)."""

    modifier = "integrity-check-failed"


class UnsupportedMicAlgorithms(As2Error):
    """``failed/Failure: unsupported MIC-algorithms``: required micalg, none supported."""

    disposition_type = "failed/Failure"
    modifier = "unsupported MIC-algorithms"


class UnsupportedFormat(As2Error):
    """``failed/Failure: unsupported format``: a required signed-receipt-protocol we lack."""

    disposition_type = "failed/Failure"
    modifier = "unsupported format"


class MdnError(Exception):
    """A received MDN is malformed, unsigned when a signature is required, or does not verify."""
