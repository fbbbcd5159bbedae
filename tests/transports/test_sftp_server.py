"""The SFTP transport over real sockets: paramiko and the OpenSSH ``sftp`` client."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import paramiko
import pytest
import pytest_twisted
from paramiko.sftp import CMD_CLOSE
from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from gateway.config import SftpLockoutConfig
from gateway.store.logins import LoginBlocks
from gateway.store.sqlite import Store
from gateway.transports.sftp import make_sftp_factory
from gateway.transports.sftp.auth import BANNED_MESSAGE, GatewayUserAuthServer
from gateway.transports.sftp.bans import StoredBlocks
from gateway.transports.sftp.hostkeys import ED25519_FILE, RSA_FILE
from tests import dbs

from .conftest import PASSWORD, Keys, Server, connect, sftp_client

SFTP = "/usr/bin/sftp"


def sleep(seconds: float) -> Any:
    return deferLater(reactor, seconds, lambda: None)


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await sleep(0.02)


# -- authentication ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_password_ed25519_and_rsa_logins(make_server: Any, keys: Keys) -> None:
    server: Server = await make_server()
    try:
        for kwargs in (
            {"password": PASSWORD},
            {"pkey": keys.ed25519.paramiko()},
            {"pkey": keys.rsa.paramiko()},
        ):
            transport = await deferToThread(connect, server.number, **kwargs)
            assert transport.is_authenticated()
            transport.close()
        methods = [e["method"] for e in server.named("sftp.login.ok")]
        assert methods == ["password", "publickey", "publickey"]
        assert all(e["partner"] == "acme" for e in server.named("sftp.login.ok"))
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_wrong_password_and_unknown_key_fail(make_server: Any, keys: Keys) -> None:
    server: Server = await make_server()
    try:
        with pytest.raises(paramiko.AuthenticationException):
            await deferToThread(connect, server.number, password="wrong")
        with pytest.raises(paramiko.AuthenticationException):
            await deferToThread(connect, server.number, pkey=keys.other.paramiko())
        with pytest.raises(paramiko.AuthenticationException):
            await deferToThread(connect, server.number, "nobody", password=PASSWORD)
        failed = server.named("sftp.login.failed")
        assert [(e["username"], e["method"]) for e in failed] == [
            ("acme", "password"),
            ("acme", "publickey"),
            ("nobody", "password"),
        ]
        assert all(e["address"] == "127.0.0.1" for e in failed)
        assert PASSWORD not in repr(server.events) and "wrong" not in repr(server.events)
        assert not server.named("sftp.login.ok")
    finally:
        await server.stop()


def password_banner(port: int, username: str, password: str, source: str) -> str | None:
    """Blocking: a refused password login; the userauth banner the server sent, if any."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=10)
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password(username, password)
        banner = transport.get_banner()
        return banner.decode() if isinstance(banner, bytes) else banner
    finally:
        transport.close()


