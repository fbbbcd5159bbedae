"""Bearer tokens of the HTTP API: ``<token id>.<secret>``, checked against the profile's hash.

A token is ``<id>.<secret>``: the id names the token (and so its partner: ids are unique across
profiles) and the secret is 32 random bytes from :func:`secrets.token_bytes`, base64url without
padding (43 characters). The profile stores ``sha256:<hex>`` of the whole token string and
never the token itself (``<api><token id="...">sha256:...</token></api>``).

Why a plain SHA-256 and not bcrypt/argon2: slow, salted hashes exist to protect *guessable*
secrets (passwords) against offline dictionary attacks. A 256-bit random secret has no
dictionary; reversing its SHA-256 means a 2**256 search, which no amount of hardware makes
feasible, so salting and key stretching add nothing but cost — and bcrypt on every API request
would cost ~50-100 ms of CPU each. SHA-256 is one microsecond. The digest is compared with
:func:`hmac.compare_digest` (constant time), and an unknown token id is compared against a
dummy digest so that both paths do the same work. The token id is not a secret: it appears in
audit events to say which token was used.

Generate a token and its profile line with ``python -m gateway.api.auth <token-id>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass

from gateway.profiles import Partner, PartnerSet

#: Token ids follow the partner id pattern (schemas/partner.xsd, TokenId).
_TOKEN_ID = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
_SECRET = re.compile(r"[A-Za-z0-9_\-]{43,128}")
_DUMMY = hashlib.sha256(b"edi-gateway: no such token").digest()


def token_digest(token: str) -> bytes:
    """The digest the profile keeps for ``token`` (the whole ``<id>.<secret>`` string)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token(token_id: str) -> tuple[str, str]:
    """A fresh token for ``token_id`` and its profile value ``sha256:<hex>``."""
    if not _TOKEN_ID.fullmatch(token_id):
        raise ValueError(f"token id {token_id!r} must match {_TOKEN_ID.pattern}")
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    token = f"{token_id}.{secret}"
    return token, "sha256:" + token_digest(token).hex()


@dataclass(frozen=True)
class Caller:
    """Who an API request authenticated as."""

    partner: Partner
    token_id: str


@dataclass(frozen=True)
class AuthFailure:
    """Why a request did not authenticate (``reason`` is safe to log; never the token)."""

    reason: str
    """``missing``, ``scheme``, ``malformed``, ``unknown`` or ``mismatch``."""
    token_id: str | None = None


def bearer_token(header: bytes | None) -> str | AuthFailure:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    if not header:
        return AuthFailure("missing")
    scheme, _, value = header.partition(b" ")
    if scheme.lower() != b"bearer":
        return AuthFailure("scheme")
    try:
        token = value.strip().decode("ascii")
    except UnicodeDecodeError:
        return AuthFailure("malformed")
    return token


def authenticate(partners: PartnerSet, header: bytes | None) -> Caller | AuthFailure:
    """Check an ``Authorization`` header value against the profiles in force."""
    token = bearer_token(header)
    if isinstance(token, AuthFailure):
        return token
    token_id, dot, secret = token.partition(".")
    if not dot or not _TOKEN_ID.fullmatch(token_id) or not _SECRET.fullmatch(secret):
        return AuthFailure("malformed")
    found = partners.by_api_token(token_id)
    expected = found[1].sha256 if found is not None else _DUMMY
    matches = hmac.compare_digest(token_digest(token), expected)
    if found is None:
        return AuthFailure("unknown", token_id)
    if not matches:
        return AuthFailure("mismatch", token_id)
    return Caller(found[0], token_id)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gateway.api.auth <token-id>", file=sys.stderr)
        return 2
    try:
        token, stored = new_token(args[0])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"token (give it to the partner, store it nowhere else): {token}")
    print(f'profile:  <api><token id="{args[0]}">{stored}</token></api>')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
