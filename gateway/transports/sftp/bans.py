"""Password locks and address bans kept in the store (:mod:`gateway.store.logins`), reached
from the reactor through the store's thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred

from gateway.store.logins import USER, LoginBlock, LoginBlocks
from gateway.transports.sftp.throttle import Block

#: Runs a blocking call in the store's thread: ``run(fn, *args) -> Deferred``.
Runner = Callable[..., "Deferred[Any]"]


class StoredBlocks:
    """The :class:`gateway.transports.sftp.auth.BlockStore` of the daemon."""

    def __init__(
        self, table: LoginBlocks, run: Runner, *, window: float = 300.0, node: str = ""
    ) -> None:
        self.table = table
        self.run = run
        self.window = window
        self.node = node

    def failure(
        self, address: str, username: str, password: bool, now: float
    ) -> Deferred[tuple[int, int, int]]:
        """Count a failed login for the whole cluster: (the user's password failures, the
        address's failures, distinct user names from the address) within the window."""

        def count() -> tuple[int, int, int]:
            seen = self.table.record_failure(
                address, username, password=password, now=now, window=self.window, node=self.node
            )
            return seen.user, seen.address, seen.address_users

        d: Deferred[tuple[int, int, int]] = self.run(count)
        return d

    def success(self, username: str) -> Deferred[None]:
        d: Deferred[None] = self.run(self.table.forget_failures, USER, username)
        return d

    def save(self, block: Block) -> Deferred[None]:
        row = LoginBlock(block.kind, block.subject, block.until, block.reason, block.created_at)
        return self.run(self.table.put, row)

    def load(self, now: float) -> Deferred[list[Block]]:
        def convert(rows: list[LoginBlock]) -> list[Block]:
            return [Block(r.kind, r.subject, r.until, r.reason, r.created_at) for r in rows]

        d: Deferred[list[Block]] = self.run(self.table.active, now).addCallback(convert)
        return d