def raw_session(port: int, source: str = "127.0.0.1", timeout: float = 5.0) -> bytes:
    """Blocking: connect, send a version line, then nothing; everything the server sent
    until it closed (or ``timeout``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    received = b""
    try:
        sock.sendall(b"SSH-2.0-silent\r\n")
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk
    except TimeoutError:
        return received + b"<still open>"
    finally:
        sock.close()


@pytest_twisted.ensureDeferred
async def test_password_lock_keeps_key_logins_working(make_server: Any, keys: Keys) -> None:
    lockout = SftpLockoutConfig(max_failures=3, window=60, lockout=60)
    server: Server = await make_server(lockout=lockout)
    try:
        # three failures from three addresses: no address is banned, the user's password is
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            with pytest.raises(paramiko.AuthenticationException):
                await deferToThread(connect, server.number, password="guess-9f3", source=source)
        engaged = [e for e in server.named("sftp.login.locked") if e["action"] == "engaged"]
        assert [e["scope"] for e in engaged] == ["user"]
        # right password, fresh address: refused unchecked, and the client is told why
        banner = await deferToThread(password_banner, server.number, "acme", PASSWORD, "127.0.0.5")
        assert banner is not None and "temporarily locked" in banner
        assert "acme" not in banner
        refused = [e for e in server.named("sftp.login.locked") if e["action"] == "refused"]
        assert refused and all(e["scope"] == "user" for e in refused)
        # the user's authorised key still works (key-only jobs must not be locked out)
        transport = await deferToThread(connect, server.number, pkey=keys.ed25519.paramiko())
        assert transport.is_authenticated()
        transport.close()
        # another user of another partner is not affected
        transport = await deferToThread(connect, server.number, "beta", password=PASSWORD)
        transport.close()
        assert PASSWORD not in repr(server.events) and "guess-9f3" not in repr(server.events)
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_key_logins_do_not_reset_the_password_guesses(make_server: Any, keys: Keys) -> None:
    """A partner's key-based job logging in between guesses must not clear the count."""
    lockout = SftpLockoutConfig(max_failures=3, window=60, lockout=60)
    server: Server = await make_server(lockout=lockout)
    try:
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            with pytest.raises(paramiko.AuthenticationException):
                await deferToThread(connect, server.number, password="guess-1", source=source)
            transport = await deferToThread(connect, server.number, pkey=keys.ed25519.paramiko())
            assert transport.is_authenticated()
            transport.close()
        engaged = [e for e in server.named("sftp.login.locked") if e["action"] == "engaged"]
        assert [e["scope"] for e in engaged] == ["user"]
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_address_ban_by_users_across_names(make_server: Any) -> None:
    lockout = SftpLockoutConfig(max_failures=3, window=60, lockout=60, ban_users=3)
    server: Server = await make_server(lockout=lockout)
    try:
        # one partner's typos behind a NAT: no ban
        for _ in range(2):
            with pytest.raises(paramiko.AuthenticationException):
                await deferToThread(connect, server.number, password="x", source="127.0.0.9")
        assert not server.named("sftp.login.locked")
        # a spray across user names: the address is banned
        for user in ("u1", "u2"):
            with pytest.raises(paramiko.AuthenticationException):
                await deferToThread(connect, server.number, user, password="x", source="127.0.0.9")
        engaged = [e for e in server.named("sftp.login.locked") if e["action"] == "engaged"]
        assert [(e["scope"], e["address"]) for e in engaged] == [("address", "127.0.0.9")]
        # the banned address is disconnected with a reason, before any login
        received = await deferToThread(raw_session, server.number, "127.0.0.9")
        assert BANNED_MESSAGE in received
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            await deferToThread(connect, server.number, password=PASSWORD, source="127.0.0.9")
        connects = [e for e in server.named("sftp.login.locked") if e["method"] == "connect"]
        assert len(connects) == 1  # two refused connections, audited once a minute
        # the same user from another address is fine
        transport = await deferToThread(connect, server.number, password=PASSWORD)
        transport.close()
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_bans_survive_a_restart_and_can_be_lifted(make_server: Any, tmp_path: Path) -> None:
    lockout = SftpLockoutConfig(max_failures=3, window=60, lockout=60, ban_users=2)
    store = Store(tmp_path / "gateway.sqlite")
    table = LoginBlocks(store)
    server: Server = await make_server(lockout=lockout, blocks=StoredBlocks(table, deferToThread))
    try:
        for user in ("u1", "u2"):
            with pytest.raises(paramiko.AuthenticationException):
                await deferToThread(connect, server.number, user, password="x", source="127.0.0.7")
        await wait_for(lambda: [b.subject for b in table.active()] == ["127.0.0.7"])
    finally:
        await server.stop()
    store.close()

    store = Store(tmp_path / "gateway.sqlite")  # a new process: only the store remembers
    table = LoginBlocks(store)
    server = await make_server(lockout=lockout, blocks=StoredBlocks(table, deferToThread))
    try:
        await wait_for(lambda: server.factory.authenticator.guard.banned("127.0.0.7") is not None)
        received = await deferToThread(raw_session, server.number, "127.0.0.7")
        assert BANNED_MESSAGE in received
        # `gateway bans lift 127.0.0.7`: the daemon notices at its next refresh
        assert [b.kind for b in table.lift("127.0.0.7")] == ["address"]
        await server.factory.authenticator.refresh()
        lifted = server.named("sftp.login.lifted")
        assert [(e["scope"], e["address"], e["by"]) for e in lifted] == [
            ("address", "127.0.0.7", "operator")
        ]
        transport = await deferToThread(
            connect, server.number, password=PASSWORD, source="127.0.0.7"
        )
        transport.close()
    finally:
        await server.stop()
        store.close()


