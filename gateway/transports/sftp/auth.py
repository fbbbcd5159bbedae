"""Password and public-key authentication with password locks, address bans and audit events.

Conch's ``SSHUserAuthServer`` asks ``factory.portal`` for logins but never passes the peer
address, which the address bans need; :class:`GatewayUserAuthServer` therefore swaps in a
per-connection portal (:class:`ConnectionPortal`) that knows the source address.

Counting rules (documented for operators in the README, "SFTP and SSH logins"; the
bookkeeping is :class:`gateway.transports.sftp.throttle.LoginGuard`):

- a wrong password counts towards that user's *password* lock and towards the source
  address's score (unknown user names count too);
- a bad public-key *signature* counts towards the address's score only;
- a public-key *query* (client offering a key without a signature) for a key that is not
  authorised is audited as ``sftp.login.failed`` but not counted: OpenSSH offers every key in
  the agent, one by one, and that alone must not ban anybody;
- while a user's password is locked, password attempts for it are refused unchecked (with a
  banner saying so) and key logins still work; a banned address is disconnected with a reason;
- locks and bans are kept in the store (``gateway.store.logins``), so a restart keeps them,
  and ``gateway bans lift`` ends one early (the daemon re-reads the store every
  :data:`REFRESH_SECONDS`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import bcrypt
from twisted.conch import error as conch_error
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh.common import NS, getNS
from twisted.conch.ssh.keys import BadKeyError, Key
from twisted.conch.ssh.transport import DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT
from twisted.conch.ssh.userauth import MSG_USERAUTH_BANNER, SSHUserAuthServer
from twisted.cred.credentials import ISSHPrivateKey, IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, threads
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.ports import Audit
from gateway.profiles import Partner, PartnerSet, SftpUser
from gateway.transports.sftp.throttle import ADDRESS, USER, Block, LoginGuard

log = Logger()

#: Seconds between re-reads of the stored locks and bans (operator lifts, other processes).
REFRESH_SECONDS = 30.0

#: Connections refused from one banned address are audited at most once per this many seconds.
REFUSAL_AUDIT_SECONDS = 60.0

#: What a client whose user's password login is locked is told (userauth banner). No secrets:
#: it neither confirms the user exists nor says when the lock ends.
PASSWORD_LOCKED_BANNER = (
    b"Password login for this user is temporarily locked after repeated failures.\r\n"
    b"Key login still works; otherwise try again later or contact the gateway operator.\r\n"
)
#: The disconnect reason a banned source address gets.
BANNED_MESSAGE = b"too many failed logins from this address; try again later"


class PasswordLocked(UnauthorizedLogin):
    """The user's password login is locked (a banner tells the client)."""


class AddressBanned(UnauthorizedLogin):
    """The source address is banned (the connection is closed with a reason)."""


class BlockStore(Protocol):
    """Where locks and bans survive a restart: each call returns a Deferred."""

    def save(self, block: Block) -> Deferred[None]: ...

    def load(self, now: float) -> Deferred[list[Block]]: ...


