"""Password and public-key authentication with failed-login throttling and audit events.

Conch's ``SSHUserAuthServer`` asks ``factory.portal`` for logins but never passes the peer
address, which the per-address lockout needs; :class:`GatewayUserAuthServer` therefore swaps
in a per-connection portal (:class:`ConnectionPortal`) that knows the source address.

Counting rules (documented for operators):

- a wrong password or a bad public-key *signature* counts as one failure for the user name
  and one for the source address (unknown user names count too);
- a public-key *query* (client offering a key without a signature) for a key that is not
  authorised is audited as ``sftp.login.failed`` but not counted: OpenSSH offers every key in
  the agent, one by one, and that alone must not lock a legitimate user out;
- a success clears the user's failures (not the address's);
- while the user or the address is locked, every attempt fails, even with the right
  credentials, and is audited as ``sftp.login.locked``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import bcrypt
from twisted.conch import error as conch_error
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh.common import getNS
from twisted.conch.ssh.keys import BadKeyError, Key
from twisted.conch.ssh.userauth import SSHUserAuthServer
from twisted.cred.credentials import ISSHPrivateKey, IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, threads
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from gateway.ports import Audit
from gateway.profiles import Partner, PartnerSet, SftpUser
from gateway.transports.sftp.throttle import LoginThrottle

log = Logger()

#: Signature algorithms accepted for user keys (no SHA-1 ``ssh-rsa``, no DSA, no ECDSA).
USER_KEY_ALGORITHMS = frozenset({b"ssh-ed25519", b"rsa-sha2-256", b"rsa-sha2-512"})

#: Used for unknown users so a miss costs about as much as a hit (no user enumeration by time).
_DUMMY_HASH = bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds=10))

LoginResult = tuple[type[IConchUser], IConchUser, Callable[[], None]]
AvatarMaker = Callable[[Partner, SftpUser, str], Any]


@functools.lru_cache(maxsize=4096)
def _key_blob(line: str) -> bytes | None:
    try:
        return bytes(Key.fromString(line.strip().encode("utf-8")).blob())
    except (BadKeyError, ValueError, IndexError, TypeError):
        return None


def verify_password(password: bytes, stored: str | None) -> bool:
    """Check ``password`` against a bcrypt or argon2 hash (blocking: run it in a thread)."""
    if not stored:
        bcrypt.checkpw(password, _DUMMY_HASH)
        return False
    if stored.startswith("$argon2"):
        try:
            import argon2  # optional dependency
        except ImportError:
            log.warn("argon2 password hash configured but argon2-cffi is not installed")
            return False
        try:
            return bool(argon2.PasswordHasher().verify(stored, password))
        except Exception:
            return False
    try:
        return bcrypt.checkpw(password, stored.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        log.warn("unusable password hash for an SFTP user")
        return False


def _printable(name: bytes) -> str:
    text = name.decode("utf-8", "replace")[:64]
    return "".join(c if c.isprintable() else "?" for c in text)


class Authenticator:
    """Factory-wide login logic; one instance per SFTP factory."""

    def __init__(
        self,
        *,
        partners: Callable[[], PartnerSet],
        throttle: LoginThrottle,
        audit: Audit,
        reactor: Any,
        make_avatar: AvatarMaker,
        accepting: Callable[[], bool],
    ) -> None:
        self.partners = partners
        self.throttle = throttle
        self.audit = audit
        self.reactor = reactor
        self.make_avatar = make_avatar
        self.accepting = accepting

    def login(self, credentials: Any, address: str) -> Deferred[LoginResult]:
        if ISSHPrivateKey.providedBy(credentials):
            method = "publickey"
        elif IUsernamePassword.providedBy(credentials):
            method = "password"
        else:
            return defer.fail(UnauthorizedLogin("unsupported credentials"))
        username = _printable(credentials.username)
        if not self.accepting():
            return defer.fail(UnauthorizedLogin("server is shutting down"))
        for scope, key in (("user", f"user:{username}"), ("address", f"addr:{address}")):
            if self.throttle.locked(key):
                self.audit(
                    "sftp.login.locked",
                    username=username,
                    address=address,
                    method=method,
                    scope=scope,
                    action="refused",
                )
                return defer.fail(UnauthorizedLogin("locked out"))
        found = self.partners().by_sftp_user(username)
        if method == "publickey":
            return self._publickey(credentials, username, address, found)
        d = threads.deferToThreadPool(
            self.reactor,
            self.reactor.getThreadPool(),
            verify_password,
            credentials.password,
            found[1].password_hash if found else None,
        )

        def checked(ok: bool) -> LoginResult:
            if ok and found is not None:
                return self._success(found, username, address, method)
            raise self._failure(username, address, method, "bad password", count=True)

        return d.addCallback(checked)

    def _publickey(
        self,
        credentials: Any,
        username: str,
        address: str,
        found: tuple[Partner, SftpUser] | None,
    ) -> Deferred[LoginResult]:
        algorithm: bytes = credentials.algName
        blob: bytes = credentials.blob
        if algorithm not in USER_KEY_ALGORITHMS:
            return defer.fail(UnauthorizedLogin(f"key algorithm {algorithm!r} not accepted"))
        authorised = found is not None and any(
            _key_blob(line) == blob for line in found[1].public_keys
        )
        if not authorised or found is None:
            return defer.fail(
                self._failure(username, address, "publickey", "key not authorized", count=False)
            )
        if credentials.signature is None:
            # The query phase: tell the client to go ahead and sign with this key.
            return defer.fail(conch_error.ValidPublicKey())
        try:
            signature_algorithm = getNS(credentials.signature)[0]
            valid = signature_algorithm in USER_KEY_ALGORITHMS and Key.fromString(blob).verify(
                credentials.signature, credentials.sigData
            )
        except Exception:
            valid = False
        if not valid:
            return defer.fail(
                self._failure(username, address, "publickey", "bad signature", count=True)
            )
        return defer.succeed(self._success(found, username, address, "publickey"))

    def _success(
        self, found: tuple[Partner, SftpUser], username: str, address: str, method: str
    ) -> LoginResult:
        partner, user = found
        self.throttle.success(f"user:{username}")
        self.audit(
            "sftp.login.ok",
            username=username,
            address=address,
            method=method,
            partner=partner.id,
        )
        avatar = self.make_avatar(partner, user, address)
        return IConchUser, avatar, avatar.logout

    def _failure(
        self, username: str, address: str, method: str, reason: str, *, count: bool
    ) -> UnauthorizedLogin:
        self.audit(
            "sftp.login.failed",
            username=username,
            address=address,
            method=method,
            reason=reason,
        )
        if count:
            for scope, key in (("user", f"user:{username}"), ("address", f"addr:{address}")):
                if self.throttle.failure(key):
                    self.audit(
                        "sftp.login.locked",
                        username=username,
                        address=address,
                        method=method,
                        scope=scope,
                        action="engaged",
                        seconds=self.throttle.config.lockout,
                    )
        return UnauthorizedLogin(reason)


class ConnectionPortal:
    """What ``SSHUserAuthServer`` needs of a portal, bound to one connection's address."""

    def __init__(self, authenticator: Authenticator, address: str) -> None:
        self.authenticator = authenticator
        self.address = address

    def listCredentialsInterfaces(self) -> list[Any]:
        return [ISSHPrivateKey, IUsernamePassword]

    def login(self, credentials: Any, mind: Any, *interfaces: Any) -> Deferred[LoginResult]:
        return self.authenticator.login(credentials, self.address)


class GatewayUserAuthServer(SSHUserAuthServer):
    """Userauth with our portal, our reactor, a short login timeout and fewer attempts."""

    loginTimeout = 120
    attemptsBeforeDisconnect = 6

    def serviceStarted(self) -> None:
        assert self.transport is not None
        factory: Any = self.transport.factory
        self.clock = factory.reactor
        self.loginTimeout = min(self.loginTimeout, int(factory.config.idle_timeout) or 1)
        super().serviceStarted()
        self.portal = ConnectionPortal(factory.authenticator, peer_host(self.transport))


def peer_host(transport: Any) -> str:
    """The client's host (IP address) for a Conch server transport."""
    try:
        peer = transport.transport.getPeer()
    except Exception:
        return "unknown"
    host = getattr(peer, "host", None)
    return str(host) if host is not None else str(peer)
