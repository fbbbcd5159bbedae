"""The image's entrypoint (gateway/container.py): the demo set only when asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.container import DEMO_CONFIG, DEMO_PARTNERS, plan

ROOT = Path(__file__).resolve().parent.parent


def mounted(tmp_path: Path, demo_profile: bool = False, demo_keys: bool = False) -> dict[str, str]:
    config = tmp_path / "gateway.toml"
    key = "config/demo/as2/clearinghouse.key" if demo_keys else "/etc/gateway/as2/ours.key"
    config.write_text(f'[gateway]\ninterchange_id = "OURHOUSE"\n# as2 key: {key}\n')
    partners = tmp_path / "partners"
    partners.mkdir()
    profile = (ROOT / "partners" / "demo-billing.xml").read_text()
    if not demo_profile:
        profile = profile.replace('demo="true"', "")
    (partners / "billing.xml").write_text(profile)
    return {"GATEWAY_CONFIG": str(config), "GATEWAY_PARTNERS_DIR": str(partners)}


def test_without_a_mounted_config_it_refuses_and_says_what_to_mount(tmp_path: Path) -> None:
    env = {"GATEWAY_CONFIG": str(tmp_path / "none.toml"), "GATEWAY_PARTNERS_DIR": str(tmp_path)}
    command, problems = plan(env, [])
    assert command == []
    assert any("no configuration file at" in p and "none.toml" in p for p in problems)
    assert any("no partner profiles" in p for p in problems)


def test_demo_only_when_asked(tmp_path: Path) -> None:
    command, problems = plan({"GATEWAY_DEMO": "1"}, ["--http-listen", "tcp:9"])
    assert problems == []
    assert command == ["run", "--config", str(DEMO_CONFIG), "--partners", str(DEMO_PARTNERS),
                       "--http-listen", "tcp:9"]  # fmt: skip
    env = mounted(tmp_path, demo_profile=True)
    command, problems = plan(env, [])
    assert command == [] and any(
        'billing.xml is a demo profile (demo="true")' in p for p in problems
    )


def test_demo_keys_in_a_mounted_config_are_refused(tmp_path: Path) -> None:
    command, problems = plan(mounted(tmp_path, demo_keys=True), [])
    assert command == [] and any("published demo keys" in p for p in problems)


def test_a_real_config_and_partners_run(tmp_path: Path) -> None:
    env = mounted(tmp_path)
    command, problems = plan(env, ["--sftp-listen", "tcp:0"])
    assert problems == []
    assert command == ["run", "--config", env["GATEWAY_CONFIG"], "--partners",
                       env["GATEWAY_PARTNERS_DIR"], "--sftp-listen", "tcp:0"]  # fmt: skip


def test_the_refusal_is_a_message_and_exit_2_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.container"],
        env={
            "PATH": "/usr/bin:/bin",
            "GATEWAY_CONFIG": str(tmp_path / "x.toml"),
            "GATEWAY_PARTNERS_DIR": str(tmp_path / "p"),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "GATEWAY_DEMO=1" in result.stderr and "Traceback" not in result.stderr


def test_dockerfile_uses_the_entrypoint_and_a_lean_context() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "gateway.container"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)