@pytest_twisted.ensureDeferred
async def test_failed_logins_count_across_the_nodes_of_a_cluster(
    make_server: Any, tmp_path: Path
) -> None:
    """Two nodes on one database: wrong passwords spread over both lock the user, and the
    other node refuses the password once it has read the lock (its refresh)."""
    lockout = SftpLockoutConfig(max_failures=3, window=60, lockout=60)
    store = Store(dbs.location(tmp_path / "gateway.sqlite"))
    table = LoginBlocks(store)
    one: Server = await make_server(
        lockout=lockout, blocks=StoredBlocks(table, deferToThread, window=60, node="gw-1")
    )
    two: Server = await make_server(
        lockout=lockout, blocks=StoredBlocks(table, deferToThread, window=60, node="gw-2")
    )
    try:
        for server in (one, two):  # 2 + 1 = 3: neither node saw 3 on its own
            with pytest.raises(paramiko.AuthenticationException):
                await deferToThread(connect, server.number, password="guess-1")
        with pytest.raises(paramiko.AuthenticationException):
            await deferToThread(connect, one.number, password="guess-2")
        await wait_for(lambda: [b.subject for b in table.active()] == ["acme"])
        engaged = [e for e in one.named("sftp.login.locked") if e["action"] == "engaged"]
        assert [e["scope"] for e in engaged] == ["user"]
        await two.factory.authenticator.refresh()
        with pytest.raises(paramiko.AuthenticationException):
            await deferToThread(connect, two.number, password=PASSWORD)
        refused = [e for e in two.named("sftp.login.locked") if e["action"] == "refused"]
        assert refused and refused[0]["scope"] == "user"
    finally:
        await one.stop()
        await two.stop()
        store.close()


