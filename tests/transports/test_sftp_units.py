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
from gateway.transports.sftp.throttle import ADDRESS, USER, Block, LoginGuard


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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_password_lock_after_max_failures_within_window() -> None:
    clock = Clock()
    config = SftpLockoutConfig(max_failures=3, window=10, lockout=60, ban_users=9, ban_failures=99)
    guard = LoginGuard(config, clock)
    assert guard.failure("10.0.0.1", "a", password=True) == []
    clock.now += 11  # the first failure leaves the window
    assert guard.failure("10.0.0.2", "a", password=True) == []
    assert guard.failure("10.0.0.3", "a", password=True) == []
    assert guard.password_locked("a") is None
    [block] = guard.failure("10.0.0.4", "a", password=True)
    assert (block.kind, block.subject, block.until) == (USER, "a", clock.now + 60)
    assert guard.password_locked("a") == block
    assert guard.password_locked("b") is None
    assert guard.banned("10.0.0.4") is None  # one user's typos never ban an address
    guard.success("a")  # a success does not lift a lock in force
    assert guard.password_locked("a") is not None
    clock.now += 61
    assert guard.password_locked("a") is None
    assert guard.expired() == [block]


def test_bad_signatures_do_not_lock_the_password() -> None:
    guard = LoginGuard(SftpLockoutConfig(max_failures=2, ban_failures=99), Clock())
    for _ in range(5):
        assert guard.failure("10.0.0.1", "a", password=False) == []
    assert guard.password_locked("a") is None


def test_success_clears_password_failures() -> None:
    guard = LoginGuard(SftpLockoutConfig(max_failures=2), Clock())
    guard.failure("h", "k", password=True)
    guard.success("k")
    assert guard.failure("h", "k", password=True) == []
    assert [b.kind for b in guard.failure("h", "k", password=True)] == [USER]


def test_address_ban_by_distinct_users_or_by_failures() -> None:
    clock = Clock()
    config = SftpLockoutConfig(max_failures=50, ban_users=3, ban_failures=5, ban_time=600)
    guard = LoginGuard(config, clock)
    assert guard.failure("nat", "u1", password=True) == []
    assert guard.failure("nat", "u2", password=True) == []
    [ban] = guard.failure("nat", "u3", password=True)
    assert (ban.kind, ban.subject, ban.until) == (ADDRESS, "nat", clock.now + 600)
    assert guard.banned("nat") == ban and guard.banned("other") is None
    # one user failing 5 times from another address: banned by count
    engaged = [guard.failure("spray", "u1", password=False) for _ in range(5)]
    assert [b.kind for found in engaged for b in found] == [ADDRESS]


def test_load_keeps_unsaved_blocks_and_reports_operator_lifts() -> None:
    clock = Clock()
    guard = LoginGuard(SftpLockoutConfig(max_failures=1), clock)
    [lock] = guard.failure("h", "a", password=True)
    assert guard.load([]) == []  # not saved yet: a reload must not forget it
    assert guard.password_locked("a") == lock
    guard.saved(lock)
    stored = Block(ADDRESS, "10.9.9.9", clock.now + 100, "x", clock.now)
    assert guard.load([stored]) == [lock]  # gone from the store while in force: lifted
    assert guard.password_locked("a") is None
    assert guard.banned("10.9.9.9") == stored


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
