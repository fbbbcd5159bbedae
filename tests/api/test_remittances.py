"""``GET /api/v1/remittances`` (gateway/api/remittances.py): the caller's own posted 835s."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted

from gateway.payers.posting import posting_of
from gateway.x12.remit_read import read_835
from tests.api.conftest import DEMO_TOKEN, EXT01_TOKEN, MakeApi, bearer
from tests.api.test_resources import conforms

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "835"


@pytest_twisted.ensureDeferred
async def test_a_partner_sees_its_own_remittances_only(make_api: MakeApi) -> None:
    api = await make_api()
    (remit,) = read_835((CORPUS / "stupidedi-multiple-claims-single-check.edi").read_bytes())
    posting = posting_of(remit)
    (other,) = read_835((CORPUS / "managed-care.835").read_bytes())
    with api.core.store.transaction() as tx:
        routes: list[int | None] = [None, *[1] * (len(posting.claims) - 1)]
        tx.post_remittance(posting, partner_id="demo-billing", mailbox_name="a_835.x12",
                           route_ids=routes, now=10.0)  # fmt: skip
        tx.post_remittance(posting_of(other), partner_id="someone-else",
                           mailbox_name="b_835.x12", route_ids=[1] * len(other.claims),
                           now=11.0)  # fmt: skip
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    answer = await api.call("GET", "/api/v1/remittances", headers=bearer(DEMO_TOKEN))
    assert answer.status == 200, answer.body
    conforms(document, "GET", "/api/v1/remittances", answer)
    body = answer.json()
    assert body["partner"] == "demo-billing" and body["truncated"] is False
    (payment,) = body["remittances"]
    assert payment["trace_number"] == "12345" and payment["amount"] == "810.80"
    assert len(payment["claims"]) == 9
    assert [c["matched"] for c in payment["claims"]][:2] == [False, True]
    first = payment["claims"][0]
    assert (first["billed"], first["paid"], first["contractual"]) == ("226.00", "132.00", "94.00")
    assert first["state"] == "paid in full"
    # another partner sees none of it
    theirs = await api.call("GET", "/api/v1/remittances", headers=bearer(EXT01_TOKEN))
    assert theirs.status == 200 and theirs.json()["remittances"] == []
    unauthenticated = await api.call("GET", "/api/v1/remittances")
    assert unauthenticated.status == 401
    conforms(document, "GET", "/api/v1/remittances", unauthenticated)
