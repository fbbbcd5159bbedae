"""Shared AS2 fixtures: the DEMO keys in config/demo/as2, partner policies, lookups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from gateway.as2 import KeyPair, PartnerAs2, load_certificates, load_private_key

AS2_DIR = Path(__file__).resolve().parents[2] / "config" / "demo" / "as2"
PAYLOAD = b"ISA*00*          *00*          *ZZ*DEMOBILLING    *ZZ*CLEARINGHOUSE  *~\nGS*HC~\n" * 50


def key_pair(stem: str) -> KeyPair:
    key = load_private_key((AS2_DIR / f"{stem}.key").read_bytes())
    cert = load_certificates((AS2_DIR / f"{stem}.crt").read_bytes())[0]
    return key, cert


@dataclass
class Keys:
    clearinghouse: KeyPair
    clearinghouse_next: KeyPair
    billing: KeyPair
    ext01: KeyPair


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        key_pair("clearinghouse"),
        key_pair("clearinghouse-next"),
        key_pair("demo-billing"),
        key_pair("ext01"),
    )


def billing_partner(
    certs: Sequence[x509.Certificate],
    *,
    sign: bool = True,
    encrypt: bool = True,
    digests: frozenset[str] | None = None,
    ciphers: frozenset[str] | None = None,
    async_mdn_urls: tuple[str, ...] = (),
) -> PartnerAs2:
    extra: dict[str, object] = {"accepted_ciphers": ciphers} if ciphers is not None else {}
    return PartnerAs2(
        "DEMOBILLING",
        certificates=list(certs),
        require_signature=sign,
        require_encryption=encrypt,
        allowed_digests=digests,
        partner_id="demo-billing",
        async_mdn_urls=async_mdn_urls,
        **extra,  # type: ignore[arg-type]
    )


def lookups(partner: PartnerAs2, own: Sequence[KeyPair]) -> dict[str, Callable[..., object]]:
    """find_partner / own_keys callables for parse_inbound: DEMOBILLING -> CLEARINGHOUSE only."""

    def find_partner(as2_from: str, as2_to: str) -> PartnerAs2 | None:
        return partner if (as2_from, as2_to) == ("DEMOBILLING", "CLEARINGHOUSE") else None

    def own_keys(as2_to: str) -> list[KeyPair]:
        return list(own) if as2_to == "CLEARINGHOUSE" else []

    return {"find_partner": find_partner, "own_keys": own_keys}
