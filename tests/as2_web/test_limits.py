"""POST /as2 with a decompression bomb and with ciphers the profile does or does not accept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import pytest_twisted

from gateway.as2 import cms, parse_mdn
from gateway.config import HttpConfig
from tests.as2.test_limits import bomb
from tests.as2_web.conftest import (
    AS2_DIR,
    CLEARINGHOUSE,
    MakeEnv,
    claims,
    message,
    partners_copy,
)

ENVELOPED = "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m"
MiB = 1024 * 1024


def mdn_of(answer):  # type: ignore[no-untyped-def]
    assert answer.status == 200, answer.body
    return parse_mdn(answer.headers, answer.body, verify_with=[CLEARINGHOUSE[1]])


def _edit_demo_billing(old: str, new: str):  # type: ignore[no-untyped-def]
    def edit(name: str, text: str) -> str:
        if name != "demo-billing.xml":
            return text
        assert old in text
        return text.replace(old, new, 1)

    return edit


def unsigned_ok(directory: Path) -> Path:
    return partners_copy(
        directory,
        _edit_demo_billing(
            "<require-signature>true</require-signature>",
            "<require-signature>false</require-signature>",
        ),
    )


def bomb_headers(message_id: str) -> list[tuple[str, str]]:
    headers, _, _ = message(b"x", message_id=message_id)
    return [(n, v) for n, v in headers if n != "Content-Type"] + [("Content-Type", ENVELOPED)]


@pytest_twisted.ensureDeferred
async def test_bomb_is_refused_before_inflating_or_at_the_body_limit(
    make_env: MakeEnv, tmp_path: Path
) -> None:
    # the daemon passes [http] max_body; the default matches it
    assert cms.DEFAULT_DECOMPRESS_LIMIT == HttpConfig().max_body
    strict = await make_env()
    loose = await make_env(partners_dir=unsigned_ok(tmp_path / "partners"))
    for env in (strict, loose):
        env.receiver.max_content = MiB
    nested = cms.encrypt(bomb(32, nested=True), [CLEARINGHOUSE[1]])
    single = cms.encrypt(bomb(32, nested=False), [CLEARINGHOUSE[1]])
    cases = [
        (strict, nested, "insufficient-message-security"),  # unsigned: nothing inflated
        (strict, single, "insufficient-message-security"),
        (loose, nested, "decompression-failed"),  # one layer only
        (loose, single, "decompression-failed"),  # over the limit
    ]
    for n, (env, body, expected) in enumerate(cases):
        mdn = mdn_of(await env.post(bomb_headers(f"bomb-{n}@demobilling"), body))
        assert mdn.disposition.endswith(f"processed/Error: {expected}"), (n, mdn.disposition)
    for env in (strict, loose):
        assert await env.files() == [] and env.staged() == []
    # Under the limit, compressed inside the encryption: accepted as before.
    payload = claims(120)
    entity = b"Content-Type: application/edi-x12\r\n\r\n" + payload
    inner = (
        b"Content-Type: application/pkcs7-mime; smime-type=compressed-data\r\n\r\n"
        + cms.compress(entity)
    )
    answer = await loose.post(
        bomb_headers("small@demobilling"), cms.encrypt(inner, [CLEARINGHOUSE[1]])
    )
    assert mdn_of(answer).processed
    assert len(await loose.files()) == 1


def _openssl_message(cipher: str) -> bytes:
    entity = (
        b"Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n"
        b'Content-Disposition: attachment; filename="claims.837"\r\n\r\n' + claims(121)
    )
    signer = [
        "-signer",
        str(AS2_DIR / "demo-billing.crt"),
        "-inkey",
        str(AS2_DIR / "demo-billing.key"),
    ]
    signed = subprocess.run(
        ["openssl", "cms", "-sign", "-binary", "-md", "sha256", *signer],
        input=entity,
        capture_output=True,
        check=True,
    ).stdout
    recip = ["-recip", str(AS2_DIR / "clearinghouse.crt"), cipher, "-outform", "DER"]
    return subprocess.run(
        ["openssl", "cms", "-encrypt", "-binary", *recip],
        input=signed,
        capture_output=True,
        check=True,
    ).stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
@pytest_twisted.ensureDeferred
async def test_3des_is_refused_unless_the_profile_lists_it(
    make_env: MakeEnv, tmp_path: Path
) -> None:
    des3 = _openssl_message("-des3")
    aes = _openssl_message("-aes256")
    env = await make_env()
    mdn = mdn_of(await env.post(bomb_headers("des3-1@demobilling"), des3))
    assert mdn.disposition.endswith("processed/Error: decryption-failed")
    assert "des-ede3-cbc is not accepted" in mdn.text
    assert await env.files() == []
    assert mdn_of(await env.post(bomb_headers("aes-1@demobilling"), aes)).processed
    # <cipher>des-ede3-cbc</cipher> (and aes256-cbc) in the profile: an old peer gets through.
    listed = await make_env(
        partners_dir=partners_copy(
            tmp_path / "partners",
            _edit_demo_billing(
                "<cipher>aes256-cbc</cipher>",
                "<cipher>aes256-cbc</cipher>\n    <cipher>des-ede3-cbc</cipher>",
            ),
        )
    )
    assert mdn_of(await listed.post(bomb_headers("des3-2@demobilling"), des3)).processed
    assert len(await listed.files()) == 1