def repeated_password_attempts(port: int, tries: int) -> tuple[int, bool]:
    """Blocking: ``tries`` wrong passwords on ONE connection; paramiko requests the
    ``ssh-userauth`` service again before each. (attempts made, still connected)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    transport = paramiko.Transport(sock)
    made = 0
    try:
        transport.start_client(timeout=10)
        for _ in range(tries):
            if not transport.is_active():
                break
            try:
                transport.auth_password("acme", "wrong")
            except paramiko.AuthenticationException:
                made += 1
            except (paramiko.SSHException, EOFError, OSError):
                break
        return made, transport.is_active()
    finally:
        transport.close()


@pytest_twisted.ensureDeferred
async def test_attempt_limit_holds_across_userauth_requests(make_server: Any) -> None:
    server: Server = await make_server()
    try:
        made, active = await deferToThread(repeated_password_attempts, server.number, 20)
        limit = GatewayUserAuthServer.attemptsBeforeDisconnect
        assert not active
        assert made <= limit + 1  # the last one is answered with a disconnect
        assert len(server.named("sftp.login.failed")) == limit + 1
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_login_timer_runs_from_connection_start(make_server: Any) -> None:
    server: Server = await make_server(login_timeout=0.5)
    try:
        started = time.monotonic()
        received = await deferToThread(raw_session, server.number)
        assert not received.endswith(b"<still open>")
        assert b"login took too long" in received
        assert time.monotonic() - started < 4
    finally:
        await server.stop()


def held_connection(port: int, source: str) -> socket.socket | None:
    """Blocking: a connection that is accepted (server version read) or None (refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    try:
        first = sock.recv(256)
    except (ConnectionResetError, TimeoutError):
        first = b""
    if first.startswith(b"SSH-2.0-"):
        return sock
    sock.close()
    return None


@pytest_twisted.ensureDeferred
async def test_pre_login_connections_are_capped(make_server: Any) -> None:
    server: Server = await make_server(max_prelogin=4, max_prelogin_per_address=2)
    held: list[socket.socket] = []
    try:
        for source in ("127.0.0.2", "127.0.0.2"):
            sock = await deferToThread(held_connection, server.number, source)
            assert sock is not None
            held.append(sock)
        assert await deferToThread(held_connection, server.number, "127.0.0.2") is None
        for source in ("127.0.0.3", "127.0.0.3"):
            sock = await deferToThread(held_connection, server.number, source)
            assert sock is not None
            held.append(sock)
        assert await deferToThread(held_connection, server.number, "127.0.0.4") is None
        # a logged-in session does not hold a pre-login slot
        held.pop().close()
        await wait_for(lambda: sum(server.factory.prelogin.values()) == 3)
        transport = await deferToThread(
            connect, server.number, password=PASSWORD, source="127.0.0.5"
        )
        assert sum(server.factory.prelogin.values()) == 3
        assert await deferToThread(held_connection, server.number, "127.0.0.6") is not None
        transport.close()
    finally:
        for sock in held:
            sock.close()
        await server.stop()


# -- OpenSSH client -------------------------------------------------------------------------


def run_openssh(port: int, key: Path, batch: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    (cwd / "batch").write_text(batch)
    return subprocess.run(
        [
            SFTP,
            "-F",
            "/dev/null",
            "-b",
            str(cwd / "batch"),
            "-i",
            str(key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-P",
            str(port),
            "acme@127.0.0.1",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(not os.path.exists(SFTP), reason="OpenSSH sftp client not installed")
@pytest_twisted.ensureDeferred
async def test_openssh_batch(make_server: Any, keys: Keys, tmp_path: Path) -> None:
    server: Server = await make_server()
    work = tmp_path / "client"
    work.mkdir()
    (work / "claims1.x12").write_bytes(b"ISA*00*first~" * 1000)
    (work / "claims2.x12").write_bytes(b"ISA*00*second~" * 3000)
    server.mailbox.add("acme", "r1.999", b"999 ack" * 5000)
    server.mailbox.add("beta", "not-yours.835", b"x")
    batch = "\n".join(
        [
            "put claims1.x12 /inbound/claims1.x12",
            "cd /inbound",
            "put claims2.x12 claims2.x12.part",
            "rename claims2.x12.part claims2.x12",
            "ls -l /outbound",
            "get /outbound/r1.999 got.999",
            "rm /outbound/r1.999",
            "ls /inbound",
            "",
        ]
    )
    try:
        result = await deferToThread(run_openssh, server.number, keys.ed25519.path, batch, work)
        assert result.returncode == 0, result.stderr
        assert "r1.999" in result.stdout and "not-yours" not in result.stdout
        assert [(a.name, a.data) for a in server.intake.accepted] == [
            ("claims1.x12", b"ISA*00*first~" * 1000),
            ("claims2.x12", b"ISA*00*second~" * 3000),
        ]
        assert {a.partner_id for a in server.intake.accepted} == {"acme"}
        assert (work / "got.999").read_bytes() == b"999 ack" * 5000
        assert server.mailbox.picked == [("acme", "r1.999")]
        assert server.staging_files() == []
        assert [e["name"] for e in server.named("sftp.upload")] == ["claims1.x12", "claims2.x12"]
        assert server.named("sftp.download")[0]["bytes"] == len(b"999 ack" * 5000)

        # the same with an RSA user key (needs the RSA host key offered: server-sig-algs)
        result = await deferToThread(
            run_openssh, server.number, keys.rsa.path, "put claims1.x12 /inbound/rsa.x12\n", work
        )
        assert result.returncode == 0, result.stderr
        assert server.intake.accepted[-1].name == "rsa.x12"
    finally:
        await server.stop()


@pytest.mark.skipif(not os.path.exists(SFTP), reason="OpenSSH sftp client not installed")
@pytest_twisted.ensureDeferred
async def test_openssh_refused_operations_fail_the_batch(
    make_server: Any, keys: Keys, tmp_path: Path
) -> None:
    server: Server = await make_server()
    work = tmp_path / "client"
    work.mkdir()
    (work / "f.x12").write_bytes(b"data")
    try:
        for command in (
            "put f.x12 /outbound/f.x12",
            "mkdir /inbound/sub",
            "put f.x12 /f.x12",
            "ln -s /etc/passwd /inbound/link",
            "get /etc/passwd",
        ):
            result = await deferToThread(
                run_openssh, server.number, keys.ed25519.path, command + "\n", work
            )
            assert result.returncode != 0, command
        assert server.intake.calls == 0
    finally:
        await server.stop()


# -- the jail over the wire -----------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_jail_over_paramiko(make_server: Any, tmp_path: Path) -> None:
    server: Server = await make_server()
    before = sorted(str(p) for p in tmp_path.rglob("*"))

    def scenario() -> None:
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        try:
            assert sftp.normalize(".") == "/"
            assert sftp.normalize("inbound/../outbound") == "/outbound"
            assert sorted(sftp.listdir("/")) == ["inbound", "outbound"]
            assert stat.S_ISDIR(sftp.stat("/inbound").st_mode or 0)
            for bad in ("..", "../..", "/inbound/../../etc"):
                with pytest.raises(PermissionError):
                    sftp.normalize(bad)
            with pytest.raises(FileNotFoundError):
                sftp.open("/etc/passwd")
            with pytest.raises(FileNotFoundError):
                sftp.stat("/etc")
            with pytest.raises(FileNotFoundError):
                sftp.listdir("/tmp")
            with pytest.raises(PermissionError):
                sftp.open("../escape.x12", "w")
            with pytest.raises(PermissionError):
                sftp.symlink("/etc/passwd", "/inbound/link")
            with pytest.raises(PermissionError):
                sftp.mkdir("/inbound/sub")
            with pytest.raises(PermissionError):
                sftp.rmdir("/inbound")
            with pytest.raises(PermissionError):
                sftp.open("/outbound/new.x12", "w")
            with pytest.raises(PermissionError):
                sftp.open("/root.x12", "w")
            with pytest.raises(PermissionError):
                sftp.open("/inbound/x.x12", "r")
            with pytest.raises(PermissionError):
                sftp.chmod("/outbound", 0o777)
            with pytest.raises(OSError):
                sftp.rename("/inbound/a.tmp", "/outbound/a")
        finally:
            transport.close()

    try:
        await deferToThread(scenario)
        after = sorted(str(p) for p in tmp_path.rglob("*"))
        created = set(after) - set(before)
        assert all("/staging/" in p or p.endswith("/staging") for p in created), created
        assert server.intake.calls == 0
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_shell_exec_and_forwarding_are_refused(make_server: Any) -> None:
    server: Server = await make_server()

    def scenario() -> tuple[int, bytes]:
        transport = connect(server.number, password=PASSWORD)
        try:
            with pytest.raises(paramiko.ChannelException):
                transport.open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 1))
            channel = transport.open_session()
            channel.exec_command("cat /etc/passwd")
            status = channel.recv_exit_status()
            return status, channel.recv_stderr(1000)
        finally:
            transport.close()

    try:
        status, message = await deferToThread(scenario)
        assert status == 1
        assert b"SFTP only" in message
    finally:
        await server.stop()


# -- uploads --------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_paramiko_put_get_and_temp_name(make_server: Any, tmp_path: Path) -> None:
    server: Server = await make_server()
    local = tmp_path / "local.x12"
    local.write_bytes(os.urandom(300_000))
    server.mailbox.add("acme", "big.835", os.urandom(3_000_000))

    def scenario() -> list[str]:
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        try:
            sftp.put(str(local), "/inbound/direct.x12")  # confirms with stat()
            sftp.put(str(local), "/inbound/.hidden")
            listing = sftp.listdir("/inbound")
            sftp.posix_rename("/inbound/.hidden", "/inbound/renamed.x12")
            sftp.get(
                "/outbound/big.835", str(tmp_path / "got"), max_concurrent_prefetch_requests=16
            )
            return listing
        finally:
            transport.close()

    try:
        listing = await deferToThread(scenario)
        assert listing == [".hidden"]
        assert [a.name for a in server.intake.accepted] == ["direct.x12", "renamed.x12"]
        assert all(a.data == local.read_bytes() for a in server.intake.accepted)
        got = (tmp_path / "got").read_bytes()
        assert got == server.mailbox.files["acme"]["big.835"].read_bytes()
        assert server.staging_files() == []
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_upload_over_max_size_fails_and_leaves_nothing(
    make_server: Any, tmp_path: Path
) -> None:
    server: Server = await make_server(max_file_size=100_000)
    local = tmp_path / "big.x12"
    local.write_bytes(b"x" * 200_000)

    def scenario() -> None:
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        try:
            # paramiko ignores a failed close; its put() notices through the stat() check
            with pytest.raises(OSError):
                sftp.put(str(local), "/inbound/big.x12")
            # unpipelined writes show the server's message
            handle = sftp.open("/inbound/big2.x12", "w")
            with pytest.raises(OSError, match="too large"):
                handle.write(b"y" * 200_000)
                handle.flush()
            handle.close()
        finally:
            transport.close()

    try:
        await deferToThread(scenario)
        await wait_for(lambda: not server.factory.context.in_flight)
        assert server.intake.calls == 0
        assert server.staging_files() == []
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_aborted_upload_leaves_nothing(make_server: Any) -> None:
    server: Server = await make_server()

    def scenario() -> None:
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        handle = sftp.open("/inbound/partial.x12", "w")
        handle.write(b"ISA" * 50_000)
        handle.flush()
        transport.close()  # no FXP_CLOSE

    try:
        await deferToThread(scenario)
        await wait_for(lambda: not server.factory.context.in_flight)
        await wait_for(lambda: not server.factory.connections)
        assert server.intake.calls == 0
        assert server.staging_files() == []
        assert not server.named("sftp.upload")
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_intake_failure_is_reported_to_the_client(make_server: Any, tmp_path: Path) -> None:
    server: Server = await make_server()
    server.intake.fail = True
    local = tmp_path / "f.x12"
    local.write_bytes(b"ISA" * 1000)

    def scenario() -> None:
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        try:
            with pytest.raises(OSError):
                sftp.put(str(local), "/inbound/f.x12")  # via its stat() check
            handle = sftp.open("/inbound/g.x12", "w")
            handle.write(b"ISA")
            handle.flush()
            with pytest.raises(OSError, match="not accepted"):
                sftp._request(CMD_CLOSE, handle.handle)  # paramiko's close() hides errors
            # a parked file whose rename fails stays parked, so the client can retry
            sftp.put(str(local), "/inbound/f.x12.part")
            with pytest.raises(OSError):
                sftp.rename("/inbound/f.x12.part", "/inbound/f.x12")
            assert sftp.listdir("/inbound") == ["f.x12.part"]
        finally:
            transport.close()

    try:
        await deferToThread(scenario)
        assert server.intake.calls == 3
        [data, side] = server.staging_files()
        assert data.startswith("acme/parked/u-") and side == data + ".name"
        assert (server.staging / side).read_text() == "f.x12.part"
    finally:
        await server.stop()


# -- lifecycle -----------------------------------------------------------------------------


def test_host_keys_are_created_once_and_reused(tmp_path: Path) -> None:
    from twisted.internet import reactor as r

    from gateway.config import SftpConfig

    kwargs: dict[str, Any] = {
        "config": SftpConfig(),
        "host_key_dir": tmp_path / "hostkeys",
        "staging_dir": tmp_path / "staging",
        "partners": lambda: None,
        "intake": None,
        "mailbox": None,
        "audit": lambda *a, **k: None,
        "reactor": r,
    }
    first = make_sftp_factory(**kwargs)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "hostkeys").iterdir()}
    second = make_sftp_factory(**kwargs)
    assert {k: v.blob() for k, v in first.publicKeys.items()} == {
        k: v.blob() for k, v in second.publicKeys.items()
    }
    assert set(first.privateKeys) == {b"ssh-ed25519", b"ssh-rsa"}
    assert first.privateKeys[b"ssh-rsa"].size() == 3072
    for name in (ED25519_FILE, RSA_FILE):
        assert stat.S_IMODE((tmp_path / "hostkeys" / name).stat().st_mode) == 0o600
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "hostkeys").iterdir()} == mtimes


