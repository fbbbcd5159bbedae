"""Test helpers: what an external payer (EXT01) sends back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


def ext01_835(
    batch_837: bytes,
    *,
    tamper: bool = False,
    control: int = 7000,
    payer_id: str = "EXT01",
    payer_tin: str = "990000009",
    trace: str = "EXT0000001",
) -> bytes:
    """What EXT01 (an external payer) would answer: every claim paid in full.

    ``payer_id`` goes to REF*2U ('' leaves it out), ``payer_tin`` to TRN03 (``1`` + it; EXT01's
    profile says 990000009), ``trace`` to TRN02."""
    from datetime import datetime

    from gateway.payers.model import ClaimDecision, ClaimStatus, LineDecision, Outcome, Payment
    from gateway.x12.claims import extract_claims, iter_transaction_sets
    from gateway.x12.remit835 import Address, PayerRemitInfo, build_835

    decisions = []
    npi = tin = ""
    for ts in iter_transaction_sets(batch_837):
        for n, claim in enumerate(extract_claims(ts.segments, ts.delimiters, ts.gs08)):
            npi, tin = claim.billing_npi, claim.billing_tin
            lines = tuple(
                LineDecision(
                    line_number=i + 1,
                    procedure_qualifier=line.procedure_qualifier or "HC",
                    procedure_code=line.procedure_code,
                    modifiers=tuple(line.modifiers),
                    charge=line.charge or Decimal("0"),
                    paid=line.charge or Decimal("0"),
                    units=line.units or Decimal("1"),
                )
                for i, line in enumerate(claim.lines)
            )
            total = sum((x.charge for x in lines), Decimal("0.00"))
            decisions.append(
                ClaimDecision(
                    claim_id=claim.claim_id,
                    payer_claim_id=f"EXT{n:06d}",
                    outcome=Outcome.ADJUDICATED,
                    status=ClaimStatus.PAID_PRIMARY,
                    charge=total,
                    paid=total,
                    patient_responsibility=Decimal("0.00"),
                    filing_indicator="CI",
                    facility_code="11",
                    frequency_code="1",
                    lines=lines,
                )
            )
    payment = Payment(
        payer_id=payer_id,
        payer_name="EXTERNAL PAYER",
        payee_npi=npi,
        payee_tin=tin,
        payee_name="DEMO",
        method="CHK",
        trace_number=trace,
        payment_date=date(2026, 11, 25),
        production_date=date(2026, 11, 25),
        claims=tuple(decisions),
    )
    built = build_835(
        payment,
        sender=("ZZ", "EXT01PAYER"),
        receiver=("ZZ", "CLEARINGHOUSE"),
        usage="T",
        next_control=iter(range(control, control + 100)).__next__,
        now=datetime(2026, 11, 25, 9, 0),
        payer=PayerRemitInfo(Address("1 MAIN", "SPRINGFIELD", "IL", "62701"), payer_tin),
    )
    content = built.content
    if tamper:  # the first claim's paid amount no longer balances
        head, _, rest = content.partition(b"CLP*")
        fields = rest.split(b"*", 4)
        fields[3] = b"0.01"
        content = head + b"CLP*" + b"*".join(fields)
    return content
