"""API tokens: profile loading (hash only, file:line problems) and bearer authentication."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.api.auth import (
    AuthFailure,
    Caller,
    authenticate,
    main,
    new_token,
    token_digest,
)
from gateway.config import PROJECT_ROOT
from gateway.errors import ConfigError
from gateway.profiles import load_partners
from tests.test_profiles import submitter, write

PARTNERS = PROJECT_ROOT / "partners"
DEMO_README = PROJECT_ROOT / "config" / "demo" / "README.md"
TOKEN_RE = re.compile(r"\b((?:demo-billing|ext01)-1\.[A-Za-z0-9_\-]{43})\b")


def api(*tokens: tuple[str, str]) -> str:
    lines = "".join(f'\n    <token id="{tid}">{value}</token>' for tid, value in tokens)
    return f"\n  <api>{lines}\n  </api>"


def test_new_token_shape_and_digest() -> None:
    token, stored = new_token("acme-1")
    token_id, _, secret = token.partition(".")
    assert token_id == "acme-1" and len(secret) == 43  # 256 bits, base64url
    assert stored == "sha256:" + token_digest(token).hex()
    assert new_token("acme-1")[0] != token
    with pytest.raises(ValueError):
        new_token("Bad.Id")


def test_profile_tokens_load_and_authenticate(tmp_path: Path) -> None:
    token, stored = new_token("acme-1")
    old, old_stored = new_token("acme-0")
    write(tmp_path, "acme.xml", submitter(extra=api(("acme-1", stored), ("acme-0", old_stored))))
    partners = load_partners(tmp_path)
    acme = partners.partners["acme"]
    assert [t.id for t in acme.api_tokens] == ["acme-1", "acme-0"]
    assert acme.api_tokens[0].sha256 == token_digest(token)
    for good in (token, old):  # two tokens during a rotation
        result = authenticate(partners, b"Bearer " + good.encode())
        assert isinstance(result, Caller) and result.partner.id == "acme"
    assert isinstance(authenticate(partners, b"bearer " + token.encode()), Caller)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        (b"", "missing"),
        (b"Basic YWNtZTpwdw==", "scheme"),
        (b"Bearer", "malformed"),
        (b"Bearer acme-1", "malformed"),
        (b"Bearer acme-1.short", "malformed"),
        (b"Bearer \xff\xfe", "malformed"),
        (b"Bearer nobody-1." + b"A" * 43, "unknown"),
        (b"Bearer acme-1." + b"A" * 43, "mismatch"),
    ],
)
def test_bad_headers(tmp_path: Path, header: bytes | None, reason: str) -> None:
    _, stored = new_token("acme-1")
    write(tmp_path, "acme.xml", submitter(extra=api(("acme-1", stored))))
    result = authenticate(load_partners(tmp_path), header)
    assert isinstance(result, AuthFailure) and result.reason == reason


def test_plaintext_token_in_profile_rejected_and_not_echoed(tmp_path: Path) -> None:
    token, _ = new_token("acme-1")
    write(tmp_path, "acme.xml", submitter(extra=api(("acme-1", token))))
    with pytest.raises(ConfigError) as info:
        load_partners(tmp_path)
    text = str(info.value)
    assert token not in text and token.split(".")[1] not in text
    (problem,) = info.value.problems
    assert problem.line == 16 and "sha256" in problem.message  # the <token> line


def test_bad_token_id_and_duplicates_name_file_and_line(tmp_path: Path) -> None:
    _, stored = new_token("acme-1")
    write(tmp_path, "a.xml", submitter(extra=api(("acme-1", stored), ("acme-1", stored))))
    with pytest.raises(ConfigError) as info:
        load_partners(tmp_path)
    assert any(
        "unique" in p.message.lower() or "duplicate" in p.message for p in info.value.problems
    )

    (tmp_path / "a.xml").unlink()
    write(tmp_path, "a.xml", submitter(extra=api(("acme-1", stored))))
    write(
        tmp_path, "b.xml", submitter("beta", isa="BETA", user="beta", extra=api(("acme-1", stored)))
    )
    with pytest.raises(ConfigError) as info:
        load_partners(tmp_path)
    (problem,) = info.value.problems
    assert "duplicate API token id 'acme-1'" in problem.message
    assert problem.file.endswith("b.xml") and problem.line == 16
    assert "a.xml:16" in problem.message

    write(
        tmp_path, "b.xml", submitter("beta", isa="BETA", user="beta", extra=api(("Bad_Id", stored)))
    )
    with pytest.raises(ConfigError) as info:
        load_partners(tmp_path)
    (problem,) = info.value.problems
    assert problem.line == 16 and "Bad_Id" in problem.message  # an id may be shown


def test_demo_tokens_documented_and_match_the_profiles() -> None:
    partners = load_partners(PARTNERS)
    found = {}
    for text in (DEMO_README.read_text(), (PROJECT_ROOT / "README.md").read_text()):
        for token in TOKEN_RE.findall(text):
            result = authenticate(partners, f"Bearer {token}".encode())
            assert isinstance(result, Caller), token
            found[result.partner.id] = token
    assert set(found) == {"demo-billing", "ext01"}


def test_token_generator_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["acme-2"]) == 0
    out = capsys.readouterr().out
    token = re.search(r"token .*: (acme-2\.\S+)", out)
    stored = re.search(r'<token id="acme-2">(sha256:[0-9a-f]{64})</token>', out)
    assert token and stored
    assert stored.group(1) == "sha256:" + token_digest(token.group(1)).hex()
    assert main([]) == 2 and main(["NO"]) == 2