@pytest_twisted.ensureDeferred
async def test_idle_timeout_disconnects(make_server: Any) -> None:
    server: Server = await make_server(idle_timeout=0.5)
    try:
        transport = await deferToThread(connect, server.number, password=PASSWORD)
        await sleep(1.2)
        assert not transport.is_active()
        assert not server.factory.connections
        transport.close()
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_profile_reload_keeps_sessions(make_server: Any, keys: Keys) -> None:
    from gateway.profiles import PartnerSet

    server: Server = await make_server()
    try:
        transport, sftp = await deferToThread(sftp_client, server.number, password=PASSWORD)
        server.partners[0] = PartnerSet({})  # reload: acme is gone
        assert await deferToThread(sftp.listdir, "/") is not None
        with pytest.raises(paramiko.AuthenticationException):
            await deferToThread(connect, server.number, password=PASSWORD)
        transport.close()
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_shutdown_waits_for_an_in_flight_upload(make_server: Any, tmp_path: Path) -> None:
    server: Server = await make_server()
    server.intake.hold = defer.Deferred()
    local = tmp_path / "f.x12"
    local.write_bytes(b"ISA" * 10_000)
    transport, sftp = await deferToThread(sftp_client, server.number, password=PASSWORD)
    put = deferToThread(sftp.put, str(local), "/inbound/f.x12", confirm=False)
    await wait_for(lambda: server.intake.calls == 1)
    stopped = server.factory.shutdown(grace=10)
    await sleep(0.2)
    assert not stopped.called and not put.called
    # no new logins while draining
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        await deferToThread(connect, server.number, password=PASSWORD)
    server.intake.hold.callback(None)
    await put  # the client got its OK
    await stopped
    assert [a.name for a in server.intake.accepted] == ["f.x12"]
    assert not server.factory.connections
    assert not transport.is_active() or (await sleep(0.2)) or not transport.is_active()
    transport.close()
    await server.port.stopListening()