class SharedFailures(Protocol):
    """Failed logins counted across the nodes of a cluster (the daemon's
    :class:`gateway.transports.sftp.bans.StoredBlocks`): each call returns a Deferred."""

    def failure(
        self, address: str, username: str, password: bool, now: float
    ) -> Deferred[tuple[int, int, int]]: ...

    def success(self, username: str) -> Deferred[None]: ...


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
        guard: LoginGuard,
        audit: Audit,
        reactor: Any,
        make_avatar: AvatarMaker,
        accepting: Callable[[], bool],
        blocks: BlockStore | None = None,
    ) -> None:
        self.partners = partners
        self.guard = guard
        self.audit = audit
        self.reactor = reactor
        self.make_avatar = make_avatar
        self.accepting = accepting
        self.blocks = blocks
        self._refusals_audited: dict[str, float] = {}

    # locks and bans ----------------------------------------------------------------------
    def refresh(self) -> Deferred[None]:
        """Audit the blocks whose time is up, then re-read the store's (operator lifts)."""
        for block in self.guard.expired():
            self._lifted(block, "expired")
        if self.blocks is None:
            return defer.succeed(None)
        d = self.blocks.load(self.reactor.seconds())

        def loaded(blocks: list[Block]) -> None:
            for block in self.guard.load(blocks):
                self._lifted(block, "operator")

        def failed(reason: Failure) -> None:
            log.warn("cannot read SFTP login blocks: {error}", error=reason.getErrorMessage())

        return d.addCallbacks(loaded, failed)

    def _lifted(self, block: Block, by: str) -> None:
        who = {"username": block.subject} if block.kind == USER else {"address": block.subject}
        self.audit("sftp.login.lifted", scope=block.kind, by=by, **who)

    def _engaged(self, block: Block, username: str, address: str, method: str) -> None:
        self.audit(
            "sftp.login.locked",
            username=username,
            address=address,
            method=method,
            scope=block.kind,
            action="engaged",
            reason=block.reason,
            seconds=round(block.until - block.created_at, 3),
        )
        if self.blocks is None:
            return
        d = self.blocks.save(block)

        def failed(reason: Failure) -> None:
            log.warn("cannot store an SFTP login block: {error}", error=reason.getErrorMessage())

        d.addCallbacks(lambda _: self.guard.saved(block), failed)

    def _refused(self, scope: str, username: str, address: str, method: str) -> None:
        self.audit(
            "sftp.login.locked",
            username=username,
            address=address,
            method=method,
            scope=scope,
            action="refused",
        )

    def banned(self, address: str) -> bool:
        """Is ``address`` banned? A refused connection is audited, at most once per
        :data:`REFUSAL_AUDIT_SECONDS` per address (a banned flood must not flood the log)."""
        if self.guard.banned(address) is None:
            return False
        now = self.reactor.seconds()
        last = self._refusals_audited.get(address)
        if last is None or now - last >= REFUSAL_AUDIT_SECONDS:
            if len(self._refusals_audited) > 10_000:
                self._refusals_audited.clear()
            self._refusals_audited[address] = now
            self._refused(ADDRESS, "", address, "connect")
        return True

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
        if self.guard.banned(address) is not None:
            self._refused(ADDRESS, username, address, method)
            return defer.fail(AddressBanned("address banned"))
        if method == "password" and self.guard.password_locked(username) is not None:
            # Refused unchecked: a locked password cannot be guessed meanwhile.
            self._refused(USER, username, address, method)
            return defer.fail(PasswordLocked("password login locked"))
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
            if self.guard.password_locked(username) is not None:
                # locked while this guess was being verified: it does not get in either
                self._refused(USER, username, address, method)
                raise PasswordLocked("password login locked")
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
        if method == "password":
            # Only a right password clears the wrong ones: a partner's key-based job logging
            # in every few minutes must not reset an attacker's count of guesses.
            self.guard.success(username)
            shared = self._shared()
            if shared is not None:
                shared.success(username).addErrback(self._shared_failed)
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
            password = method == "password"
            for block in self.guard.failure(address, username, password=password):
                self._engaged(block, username, address, method)
            shared = self._shared()
            if shared is not None:
                d = shared.failure(address, username, password, self.reactor.seconds())

                def counted(counts: tuple[int, int, int]) -> None:
                    user, total, users = counts
                    for block in self.guard.shared(
                        address,
                        username,
                        user_failures=user,
                        address_failures=total,
                        address_users=users,
                    ):
                        self._engaged(block, username, address, method)

                d.addCallbacks(counted, self._shared_failed)
        return UnauthorizedLogin(reason)

    def _shared(self) -> SharedFailures | None:
        """The cluster's failure counts, when the block store keeps them."""
        shared = self.blocks
        return shared if hasattr(shared, "failure") else None  # type: ignore[return-value]

    def _shared_failed(self, reason: Failure) -> None:
        # the database blipped: this node's own counts still lock and ban
        log.warn("cannot count SFTP login failures: {error}", error=reason.getErrorMessage())


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
    """Userauth with our portal and reactor, and limits that hold per *connection*.

    A client may request the ``ssh-userauth`` service again (paramiko does, for every
    attempt), which makes a fresh instance of this class: the attempt count therefore lives on
    the transport, and the login timer is the transport's, running from connection start (see
    :class:`gateway.transports.sftp.factory.GatewayServerTransport`).
    """

    attemptsBeforeDisconnect = 6

    @property  # type: ignore[override]
    def loginAttempts(self) -> int:
        return int(getattr(self.transport, "login_attempts", 0))

    @loginAttempts.setter
    def loginAttempts(self, value: int) -> None:
        # Conch sets 0 in serviceStarted: a new userauth service must not reset the count.
        if self.transport is not None:
            self.transport.login_attempts = max(value, self.loginAttempts)  # type: ignore[attr-defined]

    def serviceStarted(self) -> None:
        assert self.transport is not None
        factory: Any = self.transport.factory
        self.clock = factory.reactor
        super().serviceStarted()
        # The transport's login timer runs from connection start; this one would restart
        # with every service request.
        pending: Any = self._cancelLoginTimeout
        if pending is not None:
            pending.cancel()
            self._cancelLoginTimeout = None  # type: ignore[assignment]
        self.portal = ConnectionPortal(factory.authenticator, peer_host(self.transport))

    def _ebBadAuth(self, reason: Failure) -> None:
        assert self.transport is not None
        if reason.check(AddressBanned):
            self.transport.sendDisconnect(DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT, BANNED_MESSAGE)
            return
        if reason.check(PasswordLocked):
            self.transport.sendPacket(MSG_USERAUTH_BANNER, NS(PASSWORD_LOCKED_BANNER) + NS(b"en"))
        super()._ebBadAuth(reason)


def peer_host(transport: Any) -> str:
    """The client's host (IP address) for a Conch server transport."""
    try:
        peer = transport.transport.getPeer()
    except Exception:
        return "unknown"
    host = getattr(peer, "host", None)
    return str(host) if host is not None else str(peer)
