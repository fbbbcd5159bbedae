"""The ``gateway`` command and the twistd plugin, run as real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import dbs

ROOT = Path(__file__).resolve().parent.parent


def gateway(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        **kwargs,  # type: ignore[call-overload]
    )


def test_check_config_demo_set_is_clean() -> None:
    result = gateway("check-config")
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_check_config_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    partners = tmp_path / "partners"
    shutil.copytree(ROOT / "partners", partners)
    profile = partners / "demo-billing.xml"
    text = profile.read_text().replace('npi="1234567893"', 'npi="1234567890"')
    profile.write_text(text)
    (partners / "ext01.xml").write_text("<partner><oops></partner>\n")
    config = tmp_path / "gateway.toml"
    config.write_text('[sftp]\nlisten = "tcp:notaport"\n[pipeline]\nworkers = -1\n')
    result = gateway("check-config", "--config", str(config), "--partners", str(partners))
    assert result.returncode == 1
    err = result.stderr
    assert f"{config}:2:" in err  # the bad listen string, by line
    assert f"{config}:4:" in err  # workers
    assert f"{profile}:" in err and "1234567890" in err
    assert f"{partners / 'ext01.xml'}:1:" in err


def test_run_with_a_bad_config_exits_with_the_problem(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[gateway]\ninterchange_id = 'WAY TOO LONG FOR ISA06'\n")
    result = gateway("run", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert f"{config}:2:" in result.stderr
    assert "Traceback" not in result.stderr


def test_twistd_plugin_runs_the_daemon(tmp_path: Path) -> None:
    data = tmp_path / "data"
    twistd = Path(sys.executable).with_name("twistd")
    proc = subprocess.Popen(
        [
            str(twistd),
            "-n",
            "--pidfile=",
            "gateway",
            "--data-dir",
            str(data),
            "--sftp-listen",
            "tcp:0:interface=127.0.0.1",
            "--http-listen",
            "tcp:0:interface=127.0.0.1",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, GATEWAY_PIPELINE_HOLD="1"),
    )
    try:
        deadline = time.monotonic() + 30
        while not (data / "ports.json").exists():
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "twistd gateway did not start"
            time.sleep(0.05)
        ports = json.loads((data / "ports.json").read_text())
        assert ports["sftp"] > 0 and ports["http"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    events = [json.loads(line)["event"] for line in (data / "log" / "audit.jsonl").open()]
    assert events[0] == "gateway.started" and events[-1] == "gateway.stopped"


def test_check_config_reports_payer_configuration_errors(tmp_path: Path) -> None:
    partners = tmp_path / "partners"
    shutil.copytree(ROOT / "partners", partners)
    fees = partners / "payers" / "sim01" / "fee_schedule.csv"
    lines = fees.read_text().splitlines()
    lines[2] = "99213,not-a-number"
    fees.write_text("\n".join(lines) + "\n")
    plans = partners / "payers" / "sim02" / "plans.toml"
    plans.write_text(plans.read_text() + "\n[broken\n")
    result = gateway("check-config", "--partners", str(partners))
    assert result.returncode == 1
    assert f"{fees}:3" in result.stderr
    assert f"{plans}:" in result.stderr


def test_bad_paths_are_errors_not_tracebacks(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    no_store = (  # SQLite: a data directory without a store (PostgreSQL always has one)
        ("payers", "run-cycle", "--data-dir", str(tmp_path / "none")),
        ("trace", "X", "--data-dir", str(tmp_path / "none")),
    )
    for args in (
        ("audit", "tail", "--log", str(tmp_path)),
        ("run", "--data-dir", str(a_file)),
        *(no_store if dbs.BASE is None else ()),
    ):
        result = gateway(*args)
        assert result.returncode in (1, 2), args
        assert "Traceback" not in result.stderr and result.stderr.strip(), args
    assert not (tmp_path / "none").exists()  # looking never creates a store


def test_bans_list_and_lift(tmp_path: Path) -> None:
    from gateway.store.logins import LoginBlock, LoginBlocks
    from gateway.store.sqlite import Store

    now = time.time()
    store = Store(dbs.configured(tmp_path / "gateway.sqlite3"))
    table = LoginBlocks(store)
    table.put(LoginBlock("address", "192.0.2.7", now + 600, "3 user names failed", now))
    table.put(LoginBlock("user", "acme", now + 300, "wrong passwords", now))
    table.put(LoginBlock("user", "old", now - 1, "wrong passwords", now - 900))
    store.close()
    data = ("--data-dir", str(tmp_path))

    listed = gateway("bans", "list", *data)
    assert listed.returncode == 0, listed.stderr
    assert "address 192.0.2.7: until" in listed.stdout
    assert "password of user acme: until" in listed.stdout
    assert "old" not in listed.stdout  # expired
    as_json = json.loads(gateway("bans", "list", "--json", *data).stdout)
    assert {(b["kind"], b["subject"]) for b in as_json} == {
        ("address", "192.0.2.7"),
        ("user", "acme"),
    }

    lifted = gateway("bans", "lift", "192.0.2.7", *data)
    assert lifted.returncode == 0, lifted.stderr
    assert "lifted the ban of address 192.0.2.7" in lifted.stdout
    assert gateway("bans", "lift", "192.0.2.7", *data).returncode == 1
    assert "192.0.2.7" not in gateway("bans", "list", *data).stdout

    if dbs.BASE is not None:  # PostgreSQL: no data directory without a store
        return
    missing = gateway("bans", "list", "--data-dir", str(tmp_path / "none"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert not (tmp_path / "none").exists()


def test_an_unreachable_database_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/none"
    env = dict(os.environ, GATEWAY_DATABASE_URL=url)
    for args in (
        ("run", "--data-dir", str(tmp_path), "--sftp-listen", "tcp:0", "--http-listen", "tcp:0"),
        ("trace", "X", "--data-dir", str(tmp_path)),
        ("bans", "list", "--data-dir", str(tmp_path)),
    ):
        result = gateway(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
        assert f"{url} (set by GATEWAY_DATABASE_URL): cannot connect" in result.stderr, args
    config = tmp_path / "gateway.toml"
    config.write_text(f'[gateway]\ndata_dir = "var"\n\n[store]\nurl = "{url}"\n')
    env.pop("GATEWAY_DATABASE_URL")
    result = gateway("trace", "X", "--config", str(config), env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"(set by [store] url in {config}:5): cannot connect" in result.stderr


def test_claim_status_prints_the_answer_as_a_table(tmp_path: Path) -> None:
    from gateway.pipeline.routing import route_file
    from gateway.store.sqlite import Store
    from tests.pipeline.test_claim_status import request_for
    from tests.pipeline.test_routing import NOW, Env, _one_claim

    env = Env(tmp_path)
    env.store.close()
    env.store = Store(dbs.configured(tmp_path / "gateway.sqlite3"))
    data = _one_claim(8801)
    record = env.upload(data)
    route_file(env.store, env.blobs, record, partners=env.partners, config=env.config, now=NOW)
    env.cycle("sim01")
    env.store.close()
    asked = request_for(data)
    args = ("claim-status", "--partner", "demo-billing", "--payer", "SIM01",
            "--npi", asked.provider_npi, "--member", asked.subscriber.member_id,
            "--last-name", asked.subscriber.last_name, "--claim", asked.claim_id,
            "--data-dir", str(tmp_path))  # fmt: skip
    shown = gateway(*args)
    assert shown.returncode == 0, shown.stderr
    assert "F1:65  Finalized: payment" in shown.stdout
    assert "Payment" in shown.stdout and "check SIM01" in shown.stdout
    assert "Procedure" in shown.stdout  # the service lines
    as_json = json.loads(gateway(*args, "--json").stdout)
    assert as_json["status"][0]["statusCategoryCode"] == "F1"
    other = gateway(*args[:-2], "--partner", "ext01", "--data-dir", str(tmp_path))
    assert other.returncode == 0 and "A4:35" in other.stdout
    bad = gateway(*args[:-2], "--npi", "123", "--data-dir", str(tmp_path))
    assert bad.returncode == 2 and "providers[].npi" in bad.stderr
    traced = gateway("trace", asked.claim_id, "--data-dir", str(tmp_path))
    assert traced.returncode == 0, traced.stderr
    assert "status asked" in traced.stdout and "over cli" in traced.stdout


def test_run_cycle_skips_a_payer_whose_cycle_runs_on_a_node(tmp_path: Path) -> None:
    """One cycle per payer at a time, across the nodes of a cluster and this command."""
    from gateway.store.leases import CYCLE, Holder
    from gateway.store.sqlite import Store

    data = tmp_path / "data"
    store = Store(dbs.configured(data / "gateway.sqlite3"))  # the command's store
    try:
        assert store.take_lease(CYCLE, "sim01", Holder("gw-2", "gw-2/1"), 60.0)
    finally:
        store.close()
    result = gateway("payers", "run-cycle", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert "SIM01: its cycle is running on a gateway node" in result.stdout
    assert "SIM02: 0 decided" in result.stdout
