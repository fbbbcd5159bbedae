"""Fixtures for the SFTP transport tests: keys, fake intake/mailbox, a running server."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import bcrypt
import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from twisted.internet import defer, reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ServerEndpoint

from gateway.config import SftpConfig, SftpLockoutConfig
from gateway.ports import MailboxEntry
from gateway.profiles import Partner, PartnerSet, SftpUser
from gateway.transports.sftp import SftpFactory, make_sftp_factory
from gateway.transports.sftp.auth import GatewayUserAuthServer

PASSWORD = "correct horse battery staple"


@dataclass
class ClientKey:
    path: Path
    public_line: str

    def paramiko(self) -> paramiko.PKey:
        return paramiko.PKey.from_path(self.path)


@dataclass
class Keys:
    host_dir: Path
    ed25519: ClientKey
    rsa: ClientKey
    other: ClientKey
    password_hash: str


def _write_key(directory: Path, name: str, key: Any) -> ClientKey:
    path = directory / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    os.chmod(path, 0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return ClientKey(path, public.decode() + f" {name}@test")


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("keys")
    return Keys(
        host_dir=directory / "host",
        ed25519=_write_key(directory, "id_ed25519", ed25519.Ed25519PrivateKey.generate()),
        rsa=_write_key(directory, "id_rsa", rsa.generate_private_key(65537, 2048)),
        other=_write_key(directory, "id_other", ed25519.Ed25519PrivateKey.generate()),
        password_hash=bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode(),
    )


def partner_set(keys: Keys) -> PartnerSet:
    acme = Partner(
        id="acme",
        name="Acme Billing",
        role="submitter",
        kind="billing-company",
        isa_qualifier="ZZ",
        isa_id="ACME",
        sftp_users=(
            SftpUser(
                name="acme",
                public_keys=(keys.ed25519.public_line, keys.rsa.public_line),
                password_hash=keys.password_hash,
            ),
        ),
    )
    beta = Partner(
        id="beta",
        name="Beta",
        role="submitter",
        kind="provider",
        isa_qualifier="ZZ",
        isa_id="BETA",
        sftp_users=(SftpUser(name="beta", password_hash=keys.password_hash),),
    )
    return PartnerSet({"acme": acme, "beta": beta})


@dataclass
class Accepted:
    partner_id: str
    channel: str
    name: str
    data: bytes


class FakeIntake:
    """Takes ownership of the temp file (moves it away), like the real one."""

    def __init__(self, store: Path) -> None:
        self.store = store
        store.mkdir(parents=True, exist_ok=True)
        self.accepted: list[Accepted] = []
        self.calls = 0
        self.fail = False
        self.hold: Deferred[None] | None = None
        self._ids = itertools.count(1)

    def accept_upload(self, partner_id: str, channel: str, name: str, temp_path: Path) -> Any:
        self.calls += 1
        assert temp_path.exists(), "the temp file must exist when intake is called"
        if self.fail:
            return defer.fail(RuntimeError("database is locked"))

        def take(_: object = None) -> str:
            file_id = f"F{next(self._ids):04d}"
            target = self.store / file_id
            shutil.move(temp_path, target)
            self.accepted.append(Accepted(partner_id, channel, name, target.read_bytes()))
            return file_id

        if self.hold is not None:
            return self.hold.addCallback(take)
        return defer.succeed(take())


class FakeMailbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, dict[str, Path]] = {}
        self.picked: list[tuple[str, str]] = []

    def add(self, partner_id: str, name: str, data: bytes) -> Path:
        directory = self.root / partner_id
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        path.write_bytes(data)
        self.files.setdefault(partner_id, {})[name] = path
        return path

    def list_outbound(self, partner_id: str) -> Deferred[list[MailboxEntry]]:
        return defer.succeed(
            [
                MailboxEntry(name, p.stat().st_size, p.stat().st_mtime)
                for name, p in self.files.get(partner_id, {}).items()
            ]
        )

    def open_outbound(self, partner_id: str, name: str) -> Deferred[Path | None]:
        return defer.succeed(self.files.get(partner_id, {}).get(name))

    def pick_up(self, partner_id: str, name: str) -> Deferred[bool]:
        found = self.files.get(partner_id, {}).pop(name, None)
        if found is not None:
            self.picked.append((partner_id, name))
        return defer.succeed(found is not None)


@dataclass
class Server:
    factory: SftpFactory
    port: Any
    intake: FakeIntake
    mailbox: FakeMailbox
    staging: Path
    events: list[tuple[str, dict[str, Any]]]
    partners: list[PartnerSet] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.port.getHost().port)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.events if name == event]

    def staging_files(self) -> list[str]:
        return sorted(
            str(p.relative_to(self.staging)) for p in self.staging.rglob("*") if p.is_file()
        )

    async def stop(self) -> None:
        await self.factory.shutdown(grace=2)
        await self.port.stopListening()


ServerMaker = Callable[..., "Deferred[Server]"]


@pytest.fixture
def make_server(tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``server = await make_server(max_file_size=...)``; stopped by the test."""
    monkeypatch.setattr(GatewayUserAuthServer, "passwordDelay", 0.01)

    async def make(
        lockout: SftpLockoutConfig | None = None, blocks: Any = None, **overrides: Any
    ) -> Server:
        relaxed = SftpLockoutConfig(
            max_failures=50, window=60, lockout=60, ban_users=50, ban_failures=100
        )
        config = replace(
            SftpConfig(listen="tcp:0:interface=127.0.0.1"),
            lockout=lockout or relaxed,
            **overrides,
        )
        events: list[tuple[str, dict[str, Any]]] = []
        intake = FakeIntake(tmp_path / "store")
        mailbox = FakeMailbox(tmp_path / "mailbox")
        current = [partner_set(keys)]
        staging = tmp_path / "staging"
        factory = make_sftp_factory(
            config=config,
            host_key_dir=keys.host_dir,
            staging_dir=staging,
            partners=lambda: current[0],
            intake=intake,
            mailbox=mailbox,
            audit=lambda event, **fields: events.append((event, fields)),
            reactor=reactor,
            blocks=blocks,
        )
        port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
        return Server(factory, port, intake, mailbox, staging, events, current)

    return make


def connect(
    port: int,
    username: str = "acme",
    *,
    password: str | None = None,
    pkey: paramiko.PKey | None = None,
    source: str = "127.0.0.1",
) -> paramiko.Transport:
    """Blocking (run it in a thread): an authenticated paramiko transport."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    transport = paramiko.Transport(sock)
    try:
        transport.connect(username=username, password=password, pkey=pkey)
    except Exception:
        transport.close()
        raise
    return transport


def sftp_client(
    port: int, username: str = "acme", **kwargs: Any
) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
    transport = connect(port, username, **kwargs)
    client = paramiko.SFTPClient.from_transport(transport)
    assert client is not None
    return transport, client