@pytest_twisted.ensureDeferred
async def test_unbounded_paramiko_prefetch_is_not_quadratic(
    make_server: Any, tmp_path: Path
) -> None:
    """paramiko's default unlimited prefetch: the read gate keeps it linear."""
    server: Server = await make_server()
    data = os.urandom(32 * 1024 * 1024)
    server.mailbox.add("acme", "big.835", data)

    def scenario() -> None:
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        try:
            sftp.get("/outbound/big.835", str(tmp_path / "got"))
        finally:
            transport.close()

    try:
        # completes intact (its speed is measured by scripts/bench_sftp.py, not asserted)
        await deferToThread(scenario)
        got = (tmp_path / "got").read_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    finally:
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_routine_sessions_log_nothing_but_conch_noise(
    make_server: Any, tmp_path: Path
) -> None:
    from twisted.logger import LogLevel, globalLogPublisher

    from gateway.transports.sftp import is_conch_noise

    events: list[dict[str, Any]] = []
    server: Server = await make_server()
    local = tmp_path / "f.x12"
    local.write_bytes(b"ISA" * 1000)
    server.mailbox.add("acme", "r.999", b"999")

    def scenario() -> None:
        with pytest.raises(paramiko.AuthenticationException):
            connect(server.number, password="nope")
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        sftp.put(str(local), "/inbound/f.x12")
        sftp.get("/outbound/r.999", str(tmp_path / "r"), max_concurrent_prefetch_requests=4)
        sftp.remove("/outbound/r.999")
        transport.close()

    globalLogPublisher.addObserver(events.append)
    try:
        await deferToThread(scenario)
        await wait_for(lambda: not server.factory.connections)
        await server.stop()
    finally:
        globalLogPublisher.removeObserver(events.append)
    loud = [
        e
        for e in events
        if not is_conch_noise(e)
        and (e.get("log_level", LogLevel.info) >= LogLevel.warn or e.get("isError"))
    ]
    assert loud == []


