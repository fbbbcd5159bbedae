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


EXT01_TIN = "990000009"
"""EXT01's EIN in its demo profile (``<payer-ids tin>``): its 835s carry TRN03 1990000009."""
DEMO_PAYEE = ("1234567893", "123456789")
"""NPI and TIN of Demo Family Practice, which demo-billing is enrolled for."""


def as_ext01(
    remit: bytes,
    clm01s: list[str],
    *,
    control: int,
    trace: str | None = None,
    payee: tuple[str, str] | None = DEMO_PAYEE,
    payer_id: str | None = "EXT01",
) -> bytes:
    """A third-party 835 rewritten as EXT01 would send it to us, about claims we routed:

    ISA/GS from ZZ/EXT01PAYER to ZZ/CLEARINGHOUSE (ISA13 ``control``, usage T), TRN03 =
    ``1`` + EXT01's TIN, TRN02 = ``trace`` (when given), REF*2U = ``payer_id`` (when the file
    has one and ``payer_id`` is not None), the CLP01 of the n-th CLP = ``clm01s[n]`` (CLPs
    beyond the list keep theirs), and the payee (N1*PE N104 by its qualifier, REF*TJ) =
    ``payee``. Segments are neither added nor removed: the SE counts stay right.
    """
    from tests.x12files import readdress

    text = readdress(remit, sender=("ZZ", "EXT01PAYER"), control=control).decode("latin-1")
    sep, term = text[3], text[105]
    parts = text.split(term)
    claims = iter(clm01s)
    for n, part in enumerate(parts):
        body = part.lstrip("\r\n")
        lead = part[: len(part) - len(body)]
        el = body.split(sep)
        sid = el[0]
        if sid == "TRN" and len(el) > 3:
            el[3] = "1" + EXT01_TIN
            if trace is not None:
                el[2] = trace
        elif sid == "REF" and len(el) > 2 and el[1] == "2U" and payer_id is not None:
            el[2] = payer_id
        elif sid == "CLP" and len(el) > 1:
            el[1] = next(claims, el[1])
        elif payee is not None and sid == "N1" and len(el) > 4 and el[1] == "PE":
            el[4] = payee[0] if el[3] == "XX" else payee[1]
        elif payee is not None and sid == "REF" and len(el) > 2 and el[1] == "TJ":
            el[2] = payee[1]
        parts[n] = lead + sep.join(el)
    return term.join(parts).encode("latin-1")
