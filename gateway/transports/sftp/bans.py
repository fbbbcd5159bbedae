"""Password locks and address bans kept in the store (:mod:`gateway.store.logins`), reached
from the reactor through the store's thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred

from gateway.store.logins import LoginBlock, LoginBlocks
from gateway.transports.sftp.throttle import Block

#: Runs a blocking call in the store's thread: ``run(fn, *args) -> Deferred``.
Runner = Callable[..., "Deferred[Any]"]


class StoredBlocks:
    """The :class:`gateway.transports.sftp.auth.BlockStore` of the daemon."""

    def __init__(self, table: LoginBlocks, run: Runner) -> None:
        self.table = table
        self.run = run

    def save(self, block: Block) -> Deferred[None]:
        row = LoginBlock(block.kind, block.subject, block.until, block.reason, block.created_at)
        return self.run(self.table.put, row)

    def load(self, now: float) -> Deferred[list[Block]]:
        def convert(rows: list[LoginBlock]) -> list[Block]:
            return [Block(r.kind, r.subject, r.until, r.reason, r.created_at) for r in rows]

        d: Deferred[list[Block]] = self.run(self.table.active, now).addCallback(convert)
        return d
