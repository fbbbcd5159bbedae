"""CMS (RFC 5652) pieces AS2 needs, on ``cryptography`` primitives and ``asn1crypto`` structures.

- detached SignedData: sign (RSA PKCS#1 v1.5 or PSS) and verify (RSA v1.5/PSS, ECDSA) against a
  set of trusted certificates — ``cryptography`` has no CMS verify API;
- EnvelopedData: encrypt/decrypt with AES-128/192/256-CBC (3DES decrypt for old peers, only when
  the caller accepts it), RSA key transport PKCS#1 v1.5 or OAEP — ``cryptography``'s PKCS7
  envelope API does not do OAEP;
- CompressedData (RFC 3274, zlib) as used by RFC 5402, inflated in bounded steps up to a limit.

Failures raise the `gateway.as2.errors` class whose disposition they map to.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # cryptography >= 43 moved 3DES out of the main algorithms module
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import (  # type: ignore[no-redef,unused-ignore]
        TripleDES,
    )

from gateway.as2.errors import (
    AuthenticationFailed,
    DecompressionFailed,
    DecryptionFailed,
    IntegrityCheckFailed,
)

PrivateKey = rsa.RSAPrivateKey
KeyPair = tuple[rsa.RSAPrivateKey, x509.Certificate]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
CIPHERS = ("aes128_cbc", "aes192_cbc", "aes256_cbc")
DEFAULT_ACCEPTED_CIPHERS = frozenset(CIPHERS)
"""Content encryption accepted from a partner whose profile lists no ``<cipher>``: AES only."""
CIPHER_NAMES = {
    "aes128-cbc": "aes128_cbc",
    "aes192-cbc": "aes192_cbc",
    "aes256-cbc": "aes256_cbc",
    "des-ede3-cbc": "tripledes_3key",
}
"""Profile spelling (``<cipher>``) -> asn1crypto algorithm name."""
_PROFILE_NAMES = {v: k for k, v in CIPHER_NAMES.items()}
DECOMPRESS_CHUNK = 64 * 1024
"""Most bytes one inflation step may produce (the decompressor never holds more than
``limit + DECOMPRESS_CHUNK``)."""
DEFAULT_DECOMPRESS_LIMIT = 64 * 1024 * 1024


def _hash(name: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[name]()
    except KeyError:
        raise ValueError(f"unsupported digest {name!r}") from None


def load_private_key(pem: bytes, password: bytes | None = None) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("only RSA private keys are supported for AS2")
    return key


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file (DER accepted for a single certificate)."""
    if b"-----BEGIN" not in pem:
        return [x509.load_der_x509_certificate(pem)]
    return x509.load_pem_x509_certificates(pem)


