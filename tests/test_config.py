"""gateway/config.py: defaults, overrides, and problems that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_HTTP_LISTEN,
    DEFAULT_SFTP_LISTEN,
    PROJECT_ROOT,
    GatewayConfig,
    Overrides,
    load_config,
)
from gateway.errors import ConfigError, Problem


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs: object) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def lines(problems: list[Problem]) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in problems]


def test_shipped_config_loads_with_the_documented_values() -> None:
    config = load_config(env={})
    assert config.source == str(DEFAULT_CONFIG_PATH)
    assert config.data_dir == PROJECT_ROOT / "var"
    assert config.partners_dir == PROJECT_ROOT / "partners"
    assert (config.interchange_qualifier, config.interchange_id) == ("ZZ", "CLEARINGHOUSE")
    assert config.sftp.listen == "tcp:2222:interface=127.0.0.1"
    assert config.http.listen == "tcp:8080:interface=127.0.0.1"
    assert config.audit_log_path == PROJECT_ROOT / "var" / "log" / "audit.jsonl"


def test_shipped_config_spells_out_every_default(tmp_path: Path) -> None:
    """The documented file and an empty file mean the same (apart from where paths resolve)."""
    shipped = load_config(env={})
    empty = load_config(write(tmp_path, ""), env={})
    for name in ("interchange_qualifier", "interchange_id", "sftp", "http", "pipeline", "log"):
        assert getattr(shipped, name) == getattr(empty, name), name


def test_defaults_for_an_empty_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing\n"), env={})
    assert isinstance(config, GatewayConfig)
    # not under <root>/config/: relative paths resolve against the file's directory
    assert config.data_dir == tmp_path / "var"
    assert config.partners_dir == tmp_path / "partners"
    assert config.sftp.listen == DEFAULT_SFTP_LISTEN
    assert config.http.listen == DEFAULT_HTTP_LISTEN
    assert config.sftp.max_file_size == 512 * 1024 * 1024
    assert config.sftp.window_size == 2 * 1024 * 1024
    assert config.sftp.lockout.max_failures == 5
    assert (config.pipeline.workers, config.pipeline.max_retries) == (2, 3)
    assert (config.log.level, config.log.console) == ("info", True)
    assert config.database_path == tmp_path / "var" / "gateway.sqlite3"


def test_values_and_relative_paths_under_a_config_dir(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "gateway.toml"
    path.write_text(
        '[gateway]\ndata_dir = "data"\npartners_dir = "/srv/partners"\n'
        'interchange_qualifier = "01"\ninterchange_id = "123456789"\n'
        "[sftp]\nidle_timeout = 30\n[sftp.lockout]\nmax_failures = 3\n"
        '[log]\nlevel = "DEBUG"\nconsole = false\n[pipeline]\nworkers = 0\n'
    )
    config = load_config(path, env={})
    assert config.data_dir == tmp_path / "data"  # the project root, not config/
    assert config.partners_dir == Path("/srv/partners")
    assert (config.interchange_qualifier, config.interchange_id) == ("01", "123456789")
    assert config.sftp.idle_timeout == 30.0 and isinstance(config.sftp.idle_timeout, float)
    assert config.sftp.lockout.max_failures == 3
    assert (config.log.level, config.log.console) == ("debug", False)
    assert config.pipeline.workers == 0


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, '[sftp]\nlisten = "tcp:2000"\n[http]\nlisten = "tcp:3000"\n')
    env = {
        "GATEWAY_DATA_DIR": "state",
        "GATEWAY_SFTP_LISTEN": "tcp:0:interface=127.0.0.1",
        "GATEWAY_HTTP_LISTEN": "tcp:0",
        "GATEWAY_PARTNERS_DIR": "/etc/gateway/partners",
    }
    config = load_config(path, env=env)
    assert config.data_dir == tmp_path / "state"  # relative to the working directory
    assert config.sftp.listen == "tcp:0:interface=127.0.0.1"
    assert config.http.listen == "tcp:0"
    assert config.partners_dir == Path("/etc/gateway/partners")
    # empty variables are ignored
    config = load_config(path, env={"GATEWAY_SFTP_LISTEN": "", "GATEWAY_DATA_DIR": ""})
    assert config.sftp.listen == "tcp:2000"
    assert config.data_dir == tmp_path / "var"


def test_os_environ_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_HTTP_LISTEN", "tcp:8181")
    assert load_config(write(tmp_path, "")).http.listen == "tcp:8181"
    assert load_config(write(tmp_path, ""), env={}).http.listen == DEFAULT_HTTP_LISTEN


def test_flags_beat_environment(tmp_path: Path) -> None:
    env = {
        "GATEWAY_SFTP_LISTEN": "tcp:1111",
        "GATEWAY_DATA_DIR": "/env",
        "GATEWAY_HTTP_LISTEN": "tcp:1",
    }
    flags = Overrides(sftp_listen="tcp:2222", data_dir="/flag")
    config = load_config(write(tmp_path, ""), overrides=flags, env=env)
    assert config.sftp.listen == "tcp:2222"
    assert config.data_dir == Path("/flag")
    assert config.http.listen == "tcp:1"  # no flag: the environment still applies
    assert Overrides.from_env(env).over(Overrides()) == Overrides.from_env(env)


def test_bad_override_endpoints_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            write(tmp_path, ""),
            overrides=Overrides(http_listen="tcp:notaport"),
            env={"GATEWAY_SFTP_LISTEN": "carrier-pigeon:1"},
        )
    problems = info.value.problems
    assert [p.file for p in problems] == ["environment or command line"] * 2
    assert "SFTP listen endpoint" in problems[0].message
    assert "HTTP listen endpoint" in problems[1].message


def test_bad_values_reported_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """[gateway]
data_dir = 5
interchange_qualifier = "QQ"
interchange_id = "WAY-TOO-LONG-FOR-ISA"

