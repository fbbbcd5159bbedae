"""Failed-login bookkeeping: password locks per user, bans per source address.

Pure bookkeeping over an injected clock (``reactor.seconds``), so it is tested without sockets.

Rules (the README's "SFTP and SSH logins" documents them for operators):

- ``max_failures`` wrong passwords for one user name within ``window`` seconds lock that
  user's *password* login for ``lockout`` seconds. Key logins of that user keep working: a
  stranger guessing passwords must not lock a partner's automated, key-only job out.
- A source address is banned for ``ban_time`` seconds when, within ``window`` seconds,
  ``ban_users`` distinct user names failed from it, or ``ban_failures`` failures came from it.
  One partner's typos behind a shared NAT do not ban the address; a spray across names does.
- A success forgets that user's password failures (a lock in force stays in force).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gateway.config import SftpLockoutConfig

#: Block kinds: a user's password login, or a source address.
USER = "user"
ADDRESS = "address"

#: Above this many tracked keys, stale entries are purged (bounds memory under a spray).
_PURGE_ABOVE = 10_000


@dataclass(frozen=True)
class Block:
    """A password lock (``kind="user"``) or an address ban (``kind="address"``)."""

    kind: str
    subject: str
    until: float
    reason: str
    created_at: float


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    users: deque[tuple[float, str]] = field(default_factory=deque)

    def prune(self, since: float) -> None:
        while self.times and self.times[0] <= since:
            self.times.popleft()
        while self.users and self.users[0][0] <= since:
            self.users.popleft()


class LoginGuard:
    """Counts failures, engages and reports blocks. Keys are user names and addresses."""

    def __init__(self, config: SftpLockoutConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._users: dict[str, _Failures] = {}
        self._addresses: dict[str, _Failures] = {}
        self.blocks: dict[tuple[str, str], Block] = {}
        #: Blocks engaged but not yet written to the store (a reload must not forget them).
        self.unsaved: set[tuple[str, str]] = set()

    # queries -----------------------------------------------------------------------------
    def active(self, kind: str, subject: str) -> Block | None:
        block = self.blocks.get((kind, subject))
        if block is not None and block.until > self.clock():
            return block
        return None

    def password_locked(self, user: str) -> Block | None:
        return self.active(USER, user)

    def banned(self, address: str) -> Block | None:
        return self.active(ADDRESS, address)

    # events ------------------------------------------------------------------------------
    def failure(self, address: str, user: str, *, password: bool) -> list[Block]:
        """Record one failed login; the blocks this failure engages (maybe none).

        ``password``: a wrong password (counts towards the user's password lock); other
        counted failures (a bad key signature) only count towards the address score.
        """
        now = self.clock()
        since = now - self.config.window
        engaged: list[Block] = []
        if password and self.password_locked(user) is None:
            record = self._users.setdefault(user, _Failures())
            record.prune(since)
            record.times.append(now)
            if len(record.times) >= self.config.max_failures:
                record.times.clear()
                engaged.append(
                    self._engage(USER, user, now, self.config.lockout, "wrong passwords")
                )
        if self.banned(address) is None:
            record = self._addresses.setdefault(address, _Failures())
            record.prune(since)
            record.times.append(now)
            record.users.append((now, user))
            distinct = len({name for _, name in record.users})
            reason = None
            if distinct >= self.config.ban_users:
                reason = f"{distinct} user names failed"
            elif len(record.times) >= self.config.ban_failures:
                reason = f"{len(record.times)} failed logins"
            if reason is not None:
                del self._addresses[address]
                engaged.append(self._engage(ADDRESS, address, now, self.config.ban_time, reason))
        if len(self._users) + len(self._addresses) > _PURGE_ABOVE:
            self._purge(since)
        return engaged

    def shared(
        self,
        address: str,
        user: str,
        *,
        user_failures: int,
        address_failures: int,
        address_users: int,
    ) -> list[Block]:
        """The blocks the cluster's counts (every node's failures within the window, from the
        database) engage that this node's own counts did not."""
        now = self.clock()
        engaged: list[Block] = []
        if self.password_locked(user) is None and user_failures >= self.config.max_failures:
            self._users.pop(user, None)
            engaged.append(self._engage(USER, user, now, self.config.lockout, "wrong passwords"))
        if self.banned(address) is None:
            reason = None
            if address_users >= self.config.ban_users:
                reason = f"{address_users} user names failed"
            elif address_failures >= self.config.ban_failures:
                reason = f"{address_failures} failed logins"
            if reason is not None:
                self._addresses.pop(address, None)
                engaged.append(self._engage(ADDRESS, address, now, self.config.ban_time, reason))
        return engaged

    def success(self, user: str) -> None:
        self._users.pop(user, None)

    def _engage(self, kind: str, subject: str, now: float, seconds: float, reason: str) -> Block:
        block = Block(kind, subject, now + seconds, reason, now)
        self.blocks[(kind, subject)] = block
        self.unsaved.add((kind, subject))
        return block

    def saved(self, block: Block) -> None:
        self.unsaved.discard((block.kind, block.subject))

    def lift(self, kind: str, subject: str) -> Block | None:
        self.unsaved.discard((kind, subject))
        return self.blocks.pop((kind, subject), None)

    # persistence and operators ----------------------------------------------------------
    def load(self, blocks: Iterable[Block]) -> list[Block]:
        """Replace the known blocks by ``blocks`` (the store's); the ones that went away
        while still in force (lifted by an operator)."""
        fresh = {(b.kind, b.subject): b for b in blocks}
        now = self.clock()
        gone = [
            b
            for key, b in self.blocks.items()
            if key not in fresh and b.until > now and key not in self.unsaved
        ]
        kept_unsaved = {k: v for k, v in self.blocks.items() if k in self.unsaved}
        self.blocks = {**fresh, **kept_unsaved}
        return gone

    def expired(self) -> list[Block]:
        """Remove and return the blocks whose time is up."""
        now = self.clock()
        done = [b for b in self.blocks.values() if b.until <= now]
        for b in done:
            del self.blocks[(b.kind, b.subject)]
            self.unsaved.discard((b.kind, b.subject))
        return done

    def _purge(self, since: float) -> None:
        for table in (self._users, self._addresses):
            for key in [k for k, rec in table.items() if not rec.times or rec.times[-1] <= since]:
                del table[key]
