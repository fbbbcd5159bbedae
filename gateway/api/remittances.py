"""``GET /api/v1/remittances``: the caller's posted payments (gateway/store/ledger.py), newest
first, each with its claims. A partner sees only the 835s that reached its own mailbox.
Amounts are decimal strings (exact to the cent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gateway.store.ledger import LedgerClaim, LedgerPayment

MAX_PAYMENTS = 1000


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def claim_json(claim: LedgerClaim) -> dict[str, Any]:
    return {
        "patient_control_number": claim.patient_control,
        "payer_claim_number": claim.payer_claim_id,
        "status": claim.status_code,
        "kind": claim.kind,
        "original_payer_claim_number": claim.original_payer_claim_id or None,
        "service_date": claim.service_date,
        "billed": _money(claim.billed),
        "allowed": _money(claim.allowed),
        "paid": _money(claim.paid),
        "contractual": _money(claim.contractual),
        "patient_responsibility": _money(claim.patient_responsibility),
        "other_adjustments": _money(claim.other),
        "state": claim.state,
        "remarks": claim.remarks.split(),
        "matched": claim.matched,
    }


def payment_json(payment: LedgerPayment, claims: list[LedgerClaim]) -> dict[str, Any]:
    return {
        "payer_id": payment.payer_id or None,
        "payer_name": payment.payer_name,
        "trace_number": payment.trace,
        "payment_date": payment.payment_date,
        "method": payment.method_code,
        "amount": _money(payment.amount),
        "provider_adjustments": _money(payment.plb_total),
        "payee_npi": payment.payee_npi,
        "payee_tin": payment.payee_tin,
        "balanced": payment.balanced,
        "mailbox_name": payment.mailbox_name,
        "claims": [claim_json(c) for c in claims],
    }


async def get_remittances(api: Any, request: Any, caller: Any) -> None:
    from gateway.api.resources import send_json

    core = api.gateway.core
    found = await core.in_store(core.store.remittances, caller.partner.id, MAX_PAYMENTS + 1)
    send_json(
        request,
        200,
        {
            "partner": caller.partner.id,
            "truncated": len(found) > MAX_PAYMENTS,
            "remittances": [payment_json(p, c) for p, c in found[:MAX_PAYMENTS]],
        },
    )


_MONEY = {"type": ["string", "null"], "pattern": r"^-?\d+\.\d{2}$"}


def openapi_paths(common: dict[str, Any]) -> dict[str, Any]:
    """This call's part of the OpenAPI document (``common``: the 401/429/503 answers)."""
    return {
        "/api/v1/remittances": {
            "get": {
                "summary": "Posted remittances (835 payments) with their claims",
                "description": (
                    "Every 835 that reached the caller's mailbox, posted claim by claim: newest "
                    f"first, at most {MAX_PAYMENTS} (`truncated` says when there are more). "
                    "Amounts are decimal strings. `matched` is false for a claim that matches no "
                    "claim the gateway routed (needs attention). Billed - paid - contractual = "
                    "patient_responsibility + other_adjustments."
                ),
                "operationId": "listRemittances",
                "responses": {
                    "200": {
                        "description": "the caller's remittances",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["partner", "truncated", "remittances"],
                                    "properties": {
                                        "partner": {"type": "string"},
                                        "truncated": {"type": "boolean"},
                                        "remittances": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["trace_number", "amount", "claims"],
                                                "properties": {
                                                    "payer_id": {"type": ["string", "null"]},
                                                    "payer_name": {"type": "string"},
                                                    "trace_number": {"type": "string"},
                                                    "payment_date": {"type": "string"},
                                                    "method": {"type": "string"},
                                                    "amount": _MONEY,
                                                    "provider_adjustments": _MONEY,
                                                    "payee_npi": {"type": "string"},
                                                    "payee_tin": {"type": "string"},
                                                    "balanced": {"type": "boolean"},
                                                    "mailbox_name": {"type": "string"},
                                                    "claims": {
                                                        "type": "array",
                                                        "items": {"type": "object"},
                                                    },
                                                },
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    **common,
                },
            }
        }
    }
