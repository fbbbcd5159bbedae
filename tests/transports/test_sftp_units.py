"""Socket-free tests: the path jail, the login throttle, the read gate, the noise filter."""

from __future__ import annotations

import errno

import pytest
from twisted.internet.defer import Deferred
from twisted.logger import LogLevel

from gateway.config import SftpLockoutConfig
from gateway.transports.sftp import is_conch_noise, jail
from gateway.transports.sftp.jail import Area, PathError, VirtualPath
from gateway.transports.sftp.server import ReadGate
from gateway.transports.sftp.throttle import LoginThrottle


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", VirtualPath(Area.ROOT)),
        (b".", VirtualPath(Area.ROOT)),
        (b"/", VirtualPath(Area.ROOT)),
        (b"//./", VirtualPath(Area.ROOT)),
        (b"inbound", VirtualPath(Area.INBOUND)),
        (b"/inbound/", VirtualPath(Area.INBOUND)),
        (b"/outbound/../inbound/a.x12", VirtualPath(Area.INBOUND, "a.x12")),
        (b"outbound/./r.999", VirtualPath(Area.OUTBOUND, "r.999")),
        ("/inbound/clé.x12", VirtualPath(Area.INBOUND, "clé.x12")),
    ],
)
def test_resolve_normalises(raw: bytes, expected: VirtualPath) -> None:
    assert jail.resolve(raw) == expected


@pytest.mark.parametrize(
    "raw", [b"..", b"/..", b"../etc/passwd", b"/inbound/../../etc", b"inbound/../../x"]
)
def test_dotdot_above_root_is_refused(raw: bytes) -> None:
    with pytest.raises(PathError) as info:
        jail.resolve(raw)
    assert info.value.errno == errno.EACCES


@pytest.mark.parametrize(
    "raw",
    [b"/etc/passwd", b"/tmp", b"/inbound/sub/file", b"/home/user/.ssh", b"/outbound/a/b"],
)
def test_host_paths_do_not_exist(raw: bytes) -> None:
    with pytest.raises(PathError) as info:
        jail.resolve(raw)
    assert info.value.errno == errno.ENOENT


@pytest.mark.parametrize("raw", [b"/inbound/a\x00b", b"/inbound/\xff\xfe", b"/inbound/a\\b"])
def test_bad_names_are_refused(raw: bytes) -> None:
    with pytest.raises(PathError):
        jail.resolve(raw)


def test_real_path_is_virtual() -> None:
    assert jail.real_path(b".") == "/"
    assert jail.real_path(b"inbound/x/../y") == "/inbound/y"
    assert jail.real_path(b"/etc/passwd") == "/etc/passwd"  # virtual, and it does not exist
    with pytest.raises(PathError):
        jail.real_path(b"/../..")


def test_temporary_names() -> None:
    for name in (".hidden", "a.tmp", "a.PART", "x.filepart", ".x.x12"):
        assert jail.is_temporary_name(name)
    for name in ("a.x12", "tmp", "part.x12", "a.txt"):
        assert not jail.is_temporary_name(name)


def test_staging_names_round_trip() -> None:
    for name in ("a.tmp", ".x", "é è.part"):
        host = jail.staging_file_name(name)
        assert "/" not in host and not host.startswith(".")
        assert jail.name_from_staging_file(host) == name
    assert jail.name_from_staging_file(".upload-1") is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_locks_after_max_failures_within_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(SftpLockoutConfig(max_failures=3, window=10, lockout=60), clock)
    assert not throttle.failure("user:a")
    clock.now += 11  # first failure leaves the window
    assert not throttle.failure("user:a")
    assert not throttle.failure("user:a")
    assert not throttle.locked("user:a")
    assert throttle.failure("user:a")
    assert throttle.locked("user:a")
    assert not throttle.locked("user:b")
    throttle.success("user:a")  # a success does not lift a lockout
    assert throttle.locked("user:a")
    clock.now += 61
    assert not throttle.locked("user:a")


def test_throttle_success_clears_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(SftpLockoutConfig(max_failures=2, window=10, lockout=60), clock)
    throttle.failure("k")
    throttle.success("k")
    assert not throttle.failure("k")
    assert throttle.failure("k")


class FakeChannel:
    def __init__(self) -> None:
        self.buf = b""


def test_read_gate_parks_reads_while_replies_wait_in_the_channel() -> None:
    gate = ReadGate(limit=2)
    channel = FakeChannel()
    gate.channel = channel
    assert gate.read(lambda: b"a" * 10) == b"a" * 10
    channel.buf = b"x" * 23  # that reply (10 + 13 header) is still waiting
    assert gate.read(lambda: b"b" * 10) == b"b" * 10
    channel.buf = b"x" * 46
    parked = gate.read(lambda: b"c" * 10)
    later = gate.read(lambda: b"d" * 10)
    assert isinstance(parked, Deferred) and isinstance(later, Deferred)
    got: list[bytes] = []
    parked.addCallback(got.append)
    later.addCallback(got.append)
    gate.drain()
    assert got == []  # window still closed
    channel.buf = b""
    gate.drain()
    assert got == [b"c" * 10, b"d" * 10]


def test_noise_filter() -> None:
    info = {"log_namespace": "twisted.conch.ssh.transport", "log_level": LogLevel.info}
    assert is_conch_noise(info)
    disconnect = {
        "log_namespace": "twisted.conch.ssh.transport.SSHServerTransport",
        "log_level": LogLevel.error,
        "log_format": "Got remote error, code {code}\nreason: {description}",
    }
    assert is_conch_noise(disconnect)
    failure = {
        "log_namespace": "twisted.conch.ssh.filetransfer",
        "log_level": LogLevel.critical,
        "log_format": "Failed to handle packet",
        "log_failure": object(),
    }
    assert not is_conch_noise(failure)
    ours = {"log_namespace": "gateway.transports.sftp.server", "log_level": LogLevel.info}
    assert not is_conch_noise(ours)
