"""Interop with an independent peer: the openssl CLI builds the message (``openssl cms`` /
``openssl smime``), the test crafts the HTTP headers and computes the expected MIC itself with
hashlib; our signed MDNs are checked by ``openssl cms -verify`` / ``openssl smime -verify``.

This machine's openssl has no zlib, so compression is built by hand (asn1crypto + zlib).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from gateway.as2 import (
    AuthenticationFailed,
    DecryptionFailed,
    InboundMessage,
    InsufficientMessageSecurity,
    IntegrityCheckFailed,
    build_mdn,
    parse_inbound,
)
from tests.as2.handmade import compressed_data

from .conftest import AS2_DIR, PAYLOAD, Keys, billing_partner, lookups

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")

ENTITY = (
    b"Content-Type: application/edi-x12\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b'Content-Disposition: attachment; filename="claims.837"\r\n'
    b"\r\n" + PAYLOAD
)
ENVELOPED = "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m"


def openssl(*args: str, data: bytes | None = None, cwd: Path | None = None) -> bytes:
    done = subprocess.run(["openssl", *args], input=data, capture_output=True, check=False, cwd=cwd)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def cert(name: str) -> str:
    return str(AS2_DIR / f"{name}.crt")


def key(name: str) -> str:
    return str(AS2_DIR / f"{name}.key")


def headers(content_type: str, micalg: str = "sha-256") -> dict[str, str]:
    return {
        "AS2-Version": "1.2",
        "AS2-From": "DEMOBILLING",
        "AS2-To": "CLEARINGHOUSE",
        "Message-ID": "<openssl-1@demobilling>",
        "Content-Type": content_type,
        "Disposition-Notification-To": "edi@demo-billing.example",
        "Disposition-Notification-Options": (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            f"signed-receipt-micalg=optional, {micalg}"
        ),
    }


def mic(data: bytes, hash_name: str = "sha256") -> str:
    return base64.b64encode(hashlib.new(hash_name, data).digest()).decode()


def smime_sign(tool: str, entity: bytes, md: str = "sha256") -> bytes:
    """``openssl cms|smime -sign -binary``: the whole multipart/signed entity (LF headers)."""
    return openssl(
        tool,
        "-sign",
        "-binary",
        "-md",
        md,
        "-signer",
        cert("demo-billing"),
        "-inkey",
        key("demo-billing"),
        data=entity,
    )


def encrypt(tool: str, entity: bytes, *options: str, to: str = "clearinghouse") -> bytes:
    if tool == "smime":  # the older tool takes the recipient certificate as an operand
        return openssl(
            tool, "-encrypt", "-binary", *options, "-outform", "DER", cert(to), data=entity
        )
    # -keyopt applies to the -recip before it.
    return openssl(
        tool, "-encrypt", "-binary", "-recip", cert(to), *options, "-outform", "DER", data=entity
    )


def split_http(smime: bytes) -> tuple[str, bytes]:
    """openssl's S/MIME output as HTTP: its Content-Type header and the body after it."""
    head, body = smime.split(b"\n\n", 1)
    fields = dict(line.split(": ", 1) for line in head.decode().splitlines())
    return fields["Content-Type"], body


def parse(keys: Keys, hdrs: dict[str, str], body: bytes, **policy: Any) -> InboundMessage:
    partner = billing_partner([keys.billing[1]], **policy)
    own = [keys.clearinghouse, keys.clearinghouse_next]
    return parse_inbound(hdrs, body, **lookups(partner, own))


@pytest.mark.parametrize("tool", ["cms", "smime"])
def test_signed_only(keys: Keys, tool: str) -> None:
    content_type, body = split_http(smime_sign(tool, ENTITY))
    msg = parse(keys, headers(content_type), body, encrypt=False)
    assert msg.signed and not msg.encrypted
    assert msg.payload == PAYLOAD and msg.filename == "claims.837"
    assert msg.mic.digest == mic(ENTITY) and msg.mic.algorithm == "sha-256"


