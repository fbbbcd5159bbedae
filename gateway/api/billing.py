"""The billing calls of ``/api/v1`` (gateway/pipeline/billing.py does the work, in the store
thread): claims with their derived balance and state, one claim's whole history, A/R aging,
patient payments, appeals and the denial worklist. A partner sees only the claims it
submitted or that are for its own providers; anything else is 404."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.pipeline import billing
from gateway.pipeline.billing import BillingError

ERROR_CODES = (
    "invalid_query", "unknown_claim", "unknown_account", "reference_used",
)  # fmt: skip
"""Error codes these calls add to the API's."""


def _args(request: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, values in (request.args or {}).items():
        if values:
            out[key.decode("utf-8", "replace")] = values[-1].decode("utf-8", "replace")
    return out


def _claim_id(request: Any) -> int:
    raw = request.postpath[1].decode("ascii", "replace")
    if not raw.isdigit() or len(raw) > 18:
        raise BillingError(404, "not_found", "no such claim")
    return int(raw)


def _body(api: Any, request: Any) -> Any:
    raw = api._small_body(request)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BillingError(400, "bad_json", "the body must be a JSON object") from exc


async def _answer(api: Any, request: Any, work: Callable[[], tuple[int, Any]]) -> None:
    """Run ``work`` in the store thread and send its (status, body); a
    :class:`BillingError` (raised there or before) is the API error it names."""
    from gateway.api.resources import ApiError, send_json

    try:
        status, body = await api.gateway.core.in_store(work)
    except BillingError as error:
        raise ApiError(error.status, error.code, error.message) from error
    send_json(request, status, body)


def _api_error(error: BillingError) -> Exception:
    from gateway.api.resources import ApiError

    return ApiError(error.status, error.code, error.message)


async def get_claims(api: Any, request: Any, caller: Any) -> None:
    try:
        query = billing.claim_filter(_args(request))
    except BillingError as error:
        raise _api_error(error) from error
    store = api.gateway.core.store
    await _answer(api, request, lambda: (200, billing.list_claims(store, caller.partner, query)))


async def get_claim(api: Any, request: Any, caller: Any) -> None:
    try:
        claim_id = _claim_id(request)
    except BillingError as error:
        raise _api_error(error) from error
    store = api.gateway.core.store
    await _answer(
        api, request, lambda: (200, billing.claim_detail(store, caller.partner, claim_id))
    )


async def get_ar_aging(api: Any, request: Any, caller: Any) -> None:
    args = _args(request)
    try:
        as_of = (
            billing.parse_day("as_of", args["as_of"])
            if args.get("as_of")
            else datetime.now(UTC).date()
        )
    except BillingError as error:
        raise _api_error(error) from error
    basis = args.get("basis", "service")
    store = api.gateway.core.store
    await _answer(
        api, request, lambda: (200, billing.ar_aging(store, caller.partner, as_of, basis))
    )


async def post_patient_payment(api: Any, request: Any, caller: Any) -> None:
    try:
        body = _body(api, request)
    except BillingError as error:
        raise _api_error(error) from error
    store = api.gateway.core.store
    now = time.time()
    await _answer(
        api, request, lambda: billing.post_patient_payment(store, caller.partner, body, now)
    )
    # identifiers only: the amount and account are the patient's business
    api.gateway.audit("patient.payment.posted", partner=caller.partner.id)


async def _post_to_claim(
    api: Any, request: Any, caller: Any, record: Callable[..., Any], event: str
) -> None:
    """``POST /api/v1/claims/{id}/...``: ``record(store, partner, claim_id, body, now)`` →
    201, then the audit ``event`` (identifiers only)."""
    try:
        claim_id = _claim_id(request)
        body = _body(api, request)
    except BillingError as error:
        raise _api_error(error) from error
    store = api.gateway.core.store
    now = time.time()
    await _answer(api, request, lambda: (201, record(store, caller.partner, claim_id, body, now)))
    api.gateway.audit(event, partner=caller.partner.id, claim_id=claim_id)


async def post_appeal(api: Any, request: Any, caller: Any) -> None:
    await _post_to_claim(api, request, caller, billing.post_appeal, "claim.appeal.recorded")


async def post_writeoff(api: Any, request: Any, caller: Any) -> None:
    await _post_to_claim(api, request, caller, billing.post_writeoff, "claim.written_off")


async def get_denials(api: Any, request: Any, caller: Any) -> None:
    from gateway.pipeline.denials import denial_worklist

    core = api.gateway.core
    partners = api.gateway.partners()
    payers = core.payers()
    today = datetime.now(UTC).date()
    await _answer(
        api,
        request,
        lambda: (200, denial_worklist(core.store, caller.partner, partners, payers, today)),
    )


# ------------------------------------------------------------------------------ OpenAPI


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_MONEY = {"type": ["string", "null"], "pattern": r"^-?\d+\.\d{2}$"}
_CLAIM = _object(
    ["id", "state", "billed", "balance"],
    {
        "id": {"type": "integer"},
        "patient_control_number": {"type": "string"},
        "payer_id": {"type": "string"},
        "billing_npi": {"type": "string"},
        "frequency_code": {"type": "string"},
        "submitted_at": {"type": "string"},
        "service_date": {"type": ["string", "null"]},
        "state": {"type": "string", "enum": list(billing.STATES)},
        "account": {"type": ["string", "null"]},
        "payer_claim_number": {"type": ["string", "null"]},
        "billed": _MONEY,
        "insurance_paid": _MONEY,
        "contractual": _MONEY,
        "denied": _MONEY,
        "patient_responsibility": _MONEY,
        "patient_paid": _MONEY,
        "balance": _MONEY,
        "denials": {"type": "array", "items": {"type": "object"}},
        "history": {"type": "array", "items": {"type": "object"}},
    },
)


def _get(summary: str, description: str, op: str, schema: dict[str, Any],
         common: dict[str, Any], params: list[dict[str, Any]] | None = None,
         extra: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "operationId": op,
        "responses": {
            "200": {"description": summary, "content": {"application/json": {"schema": schema}}},
            **(extra or {}),
            **common,
        },
    }
    if params:
        out["parameters"] = params
    return out


def _q(name: str, description: str, fmt: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def _err(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _body_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def openapi_paths(common: dict[str, Any]) -> dict[str, Any]:
    """These calls' part of the OpenAPI document (``common``: the 401/429/503 answers)."""
    buckets = {"type": "object", "additionalProperties": _MONEY}
    return {
        "/api/v1/claims": {
            "get": _get(
                "Claims with their derived balance and state",
                "Every claim the caller submitted or that is for one of its providers, newest "
                f"first, at most {billing.MAX_CLAIMS}. State: one of the enum (the billing "
                "cycle, see the README). balance = billed - insurance_paid - contractual - "
                "patient_paid (negative: a credit). `needs_attention`: posted 835 claims that "
                "match no claim the gateway routed.",
                "listClaims",
                _object(
                    ["partner", "truncated", "claims", "needs_attention"],
                    {
                        "partner": {"type": "string"},
                        "truncated": {"type": "boolean"},
                        "claims": {"type": "array", "items": _CLAIM},
                        "needs_attention": {"type": "array", "items": {"type": "object"}},
                    },
                ),
                common,
                [
                    _q("state", "comma-separated states"),
                    _q("payer", "payer ID (or payer partner id)"),
                    _q("npi", "billing provider NPI"),
                    _q("carc", "denied with this CARC (e.g. 197)"),
                    _q("service_from", "date of service from", "date"),
                    _q("service_to", "date of service to", "date"),
                    _q("submitted_from", "submitted from", "date"),
                    _q("submitted_to", "submitted to", "date"),
                ],
                {"400": _err("a bad filter")},
            )
        },
        "/api/v1/denials": {
            "get": _get(
                "The denial worklist",
                "Every claim an 835 denied in whole or in part: reasons (group, CARC) and "
                "remarks (RARC) in plain words, the recommended next step (corrected claim, "
                "void, appeal, bill the patient, write off) with advice, the deadline where "
                "the payer's profile states an appeal or timely-filing window, and what has "
                "been done (appeals, corrected or void claims sent, billed to the patient). "
                "Open items first, then by deadline.",
                "listDenials",
                _object(
                    ["partner", "as_of", "claims", "denials"],
                    {
                        "partner": {"type": "string"},
                        "as_of": {"type": "string"},
                        "claims": {"type": "integer"},
                        "overdue": {"type": "integer"},
                        "denials": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["claim_id", "reasons", "next_step", "done"],
                                "properties": {
                                    "claim_id": {"type": "integer"},
                                    "reasons": {"type": "array", "items": {"type": "object"}},
                                    "remarks": {"type": "array", "items": {"type": "object"}},
                                    "next_step": {"type": "object"},
                                    "deadline": {"type": ["object", "null"]},
                                    "done": {"type": "array", "items": {"type": "object"}},
                                    "status": {"enum": ["open", "worked"]},
                                },
                            },
                        },
                    },
                ),
                common,
            )
        },
        "/api/v1/claims/{id}": {
            "get": {
                **_get(
                    "One claim and its whole history",
                    "The claim as in the list, plus `history`: the clearinghouse's verdict, "
                    "routing, the payer's answers, every 835 posting (adjustments with CARC "
                    "words, RARCs, lines), statements, patient payments and appeals, in order.",
                    "getClaim",
                    _CLAIM,
                    common,
                    None,
                    {"404": _err("no such claim (or not the caller's)")},
                ),
                "parameters": [_ID],
            }
        },
        "/api/v1/claims/{id}/appeals": {
            "post": {
                "summary": "Record an appeal of a claim",
                "operationId": "postAppeal",
                "parameters": [_ID],
                "requestBody": _body_of(
                    _object(
                        ["reason"],
                        {
                            "reason": {"type": "string", "maxLength": 500},
                            "date": {"type": "string", "format": "date"},
                            "documents": {"type": "array", "items": {"type": "string"}},
                        },
                    )
                ),
                "responses": {
                    "201": {
                        "description": "recorded",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "400": _err("not JSON"),
                    "404": _err("no such claim"),
                    "422": _err("a missing or bad field"),
                    **common,
                },
            }
        },
        "/api/v1/claims/{id}/write-offs": {
            "post": {
                "summary": "Write off (part of) a claim's open balance",
                "description": (
                    "A denial not worked further, a small balance: the amount (at most the "
                    "open balance) leaves A/R; the claim is `written off` once nothing is "
                    "open. A write-off covers the denied part first, then the patient's share."
                ),
                "operationId": "postWriteOff",
                "parameters": [_ID],
                "requestBody": _body_of(
                    _object(
                        ["amount", "reason"],
                        {
                            "amount": {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"},
                            "reason": {"type": "string", "maxLength": 500},
                            "date": {"type": "string", "format": "date"},
                        },
                    )
                ),
                "responses": {
                    "201": {
                        "description": "recorded",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "400": _err("not JSON"),
                    "404": _err("no such claim"),
                    "422": _err("a missing or bad field, or more than the open balance"),
                    **common,
                },
            }
        },
        "/api/v1/ar-aging": {
            "get": _get(
                "A/R aging",
                "Open balances (credits as negative amounts) by age in days, 0-30, 31-60, "
                "61-90, 91-120, 120+: in total, by payer and by provider NPI. basis=service "
                "(date of service; a claim not yet answered by an 835 ages from its "
                "submission) or submission. The buckets add up to open_balance.",
                "getArAging",
                _object(
                    ["as_of", "basis", "open_balance", "total"],
                    {
                        "partner": {"type": "string"},
                        "as_of": {"type": "string"},
                        "basis": {"enum": ["service", "submission"]},
                        "claims": {"type": "integer"},
                        "open_balance": _MONEY,
                        "total": buckets,
                        "by_payer": {"type": "object", "additionalProperties": buckets},
                        "by_provider": {"type": "object", "additionalProperties": buckets},
                    },
                ),
                common,
                [
                    _q("as_of", "age as of this day (default today)", "date"),
                    _q("basis", "service (default) or submission"),
                ],
                {"400": _err("a bad parameter")},
            )
        },
        "/api/v1/patient-payments": {
            "post": {
                "summary": "Post a patient payment",
                "description": (
                    "To a claim (`claim_id`) or an account (`account`, as on the statement: "
                    "applied to the oldest open visits first). Idempotent by `reference`: the "
                    "same payment again answers 200 `already_posted`; the reference reused for "
                    "another payment is 409. Over-payment leaves a credit."
                ),
                "operationId": "postPatientPayment",
                "requestBody": _body_of(
                    _object(
                        ["reference", "amount"],
                        {
                            "claim_id": {"type": "integer"},
                            "account": {"type": "string"},
                            "amount": {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"},
                            "date": {"type": "string", "format": "date"},
                            "method": {"enum": list(billing.METHODS)},
                            "reference": {"type": "string", "maxLength": 64},
                        },
                    )
                ),
                "responses": {
                    "201": {
                        "description": "posted",
                        "content": {
                            "application/json": {
                                "schema": _object(
                                    ["reference", "amount", "applied", "credit"],
                                    {
                                        "reference": {"type": "string"},
                                        "claim_id": {"type": ["integer", "null"]},
                                        "account": {"type": "string"},
                                        "amount": _MONEY,
                                        "date": {"type": "string"},
                                        "method": {"type": "string"},
                                        "already_posted": {"type": "boolean"},
                                        "applied": {"type": "array", "items": {"type": "object"}},
                                        "credit": _MONEY,
                                    },
                                )
                            }
                        },
                    },
                    "200": {"description": "this reference was posted already"},
                    "400": _err("not JSON"),
                    "404": _err("unknown claim or account"),
                    "409": _err("the reference names another payment"),
                    "422": _err("a missing or bad field (amount must be positive)"),
                    **common,
                },
            }
        },
    }