@functools.lru_cache(maxsize=64)
def _der_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _content_info(der: bytes, expected: str, error: type[Exception]) -> Any:
    """Load a ContentInfo and return its content, raising ``error`` on anything unexpected."""
    try:
        info = asn1_cms.ContentInfo.load(der)
        kind = info["content_type"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise error(f"not a CMS ContentInfo: {exc}") from exc
    if kind != expected:
        raise error(f"expected CMS {expected}, got {kind}")
    return info["content"]


def content_info_type(der: bytes) -> str | None:
    """The ContentInfo content type (``signed_data``, ``enveloped_data``, ...), None if not CMS."""
    try:
        return cast(str, asn1_cms.ContentInfo.load(der)["content_type"].native)
    except (ValueError, TypeError, KeyError):
        return None


# ---------------------------------------------------------------------------------------------
# SignedData


def sign_detached(
    data: bytes,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    *,
    digest: str = "sha256",
    pss: bool = False,
    signing_time: dt.datetime | None = None,
    content_digest: bytes | None = None,
) -> bytes:
    """A DER ContentInfo/SignedData with a detached signature over ``data`` (signed attributes:
    content-type, signing-time, message-digest).  ``content_digest``: ``data``'s digest when the
    caller already has it (e.g. for the MIC), to hash a large body only once."""
    hash_alg = _hash(digest)
    if content_digest is None:
        content_digest = hashlib.new(digest, data).digest()
    when = signing_time or dt.datetime.now(dt.UTC)
    attrs = asn1_cms.CMSAttributes(
        [
            asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            asn1_cms.CMSAttribute(
                {"type": "signing_time", "values": [asn1_cms.Time({"utc_time": when})]}
            ),
            asn1_cms.CMSAttribute({"type": "message_digest", "values": [content_digest]}),
        ]
    )
    to_sign = attrs.dump()
    if pss:
        salt = hash_alg.digest_size
        signature = key.sign(
            to_sign, padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=salt), hash_alg
        )
        sig_alg = asn1_algos.SignedDigestAlgorithm(
            {
                "algorithm": "rsassa_pss",
                "parameters": asn1_algos.RSASSAPSSParams(
                    {
                        "hash_algorithm": {"algorithm": digest},
                        "mask_gen_algorithm": {
                            "algorithm": "mgf1",
                            "parameters": {"algorithm": digest},
                        },
                        "salt_length": salt,
                    }
                ),
            }
        )
    else:
        signature = key.sign(to_sign, padding.PKCS1v15(), hash_alg)
        sig_alg = asn1_algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"})
    asn_cert = _der_cert(cert)
    signer = asn1_cms.SignerInfo(
        {
            "version": "v1",
            "sid": asn1_cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": asn1_cms.IssuerAndSerialNumber(
                        {"issuer": asn_cert.issuer, "serial_number": asn_cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": {"algorithm": digest},
            "signed_attrs": attrs,
            "signature_algorithm": sig_alg,
            "signature": signature,
        }
    )
    signed = asn1_cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest}],
            "encap_content_info": {"content_type": "data"},
            "certificates": [asn_cert],
            "signer_infos": [signer],
        }
    )
    return cast(
        bytes, asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    )


@dataclass(frozen=True)
class Verified:
    """A signature that verified: who signed, with which digest, and the content's digest."""

    certificate: x509.Certificate
    digest_algorithm: str
    content_digest: bytes


def _set_of_encoding(attrs: Any) -> bytes:
    """The signed attributes as hashed: their received contents under a SET OF (0x31) tag."""
    contents: bytes = attrs.contents
    size = len(contents)
    if size < 0x80:
        length = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return b"\x31" + length + contents


def _sid_matches(sid: Any, cert: x509.Certificate) -> bool:
    asn_cert = _der_cert(cert)
    if sid.name == "issuer_and_serial_number":
        value = sid.chosen
        if value["serial_number"].native != asn_cert.serial_number:
            return False
        # Byte-equal issuers are the common case; Name equality (RFC 5280 string prep) is slow.
        return bool(value["issuer"].dump() == asn_cert.issuer.dump()) or bool(
            value["issuer"] == asn_cert.issuer
        )
    if sid.name == "subject_key_identifier":
        return bool(sid.chosen.native == asn_cert.key_identifier)
    return False


