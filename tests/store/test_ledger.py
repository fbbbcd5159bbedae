"""The ledger store (gateway/store/ledger.py): posting is idempotent by a unique key, atomic
with its transaction, exact to the cent, and keeps unmatched claims."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.payers.posting import ZERO, Posting, posting_of
from gateway.store.sqlite import Store
from gateway.x12.remit_read import read_835

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "835"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "gateway.sqlite3")
    yield s
    s.close()


def _posting(name: str = "stupidedi-multiple-claims-single-check.edi") -> Posting:
    (remit,) = read_835((CORPUS / name).read_bytes())
    return posting_of(remit)


def _post(store: Store, posting: Posting, routes: list[int | None] | None = None) -> bool:
    with store.transaction() as tx:
        return tx.post_remittance(
            posting,
            partner_id="demo-billing",
            mailbox_name="x_835.x12",
            route_ids=routes if routes is not None else [7] * len(posting.claims),
            now=5.0,
        )


def test_posting_round_trips_to_the_cent(store: Store) -> None:
    posting = _posting()
    assert _post(store, posting)
    with store.transaction() as tx:
        (payment,) = tx.ledger_payments("demo-billing")
        claims = tx.ledger_claims(payment.payer_key, payment.trace)
        adjustments = tx.ledger_adjustments(payment.payer_key, payment.trace)
    assert (payment.payer_key, payment.trace) == ("1512345678", "12345")
    assert payment.amount == Decimal("810.80") and payment.claims == 9
    assert sum((c.paid for c in claims), ZERO) == payment.amount
    for row, claim in zip(claims, posting.claims, strict=True):
        assert (row.billed, row.paid, row.allowed) == (claim.billed, claim.paid, claim.allowed)
        assert row.contractual == claim.contractual
        assert row.patient_responsibility == claim.patient_responsibility
        assert row.state == claim.state and row.matched
        mine = sum((a.amount for a in adjustments if a.seq == row.seq), ZERO)
        assert mine == row.billed - row.paid
    lines = store.query("SELECT COUNT(*) FROM ledger_lines")[0][0]
    assert lines == sum(len(c.lines) for c in posting.claims)


def test_the_same_payment_twice_posts_once(store: Store) -> None:
    posting = _posting()
    assert _post(store, posting)
    assert not _post(store, posting)
    assert store.query("SELECT COUNT(*) FROM ledger_payments")[0][0] == 1
    assert store.query("SELECT COUNT(*) FROM ledger_claims")[0][0] == len(posting.claims)


def test_a_failed_transaction_posts_nothing(store: Store) -> None:
    posting = _posting()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.post_remittance(posting, partner_id="p", mailbox_name="n", route_ids=[None] * 9,
                           now=1.0)  # fmt: skip
        raise RuntimeError("crash before the mailbox commit")
    for table in ("ledger_payments", "ledger_claims", "ledger_lines", "ledger_adjustments"):
        assert store.query(f"SELECT COUNT(*) FROM {table}")[0][0] == 0  # noqa: S608
    assert _post(store, posting)  # and it posts whole the next time


def test_unmatched_claims_need_attention(store: Store) -> None:
    posting = _posting()
    routes: list[int | None] = [None, *[3] * (len(posting.claims) - 1)]
    _post(store, posting, routes)
    with store.transaction() as tx:
        (unmatched,) = tx.ledger_unmatched("demo-billing")
        assert tx.ledger_unmatched("someone-else") == []
    assert unmatched.seq == 1 and not unmatched.matched


def test_plb_is_kept(store: Store) -> None:
    postings = [posting_of(r) for p in sorted(CORPUS.iterdir()) for r in read_835(p.read_bytes())]
    posting = next(p for p in postings if p.plb)
    _post(store, posting)
    rows = store.query("SELECT reason, amount FROM ledger_plb ORDER BY n")
    assert [(r[0], Decimal(r[1])) for r in rows] == [(p.reason, p.amount) for p in posting.plb]
    with store.transaction() as tx:
        (payment,) = tx.ledger_payments()
    assert payment.plb_total == posting.plb_total
