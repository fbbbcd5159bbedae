"""Every error disposition parse_inbound can raise, and the error MDN built from it."""

from __future__ import annotations

import base64
import zlib
from typing import Any

import pytest

from gateway.as2 import (
    As2Error,
    AuthenticationFailed,
    DecompressionFailed,
    DecryptionFailed,
    InsufficientMessageSecurity,
    IntegrityCheckFailed,
    UnexpectedProcessingError,
    UnknownPartner,
    UnsupportedMicAlgorithms,
    build_mdn,
    build_outbound,
    cms,
    parse_inbound,
    parse_mdn,
)
from gateway.as2.mime import build_entity, parse_content_type
from tests.as2.handmade import compressed_data

from .conftest import PAYLOAD, Keys, billing_partner, lookups

COMPRESSED = "application/pkcs7-mime; smime-type=compressed-data"
HEADERS = {
    "AS2-Version": "1.2",
    "AS2-From": "DEMOBILLING",
    "AS2-To": "CLEARINGHOUSE",
    "Message-ID": "<m-1@demobilling>",
    "Disposition-Notification-To": "edi@demo-billing.example",
    "Disposition-Notification-Options": (
        "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256"
    ),
}


def outbound(keys: Keys, **kwargs: Any) -> tuple[dict[str, str], bytes]:
    options: dict[str, Any] = {
        "as2_from": "DEMOBILLING",
        "as2_to": "CLEARINGHOUSE",
        "sign_with": keys.billing,
        "encrypt_to": keys.clearinghouse[1],
        "mdn_to": "edi@demo-billing.example",
        "message_id": "m-1@demobilling",
    }
    options.update(kwargs)
    out = build_outbound(PAYLOAD, **options)
    return dict(out.headers), out.body


def expect(
    keys: Keys,
    headers: dict[str, str],
    body: bytes,
    error: type[As2Error],
    disposition: str,
    **policy: Any,
) -> As2Error:
    partner = billing_partner(policy.pop("certs", [keys.billing[1]]), **policy)
    with pytest.raises(error) as caught:
        parse_inbound(headers, body, **lookups(partner, [keys.clearinghouse]))
    exc = caught.value
    assert exc.disposition == disposition
    # Every error that knows its request can be answered with a signed MDN carrying it.
    mdn = build_mdn(exc, sign_with=keys.clearinghouse)
    receipt = parse_mdn(dict(mdn.headers), mdn.body, verify_with=[keys.clearinghouse[1]])
    assert receipt.disposition == f"automatic-action/MDN-sent-automatically; {disposition}"
    assert receipt.original_message_id == "m-1@demobilling"
    assert not receipt.processed
    return exc


def test_unknown_as2_from(keys: Keys) -> None:
    headers, body = outbound(keys, as2_from="NOBODY")
    exc = expect(keys, headers, body, UnknownPartner, "processed/Error: authentication-failed")
    assert "NOBODY" in str(exc) and isinstance(exc, UnknownPartner) and exc.header == "AS2-From"
    mdn = build_mdn(exc)
    assert dict(mdn.headers)["AS2-To"] == "NOBODY"
    assert b"NOBODY" in mdn.body


def test_unknown_as2_to(keys: Keys) -> None:
    headers, body = outbound(keys, as2_to="SOMEONEELSE")
    exc = expect(keys, headers, body, UnknownPartner, "processed/Error: authentication-failed")
    assert "SOMEONEELSE" in str(exc)


def test_wrong_signing_certificate(keys: Keys) -> None:
    headers, body = outbound(keys, sign_with=keys.ext01)
    auth = "processed/Error: authentication-failed"
    exc = expect(keys, headers, body, AuthenticationFailed, auth)
    assert "configured certificates" in str(exc)


def _signed_only(keys: Keys) -> tuple[dict[str, str], bytes, bytes]:
    headers, body = outbound(keys, encrypt_to=None)
    boundary = parse_content_type(headers["Content-Type"]).param("boundary")
    assert boundary is not None
    return headers, body, boundary.encode()


def test_tampered_content(keys: Keys) -> None:
    headers, body, _ = _signed_only(keys)
    tampered = body.replace(b"GS*HC~", b"GS*HX~", 1)
    exc = expect(
        keys,
        headers,
        tampered,
        IntegrityCheckFailed,
        "processed/Error: integrity-check-failed",
        encrypt=False,
    )
    assert exc.mic is not None  # the sender can compare what we received


def test_tampered_signature_value(keys: Keys) -> None:
    headers, body, boundary = _signed_only(keys)
    before, sig_part, after = body.rsplit(b"--" + boundary, 2)
    sig_headers, sig_b64 = sig_part.split(b"\r\n\r\n", 1)
    der = bytearray(base64.b64decode(sig_b64))
    der[-1] ^= 0x01  # the last byte of SignedData is the signature value
    sig_part = sig_headers + b"\r\n\r\n" + base64.encodebytes(bytes(der)).replace(b"\n", b"\r\n")
    forged = before + b"--" + boundary + sig_part + b"--" + boundary + after
    exc = expect(
        keys,
        headers,
        forged,
        AuthenticationFailed,
        "processed/Error: authentication-failed",
        encrypt=False,
    )
    assert "does not verify" in str(exc)


