"""AS2 (RFC 4130) protocol core: pure, no I/O, no Twisted.

Inbound: ``parse_inbound(headers, body, find_partner=..., own_keys=...)`` -> `InboundMessage`
or raises an `As2Error` whose ``disposition`` answers it; then ``build_mdn(message_or_error,
sign_with=...)`` -> `OutboundMdn`.  Outbound: ``build_outbound(payload, ...)`` ->
`OutboundMessage` (headers, body, expected MIC), and ``parse_mdn(headers, body,
verify_with=...)`` -> `Mdn` with ``is_positive(expected_mic)``.
"""

from gateway.as2.cms import KeyPair, load_certificates, load_private_key
from gateway.as2.errors import (
    As2Error,
    AuthenticationFailed,
    DecompressionFailed,
    DecryptionFailed,
    InsufficientMessageSecurity,
    IntegrityCheckFailed,
    MdnError,
    UnexpectedProcessingError,
    UnknownPartner,
    UnsupportedFormat,
    UnsupportedMicAlgorithms,
)
from gateway.as2.mdn import build_mdn, parse_mdn
from gateway.as2.message import build_outbound, parse_inbound, parse_request
from gateway.as2.mic import Mic, compute_mic
from gateway.as2.model import (
    As2Request,
    InboundMessage,
    Mdn,
    MdnRequest,
    OutboundMdn,
    OutboundMessage,
    PartnerAs2,
    async_mdn_url_allowed,
)

__all__ = [
    "As2Error",
    "As2Request",
    "AuthenticationFailed",
    "DecompressionFailed",
    "DecryptionFailed",
    "InboundMessage",
    "InsufficientMessageSecurity",
    "IntegrityCheckFailed",
    "KeyPair",
    "Mdn",
    "MdnError",
    "MdnRequest",
    "Mic",
    "OutboundMdn",
    "OutboundMessage",
    "PartnerAs2",
    "UnexpectedProcessingError",
    "UnknownPartner",
    "UnsupportedFormat",
    "UnsupportedMicAlgorithms",
    "async_mdn_url_allowed",
    "build_mdn",
    "build_outbound",
    "compute_mic",
    "load_certificates",
    "load_private_key",
    "parse_inbound",
    "parse_mdn",
    "parse_request",
]
