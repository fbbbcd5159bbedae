"""Disposition-Notification-Options parsing and the MIC algorithm choice (RFC 4130 §7.3)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from gateway.as2.errors import UnsupportedFormat, UnsupportedMicAlgorithms
from gateway.as2.mic import Mic, choose_micalg, compute_mic, parse_receipt_options

OPTIONS = "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, {}"


@pytest.mark.parametrize(
    ("requested", "chosen"),
    [
        ("sha256", "sha256"),
        ("sha-256", "sha-256"),
        ("SHA1, sha256", "SHA1"),
        ("md5, sha-1", "sha-1"),
        ("sha384", "sha384"),
        ("sha-512", "sha-512"),
        ("md5", "sha-256"),  # optional and nothing supported: our default
    ],
)
def test_first_supported_as_spelled(requested: str, chosen: str) -> None:
    assert choose_micalg(parse_receipt_options(OPTIONS.format(requested))) == chosen


def test_required_and_unsupported_fails() -> None:
    options = parse_receipt_options(
        "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, md5"
    )
    with pytest.raises(UnsupportedMicAlgorithms) as err:
        choose_micalg(options)
    assert err.value.disposition == "failed/Failure: unsupported MIC-algorithms"


def test_required_unknown_protocol_fails() -> None:
    options = parse_receipt_options("signed-receipt-protocol=required, pgp-signature")
    with pytest.raises(UnsupportedFormat):
        choose_micalg(options)


def test_partner_allowed_digests() -> None:
    options = parse_receipt_options(OPTIONS.format("sha1, sha-256"))
    assert choose_micalg(options, allowed={"sha256"}) == "sha-256"
    assert choose_micalg(options, allowed={"sha-1"}) == "sha1"


def test_no_options() -> None:
    options = parse_receipt_options(None)
    assert not options.signed
    assert choose_micalg(options) == "sha-256"


def test_signed_flag() -> None:
    assert parse_receipt_options(OPTIONS.format("sha256")).signed


def test_compute_and_match() -> None:
    data = b"payload"
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    mic = compute_mic(data, "sha256")
    assert mic == Mic(expected, "sha256")
    assert str(mic) == f"{expected}, sha256"
    assert mic.matches(Mic.parse(f" {expected} , SHA-256"))
    assert not mic.matches(compute_mic(data, "sha1"))
    assert not mic.matches(None)
    with pytest.raises(ValueError):
        Mic.parse("no-algorithm")
    with pytest.raises(ValueError):
        compute_mic(data, "md5")
