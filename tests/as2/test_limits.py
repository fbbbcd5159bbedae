"""Decompression bombs and async-MDN URLs: bounded inflation, one compression layer, the
partner's policy checked before inflating, and the allowlist for Receipt-Delivery-Option."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.as2 import (
    DecompressionFailed,
    InsufficientMessageSecurity,
    async_mdn_url_allowed,
    build_mdn,
    cms,
    parse_inbound,
)
from tests.as2.handmade import compressed_data

from .conftest import Keys, billing_partner, lookups

MiB = 1024 * 1024
COMPRESSED_HEADERS = (
    b"Content-Type: application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n"
)
HEADERS = {
    "AS2-Version": "1.2",
    "AS2-From": "DEMOBILLING",
    "AS2-To": "CLEARINGHOUSE",
    "Message-ID": "<bomb@demobilling>",
    "Content-Type": "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
    "Disposition-Notification-To": "edi@demo-billing.example",
    "Disposition-Notification-Options": (
        "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256"
    ),
}


def _zeros_zlib(mib: int) -> bytes:
    """zlib of an X12 entity header + ``mib`` MiB of zeros, built without holding the zeros."""
    deflater = zlib.compressobj(9)
    out = [deflater.compress(b"Content-Type: application/edi-x12\r\n\r\n")]
    block = bytes(MiB)
    for _ in range(mib):
        out.append(deflater.compress(block))
    out.append(deflater.flush())
    return b"".join(out)


def bomb(mib: int, *, nested: bool) -> bytes:
    """The entity CompressedData(CompressedData(zeros)) — or one layer — as MIME."""
    inner = COMPRESSED_HEADERS + compressed_data(_zeros_zlib(mib))
    if not nested:
        return inner
    return COMPRESSED_HEADERS + compressed_data(zlib.compress(inner, 9))


class Recorder:
    """Wraps zlib.decompressobj for cms: records how many bytes each inflation produced."""

    def __init__(self) -> None:
        self.produced: list[int] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        real = zlib.decompressobj(*args, **kwargs)
        record = self.produced
        record.append(0)
        index = len(record) - 1

        class Shim:
            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                piece = real.decompress(data, max_length)
                record[index] += len(piece)
                return piece

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        return Shim()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    rec = Recorder()

    class ZlibShim:
        error = zlib.error

        def __getattr__(self, name: str) -> Any:
            return getattr(zlib, name)

        decompressobj = staticmethod(rec)

    monkeypatch.setattr(cms, "zlib", ZlibShim())
    yield rec


def encrypted(keys: Keys, entity: bytes) -> bytes:
    return cms.encrypt(entity, [keys.clearinghouse[1]])


def parse(keys: Keys, body: bytes, limit: int, **policy: Any) -> Any:
    partner = billing_partner([keys.billing[1]], **policy)
    return parse_inbound(HEADERS, body, **lookups(partner, [keys.clearinghouse]), max_content=limit)


def test_unsigned_bomb_from_a_partner_that_must_sign_is_refused_before_inflating(
    keys: Keys, recorder: Recorder
) -> None:
    body = encrypted(keys, bomb(64, nested=True))
    assert len(body) < 4096  # 64 MiB of zeros inside
    with pytest.raises(InsufficientMessageSecurity) as caught:
        parse(keys, body, limit=MiB)
    assert "not decompressed" in caught.value.detail
    assert recorder.produced == []  # nothing was inflated at all
    mdn = build_mdn(caught.value)
    assert b"processed/Error: insufficient-message-security" in mdn.body


def test_nested_compression_is_refused_after_one_bounded_layer(
    keys: Keys, recorder: Recorder
) -> None:
    body = encrypted(keys, bomb(64, nested=True))
    with pytest.raises(DecompressionFailed) as caught:
        parse(keys, body, limit=MiB, sign=False)
    assert "compressed data inside compressed data" in caught.value.detail
    assert len(recorder.produced) == 1  # the outer layer only: a few KiB
    assert recorder.produced[0] < 256 * 1024
    mdn = build_mdn(caught.value)
    assert b"processed/Error: decompression-failed" in mdn.body


def test_single_layer_over_the_limit_stops_at_limit_plus_one_chunk(
    keys: Keys, recorder: Recorder
) -> None:
    body = encrypted(keys, bomb(64, nested=False))
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionFailed) as caught:
            parse(keys, body, limit=MiB, sign=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "over the limit of 1048576 bytes" in caught.value.detail
    (produced,) = recorder.produced
    assert MiB < produced <= MiB + cms.DECOMPRESS_CHUNK
    assert peak < 8 * MiB  # not 64 MiB of zeros


def test_content_at_the_limit_is_accepted(keys: Keys) -> None:
    entity = b"Content-Type: application/edi-x12\r\n\r\n" + b"ISA*" + bytes(MiB - 100)
    body = encrypted(keys, COMPRESSED_HEADERS + compressed_data(zlib.compress(entity)))
    msg = parse(keys, body, limit=len(entity), sign=False)
    assert msg.compressed and msg.payload == entity.split(b"\r\n\r\n", 1)[1]
    with pytest.raises(DecompressionFailed):
        parse(keys, body, limit=len(entity) - 1, sign=False)


@pytest.mark.parametrize("chunk", [1, 7, 4096, cms.DECOMPRESS_CHUNK])
def test_decompress_in_steps_matches_zlib(chunk: int) -> None:
    data = bytes(range(256)) * 1000 + bytes(300_000)
    der = compressed_data(zlib.compress(data))
    assert cms.decompress(der, limit=len(data), chunk=chunk) == data
    with pytest.raises(DecompressionFailed):
        cms.decompress(der, limit=len(data) - 1, chunk=chunk)
    with pytest.raises(DecompressionFailed, match="truncated"):
        cms.decompress(compressed_data(zlib.compress(data)[:-10]), limit=len(data), chunk=chunk)


# ---------------------------------------------------------------------- async MDN URLs

ALLOWED = ("https://as2.billing.example/mdn", "https://mdn.billing.example/as2/")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://as2.billing.example/mdn", True),
        ("HTTPS://AS2.billing.example/mdn", True),
        ("https://as2.billing.example/mdn/x", False),  # exact entry: no prefix
        ("https://as2.billing.example/mdn?x=1", False),
        ("https://as2.billing.example/mdn2", False),
        ("http://as2.billing.example/mdn", False),  # another scheme
        ("https://as2.billing.example:8443/mdn", False),  # another port
        ("https://mdn.billing.example/as2/", True),
        ("https://mdn.billing.example/as2/abc?id=1", True),  # under the prefix
        ("https://mdn.billing.example/as2", False),
        ("https://mdn.billing.example/as2/../internal/admin", False),
        ("https://mdn.billing.example/as2/./x", False),
        ("https://mdn.billing.example/as2/%2e%2e/internal/admin", False),  # encoded ..
        ("https://mdn.billing.example/as2/%2E%2E%2Finternal", False),
        ("https://mdn.billing.example/as2/..%5cinternal", False),
        ("https://user@mdn.billing.example/as2/x", False),
        ("https://mdn.billing.example.evil.test/as2/x", False),
        ("https://mdn.billing.example/as2/x y", False),
        ("http://127.0.0.1:9/internal/admin?x=1", False),
        ("mailto:edi@billing.example", False),
        ("", False),
        (None, False),
    ],
)
def test_async_mdn_url_allowlist(url: str | None, ok: bool) -> None:
    assert async_mdn_url_allowed(url, ALLOWED) is ok


def test_no_allowlist_means_never_async() -> None:
    assert not async_mdn_url_allowed("https://as2.billing.example/mdn", ())
    partner = billing_partner([], async_mdn_urls=ALLOWED)
    assert partner.allows_async_mdn("https://mdn.billing.example/as2/1")
    assert not billing_partner([]).allows_async_mdn("https://mdn.billing.example/as2/1")
