"""What a payer decides about a claim: the contract between adjudication (simulated payers,
``gateway.payers.adjudicate``) and the remittance builder (``gateway.x12.remit835``).

PURE data. Amounts are :class:`~decimal.Decimal` with 2 places. Balancing rules (checked by
the 835 builder, guaranteed by adjudication):

- per line:  ``charge - sum(line adjustments) == paid``
- per claim: ``charge - sum(claim adjustments) - sum(all line adjustments) == paid``
  where ``paid`` is the sum of line ``paid`` when the claim has lines
- ``patient_responsibility == sum of PR-group adjustments`` (claim and lines)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

GroupCode = Literal["CO", "PR", "OA", "PI", "CR"]
"""CAS01: contractual obligation, patient responsibility, other, payer initiated, correction."""


class ClaimStatus(StrEnum):
    """CLP02 claim status codes used by the gateway's payers."""

    PAID_PRIMARY = "1"
    PAID_SECONDARY = "2"
    PAID_TERTIARY = "3"
    DENIED = "4"
    REVERSAL = "22"


class Outcome(StrEnum):
    """What happens to a claim at the payer (277CA / 835)."""

    ADJUDICATED = "adjudicated"
    """Goes to the 835 (paid, partly paid, or denied)."""
    REJECTED = "rejected"
    """Payer front end refuses it: payer 277CA rejection (e.g. subscriber not found), no 835."""
    PENDED = "pended"
    """Payer 277CA pending (STC P*); decided later when released."""


@dataclass(frozen=True)
class Adjustment:
    group: GroupCode
    reason: str
    """CARC (claim adjustment reason code), e.g. ``45``, ``1`` (deductible), ``2``, ``3``."""
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class LineDecision:
    line_number: int
    """LX01 of the billed line."""
    procedure_qualifier: str
    """``HC`` (CPT/HCPCS), ``NU`` (revenue)..."""
    procedure_code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    units: Decimal
    allowed: Decimal | None = None
    """AMT*B6 allowed amount."""
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()
    """RARCs at line level (LQ*HE)."""
    service_date: date | None = None
    service_date_end: date | None = None
    control_number: str | None = None
    """REF*6R line item control number, echoed from the 837."""
    revenue_code: str | None = None


@dataclass(frozen=True)
class ClaimDecision:
    """The payer's decision on one claim."""

    claim_id: str
    """CLM01 (patient control number), echoed in CLP01 / 277CA TRN*2."""
    payer_claim_id: str
    """CLP07: the payer's claim control number (stable: the same claim gets the same one)."""
    outcome: Outcome
    status: ClaimStatus
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    filing_indicator: str
    """CLP06 claim filing indicator (from SBR09, e.g. ``CI``, ``MB``)."""
    facility_code: str
    """CLP08 (place of service / facility type) and CLP09 frequency below."""
    frequency_code: str
    lines: tuple[LineDecision, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    """Claim-level CAS (e.g. whole-claim denials, 18 duplicates)."""
    remarks: tuple[str, ...] = ()
    """Claim-level RARCs (MOA for professional / MIA for institutional)."""
    status_category: str = ""
    """For REJECTED/PENDED: the payer 277CA STC01-1/-2 (e.g. ``A3:33`` subscriber not found,
    ``P2:...``); for ADJUDICATED claims the 277CA says A1:20 / A2:20."""
    status_text: str = ""
    """Plain words for the 277CA STC12 (no PHI)."""
    # who, for routing and the 835's payee loop (identifiers, not PHI)
    billing_npi: str = ""
    billing_tin: str = ""
    patient_last: str = ""
    """NM1*QC in the 835 (the 835 is to the provider: PHI belongs there, never in logs)."""
    patient_first: str = ""
    member_id: str = ""
    service_date: date | None = None
    service_date_end: date | None = None
    received: date | None = None
    """Receipt date of the claim at the payer (DTM*050)."""
    original_payer_claim_id: str | None = None
    """For reversals and corrections: the CLP07 of the claim being reversed/replaced."""


@dataclass(frozen=True)
class ProviderAdjustment:
    """A PLB entry: provider-level adjustment in one payment (positive reduces the payment)."""

    reason: str
    """PLB03-1, e.g. ``WO`` overpayment recovery, ``L6`` interest, ``FB`` forwarding balance."""
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class Payment:
    """One 835: one payer → one payee (billing provider NPI/TIN), one BPR/TRN."""

    payer_id: str
    payer_name: str
    payee_npi: str
    payee_tin: str
    payee_name: str
    method: Literal["CHK", "ACH", "NON"]
    trace_number: str
    """TRN02: check or EFT trace number (unique per payer)."""
    payment_date: date
    production_date: date
    claims: tuple[ClaimDecision, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...] = field(default_factory=tuple)

    @property
    def total(self) -> Decimal:
        """BPR02 = sum of CLP04 - sum of PLB amounts."""
        return sum((c.paid for c in self.claims), Decimal("0.00")) - sum(
            (p.amount for p in self.provider_adjustments), Decimal("0.00")
        )


def reversal_of(decision: ClaimDecision) -> ClaimDecision:
    """The CLP02 22 reversal of an earlier (paid or denied) decision: same CLP01/CLP07, every
    amount negated (charge, paid, patient responsibility, allowed, CAS; units stay positive),
    ``original_payer_claim_id`` = the reversed claim's CLP07."""

    def negate(adjustments: tuple[Adjustment, ...]) -> tuple[Adjustment, ...]:
        return tuple(replace(a, amount=-a.amount) for a in adjustments)

    return replace(
        decision,
        outcome=Outcome.ADJUDICATED,
        status=ClaimStatus.REVERSAL,
        charge=-decision.charge,
        paid=-decision.paid,
        patient_responsibility=-decision.patient_responsibility,
        lines=tuple(
            replace(
                line,
                charge=-line.charge,
                paid=-line.paid,
                allowed=None if line.allowed is None else -line.allowed,
                adjustments=negate(line.adjustments),
            )
            for line in decision.lines
        ),
        adjustments=negate(decision.adjustments),
        original_payer_claim_id=decision.payer_claim_id,
    )