def test_garbage_signature(keys: Keys) -> None:
    headers, body, boundary = _signed_only(keys)
    head, _sig, tail = body.rsplit(b"--" + boundary, 2)
    garbage = build_entity([("Content-Type", "application/pkcs7-signature")], b"\x30\x03junk")
    forged = head + b"--" + boundary + b"\r\n" + garbage + b"\r\n--" + boundary + tail
    expect(
        keys,
        headers,
        forged,
        AuthenticationFailed,
        "processed/Error: authentication-failed",
        encrypt=False,
    )


def test_unsigned_when_signing_required(keys: Keys) -> None:
    headers, body = outbound(keys, sign_with=None)
    exc = expect(
        keys,
        headers,
        body,
        InsufficientMessageSecurity,
        "processed/Error: insufficient-message-security",
    )
    assert "must sign" in str(exc)


def test_unencrypted_when_encryption_required(keys: Keys) -> None:
    headers, body = outbound(keys, encrypt_to=None)
    exc = expect(
        keys,
        headers,
        body,
        InsufficientMessageSecurity,
        "processed/Error: insufficient-message-security",
    )
    assert "must encrypt" in str(exc)


def test_signature_digest_not_allowed(keys: Keys) -> None:
    headers, body = outbound(keys, micalg="sha1")
    expect(
        keys,
        headers,
        body,
        InsufficientMessageSecurity,
        "processed/Error: insufficient-message-security",
        digests=frozenset({"sha256", "sha384"}),
    )


def test_garbage_cms(keys: Keys) -> None:
    headers = dict(HEADERS, **{"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data"})
    failed = "processed/Error: decryption-failed"
    expect(keys, headers, b"\x30\x80garbage", DecryptionFailed, failed)


def test_encrypted_for_someone_else(keys: Keys) -> None:
    headers, body = outbound(keys, encrypt_to=keys.ext01[1])
    exc = expect(keys, headers, body, DecryptionFailed, "processed/Error: decryption-failed")
    assert "not encrypted to any of our certificates" in str(exc)


def test_truncated_ciphertext(keys: Keys) -> None:
    headers, body = outbound(keys)
    expect(keys, headers, body[:-40], DecryptionFailed, "processed/Error: decryption-failed")


def _compressed_entity(content: bytes) -> bytes:
    """A CompressedData built by hand (asn1crypto + zlib), independent of gateway.as2.cms."""
    return build_entity(
        [("Content-Type", "application/pkcs7-mime; smime-type=compressed-data")],
        compressed_data(content),
    )


def test_bad_compressed_data(keys: Keys) -> None:
    headers = dict(HEADERS, **{"Content-Type": COMPRESSED})
    body = _compressed_entity(b"not zlib at all").split(b"\r\n\r\n", 1)[1]
    expect(
        keys,
        headers,
        body,
        DecompressionFailed,
        "processed/Error: decompression-failed",
        sign=False,
        encrypt=False,
    )
    # Encrypted around truncated zlib data: still decompression-failed.
    inner = _compressed_entity(zlib.compress(PAYLOAD)[:-40])
    enveloped = cms.encrypt(inner, [keys.clearinghouse[1]])
    headers = dict(HEADERS, **{"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data"})
    expect(
        keys,
        headers,
        enveloped,
        DecompressionFailed,
        "processed/Error: decompression-failed",
        sign=False,
    )


def test_hand_built_compressed_message_parses(keys: Keys) -> None:
    entity = build_entity([("Content-Type", "application/edi-x12")], PAYLOAD)
    headers = dict(HEADERS, **{"Content-Type": COMPRESSED})
    body = _compressed_entity(zlib.compress(entity)).split(b"\r\n\r\n", 1)[1]
    partner = billing_partner([keys.billing[1]], sign=False, encrypt=False)
    msg = parse_inbound(headers, body, **lookups(partner, [keys.clearinghouse]))
    assert msg.compressed and msg.payload == PAYLOAD


def test_unsupported_required_micalg(keys: Keys) -> None:
    headers, body = outbound(keys)
    headers["Disposition-Notification-Options"] = (
        "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, md5"
    )
    exc = expect(
        keys, headers, body, UnsupportedMicAlgorithms, "failed/Failure: unsupported MIC-algorithms"
    )
    assert exc.mic is None


def test_malformed_multipart(keys: Keys) -> None:
    headers = dict(HEADERS, **{"Content-Type": 'multipart/signed; boundary="nope"'})
    expect(
        keys,
        headers,
        b"no delimiters here",
        UnexpectedProcessingError,
        "processed/Error: unexpected-processing-error",
        encrypt=False,
    )


def test_unsupported_smime_type(keys: Keys) -> None:
    headers = dict(HEADERS, **{"Content-Type": "application/pkcs7-mime; smime-type=certs-only"})
    expect(
        keys,
        headers,
        b"\x30\x00",
        UnexpectedProcessingError,
        "processed/Error: unexpected-processing-error",
        encrypt=False,
    )


def test_missing_headers_cannot_be_answered(keys: Keys) -> None:
    partner = billing_partner([keys.billing[1]])
    with pytest.raises(UnexpectedProcessingError) as caught:
        parse_inbound({"AS2-From": "DEMOBILLING"}, b"", **lookups(partner, [keys.clearinghouse]))
    assert "AS2-To" in str(caught.value) and "Message-ID" in str(caught.value)
    assert caught.value.request is None
    with pytest.raises(ValueError):
        build_mdn(caught.value)