[sftp]
max_file_size = 0
idle_timeout = "soon"
window_size = true

[sftp.lockout]
window = -1

[pipeline]
workers = -1
max_retries = 1.5

[log]
level = "loud"
console = "yes"
""",
    )
    problems = problems_of(path)
    assert {p.file for p in problems} == {str(path)}
    got = {p.line: p.message for p in problems}
    assert got == {
        2: "gateway.data_dir must be str, not int",
        3: "gateway.interchange_qualifier: unknown ISA qualifier 'QQ'",
        4: "gateway.interchange_id: must be 1-15 letters, digits or spaces",
        7: "sftp.max_file_size: must be greater than 0",
        8: "sftp.idle_timeout must be float, not str",
        9: "sftp.window_size must be int, not bool",
        12: "sftp.lockout.window: must be greater than 0",
        15: "pipeline.workers: must be 0 or more",
        16: "pipeline.max_retries must be int, not float",
        19: "log.level: must be one of debug, info, warning, error",
        20: "log.console must be bool, not str",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[gateway]\ndata_dir = "var"\ninterchange_id = \n', 3),
        ('[gateway]\ndata_dir = "unterminated\n', 2),
        ("[sftp]\nlisten = 'a'\n[sftp]\n", 3),  # table defined twice
        ('[http]\nlisten = "a"\nlisten = "b"\n', 3),  # key defined twice
    ],
)
def test_toml_syntax_error_line(tmp_path: Path, text: str, line: int) -> None:
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.line == line
    assert problem.message.startswith("TOML syntax error")


def test_unreadable_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "absent.toml")
    assert problem == Problem(str(tmp_path / "absent.toml"), None, problem.message)
    assert "cannot read" in problem.message


def test_unknown_keys_and_sections(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """stray = 1
[gateway]
data_dir = "var"
datadir = "typo"

[sftp]
listen = "tcp:2222"
lockout.max_failure = 3

[sftp.extra]
x = 1

