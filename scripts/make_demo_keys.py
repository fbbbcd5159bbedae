"""Regenerate the DEMO SSH keys and password hash, and write them into the demo profiles.

    .venv/bin/python scripts/make_demo_keys.py

Overwrites config/demo/keys/{demo-billing,demo-billing-rsa,ext01}[.pub] (ssh-keygen) and the
<public-key>/<password-hash> lines of partners/demo-billing.xml and partners/ext01.xml.
Demo credentials only: see config/demo/README.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import bcrypt

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "config" / "demo" / "keys"
PARTNERS = ROOT / "partners"
DEMO_PASSWORD = b"demo-billing-password"
# (key file, ssh-keygen arguments)
KEY_SPECS = {
    "demo-billing": ["-t", "ed25519"],
    "demo-billing-rsa": ["-t", "rsa", "-b", "3072"],
    "ext01": ["-t", "ed25519"],
}
PROFILE_KEYS = {"demo-billing.xml": ["demo-billing", "demo-billing-rsa"], "ext01.xml": ["ext01"]}


def generate(name: str, args: list[str]) -> str:
    private = KEYS / name
    for path in (private, private.with_name(name + ".pub")):
        path.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", *args, "-N", "", "-C", name, "-f", str(private)], check=True
    )
    return private.with_name(name + ".pub").read_text().strip()


def main() -> int:
    KEYS.mkdir(parents=True, exist_ok=True)
    public = {name: generate(name, args) for name, args in KEY_SPECS.items()}
    hashed = bcrypt.hashpw(DEMO_PASSWORD, bcrypt.gensalt(rounds=10)).decode()
    for profile, names in PROFILE_KEYS.items():
        path = PARTNERS / profile
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\n *<public-key>.*?</public-key>", "", text)
        indent = "      "
        lines = "".join(f"\n{indent}<public-key>{public[n]}</public-key>" for n in names)
        text = re.sub(
            r"(<user name=\"[^\"]+\">)", lambda m, block=lines: m.group(1) + block, text, count=1
        )
        text = re.sub(
            r"<password-hash>.*?</password-hash>",
            lambda _m: f"<password-hash>{hashed}</password-hash>",
            text,
        )
        path.write_text(text, encoding="utf-8")
        print(f"updated {path.relative_to(ROOT)}")
    print("private keys are written 0600; git will store them as 0644 (see config/demo/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
