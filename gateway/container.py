"""The container image's entrypoint (``python -m gateway.container [gateway run options]``).

The image carries the demo partners and their published keys (for ``GATEWAY_DEMO=1``), so it
must never serve them by accident: without ``GATEWAY_DEMO=1`` it starts only with a mounted
configuration (``GATEWAY_CONFIG``, default ``/etc/gateway/gateway.toml``) and partner
directory (``GATEWAY_PARTNERS_DIR``, default ``/etc/gateway/partners``) that hold no demo
profile and no demo key, and otherwise refuses with a message that says what to mount.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "gateway.toml"
DEMO_PARTNERS = ROOT / "partners"
CONFIG = "/etc/gateway/gateway.toml"
PARTNERS = "/etc/gateway/partners"

_DEMO_PROFILE = re.compile(rb"<partner\b[^>]*\bdemo\s*=\s*[\"'](?:true|1)[\"']")


def plan(env: Mapping[str, str], args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(``gateway`` arguments to run, problems); the command is empty when there are problems."""
    if env.get("GATEWAY_DEMO") == "1":
        demo = ["--config", str(DEMO_CONFIG), "--partners", str(DEMO_PARTNERS)]
        return ["run", *demo, *args], []
    config = Path(env.get("GATEWAY_CONFIG") or CONFIG)
    partners = Path(env.get("GATEWAY_PARTNERS_DIR") or PARTNERS)
    problems: list[str] = []
    if not config.is_file():
        problems.append(f"no configuration file at {config}: mount yours")
    elif b"config/demo/" in config.read_bytes():
        problems.append(f"{config} uses the published demo keys (config/demo/...)")
    profiles = sorted(partners.glob("*.xml")) if partners.is_dir() else []
    if not profiles:
        problems.append(f"no partner profiles (*.xml) in {partners}: mount yours")
    for profile in profiles:
        if _DEMO_PROFILE.search(profile.read_bytes()[:4096]):
            problems.append(f'{profile} is a demo profile (demo="true")')
    if problems:
        return [], problems
    return ["run", "--config", str(config), "--partners", str(partners), *args], []


def main(argv: Sequence[str] | None = None) -> int:
    command, problems = plan(os.environ, sys.argv[1:] if argv is None else argv)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(
            "The image does not serve the demo partners and their published keys unless asked:\n"
            "  mount a config at $GATEWAY_CONFIG (/etc/gateway/gateway.toml) and partner profiles\n"
            "  at $GATEWAY_PARTNERS_DIR (/etc/gateway/partners), or run with -e GATEWAY_DEMO=1\n"
            "  to try the demo.",
            file=sys.stderr,
        )
        return 2
    python = sys.executable
    os.execv(python, [python, "-m", "gateway.cli", *command])  # noqa: S606 - no shell wanted
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
