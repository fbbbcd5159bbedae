"""The gateway's own configuration: ``config/gateway.toml`` into typed, frozen objects.

Every value can be checked without starting anything (``gateway check-config``); all problems
are collected and reported together, each naming the file and the line of the offending key.
Environment variables and command-line flags override the file for containers and tests.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from gateway.errors import ConfigError, Problem

DEFAULT_SFTP_LISTEN = "tcp:2222:interface=127.0.0.1"
DEFAULT_HTTP_LISTEN = "tcp:8080:interface=127.0.0.1"

#: Repository root (the directory holding ``config/`` and ``partners/``) when run from a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "gateway.toml"

_ISA_ID_RE = re.compile(r"^[A-Za-z0-9 ]{1,15}$")
_ISA_QUALIFIERS = frozenset({"01", "14", "20", "27", "28", "29", "30", "33", "ZZ"})


@dataclass(frozen=True)
class SftpLockoutConfig:
    max_failures: int = 5
    """Failed logins tolerated within ``window`` seconds before a lockout."""
    window: float = 300.0
    lockout: float = 900.0
    """Seconds a user's *password* login stays locked (key logins keep working)."""
    ban_users: int = 3
    """Distinct user names that failed from one address within ``window`` before a ban."""
    ban_failures: int = 20
    """Failed logins from one address within ``window`` before a ban."""
    ban_time: float = 3600.0
    """Seconds a banned source address is refused."""


@dataclass(frozen=True)
class SftpConfig:
    listen: str = DEFAULT_SFTP_LISTEN
    max_file_size: int = 512 * 1024 * 1024
    idle_timeout: float = 600.0
    window_size: int = 2 * 1024 * 1024
    max_outstanding_reads: int = 8
    shutdown_grace: float = 30.0
    login_timeout: float = 120.0
    """Seconds from connection start to a successful login, else the connection is closed."""
    max_prelogin: int = 64
    """Connections not yet logged in, all addresses (more are refused at once)."""
    max_prelogin_per_address: int = 8
    """Connections not yet logged in from one source address."""
    lockout: SftpLockoutConfig = field(default_factory=SftpLockoutConfig)


@dataclass(frozen=True)
class HttpConfig:
    listen: str = DEFAULT_HTTP_LISTEN
    max_body: int = 64 * 1024 * 1024
    """Largest request body in bytes (413 before reading more)."""
    max_uploads: int = 32
    """Request bodies received at once (503 beyond)."""
    max_in_flight: int = 64
    """API requests handled at once, all partners (503 beyond)."""
    max_per_partner: int = 8
    """API requests of one partner handled at once (429 beyond)."""
    idle_timeout: float = 30.0
    """Seconds a connection may send nothing."""
    request_timeout: float = 300.0
    """Seconds from a request's first line to the end of its body (408 beyond)."""
    max_uploads_per_address: int = 4
    """Request bodies received at once from one source address (429 beyond)."""
    min_body_rate: int = 1024
    """Bytes per second a body must keep up over each ``body_rate_window`` (408 below; 0: off)."""
    body_rate_window: float = 10.0
    """Seconds over which ``min_body_rate`` is measured."""
    max_request_line: int = 16 * 1024
    """Longest request line in bytes (414 beyond)."""
    max_header_bytes: int = 16 * 1024
    """Header bytes of one request (431 beyond)."""
    max_header_fields: int = 500
    """Header fields of one request (431 beyond)."""


def default_node_id() -> str:
    """The node id when none is configured: the host name (letters, digits, ``.``, ``-``,
    ``_``; at most 64 characters)."""
    import socket

    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64].strip("-.")
    return name or "node"


@dataclass(frozen=True)
class ClusterConfig:
    """What one node of several sharing a database needs (README "Run a cluster")."""

    node_id: str = field(default_factory=default_node_id)
    """``[cluster] node_id`` / ``GATEWAY_NODE_ID``: names this node in leases and audit
    events; every running process needs its own."""
    blob_dir: Path | None = None
    """``[cluster] blob_dir`` / ``GATEWAY_BLOB_DIR``: the payload store all nodes share;
    ``None``: ``<data_dir>/blobs``."""
    host_keys_dir: Path | None = None
    """``[cluster] host_keys_dir`` / ``GATEWAY_HOST_KEYS_DIR``: the SSH host keys every node
    presents; ``None``: ``<data_dir>/host_keys``."""
    lease_seconds: float = 30.0
    """``[cluster] lease_seconds`` / ``GATEWAY_LEASE_SECONDS``: how long a claim on a piece
    of work (a file, a payer cycle, an AS2 send) outlives its node's last renewal."""


