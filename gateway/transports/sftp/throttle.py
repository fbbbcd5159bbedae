"""Failed-login throttling: per user and per source address, sliding window + lockout.

Pure bookkeeping over an injected clock (``reactor.seconds``), so it is tested without sockets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.config import SftpLockoutConfig

#: Above this many tracked keys, stale entries are purged (bounds memory under a spray).
_PURGE_ABOVE = 10_000


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    """``max_failures`` failures of one key within ``window`` seconds lock it for ``lockout``.

    Keys are opaque strings; the SFTP server uses ``user:<name>`` and ``addr:<host>``.
    """

    def __init__(self, config: SftpLockoutConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._records: dict[str, _Record] = {}

    def locked(self, key: str) -> bool:
        record = self._records.get(key)
        return record is not None and record.locked_until > self.clock()

    def failure(self, key: str) -> bool:
        """Record one failure; True when this failure starts a lockout."""
        now = self.clock()
        record = self._records.setdefault(key, _Record())
        if record.locked_until > now:
            return False
        while record.failures and record.failures[0] <= now - self.config.window:
            record.failures.popleft()
        record.failures.append(now)
        if len(record.failures) >= self.config.max_failures:
            record.failures.clear()
            record.locked_until = now + self.config.lockout
            return True
        if len(self._records) > _PURGE_ABOVE:
            self._purge(now)
        return False

    def success(self, key: str) -> None:
        """Forget the failures of ``key`` (a lockout in force stays in force)."""
        record = self._records.get(key)
        if record is not None and record.locked_until <= self.clock():
            del self._records[key]

    def _purge(self, now: float) -> None:
        stale = [
            key
            for key, rec in self._records.items()
            if rec.locked_until <= now
            and (not rec.failures or rec.failures[-1] <= now - self.config.window)
        ]
        for key in stale:
            del self._records[key]