ODD_NAMES = [
    (b"/inbound/a\x00b.x12", "NUL byte"),
    (b"/inbound/a\nb.x12", "not allowed"),
    (b"/inbound/a\tb.x12", "not allowed"),
    (b"/inbound/a\x7fb.x12", "not allowed"),
    (b"/inbound/a\\b.x12", "not allowed"),
    (b"/inbound/" + b"n" * 300 + b".x12", "too long"),
    (b"/inbound/\xff\xfename.x12", "not valid UTF-8"),
]


@pytest_twisted.ensureDeferred
async def test_long_and_odd_names_get_a_clear_status_and_no_traceback(
    make_server: Any, tmp_path: Path
) -> None:
    from paramiko.sftp import CMD_OPEN
    from paramiko.sftp_attr import SFTPAttributes
    from twisted.logger import LogLevel, formatEvent, globalLogPublisher

    from gateway.transports.sftp import is_conch_noise

    server: Server = await make_server()
    local = tmp_path / "f.x12"
    local.write_bytes(b"ISA" * 100)
    long_temp = "t" * 136 + ".tmp"  # 140 characters
    long_final = "f" * 136 + ".x12"
    answers: list[str] = []

    def scenario() -> None:
        transport, sftp = sftp_client(server.number, password=PASSWORD)
        try:
            sftp.put(str(local), f"/inbound/{long_temp}", confirm=False)
            assert sftp.listdir("/inbound") == [long_temp]
            sftp.rename(f"/inbound/{long_temp}", f"/inbound/{long_final}")
            assert sftp.listdir("/inbound") == []
            for raw, _ in ODD_NAMES:
                with pytest.raises(OSError) as info:
                    sftp._request(CMD_OPEN, raw, 0x1A, SFTPAttributes())  # write|creat|trunc
                answers.append(str(info.value))
            assert sftp.listdir("/inbound") == []  # the session is still fine
        finally:
            transport.close()

    logged: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(logged.append)
    try:
        await deferToThread(scenario)
        await wait_for(lambda: not server.factory.connections)
    finally:
        globalLogPublisher.removeObserver(logged.append)
        await server.stop()
    assert [a.name for a in server.intake.accepted] == [long_final]
    for answer, (_, expected) in zip(answers, ODD_NAMES, strict=True):
        assert expected in answer, answer
    assert server.staging_files() == []
    loud = [
        e
        for e in logged
        if not is_conch_noise(e)
        and (e.get("log_level", LogLevel.info) >= LogLevel.warn or e.get("isError"))
    ]
    assert loud == [], [formatEvent(e) for e in loud]
    # audit fields named "name" are redacted by the real AuditLog (PHI_FIELDS)
    audited = [{k: v for k, v in fields.items() if k != "name"} for _, fields in server.events]
    text = " ".join(formatEvent(e) or "" for e in logged) + repr(audited)
    for name in ("ttttttttttttttttttttttt", "fffffffffffffffffffffff", "nnnnnnnnnnnnnnnnnnnnn"):
        assert name not in text
