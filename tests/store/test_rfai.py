"""The requests-for-information store (delta 10): requests by route, payer claim number and
CLM01, their states, the attachments that answered them (a blob SHA-256, never content)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.rfai import (
    ANSWERED,
    EXPIRED,
    OPEN,
    SIMULATED,
    AttachmentRow,
    InfoRequestRow,
)
from gateway.store.sqlite import Store
from tests import dbs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(dbs.location(tmp_path / "gateway.sqlite3"))
    yield s
    s.close()


def _request(request_id: str, route_id: int, number: str, created: float) -> InfoRequestRow:
    return InfoRequestRow(
        request_id, route_id, None, f"CLM{route_id}", "sim01", "SIM01", "demo-billing", number,
        request_id, ("11506-3", "18842-5"), "2026-12-24", OPEN, SIMULATED, created, created,
    )  # fmt: skip


def test_requests_round_trip_and_change_state(store: Store) -> None:
    with store.transaction() as tx:
        first, second = tx.new_request_id(), tx.new_request_id()
        assert (first, second) == ("RFAI00000001", "RFAI00000002")
        tx.add_info_request(_request(first, 7, "SIM010000000001", 10.0))
        tx.add_info_request(_request(second, 7, "SIM010000000001", 20.0))
        tx.set_request_sent(first, "x_277RFAI.x12")
    with store.transaction() as tx:
        found = tx.info_request(first)
        assert found is not None and found.items == ("11506-3", "18842-5")
        assert found.sent_name == "x_277RFAI.x12" and found.state == OPEN
        assert [r.id for r in tx.requests_for_route(7)] == [second, first]  # newest first
        assert tx.requests_for_routes([7, 8]) == {7: tx.requests_for_route(7)[0]}
        assert [r.id for r in tx.requests_by_payer_claim("SIM010000000001")] == [second, first]
        assert [r.id for r in tx.requests_by_clm01("CLM7")] == [first, second]
        tx.set_request_state(first, EXPIRED, 30.0)
        tx.set_request_state(second, ANSWERED, 31.0)
    with store.transaction() as tx:
        assert tx.info_request(first).state == EXPIRED  # type: ignore[union-attr]
        answered = tx.info_request(second)
        assert answered is not None and answered.state == ANSWERED and answered.updated_at == 31.0
        assert tx.info_request("RFAI99999999") is None


def test_attachments_keep_the_blob_hash_only(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_info_request(_request("RFAI00000001", 3, "N1", 1.0))
        tx.add_attachment(AttachmentRow("RFAI00000001", "ab" * 32, "PDF", 1234, "FILE1", 5.0))
        tx.add_attachment(
            AttachmentRow("RFAI00000001", "cd" * 32, "TIF", 99, "FILE2", 6.0, "y_275.x12")
        )
    with store.transaction() as tx:
        rows = tx.attachments_of("RFAI00000001")
        assert [(a.format, a.size, a.file_id, a.forwarded_name) for a in rows] == [
            ("PDF", 1234, "FILE1", None),
            ("TIF", 99, "FILE2", "y_275.x12"),
        ]
        assert tx.attachments_of("RFAI00000002") == []