@pytest.mark.parametrize(
    ("tool", "cipher", "options"),
    [
        ("cms", "aes256_cbc", ["-aes256"]),
        ("cms", "aes128_cbc", ["-aes128"]),
        ("smime", "aes256_cbc", ["-aes256"]),
        ("smime", "aes128_cbc", ["-aes128"]),
        (
            "cms",
            "aes256_cbc",
            ["-aes256", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"],
        ),
        ("cms", "aes128_cbc", ["-aes128", "-keyopt", "rsa_padding_mode:oaep"]),  # OAEP SHA-1
    ],
)
def test_signed_then_encrypted(keys: Keys, tool: str, cipher: str, options: list[str]) -> None:
    signed = smime_sign(tool, ENTITY)
    body = encrypt(tool, signed, *options)
    msg = parse(keys, headers(ENVELOPED), body)
    assert msg.signed and msg.encrypted and msg.payload == PAYLOAD
    assert msg.cipher == cipher
    assert msg.key_transport == ("rsaes_oaep" if "-keyopt" in options else "rsaes_pkcs1v15")
    assert msg.mic.digest == mic(ENTITY)


@pytest.mark.parametrize(
    ("md", "micalg", "hash_name"),
    [("sha1", "sha1", "sha1"), ("sha384", "sha-384", "sha384"), ("sha512", "sha512", "sha512")],
)
def test_digests(keys: Keys, md: str, micalg: str, hash_name: str) -> None:
    body = encrypt("cms", smime_sign("cms", ENTITY, md), "-aes256")
    msg = parse(keys, headers(ENVELOPED, micalg), body)
    assert msg.signature_digest == hash_name
    assert msg.mic.digest == mic(ENTITY, hash_name) and msg.mic.algorithm == micalg


def test_streamed_ber_envelope(keys: Keys) -> None:
    # -stream: indefinite lengths and a chunked encryptedContent (BER, not DER).
    signed = smime_sign("cms", ENTITY)
    body = encrypt("cms", signed, "-aes256", "-stream")
    assert body[1] == 0x80  # indefinite length
    msg = parse(keys, headers(ENVELOPED), body)
    assert msg.payload == PAYLOAD and msg.mic.digest == mic(ENTITY)


def test_encrypted_only_mic_over_decrypted_entity(keys: Keys) -> None:
    body = encrypt("cms", ENTITY, "-aes256")
    msg = parse(keys, headers(ENVELOPED), body, sign=False)
    assert msg.encrypted and not msg.signed and msg.payload == PAYLOAD
    assert msg.mic.digest == mic(ENTITY)


def test_rollover_to_next_certificate(keys: Keys) -> None:
    body = encrypt("cms", smime_sign("cms", ENTITY), "-aes256", to="clearinghouse-next")
    msg = parse(keys, headers(ENVELOPED), body)
    assert msg.decryption_certificate == keys.clearinghouse_next[1]


def test_canonical_signature_with_bare_lf_transport(keys: Keys) -> None:
    # Signed in canonical CRLF form, delivered with bare LFs: verified (and MIC'd) canonically.
    canonical = ENTITY.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    content_type, body = split_http(smime_sign("cms", canonical))
    lf_body = body.replace(canonical, canonical.replace(b"\r\n", b"\n"))
    assert lf_body != body
    msg = parse(keys, headers(content_type), lf_body, encrypt=False)
    assert msg.mic.digest == mic(canonical)


def test_tampered_content(keys: Keys) -> None:
    content_type, body = split_http(smime_sign("cms", ENTITY))
    with pytest.raises(IntegrityCheckFailed):
        parse(keys, headers(content_type), body.replace(b"GS*HC~", b"GS*HX~", 1), encrypt=False)


def test_signed_by_another_key(keys: Keys) -> None:
    signed = openssl(
        "cms", "-sign", "-binary", "-signer", cert("ext01"), "-inkey", key("ext01"), data=ENTITY
    )
    content_type, body = split_http(signed)
    with pytest.raises(AuthenticationFailed):
        parse(keys, headers(content_type), body, encrypt=False)


def compressed_entity(inner: bytes) -> bytes:
    return (
        b"Content-Type: application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + compressed_data(zlib.compress(inner))
    )


def test_compress_sign_encrypt(keys: Keys) -> None:
    compressed = compressed_entity(ENTITY)
    body = encrypt("cms", smime_sign("cms", compressed), "-aes256")
    msg = parse(keys, headers(ENVELOPED), body)
    assert msg.compressed and msg.signed and msg.encrypted and msg.payload == PAYLOAD
    assert msg.mic.digest == mic(compressed)  # over the signed (compressed) entity


def test_sign_compress_encrypt(keys: Keys) -> None:
    signed = smime_sign("cms", ENTITY)
    body = encrypt("cms", compressed_entity(signed), "-aes256")
    # A partner that must sign: compression outside the signature is refused, not inflated.
    with pytest.raises(InsufficientMessageSecurity):
        parse(keys, headers(ENVELOPED), body)
    msg = parse(keys, headers(ENVELOPED), body, sign=False)
    assert msg.compressed and msg.signed and msg.payload == PAYLOAD
    assert msg.mic.digest == mic(ENTITY)


@pytest.mark.parametrize(
    ("options", "cipher"),
    [(["-aes128"], "aes128_cbc"), (["-aes192"], "aes192_cbc"), (["-aes256"], "aes256_cbc")],
)
def test_aes_accepted_by_default(keys: Keys, options: list[str], cipher: str) -> None:
    body = encrypt("cms", smime_sign("cms", ENTITY), *options)
    msg = parse(keys, headers(ENVELOPED), body)
    assert msg.cipher == cipher and msg.payload == PAYLOAD


@pytest.mark.parametrize("tool", ["cms", "smime"])
def test_3des_refused_unless_the_profile_lists_it(keys: Keys, tool: str) -> None:
    body = encrypt(tool, smime_sign(tool, ENTITY), "-des3")
    with pytest.raises(DecryptionFailed) as caught:
        parse(keys, headers(ENVELOPED), body)
    assert "des-ede3-cbc is not accepted" in caught.value.detail
    mdn = build_mdn(caught.value, sign_with=keys.clearinghouse)
    assert b"processed/Error: decryption-failed" in mdn.body
    # Listed in the profile (<cipher>des-ede3-cbc</cipher>): an old peer still gets through.
    msg = parse(keys, headers(ENVELOPED), body, ciphers=frozenset({"tripledes_3key"}))
    assert msg.cipher == "tripledes_3key" and msg.payload == PAYLOAD
    # A profile that lists only 3DES refuses AES.
    aes = encrypt(tool, smime_sign(tool, ENTITY), "-aes256")
    with pytest.raises(DecryptionFailed):
        parse(keys, headers(ENVELOPED), aes, ciphers=frozenset({"tripledes_3key"}))


@pytest.mark.parametrize("option", ["-des", "-rc2-40", "-rc2"])
def test_legacy_ciphers_always_refused(keys: Keys, option: str) -> None:
    legacy = ["-provider", "legacy", "-provider", "default", "-outform", "DER"]
    done = subprocess.run(
        ["openssl", "cms", "-encrypt", "-binary", "-recip", cert("clearinghouse"), option, *legacy],
        input=smime_sign("cms", ENTITY),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"this openssl cannot encrypt with {option} (legacy provider)")
    everything = frozenset({"aes128_cbc", "aes192_cbc", "aes256_cbc", "tripledes_3key"})
    with pytest.raises(DecryptionFailed):
        parse(keys, headers(ENVELOPED), done.stdout, ciphers=everything)


@pytest.mark.parametrize("tool", ["cms", "smime"])
@pytest.mark.parametrize(("micalg", "hash_name"), [("sha-256", "sha256"), ("sha1", "sha1")])
def test_signed_mdn_verified_by_openssl(
    keys: Keys, tmp_path: Path, tool: str, micalg: str, hash_name: str
) -> None:
    body = encrypt("cms", smime_sign("cms", ENTITY), "-aes256")
    msg = parse(keys, headers(ENVELOPED, micalg), body)
    mdn = build_mdn(msg, sign_with=keys.clearinghouse)
    content_type = dict(mdn.headers)["Content-Type"]
    assert content_type.startswith("multipart/signed;") and f"micalg={micalg}" in content_type
    eml = tmp_path / "mdn.eml"
    eml.write_bytes(
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n".encode() + mdn.body
    )
    signer = tmp_path / "signer.pem"
    report = openssl(
        tool,
        "-verify",
        "-CAfile",
        cert("clearinghouse"),
        "-partial_chain",
        "-in",
        str(eml),
        "-signer",
        str(signer),
    )
    assert signer.read_bytes().strip() == (AS2_DIR / "clearinghouse.crt").read_bytes().strip()
    # -noverify (signature only, no chain) accepts it too.
    assert openssl(tool, "-verify", "-noverify", "-in", str(eml)) == report
    assert f"Received-Content-MIC: {mic(ENTITY, hash_name)}, {micalg}".encode() in report
    assert b"Original-Message-ID: <openssl-1@demobilling>" in report
    assert b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n" in report
    # Tampered MDN: openssl refuses it.
    bad = tmp_path / "bad.eml"
    bad.write_bytes(eml.read_bytes().replace(b"; processed", b"; processed/Error: x", 1))
    done = subprocess.run(
        ["openssl", tool, "-verify", "-noverify", "-in", str(bad)], capture_output=True, check=False
    )
    assert done.returncode != 0


def test_error_mdn_verified_by_openssl(keys: Keys, tmp_path: Path) -> None:
    body = encrypt("cms", smime_sign("cms", ENTITY), "-aes256", to="ext01")
    with pytest.raises(DecryptionFailed) as caught:
        parse(keys, headers(ENVELOPED), body)
    mdn = build_mdn(caught.value, sign_with=keys.clearinghouse)
    eml = tmp_path / "mdn.eml"
    eml.write_bytes(
        f"Content-Type: {dict(mdn.headers)['Content-Type']}\r\n\r\n".encode() + mdn.body
    )
    report = openssl("cms", "-verify", "-noverify", "-in", str(eml))
    assert b"; processed/Error: decryption-failed\r\n" in report
    assert b"Received-Content-MIC" not in report
