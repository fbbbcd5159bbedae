"""Regenerate the DEMO AS2 keys and self-signed certificates in config/demo/as2/.

    .venv/bin/python scripts/make_demo_as2.py

Writes <name>.key (PKCS#8 PEM, unencrypted) and <name>.crt (self-signed, 10 years) for:
clearinghouse (AS2 name CLEARINGHOUSE), clearinghouse-next (CLEARINGHOUSE, the rollover key),
demo-billing (DEMOBILLING) and ext01 (EXT01).  Demo credentials only: see config/demo/as2/README.md.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "config" / "demo" / "as2"
# file stem -> (AS2 name, organisation)
SPECS = {
    "clearinghouse": ("CLEARINGHOUSE", "Demo Clearinghouse"),
    "clearinghouse-next": ("CLEARINGHOUSE", "Demo Clearinghouse (next)"),
    "demo-billing": ("DEMOBILLING", "Demo Billing Company"),
    "ext01": ("EXT01", "External Payer 01"),
}


def make(stem: str, as2_name: str, org: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{as2_name} AS2 DEMO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{org} - DEMO, NOT FOR PRODUCTION"),
        ]
    )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (OUT / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (OUT / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    print(f"{stem}: AS2 name {as2_name}, serial {cert.serial_number:x}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for stem, (as2_name, org) in SPECS.items():
        make(stem, as2_name, org)
    return 0


if __name__ == "__main__":
    sys.exit(main())
