"""The bytes-level MIME reader/writer: exact part bytes, LF tolerance, parameters, encodings."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.as2 import mime


def test_headers_unfold_and_case_insensitive() -> None:
    h = mime.parse_headers(b"Content-Type: multipart/signed;\r\n\tboundary=abc\r\nX-A: 1\r\nx-a: 2")
    assert h["content-type"] == "multipart/signed; boundary=abc"
    assert h.get("X-A") == "1"
    assert len(h) == 3


def test_header_block_rejects_garbage() -> None:
    with pytest.raises(mime.MimeError):
        mime.parse_headers(b"not a header line\r\n")


@pytest.mark.parametrize(
    ("value", "mime_type", "params"),
    [
        (
            'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; '
            'boundary="----=_Part_1"',
            "multipart/signed",
            {
                "protocol": "application/pkcs7-signature",
                "micalg": "sha-256",
                "boundary": "----=_Part_1",
            },
        ),
        (
            "Application/PKCS7-MIME;smime-type=enveloped-data ; name=smime.p7m",
            "application/pkcs7-mime",
            {"smime-type": "enveloped-data", "name": "smime.p7m"},
        ),
        ('attachment; filename="a \\"b\\".837"', "attachment", {"filename": 'a "b".837'}),
        (None, "text/plain", {}),
    ],
)
def test_content_type(value: str | None, mime_type: str, params: dict[str, str]) -> None:
    ct = mime.parse_content_type(value)
    assert ct.mime_type == mime_type
    assert dict(ct.params) == params


def test_split_entity_crlf_lf_and_no_headers() -> None:
    crlf = b"A: 1\r\nB: 2\r\n\r\nbody\n\nmore"
    assert mime.split_entity(crlf) == (b"A: 1\r\nB: 2", b"body\n\nmore")
    assert mime.split_entity(b"A: 1\nB: 2\n\nbody\r\n\r\n") == (b"A: 1\nB: 2", b"body\r\n\r\n")
    assert mime.split_entity(b"\r\nbody") == (b"", b"body")


def test_multipart_parts_are_exact_bytes() -> None:
    first = b"Content-Type: application/edi-x12\r\n\r\nISA~\r\n--boundaryX is not a delimiter\r\n"
    second = b"Content-Type: application/pkcs7-signature\r\n\r\nAAAA"
    body = b"preamble\r\n--b\r\n" + first + b"\r\n--b \r\n" + second + b"\r\n--b--\r\nepilogue"
    assert mime.multipart_parts(body, "b") == [first, second]


def test_multipart_lf_only_keeps_content_line_ends() -> None:
    # openssl -binary writes LF delimiters around a part whose content ends in its own LF.
    body = b"intro\n\n------X\nA: 1\r\n\r\nGS~\n\n------X\nB: 2\n\nsig\n\n------X--\n"
    assert mime.multipart_parts(body, "----X") == [b"A: 1\r\n\r\nGS~\n", b"B: 2\n\nsig\n"]


def test_multipart_errors() -> None:
    with pytest.raises(mime.MimeError):
        mime.multipart_parts(b"--a\r\nA: 1\r\n\r\nx", "a")
    with pytest.raises(mime.MimeError):
        mime.multipart_parts(b"nothing here", "a")
    with pytest.raises(mime.MimeError):
        mime.multipart_parts(b"--a--", "")


def test_build_then_parse_roundtrip() -> None:
    parts = [mime.build_entity([("X", "1")], b"one\r\n"), mime.build_entity([("Y", "2")], b"two")]
    body = mime.build_multipart(parts, "bnd")
    assert mime.multipart_parts(body, "bnd") == parts


def test_transfer_encodings() -> None:
    data = bytes(range(256))
    assert mime.decode_transfer_encoding(mime.base64_lines(data), "base64") == data
    assert mime.decode_transfer_encoding(b"a=3Db", "Quoted-Printable") == b"a=b"
    assert mime.decode_transfer_encoding(data, None) == data
    with pytest.raises(mime.MimeError):
        mime.decode_transfer_encoding(b"!!!", "base64")
    with pytest.raises(mime.MimeError):
        mime.decode_transfer_encoding(b"x", "x-uuencode")
    assert max(len(line) for line in mime.base64_lines(data * 10).split(b"\r\n")) == 76
    assert base64.b64decode(mime.base64_lines(b"")) == b""


def test_canonicalize() -> None:
    crlf = b"a\r\nb\r\n"
    assert mime.canonicalize(crlf) is crlf
    assert mime.canonicalize(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"


def test_quote() -> None:
    assert mime.quote("sha-256") == "sha-256"
    assert mime.quote("application/pkcs7-signature") == '"application/pkcs7-signature"'
    assert mime.format_params("attachment", [("filename", 'a"b')]) == 'attachment; filename="a\\"b"'


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=200),
            st.sampled_from(["application/edi-x12", "text/plain", "application/pkcs7-mime"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_multipart_roundtrip_any_bytes(parts: list[tuple[bytes, str]]) -> None:
    boundary = mime.make_boundary()
    entities = [mime.build_entity([("Content-Type", ct)], body) for body, ct in parts]
    assert all(boundary.encode() not in e for e in entities)
    raw = mime.multipart_parts(mime.build_multipart(entities, boundary), boundary)
    assert raw == entities
    for (body, ct), part in zip(parts, raw, strict=True):
        entity = mime.parse_entity(part)
        assert entity.body == body and entity.content_type.mime_type == ct
