"""Inbound AS2 message parsing and outbound message building (RFC 4130, RFC 5402), sans-IO.

``parse_inbound`` unwraps any legal nesting of encryption (CMS EnvelopedData), signing
(multipart/signed with a detached CMS signature) and compression (CMS CompressedData), checks the
partner's policy, and computes the MIC per RFC 4130 §7.3.1:

- signed: over the first part of the (outermost) multipart/signed, headers included, exactly as
  received — the same bytes the signature covers (retried in canonical CRLF form when a sender
  signed the canonical form but sent bare LFs);
- encrypted, unsigned: over the decrypted MIME entity (header block in canonical CRLF form, the
  body as is unless it is text/*);
- neither: over the message content without any headers, i.e. the HTTP body.

Whatever goes wrong raises an `As2Error` carrying the MDN disposition and what was known so far.

Bounds (an unauthenticated stranger must not make us allocate much): content encryption only as
the partner's policy accepts (AES-CBC by default); at most one CompressedData layer, inflated in
bounded steps up to ``max_content`` bytes; and compression found outside a signature from a
partner that must sign is refused (``insufficient-message-security``) before it is inflated.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509

from gateway.as2 import cms
from gateway.as2.errors import (
    As2Error,
    DecompressionFailed,
    DecryptionFailed,
    InsufficientMessageSecurity,
    IntegrityCheckFailed,
    UnexpectedProcessingError,
    UnknownPartner,
)
from gateway.as2.mic import (
    DEFAULT_MICALG,
    Mic,
    choose_micalg,
    compute_mic,
    hash_name,
    parse_receipt_options,
)
from gateway.as2.mime import (
    Entity,
    Headers,
    MimeError,
    base64_lines,
    build_entity,
    build_multipart,
    canonicalize,
    disposition_filename,
    format_params,
    make_boundary,
    multipart_parts,
    parse_content_type,
    parse_entity,
    parse_headers,
    split_entity,
)
from gateway.as2.model import (
    AS2_VERSION,
    As2Request,
    InboundMessage,
    MdnRequest,
    OutboundMessage,
    PartnerAs2,
    make_message_id,
    quote_as2_name,
    strip_message_id,
    unquote_as2_name,
)

FindPartner = Callable[[str, str], PartnerAs2 | None]
OwnKeys = Callable[[str], Sequence[cms.KeyPair]]

PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")
MAX_LAYERS = 8


def parse_request(headers: Mapping[str, str] | Headers) -> As2Request:
    """The AS2 envelope from the HTTP headers (case-insensitive).  Missing AS2-From, AS2-To or
    Message-ID → `UnexpectedProcessingError` with no request attached."""
    h = Headers.of(headers)
    missing = [name for name in ("AS2-From", "AS2-To", "Message-ID") if not h.get(name)]
    if missing:
        raise UnexpectedProcessingError(f"missing header(s): {', '.join(missing)}")
    mdn = None
    to = h.get("disposition-notification-to")
    options = parse_receipt_options(h.get("disposition-notification-options"))
    if to:
        async_url = (h.get("receipt-delivery-option") or "").strip() or None
        mdn = MdnRequest(to=to, options=options, micalg=DEFAULT_MICALG, async_url=async_url)
    return As2Request(
        message_id=strip_message_id(h["message-id"]),
        as2_from=unquote_as2_name(h["as2-from"]),
        as2_to=unquote_as2_name(h["as2-to"]),
        as2_version=h.get("as2-version"),
        subject=h.get("subject"),
        mdn=mdn,
    )


def _mic_source_for_entity(raw: bytes) -> bytes:
    """An unsigned entity as the MIC covers it: header block in CRLF form, text bodies too."""
    try:
        block, body = split_entity(raw)
    except MimeError:
        return canonicalize(raw)
    headers = parse_headers_safe(block)
    text = parse_content_type(headers.get("content-type")).mime_type.startswith("text/")
    binary = (headers.get("content-transfer-encoding") or "").strip().lower() == "binary"
    canon_block = canonicalize(block)
    if canon_block is block and (binary or not text):
        return raw  # already canonical: no copy
    return canon_block + b"\r\n\r\n" + (canonicalize(body) if text and not binary else body)


def parse_headers_safe(block: bytes) -> Headers:
    try:
        return parse_headers(block)
    except MimeError:
        return Headers()


@dataclass
class _State:
    signed: bool = False
    encrypted: bool = False
    compressed: bool = False
    max_content: int = cms.DEFAULT_DECOMPRESS_LIMIT
    signed_source: bytes | None = None
    signed_digest: tuple[str, bytes] | None = None  # (hash, digest of signed_source)
    encrypted_source: bytes | None = None
    verified: cms.Verified | None = None
    decrypted: cms.Decrypted | None = None


def parse_inbound(
    headers: Mapping[str, str] | Headers,
    body: bytes,
    *,
    find_partner: FindPartner,
    own_keys: OwnKeys,
    max_content: int = cms.DEFAULT_DECOMPRESS_LIMIT,
) -> InboundMessage:
    """Parse, decrypt, verify and decompress one inbound AS2 message.

    ``find_partner(as2_from, as2_to)`` returns the sender's policy or None (unknown sender);
    ``own_keys(as2_to)`` returns our (private key, certificate) pairs for that AS2 name — several
    during a certificate rollover — or nothing when the name is not ours.  ``max_content``: the
    most bytes decompression may produce (the body limit), refused (``decompression-failed``)
    beyond it.  An error carries ``authenticated`` True when the partner's signature had verified.
    """
    h = Headers.of(headers)
    request = parse_request(h)
    state = _State(max_content=max_content)
    mic: Mic | None = None
    try:
        keys = list(own_keys(request.as2_to))
        if not keys:
            raise UnknownPartner("AS2-To", request.as2_to)
        partner = find_partner(request.as2_from, request.as2_to)
        if partner is None:
            raise UnknownPartner("AS2-From", request.as2_from)
        if request.mdn is not None:
            micalg = choose_micalg(request.mdn.options, allowed=partner.allowed_digests)
            request = _with_micalg(request, micalg)
        micalg = request.mdn.micalg if request.mdn is not None else DEFAULT_MICALG
        top_type = parse_content_type(h.get("content-type")).mime_type
        if partner.require_encryption and top_type not in (*PKCS7_MIME, "multipart/signed"):
            # Cheap early refusal; encryption inside a signature is checked after unwrapping.
            raise InsufficientMessageSecurity(
                f"partner {partner.as2_name!r} must encrypt; got {top_type}"
            )
        entity = Entity(h, body, body)
        entity = _unwrap(entity, partner, keys, state)
        if partner.require_encryption and not state.encrypted:
            raise InsufficientMessageSecurity(f"partner {partner.as2_name!r} must encrypt")
        if partner.require_signature and not state.signed:
            raise InsufficientMessageSecurity(f"partner {partner.as2_name!r} must sign")
        mic = _compute_mic(body, state, micalg)
        payload = entity.decoded_body()
        content_type = entity.headers.get("content-type") or "application/octet-stream"
        return InboundMessage(
            request=request,
            partner=partner,
            payload=payload,
            content_type=content_type,
            filename=disposition_filename(entity.headers.get("content-disposition")),
            signed=state.signed,
            encrypted=state.encrypted,
            compressed=state.compressed,
            mic=mic,
            signer_certificate=state.verified.certificate if state.verified else None,
            signature_digest=state.verified.digest_algorithm if state.verified else None,
            decryption_certificate=state.decrypted.certificate if state.decrypted else None,
            cipher=state.decrypted.cipher if state.decrypted else None,
            key_transport=state.decrypted.key_transport if state.decrypted else None,
            payload_headers=tuple(entity.headers) if entity.headers is not h else (),
        )
    except As2Error as exc:
        exc.request = request
        exc.authenticated = state.verified is not None
        if exc.mic is None and isinstance(exc, IntegrityCheckFailed | InsufficientMessageSecurity):
            # The sender can still compare what we received with what it sent.
            try:
                alg = request.mdn.micalg if request.mdn else DEFAULT_MICALG
                exc.mic = mic or _compute_mic(body, state, alg)
            except (ValueError, MimeError):
                exc.mic = None
        raise
    except MimeError as exc:
        error = UnexpectedProcessingError(f"malformed MIME: {exc}")
        error.request = request
        raise error from exc


def _with_micalg(request: As2Request, micalg: str) -> As2Request:
    assert request.mdn is not None
    mdn = MdnRequest(request.mdn.to, request.mdn.options, micalg, request.mdn.async_url)
    return As2Request(
        request.message_id,
        request.as2_from,
        request.as2_to,
        request.as2_version,
        request.subject,
        mdn,
    )


def _unwrap(
    entity: Entity, partner: PartnerAs2, keys: Sequence[cms.KeyPair], state: _State
) -> Entity:
    for _ in range(MAX_LAYERS):
        ct = entity.content_type
        if ct.mime_type in PKCS7_MIME:
            der = entity.decoded_body()
            smime = (ct.param("smime-type") or "").lower()
            kind = {
                "enveloped-data": "enveloped_data",
                "compressed-data": "compressed_data",
                "signed-data": "signed_data",
            }.get(smime) or cms.content_info_type(der)
            if kind == "enveloped_data":
                decrypted = cms.decrypt(der, keys, accepted=partner.accepted_ciphers)
                state.encrypted = True
                state.decrypted = state.decrypted or decrypted
                if state.encrypted_source is None and state.signed_source is None:
                    state.encrypted_source = decrypted.content
                entity = _inner_entity(decrypted.content, "decrypted", DecryptionFailed)
            elif kind == "compressed_data":
                if state.compressed:
                    raise DecompressionFailed("compressed data inside compressed data (refused)")
                if partner.require_signature and not state.signed:
                    # Compression outside the signature: nothing has authenticated the sender
                    # yet, so nothing is inflated for it (RFC 5402 allows compressing before
                    # signing, which this partner must do).
                    raise InsufficientMessageSecurity(
                        f"partner {partner.as2_name!r} must sign; compressed data outside a "
                        "signature is not decompressed"
                    )
                state.compressed = True
                inflated = cms.decompress(der, limit=state.max_content)
                entity = _inner_entity(inflated, "decompressed", DecompressionFailed)
            elif kind is None and ct.param("smime-type") is None:
                raise DecryptionFailed("application/pkcs7-mime body is not CMS")
            else:
                raise UnexpectedProcessingError(f"unsupported S/MIME type {smime or kind!r}")
        elif ct.mime_type == "multipart/signed":
            entity = _verify_signed(entity, ct.param("boundary") or "", partner, state)
        else:
            return entity
    raise UnexpectedProcessingError(f"more than {MAX_LAYERS} nested S/MIME layers")


def _inner_entity(data: bytes, what: str, error: type[As2Error]) -> Entity:
    try:
        return parse_entity(data)
    except MimeError as exc:
        raise error(f"{what} content is not a MIME entity: {exc}") from exc


def _verify_signed(entity: Entity, boundary: str, partner: PartnerAs2, state: _State) -> Entity:
    parts = multipart_parts(entity.body, boundary)
    if len(parts) != 2:
        raise IntegrityCheckFailed(f"multipart/signed with {len(parts)} parts (expected 2)")
    content, signature_part = parts
    sig_entity = parse_entity(signature_part)
    if sig_entity.content_type.mime_type not in PKCS7_SIGNATURE:
        raise UnexpectedProcessingError(
            f"unsupported signature type {sig_entity.content_type.mime_type}"
        )
    signature = sig_entity.decoded_body()
    try:
        verified = cms.verify_detached(content, signature, partner.certificates)
        signed_bytes = content
    except IntegrityCheckFailed:
        canonical = canonicalize(content)
        if canonical is content:
            raise
        verified = cms.verify_detached(canonical, signature, partner.certificates)
        signed_bytes = canonical
    if partner.allowed_digests is not None:
        allowed = {hash_name(a) or a.lower() for a in partner.allowed_digests}
        if verified.digest_algorithm not in allowed:
            raise InsufficientMessageSecurity(
                f"signature digest {verified.digest_algorithm} not allowed for this partner"
            )
    if state.signed_source is None:
        state.signed_source = signed_bytes
        state.signed_digest = (verified.digest_algorithm, verified.content_digest)
        state.verified = verified
    state.signed = True
    return parse_entity(content)


def _compute_mic(body: bytes, state: _State, micalg: str) -> Mic:
    if state.signed_source is not None:
        if state.signed_digest is not None and state.signed_digest[0] == hash_name(micalg):
            return Mic(base64.b64encode(state.signed_digest[1]).decode("ascii"), micalg)
        return compute_mic(state.signed_source, micalg)
    if state.encrypted_source is not None:
        return compute_mic(_mic_source_for_entity(state.encrypted_source), micalg)
    return compute_mic(body, micalg)


# ---------------------------------------------------------------------------------------------
# Outbound


def build_outbound(
    payload: bytes,
    *,
    as2_from: str,
    as2_to: str,
    message_id: str | None = None,
    content_type: str = "application/edi-x12",
    filename: str | None = None,
    sign_with: cms.KeyPair | None = None,
    encrypt_to: x509.Certificate | Sequence[x509.Certificate] | None = None,
    cipher: str = "aes256_cbc",
    oaep: bool = False,
    compress: bool = False,
    compress_before_sign: bool = True,
    micalg: str = DEFAULT_MICALG,
    mdn_to: str | None = None,
    mdn_signed: bool = True,
    mdn_micalgs: Iterable[str] | None = None,
    async_mdn_url: str | None = None,
    subject: str | None = None,
    date: str | None = None,
) -> OutboundMessage:
    """Build an AS2 message: payload entity, then compress / sign / compress / encrypt.

    The returned headers are the HTTP request headers (the outermost entity's Content-Type
    included) and ``mic`` is what a positive MDN must return in Received-Content-MIC.
    ``mdn_to`` (Disposition-Notification-To) None asks for no MDN.
    """
    hash_ = hash_name(micalg)
    if hash_ is None:
        raise ValueError(f"unsupported micalg {micalg!r}")
    mid = message_id or make_message_id(as2_from)
    disposition = format_params("attachment", [("filename", filename)] if filename else [])
    entity_headers: list[tuple[str, str]] = [
        ("Content-Type", content_type),
        ("Content-Transfer-Encoding", "binary"),
        ("Content-Disposition", disposition),
    ]
    entity_body = payload
    entity = build_entity(entity_headers, payload)
    signed_digest: bytes | None = None

    def compressed(inner: bytes) -> tuple[list[tuple[str, str]], bytes]:
        return (
            [
                (
                    "Content-Type",
                    'application/pkcs7-mime; smime-type=compressed-data; name="smime.p7z"',
                ),
                ("Content-Transfer-Encoding", "binary"),
                ("Content-Disposition", 'attachment; filename="smime.p7z"'),
            ],
            cms.compress(inner),
        )

    if compress and compress_before_sign:
        entity_headers, entity_body = compressed(entity)
        entity = build_entity(entity_headers, entity_body)
    if sign_with is not None:
        key, cert = sign_with
        signed_digest = hashlib.new(hash_, entity).digest()
        signature = cms.sign_detached(entity, key, cert, digest=hash_, content_digest=signed_digest)
        sig_entity = build_entity(
            [
                ("Content-Type", 'application/pkcs7-signature; name="smime.p7s"'),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", 'attachment; filename="smime.p7s"'),
            ],
            base64_lines(signature),
        )
        boundary = make_boundary()
        entity_headers = [
            (
                "Content-Type",
                format_params(
                    "multipart/signed",
                    [
                        ("protocol", "application/pkcs7-signature"),
                        ("micalg", micalg),
                        ("boundary", boundary),
                    ],
                ),
            )
        ]
        entity_body = build_multipart([entity, sig_entity], boundary)
        entity = build_entity(entity_headers, entity_body)
    if compress and not compress_before_sign:
        entity_headers, entity_body = compressed(entity)
        entity = build_entity(entity_headers, entity_body)
    encrypted_source: bytes | None = None
    if encrypt_to is not None:
        recipients = [encrypt_to] if isinstance(encrypt_to, x509.Certificate) else list(encrypt_to)
        encrypted_source = entity
        entity_headers = [
            (
                "Content-Type",
                'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
            ),
            ("Content-Transfer-Encoding", "binary"),
            ("Content-Disposition", 'attachment; filename="smime.p7m"'),
        ]
        entity_body = cms.encrypt(entity, recipients, cipher=cipher, oaep=oaep)

    if signed_digest is not None:
        mic = Mic(base64.b64encode(signed_digest).decode("ascii"), micalg)
    elif encrypted_source is not None:
        mic = compute_mic(_mic_source_for_entity(encrypted_source), micalg)
    else:
        mic = compute_mic(entity_body, micalg)

    headers: list[tuple[str, str]] = [
        ("AS2-Version", AS2_VERSION),
        ("MIME-Version", "1.0"),
        ("Message-ID", f"<{mid}>"),
        ("AS2-From", quote_as2_name(as2_from)),
        ("AS2-To", quote_as2_name(as2_to)),
        ("Date", date or email.utils.formatdate(usegmt=True)),
        ("Subject", subject or "AS2 message"),
    ]
    if mdn_to is not None:
        headers.append(("Disposition-Notification-To", mdn_to))
        if mdn_signed:
            algs = ", ".join(mdn_micalgs or [micalg])
            headers.append(
                (
                    "Disposition-Notification-Options",
                    "signed-receipt-protocol=optional, pkcs7-signature; "
                    f"signed-receipt-micalg=optional, {algs}",
                )
            )
        if async_mdn_url:
            headers.append(("Receipt-Delivery-Option", async_mdn_url))
    headers += [(n, v) for n, v in entity_headers if n.lower() != "content-transfer-encoding"]
    return OutboundMessage(headers=headers, body=entity_body, message_id=mid, mic=mic)
