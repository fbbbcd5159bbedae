"""``POST /api/v1/claim-status``: a JSON claim status request (Change Healthcare / Stedi field
names, :func:`gateway.x12.claim_status.request_from_json`) answered in the same exchange from
the claim's lifecycle (gateway/pipeline/claim_status.py): ``{"controlNumber", "claims": [...]}``
with the status category and code in plain words, amounts, the 835's trace number and
payment date; ``?include=x12`` (or ``"includeX12": true``) adds the 277 X212."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gateway.pipeline.claim_status import answer_one, audit_fields, json_277
from gateway.x12.claim_status import answer_json, request_from_json
from gateway.x12.eligibility import FieldError


async def post_claim_status(api: Any, request: Any, caller: Any) -> None:
    from gateway.api.resources import ApiError, send_json

    started = time.monotonic()
    raw = api._small_body(request)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", "the body must be a JSON object") from exc
    try:
        status_request = request_from_json(body)
    except FieldError as exc:
        raise ApiError(400, "invalid_field", f"{exc.field}: {exc.message}") from exc
    include = request.args.get(b"include") or []
    want_x12 = b"x12" in include or (isinstance(body, dict) and body.get("includeX12") is True)
    core = api.gateway.core
    partner = caller.partner
    payers = core.payers()
    partners = api.gateway.partners()
    now = datetime.now(UTC)

    def work() -> tuple[Any, bytes | None]:
        with core.store.transaction() as tx:
            number = tx.next_counter("claim-status-trace")
            control = tx.next_counter("control") if want_x12 else 0
        traced = replace(
            status_request,
            trace=status_request.trace or f"{number:09d}",
            reference=f"{number:09d}",
            receiver_name=partner.name.upper()[:60],
            receiver_id=partner.isa_id,
        )
        answer = answer_one(
            core.store,
            traced,
            partner_id=partner.id,
            payers=payers,
            partners=partners,
            channel="api-json",
            now=now,
        )
        x12 = None
        if want_x12:
            x12 = json_277(
                answer,
                config=core.config,
                receiver=(partner.isa_qualifier, partner.isa_id),
                control=control,
                now=now,
            )
        return answer, x12

    answer, x12 = await core.in_store(work)
    out: dict[str, Any] = {
        "controlNumber": answer.request.reference,
        "claims": [answer_json(answer)],
    }
    if x12 is not None:
        out["x12"] = x12.decode("ascii")
    api.gateway.audit(
        "claim_status.answered",
        channel="api-json",
        partner=partner.id,
        **audit_fields(answer),
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
    )
    send_json(request, 200, out)
