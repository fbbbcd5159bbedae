"""Our builder against our parser: nestings, ciphers, key transports, digests, rollover, MDNs."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.as2 import (
    DecryptionFailed,
    InsufficientMessageSecurity,
    MdnError,
    Mic,
    build_mdn,
    build_outbound,
    cms,
    compute_mic,
    parse_inbound,
    parse_mdn,
)
from gateway.as2.mime import base64_lines, build_entity, build_multipart, parse_content_type

from .conftest import PAYLOAD, Keys, billing_partner, lookups

NESTINGS = [
    pytest.param({}, id="plain"),
    pytest.param({"sign": True}, id="signed"),
    pytest.param({"encrypt": True}, id="encrypted"),
    pytest.param({"compress": True}, id="compressed"),
    pytest.param({"sign": True, "encrypt": True}, id="sign-encrypt"),
    pytest.param({"compress": True, "encrypt": True}, id="compress-encrypt"),
    pytest.param({"compress": True, "sign": True}, id="compress-sign"),
    pytest.param({"compress": True, "sign": True, "before": False}, id="sign-compress"),
    pytest.param({"compress": True, "sign": True, "encrypt": True}, id="compress-sign-encrypt"),
    pytest.param(
        {"compress": True, "sign": True, "encrypt": True, "before": False},
        id="sign-compress-encrypt",
    ),
]


def build(keys: Keys, spec: dict[str, Any], **extra: Any) -> Any:
    return build_outbound(
        PAYLOAD,
        as2_from="DEMOBILLING",
        as2_to="CLEARINGHOUSE",
        filename="claims.837",
        sign_with=keys.billing if spec.get("sign") else None,
        encrypt_to=keys.clearinghouse[1] if spec.get("encrypt") else None,
        compress=bool(spec.get("compress")),
        compress_before_sign=spec.get("before", True),
        mdn_to="edi@demo-billing.example",
        **extra,
    )


def parse(keys: Keys, out: Any) -> Any:
    partner = billing_partner([keys.billing[1]])
    return parse_inbound(dict(out.headers), out.body, **lookups(partner, [keys.clearinghouse]))


@pytest.mark.parametrize("spec", NESTINGS)
def test_nesting_roundtrip(keys: Keys, spec: dict[str, Any]) -> None:
    out = build(keys, spec)
    # Compression outside the signature is inflated only for a partner that need not sign
    # (test_limits: refused before inflating otherwise); the signature is still verified.
    outside = bool(spec.get("compress")) and spec.get("before") is False
    partner = billing_partner(
        [keys.billing[1]],
        sign=bool(spec.get("sign")) and not outside,
        encrypt=bool(spec.get("encrypt")),
    )
    msg = parse_inbound(dict(out.headers), out.body, **lookups(partner, [keys.clearinghouse]))
    assert msg.payload == PAYLOAD
    assert msg.content_type == "application/edi-x12"
    assert msg.filename == "claims.837"
    assert (msg.signed, msg.encrypted, msg.compressed) == (
        bool(spec.get("sign")),
        bool(spec.get("encrypt")),
        bool(spec.get("compress")),
    )
    assert msg.mic == out.mic
    assert msg.message_id == out.message_id
    assert msg.mdn is not None and msg.mdn.signed and not msg.mdn.is_async
    if spec.get("sign"):
        assert msg.signer_certificate == keys.billing[1]
        assert msg.signature_digest == "sha256"
    mdn = build_mdn(msg, sign_with=keys.clearinghouse)
    receipt = parse_mdn(dict(mdn.headers), mdn.body, verify_with=[keys.clearinghouse[1]])
    assert receipt.is_positive(out.mic)
    assert receipt.original_message_id == out.message_id
    assert receipt.signer_certificate == keys.clearinghouse[1]
    assert (receipt.as2_from, receipt.as2_to) == ("CLEARINGHOUSE", "DEMOBILLING")


def test_plain_mic_is_over_content_without_headers(keys: Keys) -> None:
    out = build(keys, {})
    assert out.body == PAYLOAD
    assert out.mic == compute_mic(PAYLOAD, "sha-256")


def test_signed_mic_is_over_first_part_with_headers(keys: Keys) -> None:
    out = build(keys, {"sign": True})
    boundary = parse_content_type(dict(out.headers)["Content-Type"]).param("boundary")
    assert boundary
    first = out.body.split(b"--" + boundary.encode())[1][2:-2]
    assert first.startswith(b"Content-Type: application/edi-x12\r\n")
    assert out.mic == compute_mic(first, "sha-256")


@pytest.mark.parametrize("cipher", ["aes128_cbc", "aes256_cbc"])
@pytest.mark.parametrize("oaep", [False, True])
def test_ciphers_and_key_transport(keys: Keys, cipher: str, oaep: bool) -> None:
    out = build(keys, {"sign": True, "encrypt": True}, cipher=cipher, oaep=oaep)
    partner = billing_partner([keys.billing[1]])
    msg = parse_inbound(dict(out.headers), out.body, **lookups(partner, [keys.clearinghouse]))
    assert msg.cipher == cipher
    assert msg.key_transport == ("rsaes_oaep" if oaep else "rsaes_pkcs1v15")


@pytest.mark.parametrize("micalg", ["sha1", "sha-1", "sha256", "sha384", "sha-384", "sha512"])
def test_digests(keys: Keys, micalg: str) -> None:
    out = build(keys, {"sign": True, "encrypt": True}, micalg=micalg)
    partner = billing_partner([keys.billing[1]])
    msg = parse_inbound(dict(out.headers), out.body, **lookups(partner, [keys.clearinghouse]))
    assert msg.mic == out.mic
    assert msg.mic.algorithm == micalg  # answered with the sender's spelling
    mdn = build_mdn(msg, sign_with=keys.clearinghouse)
    assert f"micalg={micalg}" in dict(mdn.headers)["Content-Type"]
    receipt = parse_mdn(dict(mdn.headers), mdn.body, verify_with=[keys.clearinghouse[1]])
    assert receipt.is_positive(out.mic)


def test_mic_algorithm_differs_from_signature_digest(keys: Keys) -> None:
    out = build(keys, {"sign": True}, micalg="sha256", mdn_micalgs=["sha-512"])
    partner = billing_partner([keys.billing[1]], encrypt=False)
    msg = parse_inbound(dict(out.headers), out.body, **lookups(partner, [keys.clearinghouse]))
    assert msg.signature_digest == "sha256"
    assert msg.mic.algorithm == "sha-512"
    assert msg.mic != out.mic and msg.mic.digest != out.mic.digest


def test_rollover_two_own_keys(keys: Keys) -> None:
    partner = billing_partner([keys.billing[1]])
    own = [keys.clearinghouse, keys.clearinghouse_next]
    for target in (keys.clearinghouse, keys.clearinghouse_next):
        out = build_outbound(
            PAYLOAD,
            as2_from="DEMOBILLING",
            as2_to="CLEARINGHOUSE",
            sign_with=keys.billing,
            encrypt_to=target[1],
        )
        msg = parse_inbound(dict(out.headers), out.body, **lookups(partner, own))
        assert msg.decryption_certificate == target[1]
    # Only the old key configured: a message for the new certificate cannot be read.
    with pytest.raises(DecryptionFailed):
        parse_inbound(dict(out.headers), out.body, **lookups(partner, [keys.clearinghouse]))


def test_partner_certificate_rollover(keys: Keys) -> None:
    # The partner moves from its old certificate (ext01's pair stands in) to demo-billing's.
    partner = billing_partner([keys.ext01[1], keys.billing[1]])
    for signer in (keys.ext01, keys.billing):
        out = build_outbound(
            PAYLOAD,
            as2_from="DEMOBILLING",
            as2_to="CLEARINGHOUSE",
            sign_with=signer,
            encrypt_to=keys.clearinghouse[1],
        )
        msg = parse_inbound(dict(out.headers), out.body, **lookups(partner, [keys.clearinghouse]))
        assert msg.signer_certificate == signer[1]


def test_async_request_and_quoted_names(keys: Keys) -> None:
    out = build(keys, {"sign": True, "encrypt": True}, async_mdn_url="https://billing.example/mdn")
    headers = dict(out.headers)
    headers["AS2-From"] = '"DEMOBILLING"'
    msg = parse_inbound(
        {k.lower(): v for k, v in headers.items()},
        out.body,
        **lookups(billing_partner([keys.billing[1]]), [keys.clearinghouse]),
    )
    assert msg.as2_from == "DEMOBILLING"
    assert msg.mdn is not None and msg.mdn.async_url == "https://billing.example/mdn"


def test_unsigned_mdn(keys: Keys) -> None:
    out = build(keys, {"sign": True, "encrypt": True}, mdn_signed=False)
    msg = parse(keys, out)
    assert msg.mdn is not None and not msg.mdn.signed
    mdn = build_mdn(msg)
    assert dict(mdn.headers)["Content-Type"].startswith("multipart/report;")
    with pytest.raises(MdnError):
        parse_mdn(dict(mdn.headers), mdn.body, verify_with=[keys.clearinghouse[1]])
    receipt = parse_mdn(dict(mdn.headers), mdn.body, require_signature=False)
    assert receipt.is_positive(out.mic) and not receipt.signed
    assert "successfully processed" in receipt.text


def test_mdn_checks(keys: Keys) -> None:
    out = build(keys, {"sign": True, "encrypt": True})
    msg = parse(keys, out)
    mdn = build_mdn(msg, sign_with=keys.clearinghouse)
    headers = dict(mdn.headers)
    # Signed by someone we do not expect.
    with pytest.raises(MdnError, match="authentication-failed"):
        parse_mdn(headers, mdn.body, verify_with=[keys.ext01[1]])
    # Altered in transit.
    tampered = mdn.body.replace(b"; processed", b"; processed/Warning: x", 1)
    with pytest.raises(MdnError, match="integrity-check-failed"):
        parse_mdn(headers, tampered, verify_with=[keys.clearinghouse[1]])
    # A positive MDN with another MIC is not a delivery.
    receipt = parse_mdn(headers, mdn.body, verify_with=[keys.clearinghouse[1]])
    assert receipt.processed
    assert not receipt.is_positive(Mic("AAAA", "sha-256"))
    # An override disposition (e.g. storing the payload failed after parsing).
    failed = build_mdn(
        msg,
        sign_with=keys.clearinghouse,
        disposition="processed/Error: unexpected-processing-error",
    )
    receipt = parse_mdn(dict(failed.headers), failed.body, verify_with=[keys.clearinghouse[1]])
    assert not receipt.processed and receipt.modifier == "Error: unexpected-processing-error"


def test_large_payload_roundtrip(keys: Keys) -> None:
    payload = PAYLOAD * 700  # ~5 MB
    out = build_outbound(
        payload,
        as2_from="DEMOBILLING",
        as2_to="CLEARINGHOUSE",
        sign_with=keys.billing,
        encrypt_to=keys.clearinghouse[1],
        mdn_to="x",
    )
    msg = parse(keys, out)
    assert msg.payload == payload and msg.mic == out.mic


def test_encrypt_then_sign(keys: Keys) -> None:
    # Unusual but legal: the signature covers the encrypted entity.
    inner = build_entity(
        [("Content-Type", "application/edi-x12"), ("Content-Transfer-Encoding", "binary")],
        PAYLOAD,
    )
    enveloped = build_entity(
        [("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data")],
        cms.encrypt(inner, [keys.clearinghouse[1]]),
    )
    signature = build_entity(
        [
            ("Content-Type", "application/pkcs7-signature"),
            ("Content-Transfer-Encoding", "base64"),
        ],
        base64_lines(cms.sign_detached(enveloped, *keys.billing)),
    )
    body = build_multipart([enveloped, signature], "outer")
    headers = {
        "AS2-From": "DEMOBILLING",
        "AS2-To": "CLEARINGHOUSE",
        "Message-ID": "<ets@x>",
        "Content-Type": 'multipart/signed; protocol="application/pkcs7-signature"; '
        "micalg=sha-256; boundary=outer",
    }
    msg = parse_inbound(
        headers, body, **lookups(billing_partner([keys.billing[1]]), [keys.clearinghouse])
    )
    assert msg.signed and msg.encrypted and msg.payload == PAYLOAD
    assert msg.mic == compute_mic(enveloped, "sha-256")
    # Signed but never encrypted, for a partner that must encrypt: refused after unwrapping.
    plain_signed = build_multipart(
        [
            inner,
            build_entity(
                [
                    ("Content-Type", "application/pkcs7-signature"),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                base64_lines(cms.sign_detached(inner, *keys.billing)),
            ),
        ],
        "outer",
    )
    with pytest.raises(InsufficientMessageSecurity, match="must encrypt"):
        parse_inbound(
            headers,
            plain_signed,
            **lookups(billing_partner([keys.billing[1]]), [keys.clearinghouse]),
        )