[metrics]
port = 9000
""",
    )
    assert sorted(lines(problems_of(path)), key=lambda lm: lm[0] or 0) == [
        (1, "unknown setting stray (settings belong in a [section])"),
        (4, "unknown setting gateway.datadir"),
        (8, "unknown setting sftp.lockout.max_failure"),
        (10, "unknown setting sftp.extra"),
        (13, "unknown section [metrics]"),
    ]


def test_section_that_is_not_a_table_is_reported_once(tmp_path: Path) -> None:
    assert lines(problems_of(write(tmp_path, "gateway = 5\n"))) == [
        (1, "[gateway] must be a table")
    ]


@pytest.mark.parametrize(
    ("listen", "needle"),
    [
        ("", "empty endpoint string"),
        ("tcp:http", "'http'"),
        ("tcp:70000", "port out of range"),
        ("carrier-pigeon:1", "unknown endpoint type"),
        ("tcp:2222:bogus=1:=", "bad endpoint string"),
    ],
)
def test_bad_endpoint_strings(tmp_path: Path, listen: str, needle: str) -> None:
    path = write(tmp_path, f'[http]\nlisten = "tcp:8080"\n\n[sftp]\nlisten = "{listen}"\n')
    (problem,) = problems_of(path)
    assert problem.line == 5
    assert problem.message.startswith("sftp.listen: ")
    assert needle.lower() in problem.message.lower()


@pytest.mark.parametrize(
    "listen",
    [
        "tcp:0",
        "tcp:2222:interface=127.0.0.1",
        "tcp6:2222:interface=\\:\\:1",
        "unix:/tmp/gw.sock",
    ],
)
def test_good_endpoint_strings(tmp_path: Path, listen: str) -> None:
    path = write(tmp_path, f"[sftp]\nlisten = '{listen}'\n")
    assert load_config(path, env={}).sftp.listen == listen


def test_every_http_limit_is_a_setting_and_reaches_the_listener(tmp_path: Path) -> None:
    from dataclasses import fields

    from gateway.api.limits import HttpLimits
    from gateway.service import http_limits

    path = write(
        tmp_path,
        "[http]\nmax_uploads_per_address = 2\nmin_body_rate = 0\nbody_rate_window = 5\n"
        "max_request_line = 8192\nmax_header_bytes = 4096\nmax_header_fields = 50\n",
    )
    limits = http_limits(load_config(path, env={}))
    assert (limits.max_uploads_per_address, limits.min_body_rate, limits.body_rate_window) == (
        2,
        0,
        5.0,
    )
    assert (limits.max_request_line, limits.max_header_bytes, limits.max_header_fields) == (
        8192,
        4096,
        50,
    )
    # the defaults agree, and nothing in HttpLimits is left without a setting
    config = load_config(write(tmp_path, ""), env={})
    defaults = HttpLimits()
    for field in fields(HttpLimits):
        if field.name == "retry_after":
            continue  # not a setting (yet)
        assert getattr(config.http, field.name) == getattr(defaults, field.name), field.name
    assert http_limits(config) == defaults
    bad = write(tmp_path, "[http]\nmin_body_rate = -1\nmax_uploads_per_address = 0\n")
    assert sorted(line for line, _ in lines(problems_of(bad))) == [2, 3]


def test_store_url_from_the_file_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\nurl = "postgresql://gw@db:5432/gw"\n')
    config = load_config(path, env={})
    assert config.database == "postgresql://gw@db:5432/gw"
    assert config.database_url_source == f"[store] url in {path}:2"
    assert load_config(write(tmp_path, ""), env={}).database == tmp_path / "var" / "gateway.sqlite3"


def test_store_url_from_the_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\nurl = "postgresql://gw@db:5432/gw"\n')
    config = load_config(path, env={"GATEWAY_DATABASE_URL": "postgresql://other/x"})
    assert (config.database, config.database_url_source) == (
        "postgresql://other/x",
        "GATEWAY_DATABASE_URL",
    )


def test_a_store_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[gateway]\n\n[store]\nurl = "sqlite:///x.db"\n')
    (problem,) = problems_of(path)
    assert (problem.line, "not a PostgreSQL URL" in problem.message) == (4, True)
    with pytest.raises(ConfigError, match=r"GATEWAY_DATABASE_URL.*not a PostgreSQL URL"):
        load_config(write(tmp_path, ""), env={"GATEWAY_DATABASE_URL": "mysql://x"})


def test_cluster_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[cluster]\nnode_id = "gw-a"\nblob_dir = "shared/blobs"\nlease_seconds = 5\n',
    )
    config = load_config(path, env={})
    assert config.node_id == "gw-a"
    assert config.blob_dir == tmp_path / "shared" / "blobs"
    assert config.host_keys_dir == config.data_dir / "host_keys"
    assert config.cluster.lease_seconds == 5.0
    env = {
        "GATEWAY_NODE_ID": "gw-b",
        "GATEWAY_BLOB_DIR": "/mnt/shared/blobs",
        "GATEWAY_HOST_KEYS_DIR": "/mnt/shared/keys",
        "GATEWAY_LEASE_SECONDS": "2.5",
    }
    config = load_config(path, env=env)
    assert config.node_id == "gw-b"
    assert config.blob_dir == Path("/mnt/shared/blobs")
    assert config.host_keys_dir == Path("/mnt/shared/keys")
    assert config.cluster.lease_seconds == 2.5


def test_cluster_defaults_and_bad_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), env={})
    assert config.node_id  # the host name
    assert config.blob_dir == config.data_dir / "blobs"
    with pytest.raises(ConfigError) as info:
        load_config(
            write(tmp_path, '[cluster]\nnode_id = "no spaces"\n'),
            env={"GATEWAY_NODE_ID": "-x", "GATEWAY_LEASE_SECONDS": "soon"},
        )
    problems = info.value.problems
    text = " ".join(p.message for p in problems)
    assert "cluster.node_id" in text
    assert any(p.file == "GATEWAY_NODE_ID" for p in problems)
    assert any(p.file == "GATEWAY_LEASE_SECONDS" for p in problems)