@dataclass(frozen=True)
class PipelineConfig:
    workers: int = 2
    """Worker processes for X12 validation; 0 runs it in a thread of the daemon."""
    max_retries: int = 3
    """Attempts before a file whose processing keeps failing is marked failed."""


@dataclass(frozen=True)
class As2KeyFiles:
    """One of our AS2 private keys with its certificate (PEM files)."""

    key: Path
    certificate: Path


DEFAULT_MDN_RETRY = (10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
DEFAULT_SEND_RETRY = (30.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True)
class As2Config:
    name: str = "CLEARINGHOUSE"
    """Our AS2 name (AS2-To of what partners send us, AS2-From of what we send)."""
    keys: tuple[As2KeyFiles, ...] = ()
    """Our key/certificate pairs: every one decrypts (certificate rollover); the first signs.
    None: every inbound message is answered ``authentication-failed`` (unknown AS2-To)."""
    mdn_retry: tuple[float, ...] = DEFAULT_MDN_RETRY
    """Seconds before each new attempt to POST an asynchronous MDN; after the last one it is
    given up."""
    send_retry: tuple[float, ...] = DEFAULT_SEND_RETRY
    """Seconds before each new attempt to deliver a mailbox file over AS2."""
    poll_interval: float = 5.0
    """Seconds between looks for due MDNs and mailbox files to push."""
    timeout: float = 60.0
    """Seconds an outbound AS2 POST (connect, send, the sync MDN) may take."""
    mdn_wait: float = 600.0
    """Seconds to wait for an asynchronous MDN to a message we sent before sending it again."""
    mdn_url: str = ""
    """Where partners POST asynchronous MDNs to messages we send (our public ``.../as2`` URL);
    needed only for partners whose profile asks for ``mdn="async"``."""


@dataclass(frozen=True)
class PayersConfig:
    cycle_seconds: float = 10.0
    """How often each simulated payer adjudicates what it received and pays (the demo is
    short: results within seconds; production payers run daily or weekly)."""
    statements: bool = True
    """The patient statement cycle runs after each payment cycle (the demo's choice; off:
    ``gateway statements run`` from cron, e.g. monthly)."""
    statement_due_days: int = 21
    """Days from the statement date to its due date."""


@dataclass(frozen=True)
class AttachmentsConfig:
    max_bytes: int = 10 * 1024 * 1024
    """``[attachments] max_bytes``: the largest 275 attachment (BIN02) accepted; larger ones
    are refused with a report (and a 999 IK4 785), nothing forwarded."""


@dataclass(frozen=True)
class LogConfig:
    level: str = "info"
    console: bool = True
    """Human-readable events on stderr besides the JSON audit file."""


@dataclass(frozen=True)
class GatewayConfig:
    source: str
    """The file this was loaded from (for messages)."""
    data_dir: Path
    partners_dir: Path
    interchange_qualifier: str = "ZZ"
    interchange_id: str = "CLEARINGHOUSE"
    sftp: SftpConfig = field(default_factory=SftpConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    payers: PayersConfig = field(default_factory=PayersConfig)
    log: LogConfig = field(default_factory=LogConfig)
    as2: As2Config = field(default_factory=As2Config)
    database_url: str | None = None
    """``[store] url`` or ``GATEWAY_DATABASE_URL``: a PostgreSQL database; ``None``: SQLite in
    the data directory."""
    database_url_source: str = ""
    """Where :attr:`database_url` was set (``file:line`` or the variable), for messages."""
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    attachments: AttachmentsConfig = field(default_factory=AttachmentsConfig)

    @property
    def node_id(self) -> str:
        return self.cluster.node_id

    @property
    def blob_dir(self) -> Path:
        """The payload store (shared by the nodes of a cluster)."""
        return self.cluster.blob_dir or self.data_dir / "blobs"

    @property
    def host_keys_dir(self) -> Path:
        """The SSH host keys (the same on every node of a cluster)."""
        return self.cluster.host_keys_dir or self.data_dir / "host_keys"

    @property
    def database(self) -> Path | str:
        """What :class:`gateway.store.sqlite.Store` opens: the URL, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def audit_log_path(self) -> Path:
        return self.data_dir / "log" / "audit.jsonl"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "gateway.sqlite3"


@dataclass(frozen=True)
class Overrides:
    """Values from the environment or the command line; ``None`` keeps the file's value."""

    data_dir: str | None = None
    sftp_listen: str | None = None
    http_listen: str | None = None
    partners_dir: str | None = None
    database_url: str | None = None
    node_id: str | None = None
    blob_dir: str | None = None
    host_keys_dir: str | None = None
    lease_seconds: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Overrides:
        return cls(
            data_dir=env.get("GATEWAY_DATA_DIR") or None,
            sftp_listen=env.get("GATEWAY_SFTP_LISTEN") or None,
            http_listen=env.get("GATEWAY_HTTP_LISTEN") or None,
            partners_dir=env.get("GATEWAY_PARTNERS_DIR") or None,
            database_url=env.get("GATEWAY_DATABASE_URL") or None,
            node_id=env.get("GATEWAY_NODE_ID") or None,
            blob_dir=env.get("GATEWAY_BLOB_DIR") or None,
            host_keys_dir=env.get("GATEWAY_HOST_KEYS_DIR") or None,
            lease_seconds=env.get("GATEWAY_LEASE_SECONDS") or None,
        )

    def over(self, other: Overrides) -> Overrides:
        """These values where set, else ``other``'s (flags over environment)."""
        return Overrides(
            data_dir=self.data_dir or other.data_dir,
            sftp_listen=self.sftp_listen or other.sftp_listen,
            http_listen=self.http_listen or other.http_listen,
            partners_dir=self.partners_dir or other.partners_dir,
            database_url=self.database_url or other.database_url,
            node_id=self.node_id or other.node_id,
            blob_dir=self.blob_dir or other.blob_dir,
            host_keys_dir=self.host_keys_dir or other.host_keys_dir,
            lease_seconds=self.lease_seconds or other.lease_seconds,
        )


def key_line(text: str, section: str | None, key: str) -> int | None:
    """Best-effort line number of ``key`` inside ``[section]`` in TOML ``text``.

    tomllib reports positions only for syntax errors; for semantic errors we find the key.
    """
    current: str | None = None
    key_re = re.compile(rf"^\s*(?:\"{re.escape(key)}\"|{re.escape(key)})\s*=")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1)
            if section is not None and current == section and key == "":
                return number
            continue
        if current == section and key_re.match(raw):
            return number
    return None


T = TypeVar("T")


class _Reader:
    """Reads typed values out of the parsed TOML, remembering every problem."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path = path
        self.text = text
        self.data = data
        self.problems: list[Problem] = []
        self.known: dict[str | None, set[str]] = {}

    def problem(self, section: str | None, key: str, message: str) -> None:
        line = key_line(self.text, section, key)
        if line is None and key:
            # a sub-table written as its own [section.key] header
            line = key_line(self.text, f"{section}.{key}" if section else key, "")
        if line is None and section is not None and "." in section:
            # a dotted key inside the parent table: [sftp] lockout.max_failures = ...
            parent, child = section.rsplit(".", 1)
            line = key_line(self.text, parent, f"{child}.{key}")
        if line is None and section is not None:
            line = key_line(self.text, section, "")
        problem = Problem(str(self.path), line, message)
        if problem not in self.problems:  # e.g. "[x] must be a table" is met once per key read
            self.problems.append(problem)

    def table(self, section: str) -> dict[str, Any]:
        node: Any = self.data
        for part in section.split("."):
            if not isinstance(node, dict):
                return {}
            node = node.get(part, {})
        if not isinstance(node, dict):
            self.problem(None, section, f"[{section}] must be a table")
            return {}
        return node

    def get(
        self,
        section: str,
        key: str,
        kind: type[T],
        default: T,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        self.known.setdefault(section, set()).add(key)
        table = self.table(section)
        if key not in table:
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(
                section,
                key,
                f"{section}.{key} must be {kind.__name__}, not {type(value).__name__}",
            )
            return default
        if check is not None:
            message = check(value)
            if message:
                self.problem(section, key, f"{section}.{key}: {message}")
                return default
        return value

    def unknown_keys(self) -> None:
        for section, keys in self.known.items():
            if section is None:
                continue
            table = self.table(section)
            nested = {s.split(".", 1)[1] for s in self.known if s and s.startswith(section + ".")}
            for key in table:
                if key not in keys and key.split(".")[0] not in nested:
                    self.problem(section, key, f"unknown setting {section}.{key}")
        sections = {s.split(".")[0] for s in self.known if s}
        for key, value in self.data.items():
            if key in sections:
                continue
            if isinstance(value, dict):
                self.problem(key, "", f"unknown section [{key}]")
            else:
                self.problem(None, key, f"unknown setting {key} (settings belong in a [section])")


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _non_negative(value: int) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def _endpoint(value: str) -> str | None:
    from gateway.endpoints import check_endpoint_string

    return check_endpoint_string(value)


def _level(value: str) -> str | None:
    levels = ("debug", "info", "warning", "error")
    return None if value.lower() in levels else f"must be one of {', '.join(levels)}"


def _isa_id(value: str) -> str | None:
    return None if _ISA_ID_RE.match(value) else "must be 1-15 letters, digits or spaces"


def _isa_qualifier(value: str) -> str | None:
    return None if value in _ISA_QUALIFIERS else f"unknown ISA qualifier {value!r}"


def _database_url(value: str) -> str | None:
    """Only PostgreSQL URLs: SQLite is the default and needs no URL."""
    if value and not re.match(r"^postgres(ql)?://", value):
        return (
            f"{value!r} is not a PostgreSQL URL (postgresql://user@host:port/database); leave "
            "it unset for SQLite in the data directory"
        )
    return None


def load_config(
    path: Path | str | None = None,
    overrides: Overrides | None = None,
    env: Mapping[str, str] | None = None,
    *,
    services: bool = True,
) -> GatewayConfig:
    """Load and check the configuration; raise :class:`ConfigError` listing every problem.

    ``services=False`` (commands that start no listener or AS2 exchange, e.g. ``gateway
    validate``): listen endpoints and AS2 key files are not checked, so neither Twisted nor
    the key material is loaded; every other setting is read and checked as usual.

    Relative paths in the file are resolved against the project root when the file lives in
    ``<root>/config/``, else against the file's directory.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    effective = (overrides or Overrides()).over(
        Overrides.from_env(os.environ if env is None else env)
    )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), None, f"cannot read: {exc.strerror}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise ConfigError([Problem(str(path), line, f"TOML syntax error: {exc}")]) from exc

    base = path.resolve().parent
    if base.name == "config":
        base = base.parent
    r = _Reader(path, text, data)
    endpoint = _endpoint if services else None

    data_dir = r.get("gateway", "data_dir", str, "var")
    partners_dir = r.get("gateway", "partners_dir", str, "partners")
    qualifier = r.get("gateway", "interchange_qualifier", str, "ZZ", _isa_qualifier)
    ident = r.get("gateway", "interchange_id", str, "CLEARINGHOUSE", _isa_id)

    lockout = SftpLockoutConfig(
        max_failures=r.get("sftp.lockout", "max_failures", int, 5, _positive),
        window=r.get("sftp.lockout", "window", float, 300.0, _positive),
        lockout=r.get("sftp.lockout", "lockout", float, 900.0, _positive),
        ban_users=r.get("sftp.lockout", "ban_users", int, 3, _positive),
        ban_failures=r.get("sftp.lockout", "ban_failures", int, 20, _positive),
        ban_time=r.get("sftp.lockout", "ban_time", float, 3600.0, _positive),
    )
    sftp = SftpConfig(
        listen=r.get("sftp", "listen", str, DEFAULT_SFTP_LISTEN, endpoint),
        max_file_size=r.get("sftp", "max_file_size", int, 512 * 1024 * 1024, _positive),
        idle_timeout=r.get("sftp", "idle_timeout", float, 600.0, _positive),
        window_size=r.get("sftp", "window_size", int, 2 * 1024 * 1024, _positive),
        max_outstanding_reads=r.get("sftp", "max_outstanding_reads", int, 8, _positive),
        shutdown_grace=r.get("sftp", "shutdown_grace", float, 30.0, _positive),
        login_timeout=r.get("sftp", "login_timeout", float, 120.0, _positive),
        max_prelogin=r.get("sftp", "max_prelogin", int, 64, _positive),
        max_prelogin_per_address=r.get("sftp", "max_prelogin_per_address", int, 8, _positive),
        lockout=lockout,
    )
    http = HttpConfig(
        listen=r.get("http", "listen", str, DEFAULT_HTTP_LISTEN, endpoint),
        max_body=r.get("http", "max_body", int, 64 * 1024 * 1024, _positive),
        max_uploads=r.get("http", "max_uploads", int, 32, _positive),
        max_in_flight=r.get("http", "max_in_flight", int, 64, _positive),
        max_per_partner=r.get("http", "max_per_partner", int, 8, _positive),
        idle_timeout=r.get("http", "idle_timeout", float, 30.0, _positive),
        request_timeout=r.get("http", "request_timeout", float, 300.0, _positive),
        max_uploads_per_address=r.get("http", "max_uploads_per_address", int, 4, _positive),
        min_body_rate=r.get("http", "min_body_rate", int, 1024, _non_negative),
        body_rate_window=r.get("http", "body_rate_window", float, 10.0, _positive),
        max_request_line=r.get("http", "max_request_line", int, 16 * 1024, _positive),
        max_header_bytes=r.get("http", "max_header_bytes", int, 16 * 1024, _positive),
        max_header_fields=r.get("http", "max_header_fields", int, 500, _positive),
    )
    pipeline = PipelineConfig(
        workers=r.get("pipeline", "workers", int, 2, _non_negative),
        max_retries=r.get("pipeline", "max_retries", int, 3, _positive),
    )
    payers = PayersConfig(
        cycle_seconds=r.get("payers", "cycle_seconds", float, 10.0, _positive),
        statements=r.get("payers", "statements", bool, True),
        statement_due_days=r.get("payers", "statement_due_days", int, 21, _non_negative),
    )
    attachments = AttachmentsConfig(
        max_bytes=r.get("attachments", "max_bytes", int, 10 * 1024 * 1024, _positive),
    )
    log = LogConfig(
        level=r.get("log", "level", str, "info", _level).lower(),
        console=r.get("log", "console", bool, True),
    )
    as2 = _as2_config(r, base, check_keys=services)
    database_url = r.get("store", "url", str, "", _database_url) or None
    url_line = key_line(text, "store", "url")
    url_source = f"[store] url in {path}" + (f":{url_line}" if url_line else "")
    node_id = r.get("cluster", "node_id", str, "", _node_id) or default_node_id()
    blob_dir = r.get("cluster", "blob_dir", str, "")
    host_keys_dir = r.get("cluster", "host_keys_dir", str, "")
    lease_seconds = r.get("cluster", "lease_seconds", float, 30.0, _positive)
    r.unknown_keys()

    env_source = "environment or command line"
    if services and effective.sftp_listen and (msg := _endpoint(effective.sftp_listen)):
        r.problems.append(Problem(env_source, None, f"SFTP listen endpoint: {msg}"))
    if services and effective.http_listen and (msg := _endpoint(effective.http_listen)):
        r.problems.append(Problem(env_source, None, f"HTTP listen endpoint: {msg}"))
    if effective.database_url and (msg := _database_url(effective.database_url)):
        r.problems.append(Problem("GATEWAY_DATABASE_URL", None, msg))
    if effective.node_id and (msg := _node_id(effective.node_id)):
        r.problems.append(Problem("GATEWAY_NODE_ID", None, msg))
    if effective.lease_seconds:
        try:
            lease_seconds = float(effective.lease_seconds)
            if not lease_seconds > 0:
                raise ValueError
        except ValueError:
            r.problems.append(Problem("GATEWAY_LEASE_SECONDS", None, "must be a number > 0"))
    if r.problems:
        raise ConfigError(r.problems)

    def resolve(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (base / p)

    config = GatewayConfig(
        source=str(path),
        data_dir=resolve(data_dir),
        partners_dir=resolve(partners_dir),
        interchange_qualifier=qualifier,
        interchange_id=ident,
        sftp=sftp,
        http=http,
        pipeline=pipeline,
        payers=payers,
        attachments=attachments,
        log=log,
        as2=as2,
        database_url=database_url,
        database_url_source=url_source if database_url else "",
        cluster=ClusterConfig(
            node_id=effective.node_id or node_id,
            blob_dir=_path_or_none(effective.blob_dir, blob_dir, resolve),
            host_keys_dir=_path_or_none(effective.host_keys_dir, host_keys_dir, resolve),
            lease_seconds=lease_seconds,
        ),
    )
    if effective.database_url:
        config = replace(
            config, database_url=effective.database_url, database_url_source="GATEWAY_DATABASE_URL"
        )
    if effective.data_dir:
        config = replace(config, data_dir=Path(effective.data_dir).expanduser().absolute())
    if effective.partners_dir:
        config = replace(config, partners_dir=Path(effective.partners_dir).expanduser().absolute())
    if effective.sftp_listen:
        config = replace(config, sftp=replace(config.sftp, listen=effective.sftp_listen))
    if effective.http_listen:
        config = replace(config, http=replace(config.http, listen=effective.http_listen))
    return config


def _node_id(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        return None
    return "must be 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)"


def _path_or_none(env: str | None, file: str, resolve: Callable[[str], Path]) -> Path | None:
    """A directory from the environment (absolute as given), else the file's (resolved like
    the other paths), else None."""
    if env:
        return Path(env).expanduser().absolute()
    return resolve(file) if file else None


def _as2_name(value: str) -> str | None:
    ok = re.fullmatch(r"[!-~]([ -~]{0,126}[!-~])?", value)
    return None if ok else "must be 1-128 printable ASCII characters, no outer spaces"


def _http_url(value: str) -> str | None:
    if value == "" or re.match(r"^https?://[^\s/]+", value):
        return None
    return "must be an http:// or https:// URL"


def _schedule(value: list[Any]) -> str | None:
    if not value:
        return "must list at least one delay"
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or item <= 0:
            return f"every delay must be a number of seconds greater than 0, not {item!r}"
    return None


def _key_pair_problem(key: Path, certificate: Path) -> str | None:
    """Why a key/certificate pair cannot be used, or None."""
    from cryptography.hazmat.primitives import serialization

    from gateway.as2.cms import load_certificates, load_private_key

    try:
        private = load_private_key(key.read_bytes())
    except OSError as exc:
        return f"cannot read key {key}: {exc.strerror}"
    except (ValueError, TypeError) as exc:
        return f"key {key} is not an unencrypted RSA PEM private key ({exc})"
    try:
        certs = load_certificates(certificate.read_bytes())
    except OSError as exc:
        return f"cannot read certificate {certificate}: {exc.strerror}"
    except ValueError as exc:
        return f"certificate {certificate} is not a PEM or DER X.509 certificate ({exc})"
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if not certs or certs[0].public_key().public_bytes(
        der, spki
    ) != private.public_key().public_bytes(der, spki):
        return f"certificate {certificate} does not belong to key {key}"
    return None


def _as2_config(r: _Reader, base: Path, check_keys: bool = True) -> As2Config:
    """The ``[as2]`` section; key files are checked (readable, RSA, matching certificate)."""
    name = r.get("as2", "name", str, "CLEARINGHOUSE", _as2_name)
    raw_keys = r.get("as2", "keys", list, [])
    keys: list[As2KeyFiles] = []
    for index, item in enumerate(raw_keys):
        where = f"as2.keys[{index}]"
        if not isinstance(item, dict) or set(item) != {"key", "certificate"}:
            r.problem("as2", "keys", f'{where} must be {{ key = "...", certificate = "..." }}')
            continue
        if not all(isinstance(v, str) and v for v in item.values()):
            r.problem("as2", "keys", f"{where}: key and certificate must be file names")
            continue
        pair = As2KeyFiles(
            key=_resolve(base, item["key"]), certificate=_resolve(base, item["certificate"])
        )
        message = _key_pair_problem(pair.key, pair.certificate) if check_keys else None
        if message:
            r.problem("as2", "keys", f"{where}: {message}")
            continue
        keys.append(pair)
    mdn_retry = r.get("as2", "mdn_retry", list, list(DEFAULT_MDN_RETRY), _schedule)
    send_retry = r.get("as2", "send_retry", list, list(DEFAULT_SEND_RETRY), _schedule)
    return As2Config(
        name=name,
        keys=tuple(keys),
        mdn_retry=tuple(float(v) for v in mdn_retry),
        send_retry=tuple(float(v) for v in send_retry),
        poll_interval=r.get("as2", "poll_interval", float, 5.0, _positive),
        timeout=r.get("as2", "timeout", float, 60.0, _positive),
        mdn_wait=r.get("as2", "mdn_wait", float, 600.0, _positive),
        mdn_url=r.get("as2", "mdn_url", str, "", _http_url),
    )


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)