def _verify_raw(
    cert: x509.Certificate, signature: bytes, data: bytes, sig_alg: Any, digest: str
) -> bool:
    public = cert.public_key()
    try:
        algo = sig_alg.signature_algo
    except ValueError:
        return False
    try:
        if isinstance(public, rsa.RSAPublicKey) and algo == "rsassa_pkcs1v15":
            public.verify(signature, data, padding.PKCS1v15(), _hash(digest))
        elif isinstance(public, rsa.RSAPublicKey) and algo == "rsassa_pss":
            params = sig_alg["parameters"]
            pss_hash = _hash(params["hash_algorithm"]["algorithm"].native)
            mgf_hash = _hash(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
            pad = padding.PSS(mgf=padding.MGF1(mgf_hash), salt_length=params["salt_length"].native)
            public.verify(signature, data, pad, pss_hash)
        elif isinstance(public, ec.EllipticCurvePublicKey) and algo == "ecdsa":
            public.verify(signature, data, ec.ECDSA(_hash(digest)))
        else:
            return False
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def verify_detached(
    data: bytes, signature_der: bytes, trusted: Sequence[x509.Certificate]
) -> Verified:
    """Verify a detached CMS signature over ``data`` by one of the ``trusted`` certificates.

    Certificates embedded in the SignedData are never trusted on their own.  Content whose digest
    differs from the signed message-digest → `IntegrityCheckFailed`; a signer that is not one of
    ``trusted`` or a signature value that does not verify → `AuthenticationFailed`.
    """
    signed = _content_info(signature_der, "signed_data", AuthenticationFailed)
    try:
        signer_infos = list(signed["signer_infos"])
    except (ValueError, TypeError) as exc:
        raise AuthenticationFailed(f"malformed SignedData: {exc}") from exc
    if not signer_infos:
        raise AuthenticationFailed("SignedData has no signer")
    if not trusted:
        raise AuthenticationFailed("no certificate configured to verify the partner's signature")
    integrity_error: IntegrityCheckFailed | None = None
    for info in signer_infos:
        try:
            digest = info["digest_algorithm"]["algorithm"].native
            _hash(digest)
            sid = info["sid"]
            sig_alg = info["signature_algorithm"]
            signature = info["signature"].native
            attrs = info["signed_attrs"]
        except (ValueError, TypeError, KeyError) as exc:
            raise AuthenticationFailed(f"malformed SignerInfo: {exc}") from exc
        content_digest = hashlib.new(digest, data).digest()
        ordered = sorted(trusted, key=lambda c: not _sid_matches(sid, c))
        if isinstance(attrs, asn1_core.Void):
            # No signed attributes: the signature is over the content itself.
            for cert in ordered:
                if _verify_raw(cert, signature, data, sig_alg, digest):
                    return Verified(cert, digest, content_digest)
            if any(_sid_matches(sid, c) for c in trusted):
                integrity_error = IntegrityCheckFailed("signature does not match the content")
            continue
        message_digest = None
        for attr in attrs:
            if attr["type"].native == "message_digest":
                message_digest = attr["values"][0].native
        if message_digest != content_digest:
            integrity_error = IntegrityCheckFailed(
                "content digest differs from the signed message-digest (content altered)"
            )
            continue
        to_verify = _set_of_encoding(attrs)
        for cert in ordered:
            if _verify_raw(cert, signature, to_verify, sig_alg, digest):
                return Verified(cert, digest, content_digest)
        if any(_sid_matches(sid, c) for c in trusted):
            raise AuthenticationFailed(
                "signature value does not verify with the partner's certificate"
            )
        raise AuthenticationFailed("signer is not one of the partner's configured certificates")
    raise integrity_error or AuthenticationFailed("no signer verified")


# ---------------------------------------------------------------------------------------------
# EnvelopedData


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes([tag, length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw


def _der_read(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the definite-length TLV at ``pos`` (ValueError on
    indefinite lengths, multi-byte tags or overruns: callers then fall back to asn1crypto)."""
    if pos + 2 > end:
        raise ValueError("truncated")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tag")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 8 or pos + count > end:
            raise ValueError("indefinite or oversized length")
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise ValueError("overrun")
    return tag, pos, pos + length


_OID_DATA = asn1_cms.ContentType("data").dump()
_OID_ENVELOPED = asn1_cms.ContentType("enveloped_data").dump()


def encrypt(
    data: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    cipher: str = "aes256_cbc",
    oaep: bool = False,
    oaep_hash: str = "sha256",
) -> bytes:
    """DER ContentInfo/EnvelopedData: ``cipher`` content encryption, RSA key transport per
    recipient (PKCS#1 v1.5, or OAEP with MGF1 over ``oaep_hash``).

    The small structures come from asn1crypto; the (large) ciphertext is placed into the DER
    with one join, without asn1crypto's repeated copies.
    """
    if cipher not in CIPHERS:
        raise ValueError(f"unsupported cipher {cipher!r}")
    key_size = int(cipher[3:6]) // 8
    content_key = os.urandom(key_size)
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(content_key), modes.CBC(iv)).encryptor()
    pad = 16 - len(data) % 16
    main = encryptor.update(data)
    tail = encryptor.update(bytes([pad]) * pad) + encryptor.finalize()
    infos = []
    for cert in recipients:
        public = cert.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("only RSA recipients are supported")
        if oaep:
            h = _hash(oaep_hash)
            encrypted_key = public.encrypt(
                content_key, padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
            )
            key_alg = asn1_cms.KeyEncryptionAlgorithm(
                {
                    "algorithm": "rsaes_oaep",
                    "parameters": asn1_algos.RSAESOAEPParams(
                        {
                            "hash_algorithm": {"algorithm": oaep_hash},
                            "mask_gen_algorithm": {
                                "algorithm": "mgf1",
                                "parameters": {"algorithm": oaep_hash},
                            },
                        }
                    ),
                }
            )
        else:
            encrypted_key = public.encrypt(content_key, padding.PKCS1v15())
            key_alg = asn1_cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"})
        asn_cert = _der_cert(cert)
        infos.append(
            asn1_cms.RecipientInfo(
                {
                    "ktri": asn1_cms.KeyTransRecipientInfo(
                        {
                            "version": "v0",
                            "rid": asn1_cms.RecipientIdentifier(
                                {
                                    "issuer_and_serial_number": asn1_cms.IssuerAndSerialNumber(
                                        {
                                            "issuer": asn_cert.issuer,
                                            "serial_number": asn_cert.serial_number,
                                        }
                                    )
                                }
                            ),
                            "key_encryption_algorithm": key_alg,
                            "encrypted_key": encrypted_key,
                        }
                    )
                }
            )
        )
    recipient_infos: bytes = asn1_cms.RecipientInfos(infos).dump()
    algorithm: bytes = asn1_cms.EncryptionAlgorithm(
        {"algorithm": cipher, "parameters": asn1_core.OctetString(iv)}
    ).dump()
    version = b"\x02\x01\x00"
    ct_len = len(main) + len(tail)
    ct_hdr = _der_header(0x80, ct_len)  # [0] IMPLICIT OCTET STRING
    eci_len = len(_OID_DATA) + len(algorithm) + len(ct_hdr) + ct_len
    eci_hdr = _der_header(0x30, eci_len)
    env_len = len(version) + len(recipient_infos) + len(eci_hdr) + eci_len
    env_hdr = _der_header(0x30, env_len)
    explicit_hdr = _der_header(0xA0, len(env_hdr) + env_len)
    info_len = len(_OID_ENVELOPED) + len(explicit_hdr) + len(env_hdr) + env_len
    return b"".join(
        [
            _der_header(0x30, info_len),
            _OID_ENVELOPED,
            explicit_hdr,
            env_hdr,
            version,
            recipient_infos,
            eci_hdr,
            _OID_DATA,
            algorithm,
            ct_hdr,
            main,
            tail,
        ]
    )


@dataclass(frozen=True)
class Decrypted:
    content: bytes
    cipher: str  # asn1crypto name: aes128_cbc, aes256_cbc, tripledes_3key
    key_transport: str  # rsaes_pkcs1v15 | rsaes_oaep
    certificate: x509.Certificate  # which of our certificates the key was found for


def _unwrap_key(key: rsa.RSAPrivateKey, ktri: Any) -> bytes:
    alg = ktri["key_encryption_algorithm"]
    name = alg["algorithm"].native
    encrypted_key = ktri["encrypted_key"].native
    if name == "rsaes_pkcs1v15":
        return key.decrypt(encrypted_key, padding.PKCS1v15())
    if name == "rsaes_oaep":
        params = alg["parameters"]
        h = _hash(params["hash_algorithm"]["algorithm"].native)
        mgf = _hash(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
        label = params["p_source_algorithm"]["parameters"].native or None
        oaep = padding.OAEP(mgf=padding.MGF1(mgf), algorithm=h, label=label)
        return key.decrypt(encrypted_key, oaep)
    raise DecryptionFailed(f"unsupported key transport {name}")


def _decrypt_content(alg: Any, ciphertext: bytes | memoryview, content_key: bytes) -> bytes:
    name = alg["algorithm"].native
    if name in CIPHERS:
        block: algorithms.AES | TripleDES = algorithms.AES(content_key)
        size = 16
    elif name == "tripledes_3key":
        block = TripleDES(content_key)
        size = 8
    else:
        raise DecryptionFailed(f"unsupported content encryption {name}")
    iv = alg["parameters"].native
    decryptor = Cipher(block, modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    pad = padded[-1] if padded else 0
    if not 1 <= pad <= size or padded[-pad:] != bytes([pad]) * pad:
        raise ValueError("bad padding")
    return padded[:-pad]


def _enveloped_parts(der: bytes) -> tuple[list[Any], Any, bytes | memoryview]:
    """(key-transport recipients, content encryption algorithm, ciphertext) of an EnvelopedData.

    DER is walked by hand so the ciphertext is not copied; BER (indefinite lengths, chunked
    octet strings) goes through asn1crypto.
    """
    try:
        end = len(der)
        tag, start, end = _der_read(der, 0, end)
        _, _, oid_end = _der_read(der, start, end)
        if tag != 0x30 or der[start:oid_end] != _OID_ENVELOPED:
            raise ValueError("not enveloped-data")
        tag, start, end = _der_read(der, oid_end, end)  # [0] EXPLICIT
        tag2, pos, env_end = _der_read(der, start, end)  # EnvelopedData SEQUENCE
        if tag != 0xA0 or tag2 != 0x30:
            raise ValueError("unexpected tags")
        _, _, pos = _der_read(der, pos, env_end)  # version
        tag, _, ri_end = _der_read(der, pos, env_end)
        if tag == 0xA0:  # originatorInfo
            pos = ri_end
            tag, _, ri_end = _der_read(der, pos, env_end)
        if tag != 0x31:
            raise ValueError("no recipientInfos")
        ri_tlv = der[pos:ri_end]
        _, eci_start, eci_end = _der_read(der, ri_end, env_end)
        _, _, type_end = _der_read(der, eci_start, eci_end)
        _, _, alg_end = _der_read(der, type_end, eci_end)
        tag, ct_start, ct_end = _der_read(der, alg_end, eci_end)
        if tag != 0x80:
            raise ValueError("constructed or missing encryptedContent")
        infos = asn1_cms.RecipientInfos.load(ri_tlv)
        algorithm = asn1_cms.EncryptionAlgorithm.load(der[type_end:alg_end])
        recipients = [ri.chosen for ri in infos if ri.name == "ktri"]
        return recipients, algorithm, memoryview(der)[ct_start:ct_end]
    except ValueError:
        pass
    enveloped = _content_info(der, "enveloped_data", DecryptionFailed)
    try:
        recipients = [ri.chosen for ri in enveloped["recipient_infos"] if ri.name == "ktri"]
        eci = enveloped["encrypted_content_info"]
        ciphertext = eci["encrypted_content"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise DecryptionFailed(f"malformed EnvelopedData: {exc}") from exc
    if ciphertext is None:
        raise DecryptionFailed("EnvelopedData has no encrypted content")
    return recipients, eci["content_encryption_algorithm"], ciphertext


def cipher_profile_name(name: str) -> str:
    """``tripledes_3key`` -> ``des-ede3-cbc`` (the profile spelling), else the name as is."""
    return _PROFILE_NAMES.get(name, name)


def decrypt(
    der: bytes,
    keys: Sequence[KeyPair],
    *,
    accepted: Collection[str] = DEFAULT_ACCEPTED_CIPHERS,
) -> Decrypted:
    """Decrypt EnvelopedData with whichever of ``keys`` it was encrypted to.

    ``accepted``: content-encryption algorithms (asn1crypto names) we agree to; any other one —
    3DES unless listed, RC2, DES, ... — is refused (`DecryptionFailed`) before any key is used.
    Recipients are matched by issuer+serial or subject key identifier; if none matches, every key
    is tried on every RSA recipient (peers that got our serial number wrong).
    """
    recipients, algorithm, ciphertext = _enveloped_parts(der)
    try:
        cipher_name = str(algorithm["algorithm"].native)
    except (ValueError, TypeError, KeyError) as exc:
        raise DecryptionFailed(f"malformed content encryption algorithm: {exc}") from exc
    if cipher_name not in accepted:
        allowed = ", ".join(sorted(cipher_profile_name(c) for c in accepted)) or "none"
        raise DecryptionFailed(
            f"content encryption {cipher_profile_name(cipher_name)} is not accepted "
            f"for this partner (accepted: {allowed})"
        )
    if not recipients:
        raise DecryptionFailed("no RSA key-transport recipient")
    if not keys:
        raise DecryptionFailed("no private key configured")
    pairs = [(k, c, r) for k, c in keys for r in recipients]
    flags = [_sid_matches(r["rid"], c) for _, c, r in pairs]
    matched = any(flags)
    attempts = [p for p, f in zip(pairs, flags, strict=True) if f]
    attempts += [p for p, f in zip(pairs, flags, strict=True) if not f]
    last: Exception | None = None
    for key, cert, ktri in attempts:
        try:
            content_key = _unwrap_key(key, ktri)
            content = _decrypt_content(algorithm, ciphertext, content_key)
        except DecryptionFailed:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            last = exc
            continue
        transport = ktri["key_encryption_algorithm"]["algorithm"].native
        return Decrypted(content, algorithm["algorithm"].native, transport, cert)
    hint = "" if matched else " (not encrypted to any of our certificates)"
    raise DecryptionFailed(f"could not decrypt{hint}: {last}")


# ---------------------------------------------------------------------------------------------
# CompressedData (RFC 3274)


def compress(data: bytes, level: int = 6) -> bytes:
    compressed = asn1_cms.CompressedData(
        {
            "version": "v0",
            "compression_algorithm": {"algorithm": "zlib"},
            "encap_content_info": {
                "content_type": "data",
                "content": asn1_cms.ParsableOctetString(zlib.compress(data, level)),
            },
        }
    )
    info = asn1_cms.ContentInfo({"content_type": "compressed_data", "content": compressed})
    return cast(bytes, info.dump())


def decompress(
    der: bytes, *, limit: int = DEFAULT_DECOMPRESS_LIMIT, chunk: int = DECOMPRESS_CHUNK
) -> bytes:
    """The content of a CompressedData, inflated at most ``chunk`` bytes at a time and refused
    (`DecompressionFailed`) as soon as it passes ``limit`` bytes: a bomb costs at most
    ``limit + chunk`` bytes of output, never its announced size."""
    compressed = _content_info(der, "compressed_data", DecompressionFailed)
    try:
        algorithm = compressed["compression_algorithm"]["algorithm"].native
        if algorithm != "zlib":
            raise DecompressionFailed(f"unsupported compression {algorithm}")
        content = compressed["encap_content_info"]["content"]
        data = content.native if not isinstance(content, asn1_core.Void) else None
        if data is None:
            raise DecompressionFailed("CompressedData has no content")
        return _inflate(bytes(data), limit, chunk)
    except DecompressionFailed:
        raise
    except (ValueError, TypeError, KeyError, zlib.error) as exc:
        raise DecompressionFailed(f"cannot decompress: {exc}") from exc


def _inflate(data: bytes, limit: int, chunk: int) -> bytes:
    inflater = zlib.decompressobj()
    parts: list[bytes] = []
    total = 0
    pending = data
    while True:
        piece = inflater.decompress(pending, chunk)
        total += len(piece)
        if total > limit:
            raise DecompressionFailed(
                f"decompressed content is over the limit of {limit} bytes (refused)"
            )
        parts.append(piece)
        pending = inflater.unconsumed_tail
        if inflater.eof:
            return b"".join(parts)
        if not pending and not piece:
            raise DecompressionFailed("cannot decompress: truncated zlib stream")
