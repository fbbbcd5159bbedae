"""The billing calls (gateway/api/billing.py) over real HTTP: claims, one claim's history,
A/R aging, patient payments and appeals; each answer matches the OpenAPI document."""

from __future__ import annotations

import json
import time

import pytest_twisted
from twisted.internet import reactor

from tests.api.conftest import EXT01_TOKEN, MakeApi, bearer
from tests.api.test_resources import conforms, sleep
from tests.pipeline.test_routing import batch


async def _billed(make_api: MakeApi):  # type: ignore[no-untyped-def]
    api = await make_api()
    sent = await api.call("POST", "/api/v1/files?filename=b.837", batch(9, 8301), bearer())
    assert sent.status == 202, sent.body
    file_id = sent.json()["file_id"]
    deadline = time.monotonic() + 30
    while True:
        status = (await api.call("GET", f"/api/v1/files/{file_id}", headers=bearer())).json()
        if status["state"] == "routed":
            break
        assert time.monotonic() < deadline, status
        await sleep(0.05)
    await api.core.run_payer_cycles()
    document = (await api.call("GET", "/api/v1/openapi.json")).json()
    return api, document


@pytest_twisted.ensureDeferred
async def test_claims_history_aging_payments_and_appeals(make_api: MakeApi) -> None:
    api, document = await _billed(make_api)
    listed = await api.call("GET", "/api/v1/claims", headers=bearer())
    conforms(document, "GET", "/api/v1/claims", listed)
    claims = listed.json()["claims"]
    assert len(claims) == 9
    owed = next(c for c in claims if c["patient_responsibility"] not in ("0.00", None))
    one = await api.call("GET", f"/api/v1/claims/{owed['id']}", headers=bearer())
    conforms(document, "GET", "/api/v1/claims/{id}", one)
    assert any(e["event"] == "835 posted" for e in one.json()["history"])
    for path, token in ((f"/api/v1/claims/{owed['id']}", EXT01_TOKEN),
                        ("/api/v1/claims/999999", None), ("/api/v1/claims/x", None)):  # fmt: skip
        hidden = await api.call("GET", path, headers=bearer(token) if token else bearer())
        assert hidden.status == 404
        conforms(document, "GET", "/api/v1/claims/{id}", hidden)
    bad = await api.call("GET", "/api/v1/claims?state=lost", headers=bearer())
    assert bad.status == 400
    conforms(document, "GET", "/api/v1/claims", bad)

    aging = await api.call("GET", "/api/v1/ar-aging?as_of=2026-12-04", headers=bearer())
    conforms(document, "GET", "/api/v1/ar-aging", aging)
    assert aging.json()["open_balance"] == aging.json()["total"]["total"]

    pay = {"claim_id": owed["id"], "amount": "5.00", "reference": "CHK-1", "method": "check"}
    posted = await api.call("POST", "/api/v1/patient-payments", json.dumps(pay).encode(),
                            bearer())  # fmt: skip
    assert posted.status == 201, posted.body
    conforms(document, "POST", "/api/v1/patient-payments", posted)
    again = await api.call("POST", "/api/v1/patient-payments", json.dumps(pay).encode(),
                           bearer())  # fmt: skip
    assert again.status == 200 and again.json()["already_posted"] is True
    for body, status in (
        ({**pay, "reference": "CHK-2", "amount": "-1"}, 422),
        ({**pay, "reference": "CHK-3", "claim_id": 424242}, 404),
        ({**pay, "amount": "6.00"}, 409),
    ):
        refused = await api.call("POST", "/api/v1/patient-payments", json.dumps(body).encode(),
                                 bearer())  # fmt: skip
        assert refused.status == status, refused.body
        conforms(document, "POST", "/api/v1/patient-payments", refused)
        assert refused.json()["error"]
    not_json = await api.call("POST", "/api/v1/patient-payments", b"{", bearer())
    assert not_json.status == 400

    denials = await api.call("GET", "/api/v1/denials", headers=bearer())
    assert denials.status == 200, denials.body
    conforms(document, "GET", "/api/v1/denials", denials)
    for entry in denials.json()["denials"]:
        assert entry["reasons"] and entry["next_step"]["action"]

    appeal = {"reason": "medical records attached", "documents": ["records.pdf"]}
    recorded = await api.call("POST", f"/api/v1/claims/{owed['id']}/appeals",
                              json.dumps(appeal).encode(), bearer())  # fmt: skip
    assert recorded.status == 201, recorded.body
    conforms(document, "POST", "/api/v1/claims/{id}/appeals", recorded)
    assert (
        api.named("patient.payment.posted")
        and "amount" not in api.named("patient.payment.posted")[0]
    )

    denied = next((c for c in claims if c["denied"] not in ("0.00", None)), owed)
    write_off = {"amount": "1.00", "reason": "small balance"}
    written = await api.call("POST", f"/api/v1/claims/{denied['id']}/write-offs",
                             json.dumps(write_off).encode(), bearer())  # fmt: skip
    assert written.status == 201, written.body
    conforms(document, "POST", "/api/v1/claims/{id}/write-offs", written)
    too_much = {"amount": "99999.00", "reason": "no"}
    refused = await api.call("POST", f"/api/v1/claims/{denied['id']}/write-offs",
                             json.dumps(too_much).encode(), bearer())  # fmt: skip
    assert refused.status == 422
    conforms(document, "POST", "/api/v1/claims/{id}/write-offs", refused)


@pytest_twisted.ensureDeferred
async def test_statements_after_the_payment_cycle(make_api: MakeApi) -> None:
    api, document = await _billed(make_api)
    # the payment cycle asked for the statement run and did not wait for it (the next
    # cycle's 835s must not wait for PDFs): the run goes on in the background
    assert api.core.statements.requests == 1
    await api.core.statements.idle().addTimeout(60, reactor)
    assert api.core.statements.runs == 1
    listed = await api.call("GET", "/api/v1/statements", headers=bearer())
    conforms(document, "GET", "/api/v1/statements", listed)
    statements = listed.json()["statements"]
    assert statements and all(s["mailbox_name"].endswith("_STATEMENT.pdf") for s in statements)
    first = statements[0]
    one = await api.call("GET", f"/api/v1/statements/{first['id']}", headers=bearer())
    conforms(document, "GET", "/api/v1/statements/{id}", one)
    body = one.json()
    assert body["account"] == first["account"] and body["amount_due"] == first["amount_due"]
    assert body["visits"] and body["guarantor"]["name"]
    hidden = await api.call("GET", f"/api/v1/statements/{first['id']}",
                            headers=bearer(EXT01_TOKEN))  # fmt: skip
    assert hidden.status == 404
    conforms(document, "GET", "/api/v1/statements/{id}", hidden)
    (run,) = api.named("statements.run")
    assert run["statements"] == len(statements) and "GRACE" not in json.dumps(run)
