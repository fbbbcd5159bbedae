"""Suite-wide: which database the stores use (tests/dbs.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import dbs


@pytest.fixture(autouse=True)
def _test_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """With ``GATEWAY_TEST_DATABASE``: every configuration loaded from the environment in this
    test (and every daemon it starts) uses a fresh PostgreSQL schema, dropped afterwards."""
    if dbs.BASE is None:
        yield
        return
    monkeypatch.setenv("GATEWAY_DATABASE_URL", dbs.fresh_url())
    try:
        yield
    finally:
        dbs.drop_all()
