"""Message Disposition Notifications for AS2 (RFC 3798, RFC 4130 §7.4), sans-IO.

``build_mdn`` answers an `InboundMessage` (processed) or an `As2Error` (its disposition):
multipart/report; report-type=disposition-notification with a human-readable text/plain part and a
message/disposition-notification part, wrapped in multipart/signed when a key is given.  The
headers returned go on the synchronous HTTP response, or on the POST of an asynchronous MDN.

``parse_mdn`` reads an MDN we receive for a message we sent, verifies its signature against the
partner's certificates, and exposes the disposition and Received-Content-MIC.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence

from cryptography import x509

from gateway.as2 import cms
from gateway.as2.errors import As2Error, IntegrityCheckFailed, MdnError
from gateway.as2.message import PKCS7_SIGNATURE
from gateway.as2.mic import DEFAULT_MICALG, Mic, hash_name
from gateway.as2.mime import (
    Entity,
    Headers,
    MimeError,
    base64_lines,
    build_entity,
    build_multipart,
    canonicalize,
    format_params,
    make_boundary,
    multipart_parts,
    parse_entity,
    parse_headers,
)
from gateway.as2.model import (
    AS2_VERSION,
    As2Request,
    InboundMessage,
    Mdn,
    OutboundMdn,
    make_message_id,
    quote_as2_name,
    strip_message_id,
    unquote_as2_name,
)

DEFAULT_UA = "edi-gateway AS2"
ACTION = "automatic-action/MDN-sent-automatically"


def build_mdn(
    source: InboundMessage | As2Error,
    *,
    sign_with: cms.KeyPair | None = None,
    micalg: str | None = None,
    disposition: str | None = None,
    text: str | None = None,
    reporting_ua: str = DEFAULT_UA,
    message_id: str | None = None,
    date: str | None = None,
) -> OutboundMdn:
    """An MDN for ``source``.

    ``disposition`` overrides the one implied by ``source`` (``processed`` for a message, the
    error's own otherwise), e.g. ``processed/Error: unexpected-processing-error`` when storing
    the payload failed.  ``micalg`` (default: the algorithm chosen from the sender's
    signed-receipt-micalg) also names the MDN signature's digest.  An error raised before the
    AS2 headers were read has no `request` and cannot be answered with an MDN (ValueError).
    """
    if isinstance(source, InboundMessage):
        request: As2Request | None = source.request
        mic: Mic | None = source.mic
        disp = disposition or "processed"
        detail = None
    else:
        request = source.request
        mic = source.mic
        disp = disposition or source.disposition
        detail = source.detail
    if request is None:
        raise ValueError("no AS2 request to answer (headers missing)")
    alg = micalg or (request.mdn.micalg if request.mdn else DEFAULT_MICALG)
    digest = hash_name(alg) or "sha256"
    own_name = request.as2_to
    mid = message_id or make_message_id(own_name)
    human = text or _default_text(request, disp, detail)

    fields = [
        ("Reporting-UA", reporting_ua),
        ("Original-Recipient", f"rfc822; {own_name}"),
        ("Final-Recipient", f"rfc822; {own_name}"),
        ("Original-Message-ID", f"<{request.message_id}>"),
    ]
    if mic is not None:
        fields.append(("Received-Content-MIC", str(mic)))
    fields.append(("Disposition", f"{ACTION}; {disp}"))
    report_fields = "".join(f"{n}: {v}\r\n" for n, v in fields).encode("utf-8")

    text_part = build_entity(
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "7bit")],
        canonicalize(human.encode("utf-8")) + b"\r\n",
    )
    notification_part = build_entity(
        [
            ("Content-Type", "message/disposition-notification"),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        report_fields,
    )
    boundary = make_boundary()
    report_type = format_params(
        "multipart/report",
        [("report-type", "disposition-notification"), ("boundary", boundary)],
    )
    report_body = build_multipart([text_part, notification_part], boundary)
    top_type = report_type
    body = report_body
    if sign_with is not None:
        report_entity = build_entity([("Content-Type", report_type)], report_body)
        key, cert = sign_with
        signature = cms.sign_detached(report_entity, key, cert, digest=digest)
        sig_entity = build_entity(
            [
                ("Content-Type", 'application/pkcs7-signature; name="smime.p7s"'),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", 'attachment; filename="smime.p7s"'),
            ],
            base64_lines(signature),
        )
        outer = make_boundary()
        top_type = format_params(
            "multipart/signed",
            [("protocol", "application/pkcs7-signature"), ("micalg", alg), ("boundary", outer)],
        )
        body = build_multipart([report_entity, sig_entity], outer)
    headers = [
        ("AS2-Version", AS2_VERSION),
        ("MIME-Version", "1.0"),
        ("Message-ID", f"<{mid}>"),
        ("AS2-From", quote_as2_name(own_name)),
        ("AS2-To", quote_as2_name(request.as2_from)),
        ("Date", date or email.utils.formatdate(usegmt=True)),
        ("Subject", "Message Disposition Notification"),
        ("Content-Type", top_type),
    ]
    return OutboundMdn(
        headers=headers,
        body=body,
        message_id=mid,
        original_message_id=request.message_id,
        disposition=f"{ACTION}; {disp}",
        signed=sign_with is not None,
    )


def _default_text(request: As2Request, disposition: str, detail: str | None) -> str:
    head = f"The AS2 message {request.message_id!r} from {request.as2_from} to {request.as2_to}"
    if disposition == "processed":
        return (
            f"{head} was received and its content successfully processed.\n"
            "This is no guarantee that the content has been read or understood."
        )
    return f"{head} could not be processed: {disposition}.\n{detail or ''}".rstrip()


def parse_mdn(
    headers: Mapping[str, str] | Headers,
    body: bytes,
    *,
    verify_with: Sequence[x509.Certificate] = (),
    require_signature: bool = True,
) -> Mdn:
    """Read an MDN (sync response or async POST).  A signed MDN must verify with one of
    ``verify_with``; an unsigned one is refused when ``require_signature``.  Raises `MdnError`."""
    h = Headers.of(headers)
    try:
        top = Entity(h, body, body)
        ct = top.content_type
        signed = False
        signer: x509.Certificate | None = None
        if ct.mime_type == "multipart/signed":
            parts = multipart_parts(body, ct.param("boundary") or "")
            if len(parts) != 2:
                raise MdnError(f"signed MDN with {len(parts)} parts")
            content, sig_raw = parts
            sig_entity = parse_entity(sig_raw)
            if sig_entity.content_type.mime_type not in PKCS7_SIGNATURE:
                raise MdnError(f"unsupported MDN signature {sig_entity.content_type.mime_type}")
            signature = sig_entity.decoded_body()
            try:
                try:
                    verified = cms.verify_detached(content, signature, verify_with)
                except IntegrityCheckFailed:
                    canonical = canonicalize(content)
                    if canonical is content:
                        raise
                    verified = cms.verify_detached(canonical, signature, verify_with)
            except As2Error as exc:
                raise MdnError(f"MDN signature: {exc.disposition}: {exc.detail}") from exc
            signed, signer = True, verified.certificate
            report = parse_entity(content)
        elif require_signature:
            raise MdnError(f"unsigned MDN ({ct.mime_type}) where a signed one was requested")
        else:
            report = top
        rct = report.content_type
        if rct.mime_type != "multipart/report":
            raise MdnError(f"not an MDN: {rct.mime_type}")
        notification: Headers | None = None
        text = ""
        for raw in multipart_parts(report.body, rct.param("boundary") or ""):
            part = parse_entity(raw)
            ptype = part.content_type.mime_type
            if ptype == "message/disposition-notification" and notification is None:
                notification = parse_headers(part.decoded_body())
            elif ptype == "text/plain" and not text:
                charset = part.content_type.param("charset") or "utf-8"
                text = part.decoded_body().decode(charset, "replace")
    except MimeError as exc:
        raise MdnError(f"malformed MDN: {exc}") from exc
    except LookupError as exc:
        raise MdnError(f"malformed MDN text part: {exc}") from exc
    if notification is None:
        raise MdnError("MDN has no message/disposition-notification part")
    disposition = notification.get("disposition")
    if not disposition:
        raise MdnError("MDN has no Disposition field")
    _, _, status = disposition.partition(";")
    status = status.strip()
    disposition_type, _, modifier = status.partition("/")
    mic_value = notification.get("received-content-mic")
    try:
        mic = Mic.parse(mic_value) if mic_value else None
    except ValueError as exc:
        raise MdnError(str(exc)) from exc
    original = notification.get("original-message-id")
    message_id = h.get("message-id")
    as2_from = h.get("as2-from")
    as2_to = h.get("as2-to")
    return Mdn(
        message_id=strip_message_id(message_id) if message_id else None,
        original_message_id=strip_message_id(original) if original else None,
        as2_from=unquote_as2_name(as2_from) if as2_from else None,
        as2_to=unquote_as2_name(as2_to) if as2_to else None,
        disposition=disposition,
        disposition_type=disposition_type.strip().lower(),
        modifier=modifier.strip() or None,
        mic=mic,
        signed=signed,
        signer_certificate=signer,
        reporting_ua=notification.get("reporting-ua"),
        final_recipient=notification.get("final-recipient"),
        text=text,
    )
