"""``POST /api/v1/claim-status``: a JSON claim status request (Change Healthcare / Stedi field
names, :func:`gateway.x12.claim_status.request_from_json`) answered in the same exchange from
the claim's lifecycle (gateway/pipeline/claim_status.py), or for an external payer with a
CAQH CORE endpoint by the payer itself (asked as a 276 within its budget; when it does not
answer, from what the clearinghouse knows, saying so): ``{"controlNumber", "claims": [...]}``
with the status category and code in plain words, amounts, the 835's trace number and
payment date; ``?include=x12`` (or ``"includeX12": true``) adds the 277 X212."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gateway.pipeline.claim_status import (
    PAYER_SILENT,
    answer_in,
    audit_fields,
    forwarded_in,
    json_277,
)
from gateway.pipeline.core_forward import external_endpoint, forward_status
from gateway.x12.claim_status import answer_json, request_from_json


async def post_claim_status(api: Any, request: Any, caller: Any) -> None:
    from gateway.api.resources import send_json

    started = time.monotonic()
    status_request, want_x12 = api._json_inquiry(request, request_from_json)
    core = api.gateway.core
    partner = caller.partner
    payers = core.payers()
    partners = api.gateway.partners()
    now = datetime.now(UTC)
    payer = external_endpoint(status_request.payer_id, partners)

    def traced(tx: Any) -> Any:
        number = tx.next_counter("claim-status-trace")
        return replace(
            status_request,
            trace=status_request.trace or f"{number:09d}",
            reference=f"{number:09d}",
            receiver_name=partner.name.upper()[:60],
            receiver_id=partner.isa_id,
        )

    def work(asked: Any = None, forwarded: Any = None) -> tuple[Any, bytes | None]:
        # one transaction (one commit): the tracking number, the answer and its log row
        with core.store.transaction() as tx:
            control = tx.next_counter("control") if want_x12 else 0
            if forwarded is not None:
                answer = forwarded_in(tx, forwarded, partner_id=partner.id, channel="api-json",
                                      now=now)  # fmt: skip
            else:
                answer = answer_in(
                    tx,
                    asked if asked is not None else traced(tx),
                    partner_id=partner.id,
                    payers=payers,
                    partners=partners,
                    channel="api-json",
                    now=now,
                )
                if asked is not None:  # the external payer did not answer
                    answer = replace(answer, message=PAYER_SILENT + answer.message)
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

    asked = forwarded = None
    if payer is not None:  # an external payer with a CORE endpoint: ask it (a 276)

        def prepare() -> tuple[Any, int]:
            with core.store.transaction() as tx:
                return traced(tx), tx.next_counter(f"control:{payer.id}")

        asked, payer_control = await core.in_store(prepare)
        forwarded = await api._forward_json(
            asked, payer, partner.id, payer_control, now,
            forward=forward_status, failed_event="claim_status.forward.failed",
        )  # fmt: skip
    answer, x12 = await core.in_store(work, asked, forwarded)
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
        forwarded=forwarded is not None,
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
    )
    send_json(request, 200, out)


_STR = {"type": "string"}
_DAY = {"type": "string", "pattern": "^[0-9]{8}$"}
_MONEY = {"type": ["string", "null"], "pattern": "^-?[0-9]+\\.[0-9]{2}$"}
_STATUS = {
    "type": "object",
    "required": ["statusCategoryCode", "statusCategoryCodeValue", "statusCode", "statusCodeValue"],
    "properties": {
        "statusCategoryCode": {"type": "string", "description": "X12 507, e.g. F1, P3, A4"},
        "statusCategoryCodeValue": _STR,
        "statusCode": {"type": "string", "description": "X12 508, e.g. 65, 297, 35"},
        "statusCodeValue": _STR,
        "entityCode": _STR,
    },
}
_ADJUSTMENTS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["groupCode", "reasonCode", "reason", "amount"],
        "properties": {"groupCode": _STR, "reasonCode": _STR, "reason": _STR, "amount": _MONEY},
    },
}
_CLAIM = {
    "type": "object",
    "required": ["status", "summary", "effectiveDate", "source", "trackingNumber"],
    "properties": {
        "tradingPartnerServiceId": _STR,
        "payer": {"type": "object"},
        "provider": {"type": "object"},
        "trackingNumber": {"type": "string", "description": "TRN02 (yours, or ours)"},
        "source": {"enum": ["payer", "clearinghouse"]},
        "status": {"type": "array", "items": _STATUS},
        "summary": {"type": "string", "description": "the first status in plain words"},
        "effectiveDate": {"type": "string", "format": "date"},
        "patientControlNumber": _STR,
        "payerClaimControlNumber": {"type": ["string", "null"]},
        "submittedAmount": _MONEY,
        "amountPaid": _MONEY,
        "serviceDate": {"type": "object"},
        "adjudicatedDate": {"type": "string", "format": "date"},
        "payment": {
            "type": "object",
            "description": "the 835 that paid it: TRN02 check/EFT trace number and date",
            "properties": {
                "traceNumber": _STR,
                "date": {"type": ["string", "null"]},
                "method": _STR,
            },
        },
        "message": _STR,
        "requestedInformation": {
            "type": "object",
            "description": "what the payer waits for (P3): the documents asked for in its "
            "277 RFAI in words (e.g. progress note) and the due date; message then reads "
            "'waiting for information: progress note, due 2026-12-31'",
            "properties": {"item": _STR, "dueDate": {"type": ["string", "null"]}},
        },
        "adjustments": _ADJUSTMENTS,
        "remarkCodes": {"type": "array", "items": _STR},
        "serviceLines": {"type": "array", "items": {"type": "object"}},
    },
}


def openapi_paths(common: dict[str, Any], max_body: int) -> dict[str, Any]:
    """This call's part of the OpenAPI document (``common``: the 401/429/503 answers)."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "/api/v1/claim-status": {
            "post": {
                "operationId": "claimStatus",
                "summary": "Real-time claim status (276/277 005010X212) as JSON",
                "description": (
                    "Where is a claim? Answered from the claim's lifecycle: not found (A4), at "
                    "the clearinghouse or rejected by its edits (source clearinghouse), pending "
                    "at the payer (P1/P2/P3 with the reason or the requested information), "
                    "finalized (F1 paid, F2 denied, F4 no payment, F3 revised) with amounts, "
                    "CARCs in plain words and the 835's trace number and payment date. Only the "
                    "caller's own claims are found. For an external payer with a CAQH CORE "
                    "endpoint the payer itself is asked (as a 276); when it does not answer "
                    "in time, the clearinghouse's view, saying so. `?include=x12` adds the "
                    "277."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["tradingPartnerServiceId", "providers", "subscriber"],
                                "properties": {
                                    "tradingPartnerServiceId": {
                                        "type": "string",
                                        "description": "payer ID",
                                    },
                                    "providers": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "npi": {"type": "string"},
                                                "organizationName": _STR,
                                                "lastName": _STR,
                                                "firstName": _STR,
                                            },
                                        },
                                    },
                                    "subscriber": {
                                        "type": "object",
                                        "required": ["memberId", "lastName"],
                                        "properties": {
                                            "memberId": _STR,
                                            "firstName": _STR,
                                            "lastName": _STR,
                                            "dateOfBirth": _DAY,
                                        },
                                    },
                                    "encounter": {
                                        "type": "object",
                                        "properties": {
                                            "beginningDateOfService": _DAY,
                                            "endDateOfService": _DAY,
                                            "trackingNumber": _STR,
                                            "submittedAmount": _STR,
                                        },
                                    },
                                    "patientControlNumber": {
                                        "type": "string",
                                        "description": "the 837's CLM01",
                                    },
                                    "payerClaimControlNumber": {
                                        "type": "string",
                                        "description": "the 835's CLP07",
                                    },
                                    "includeX12": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "the status of the claim",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["controlNumber", "claims"],
                                    "properties": {
                                        "controlNumber": _STR,
                                        "claims": {"type": "array", "items": _CLAIM},
                                        "x12": {"type": "string", "description": "the 277"},
                                    },
                                }
                            }
                        },
                    },
                    "400": {
                        "description": "bad JSON, or a field missing or wrong (named)",
                        **error,
                    },
                    "413": {"description": f"the body is over {max_body} bytes", **error},
                    **common,
                },
            }
        }
    }
