"""Benchmark AS2 round trips: gateway.as2 (bytes MIME) against a stdlib-``email`` MIME baseline.

    .venv/bin/python scripts/bench_as2.py [--sizes 100000,5000000] [--seconds 3]

One round trip = build a signed + encrypted message (RSA-2048/SHA-256, AES-256-CBC), parse it
(decrypt + verify + MIC), build a signed MDN, parse and verify that MDN, check the MIC.  Both
sides use the same CMS code (gateway.as2.cms) with the DEMO keys in config/demo/as2/, so the
ratio measures the MIME handling: the baseline builds with email.mime and parses with
email.message_from_bytes, re-serialising parts with as_bytes() the way email-based AS2 stacks
compute MICs and verify signatures.  Prints messages/s for each and the ratio (the goal is
>= 5x at 5 MB); never pass/fail.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import hashlib
import sys
import time
from collections.abc import Callable
from email import encoders
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.as2 import (  # noqa: E402
    KeyPair,
    PartnerAs2,
    build_mdn,
    build_outbound,
    cms,
    load_certificates,
    load_private_key,
    parse_inbound,
    parse_mdn,
)

AS2_DIR = ROOT / "config" / "demo" / "as2"
POLICY = email.policy.HTTP  # CRLF line ends, no line length limit


def key_pair(stem: str) -> KeyPair:
    return (
        load_private_key((AS2_DIR / f"{stem}.key").read_bytes()),
        load_certificates((AS2_DIR / f"{stem}.crt").read_bytes())[0],
    )


BILLING = key_pair("demo-billing")
GATEWAY = key_pair("clearinghouse")
PARTNER = PartnerAs2("DEMOBILLING", certificates=[BILLING[1]])


def payload_of(size: int) -> bytes:
    segment = b"CLM*A37YH556*500***11:B:1*Y*A*Y*I~\nSV1*HC:99213*500*UN*1***1~\n"
    return (segment * (size // len(segment) + 1))[:size]


# --------------------------------------------------------------------------------------------
# gateway.as2


def ours(payload: bytes) -> None:
    out = build_outbound(
        payload,
        as2_from="DEMOBILLING",
        as2_to="CLEARINGHOUSE",
        filename="claims.837",
        sign_with=BILLING,
        encrypt_to=GATEWAY[1],
        mdn_to="edi@demo-billing.example",
    )
    msg = parse_inbound(
        dict(out.headers),
        out.body,
        find_partner=lambda _f, _t: PARTNER,
        own_keys=lambda _t: [GATEWAY],
    )
    assert msg.payload == payload
    mdn = build_mdn(msg, sign_with=GATEWAY)
    receipt = parse_mdn(dict(mdn.headers), mdn.body, verify_with=[GATEWAY[1]])
    assert receipt.is_positive(out.mic)


# --------------------------------------------------------------------------------------------
# stdlib email baseline (same CMS code, MIME via the email package)


def _bytes(part: Message) -> bytes:
    return part.as_bytes(policy=POLICY)


def _signed(content: Message, key_cert: KeyPair) -> Message:
    signature = cms.sign_detached(_bytes(content), key_cert[0], key_cert[1])
    sig = MIMEApplication(signature, "pkcs7-signature", name="smime.p7s", policy=POLICY)
    del sig["MIME-Version"]
    signed = MIMEMultipart(
        "signed", protocol="application/pkcs7-signature", micalg="sha-256", policy=POLICY
    )
    del signed["MIME-Version"]
    signed.attach(content)
    signed.attach(sig)
    return signed


def _verify_first_part(signed: Message, raw: bytes, certs: list[object]) -> tuple[Message, bytes]:
    parts = signed.get_payload()
    assert isinstance(parts, list)
    content, sig = parts
    signature = sig.get_payload(decode=True)
    data = _bytes(content)  # re-serialised, as email-based stacks do first
    try:
        cms.verify_detached(data, signature, certs)  # type: ignore[arg-type]
    except cms.IntegrityCheckFailed:
        # ... then fall back to the part cut out of the raw bytes (as pyas2lib does).
        delimiter = b"--" + str(signed.get_boundary()).encode()
        data = raw.split(delimiter)[1][2:-2]
        cms.verify_detached(data, signature, certs)  # type: ignore[arg-type]
    return content, data


def baseline(payload: bytes) -> None:
    # build
    part = MIMEApplication(payload, "edi-x12", encoders.encode_7or8bit, policy=POLICY)
    del part["MIME-Version"]
    part.add_header("Content-Disposition", "attachment", filename="claims.837")
    signed = _signed(part, BILLING)
    signed_bytes = _bytes(signed)
    mic_sent = base64.b64encode(hashlib.sha256(_bytes(part)).digest()).decode()
    body = cms.encrypt(signed_bytes, [GATEWAY[1]])
    # parse
    decrypted = cms.decrypt(body, [GATEWAY]).content
    message = email.message_from_bytes(decrypted, policy=POLICY)
    content, data = _verify_first_part(message, decrypted, [BILLING[1]])
    mic = base64.b64encode(hashlib.sha256(data).digest()).decode()
    received = content.get_payload(decode=True)
    assert isinstance(received, bytes)
    # email re-serialises bare LFs as CRLF (it alters binary payloads): compare modulo that.
    assert received.replace(b"\r\n", b"\n") == payload.replace(b"\r\n", b"\n")
    # MDN
    report = MIMEMultipart("report", report_type="disposition-notification", policy=POLICY)
    del report["MIME-Version"]
    report.attach(MIMEText("The message was received and processed.\n", policy=POLICY))
    notification = Message(policy=POLICY)
    notification.set_type("message/disposition-notification")
    notification.set_payload(
        "Reporting-UA: bench\r\nOriginal-Message-ID: <x@y>\r\n"
        f"Received-Content-MIC: {mic}, sha-256\r\n"
        "Disposition: automatic-action/MDN-sent-automatically; processed\r\n"
    )
    report.attach(notification)
    mdn_bytes = _bytes(_signed(report, GATEWAY))
    # parse MDN
    mdn = email.message_from_bytes(mdn_bytes, policy=POLICY)
    report_part, _ = _verify_first_part(mdn, mdn_bytes, [GATEWAY[1]])
    fields = report_part.get_payload()[1]
    text = (
        fields.get_payload() if not fields.is_multipart() else fields.get_payload()[0].as_string()
    )
    assert f"Received-Content-MIC: {mic_sent}, sha-256" in str(text)


def rate(fn: Callable[[bytes], None], payload: bytes, seconds: float) -> float:
    fn(payload)  # warm up (and check)
    count, start = 0, time.perf_counter()
    while True:
        fn(payload)
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and count >= 2:
            return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,5000000", help="payload sizes in bytes")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    print("AS2 round trip: sign+encrypt -> decrypt+verify+MIC -> signed MDN -> verify MDN")
    print(f"{'payload':>10} {'gateway.as2 msg/s':>18} {'email baseline msg/s':>21} {'ratio':>7}")
    for size in (int(s) for s in args.sizes.split(",")):
        payload = payload_of(size)
        fast = rate(ours, payload, args.seconds)
        slow = rate(baseline, payload, args.seconds)
        print(f"{size:>10} {fast:>18.1f} {slow:>21.2f} {fast / slow:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
