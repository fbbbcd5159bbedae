"""JSON form of :class:`~gateway.payers.model.ClaimDecision`, for the store (exact: amounts
as strings, dates ISO)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.payers.model import (
    Adjustment,
    ClaimDecision,
    ClaimStatus,
    LineDecision,
    Outcome,
)


def _adjustment(a: Adjustment) -> dict[str, Any]:
    return {
        "group": a.group,
        "reason": a.reason,
        "amount": str(a.amount),
        "quantity": None if a.quantity is None else str(a.quantity),
    }


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _line(line: LineDecision) -> dict[str, Any]:
    return {
        "line_number": line.line_number,
        "procedure_qualifier": line.procedure_qualifier,
        "procedure_code": line.procedure_code,
        "modifiers": list(line.modifiers),
        "charge": str(line.charge),
        "paid": str(line.paid),
        "units": str(line.units),
        "allowed": None if line.allowed is None else str(line.allowed),
        "adjustments": [_adjustment(a) for a in line.adjustments],
        "remarks": list(line.remarks),
        "service_date": _date(line.service_date),
        "service_date_end": _date(line.service_date_end),
        "control_number": line.control_number,
        "revenue_code": line.revenue_code,
    }


def decision_to_json(decision: ClaimDecision) -> str:
    d = decision
    doc = {
        "claim_id": d.claim_id,
        "payer_claim_id": d.payer_claim_id,
        "outcome": d.outcome.value,
        "status": d.status.value,
        "charge": str(d.charge),
        "paid": str(d.paid),
        "patient_responsibility": str(d.patient_responsibility),
        "filing_indicator": d.filing_indicator,
        "facility_code": d.facility_code,
        "frequency_code": d.frequency_code,
        "lines": [_line(line) for line in d.lines],
        "adjustments": [_adjustment(a) for a in d.adjustments],
        "remarks": list(d.remarks),
        "status_category": d.status_category,
        "status_text": d.status_text,
        "billing_npi": d.billing_npi,
        "billing_tin": d.billing_tin,
        "patient_last": d.patient_last,
        "patient_first": d.patient_first,
        "member_id": d.member_id,
        "service_date": _date(d.service_date),
        "service_date_end": _date(d.service_date_end),
        "received": _date(d.received),
        "original_payer_claim_id": d.original_payer_claim_id,
    }
    return json.dumps(doc, separators=(",", ":"))


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _opt_date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def _adj(doc: dict[str, Any]) -> Adjustment:
    return Adjustment(
        group=doc["group"],
        reason=str(doc["reason"]),
        amount=_dec(doc["amount"]),
        quantity=None if doc.get("quantity") is None else _dec(doc["quantity"]),
    )


def decision_from_json(text: str) -> ClaimDecision:
    doc = json.loads(text)
    lines = tuple(
        LineDecision(
            line_number=int(x["line_number"]),
            procedure_qualifier=str(x["procedure_qualifier"]),
            procedure_code=str(x["procedure_code"]),
            modifiers=tuple(x["modifiers"]),
            charge=_dec(x["charge"]),
            paid=_dec(x["paid"]),
            units=_dec(x["units"]),
            allowed=None if x.get("allowed") is None else _dec(x["allowed"]),
            adjustments=tuple(_adj(a) for a in x["adjustments"]),
            remarks=tuple(x["remarks"]),
            service_date=_opt_date(x.get("service_date")),
            service_date_end=_opt_date(x.get("service_date_end")),
            control_number=x.get("control_number"),
            revenue_code=x.get("revenue_code"),
        )
        for x in doc["lines"]
    )
    return ClaimDecision(
        claim_id=str(doc["claim_id"]),
        payer_claim_id=str(doc["payer_claim_id"]),
        outcome=Outcome(doc["outcome"]),
        status=ClaimStatus(doc["status"]),
        charge=_dec(doc["charge"]),
        paid=_dec(doc["paid"]),
        patient_responsibility=_dec(doc["patient_responsibility"]),
        filing_indicator=str(doc["filing_indicator"]),
        facility_code=str(doc["facility_code"]),
        frequency_code=str(doc["frequency_code"]),
        lines=lines,
        adjustments=tuple(_adj(a) for a in doc["adjustments"]),
        remarks=tuple(doc["remarks"]),
        status_category=str(doc["status_category"]),
        status_text=str(doc["status_text"]),
        billing_npi=str(doc["billing_npi"]),
        billing_tin=str(doc["billing_tin"]),
        patient_last=str(doc["patient_last"]),
        patient_first=str(doc["patient_first"]),
        member_id=str(doc["member_id"]),
        service_date=_opt_date(doc.get("service_date")),
        service_date_end=_opt_date(doc.get("service_date_end")),
        received=_opt_date(doc.get("received")),
        original_payer_claim_id=doc.get("original_payer_claim_id"),
    )
