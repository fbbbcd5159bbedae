"""The 835 health care claim payment/advice (005010X221A1) a payer sends for one payment.

PURE: a :class:`~gateway.payers.model.Payment` (the adjudication engine's decisions) in,
one interchange out (:class:`~gateway.x12.acks.BuiltAck`)::

    ISA / GS*HP*...*005010X221A1 / ST*835*<ST02>   (ST03 is "not used" in the 835 TR3)
    BPR   CHK: BPR*I*<total>*C*CHK (remittance only, the check travels separately)
          ACH: BPR*C*<total>*C*ACH*CCP*01*<payer DFI>*DA*<payer acct>*<1+TIN>**01*<payee DFI>
               *DA*<payee acct>*<date> (payment and remittance through the ACH, CCD+)
          zero total (or NON): BPR*H*0*C*NON (notification only)
    TRN*1*<trace>*1<payer TIN>     DTM*405 production date
    1000A N1*PR, N3, N4, REF*2U (payer ID), PER*BL (technical contact, required)
    1000B N1*PE*...*XX*<NPI>, N3/N4 (when known), REF*TJ (TIN)
    2000  LX per facility code (CLP08), in order of first appearance
    2100  CLP, CAS (by group, at most 6 reasons per segment), NM1*QC, MOA (remarks),
          REF*F8 (original payer claim number of a corrected claim), DTM*232/233, DTM*050
    2110  SVC, DTM*472 (or 150/151 for a range), CAS, REF*6R, AMT*B6, LQ*HE
    PLB   provider-level adjustments, at most 6 per segment
    SE / GE / IEA

Balancing (checked here, raised as :class:`UnbalancedRemittance`, a ``ValueError`` naming the
claim by index and CLM01 hash, never by value):

* line:    SVC02 - line CAS = SVC03
* claim:   CLP03 - claim CAS - line CAS = CLP04; CLP04 = sum of SVC03 when there are lines;
           CLP05 = sum of PR adjustments (claim and lines)
* payment: BPR02 = sum of CLP04 - sum of PLB >= 0 (a negative net needs a forwarding balance,
           see :func:`with_forward_balance`)

Reversals (CLP02 22) carry negated amounts (see :func:`~gateway.payers.model.reversal_of`);
their CLP07 is the payer claim control number of the claim being reversed. Only
``Outcome.ADJUDICATED`` decisions belong in an 835. MOA is used for claim remarks
(professional and outpatient claims; MIA needs covered days we do not model). CAS group
``CR`` no longer exists in 5010: refused.

The 835 holds PHI (patient names, member IDs): it goes to the payee only, never to logs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from gateway.payers.model import (
    Adjustment,
    ClaimDecision,
    ClaimStatus,
    LineDecision,
    Outcome,
    Payment,
    ProviderAdjustment,
)
from gateway.x12.acks import OUTBOUND, SEGMENT_END, BuiltAck, clean, format_control
from gateway.x12.ca277 import format_amount
from gateway.x12.envelope import ISA_QUALIFIERS, USAGE_INDICATORS

IMPLEMENTATION_835 = "005010X221A1"
CAS_GROUPS = frozenset({"CO", "OA", "PI", "PR"})
"""CAS01 values valid in 5010 (``CR`` was removed)."""
MAX_CAS_TRIPLETS = 6
MAX_PLB_PAIRS = 6
MAX_MOA_REMARKS = 5
CLP06_CODES = frozenset("12 13 14 15 16 17 AM CH DS HM LM MA MB MC OF TV VA WC ZZ".split())
"""CLP06 claim filing indicator codes of the 835. The 837's SBR09 list differs (``CI``
commercial, ``BL`` Blue Cross, ``11``, ``09``...): those are sent as ``ZZ`` (mutually
defined); a payer that knows its plan type (12 PPO, HM HMO, 15 indemnity...) should say so in
:attr:`ClaimDecision.filing_indicator`."""
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


class UnbalancedRemittance(ValueError):
    """An input that would give an 835 that does not balance (or cannot be valid)."""

    def __init__(self, message: str, *, claim_index: int | None = None, claim_id: str = "") -> None:
        super().__init__(message)
        self.claim_index = claim_index
        self.claim_id = claim_id
        """CLP01 for the caller; deliberately not in the message (messages reach logs)."""


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True)
class PayerRemitInfo:
    """What an 835 says about its payer beyond the :class:`Payment` (from the payer profile)."""

    address: Address
    tin: str
    """The payer's federal tax ID: TRN03/BPR10 are ``1`` followed by its 9 digits."""
    contact_name: str = "EDI SUPPORT"
    contact_phone: str = ""
    contact_email: str = ""
    """PER*BL needs a phone or an e-mail; with neither, ``contact_phone`` 0000000000 is sent."""


@dataclass(frozen=True)
class BankAccounts:
    """BPR06-BPR15 for an ACH payment (ABA routing numbers and account numbers)."""

    payer_routing: str
    payer_account: str
    payee_routing: str
    payee_account: str
    payee_account_type: str = "DA"
    """``DA`` demand deposit (checking) or ``SG`` savings."""


# ------------------------------------------------------------------------- envelope


def segment(seg_id: str, *elements: str) -> str:
    """One segment with our delimiters (trailing empty elements dropped)."""
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return OUTBOUND.element.join([seg_id, *values]) + SEGMENT_END


def isa_segment(
    sender: tuple[str, str],
    receiver: tuple[str, str],
    *,
    usage: str,
    control: str,
    now: datetime,
    ack_requested: bool = False,
) -> str:
    """A fixed-width ISA with our delimiters from ``sender``/``receiver`` (qualifier, id)."""

    def qualifier(value: str) -> str:
        return value if value in ISA_QUALIFIERS else "ZZ"

    return segment(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        qualifier(sender[0]),
        (clean(sender[1], 15) or "UNKNOWN").ljust(15),
        qualifier(receiver[0]),
        (clean(receiver[1], 15) or "UNKNOWN").ljust(15),
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        OUTBOUND.repetition or "^",
        "00501",
        control,
        "1" if ack_requested else "0",
        usage if usage in USAGE_INDICATORS else "P",
        OUTBOUND.component,
    )


def gs_segment(
    functional_id: str,
    sender_application: str,
    receiver_application: str,
    control: str,
    implementation: str,
    now: datetime,
) -> str:
    return segment(
        "GS",
        functional_id,
        (clean(sender_application, 15) or "UNKNOWN").ljust(2, "0"),
        (clean(receiver_application, 15) or "UNKNOWN").ljust(2, "0"),
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        control,
        "X",
        implementation,
    )


# ------------------------------------------------------------------------ helpers


def _hash(claim_id: str) -> str:
    return hashlib.sha256(claim_id.encode("utf-8", "replace")).hexdigest()[:16]


def _amt(value: Decimal) -> str:
    return format_amount(value)


def _qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("", "-0") else text


def _d8(value: date) -> str:
    return value.strftime("%Y%m%d")


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isascii() and c.isdigit())


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, _ZERO)


def _cas_segments(adjustments: Sequence[Adjustment]) -> list[str]:
    """CAS segments: one per group code (in first-seen order), 6 reasons per segment."""
    groups: dict[str, list[Adjustment]] = {}
    for adjustment in adjustments:
        groups.setdefault(adjustment.group, []).append(adjustment)
    out: list[str] = []
    for group, items in groups.items():
        for start in range(0, len(items), MAX_CAS_TRIPLETS):
            elements: list[str] = []
            for item in items[start : start + MAX_CAS_TRIPLETS]:
                quantity = "" if item.quantity is None else _qty(item.quantity)
                elements += [clean(item.reason, 5), _amt(item.amount), quantity]
            out.append(segment("CAS", group, *elements))
    return out


def filing_indicator_835(value: str) -> str:
    """CLP06 for a claim filing indicator (see :data:`CLP06_CODES`)."""
    code = value.strip().upper()
    return code if code in CLP06_CODES else "ZZ"


def _procedure(line: LineDecision) -> str:
    parts = [clean(line.procedure_qualifier, 2) or "HC", clean(line.procedure_code, 48)]
    parts += [clean(m, 2) for m in line.modifiers[:4]]
    while len(parts) > 2 and not parts[-1]:
        parts.pop()
    return OUTBOUND.component.join(parts)


# ------------------------------------------------------------------------ checks


def _check_amount(value: Decimal, what: str, index: int | None, claim_id: str = "") -> None:
    if not value.is_finite() or value != value.quantize(_CENT):
        raise UnbalancedRemittance(
            f"{what} is not an amount with at most 2 decimals", claim_index=index, claim_id=claim_id
        )


def check_claim(decision: ClaimDecision, index: int = 0) -> None:
    """Raise :class:`UnbalancedRemittance` when ``decision`` cannot go into an 835 as it is."""
    who = f"claim #{index} (CLM01 hash {_hash(decision.claim_id)})"

    def fail(message: str) -> UnbalancedRemittance:
        return UnbalancedRemittance(
            f"{who}: {message}", claim_index=index, claim_id=decision.claim_id
        )

    if decision.outcome is not Outcome.ADJUDICATED:
        raise fail(f"outcome {decision.outcome.value} does not belong in an 835 (payer 277CA)")
    if not clean(decision.claim_id, 38):
        raise fail("no claim identifier (CLP01)")
    if not clean(decision.payer_claim_id or (decision.original_payer_claim_id or ""), 50):
        raise fail("no payer claim control number (CLP07)")
    amounts = [decision.charge, decision.paid, decision.patient_responsibility]
    amounts += [a.amount for a in decision.adjustments]
    for line in decision.lines:
        amounts += [line.charge, line.paid, *(a.amount for a in line.adjustments)]
        if line.allowed is not None:
            amounts.append(line.allowed)
    for value in amounts:
        _check_amount(value, who + ": an amount", index, decision.claim_id)
    all_adjustments = [*decision.adjustments, *(a for ln in decision.lines for a in ln.adjustments)]
    for adjustment in all_adjustments:
        if adjustment.group not in CAS_GROUPS:
            raise fail(f"adjustment group {adjustment.group!r} is not valid in 5010 (CO/OA/PI/PR)")
        if not clean(adjustment.reason, 5):
            raise fail("an adjustment has no reason code")
    for number, line in enumerate(decision.lines, start=1):
        line_cas = _sum(a.amount for a in line.adjustments)
        if line.charge - line_cas != line.paid:
            raise fail(
                f"line {number} (LX {line.line_number}) does not balance: "
                f"SVC02 {line.charge} - CAS {line_cas} != SVC03 {line.paid}"
            )
    claim_cas = _sum(a.amount for a in decision.adjustments)
    line_cas = _sum(a.amount for ln in decision.lines for a in ln.adjustments)
    if decision.charge - claim_cas - line_cas != decision.paid:
        raise fail(
            f"does not balance: CLP03 {decision.charge} - claim CAS {claim_cas} "
            f"- line CAS {line_cas} != CLP04 {decision.paid}"
        )
    if decision.lines:
        lines_paid = _sum(ln.paid for ln in decision.lines)
        if lines_paid != decision.paid:
            raise fail(f"CLP04 {decision.paid} != sum of SVC03 {lines_paid}")
    responsibility = _sum(a.amount for a in all_adjustments if a.group == "PR")
    if responsibility != decision.patient_responsibility:
        raise fail(
            f"CLP05 {decision.patient_responsibility} != sum of PR adjustments {responsibility}"
        )


def check_payment(payment: Payment) -> None:
    """Every claim balances, PLB amounts are amounts, and the total is not negative."""
    for index, decision in enumerate(payment.claims):
        check_claim(decision, index)
    for adjustment in payment.provider_adjustments:
        _check_amount(adjustment.amount, f"PLB {adjustment.reason} amount", None)
        if not clean(adjustment.reason, 2):
            raise UnbalancedRemittance("a provider adjustment has no reason code")
    total = payment.total
    if total < 0:
        raise UnbalancedRemittance(
            f"payment {payment.trace_number!r} nets to {total}: BPR02 cannot be negative "
            "(carry the balance forward with a PLB FB, see with_forward_balance)"
        )
    if not payment.claims and not payment.provider_adjustments:
        raise UnbalancedRemittance(f"payment {payment.trace_number!r} has no claims and no PLB")


# ------------------------------------------------------------------ model helpers


def with_forward_balance(payment: Payment, reference: str) -> Payment:
    """``payment`` with a PLB FB (forwarding balance) that brings a negative net to 0; the
    payer recovers the amount later with a PLB FB of the opposite sign. Unchanged when the
    total is not negative."""
    total = payment.total
    if total >= 0:
        return payment
    carry = ProviderAdjustment(reason="FB", reference=reference, amount=total)
    return replace(payment, provider_adjustments=(*payment.provider_adjustments, carry))


# --------------------------------------------------------------------------- build


def _bpr(payment: Payment, total: Decimal, payer_id10: str, bank: BankAccounts | None) -> str:
    day = _d8(payment.payment_date)
    if total == 0 or payment.method == "NON":
        return segment("BPR", "H", _amt(total), "C", "NON", *[""] * 11, day)
    if payment.method == "CHK":
        return segment("BPR", "I", _amt(total), "C", "CHK", *[""] * 11, day)
    if bank is None:
        raise UnbalancedRemittance(
            f"payment {payment.trace_number!r} is ACH but no bank accounts were given"
        )
    return segment(
        "BPR",
        "C",
        _amt(total),
        "C",
        "ACH",
        "CCP",
        "01",
        clean(bank.payer_routing, 12),
        "DA",
        clean(bank.payer_account, 35),
        payer_id10,
        "",
        "01",
        clean(bank.payee_routing, 12),
        bank.payee_account_type if bank.payee_account_type in ("DA", "SG") else "DA",
        clean(bank.payee_account, 35),
        day,
    )


def _payer_loop(payment: Payment, payer: PayerRemitInfo) -> list[str]:
    address = payer.address
    out = [
        segment("N1", "PR", clean(payment.payer_name, 60) or "PAYER"),
        segment("N3", clean(address.line1, 55) or "UNKNOWN", clean(address.line2, 55)),
        segment(
            "N4", clean(address.city, 30) or "UNKNOWN", clean(address.state, 2),
            clean(address.postal_code, 15),
        ),
    ]  # fmt: skip
    if clean(payment.payer_id, 50):
        out.append(segment("REF", "2U", clean(payment.payer_id, 50)))
    contact: list[str] = []
    if clean(payer.contact_phone, 256):
        contact += ["TE", _digits(payer.contact_phone) or clean(payer.contact_phone, 256)]
    if clean(payer.contact_email, 256):
        contact += ["EM", clean(payer.contact_email, 256)]
    if not contact:
        contact = ["TE", "0000000000"]
    out.append(segment("PER", "BL", clean(payer.contact_name, 60), *contact))
    return out


def _payee_loop(payment: Payment, address: Address | None) -> list[str]:
    npi = clean(payment.payee_npi, 80)
    tin = _digits(payment.payee_tin)
    if npi:
        n1 = segment("N1", "PE", clean(payment.payee_name, 60) or "PAYEE", "XX", npi)
    elif tin:
        n1 = segment("N1", "PE", clean(payment.payee_name, 60) or "PAYEE", "FI", tin)
    else:
        raise UnbalancedRemittance(f"payment {payment.trace_number!r} has no payee NPI or TIN")
    out = [n1]
    if address is not None:
        out += [
            segment("N3", clean(address.line1, 55) or "UNKNOWN", clean(address.line2, 55)),
            segment(
                "N4", clean(address.city, 30) or "UNKNOWN", clean(address.state, 2),
                clean(address.postal_code, 15),
            ),
        ]  # fmt: skip
    if npi and tin:
        out.append(segment("REF", "TJ", tin))
    return out


def _claim_segments(decision: ClaimDecision) -> list[str]:
    reversal = decision.status is ClaimStatus.REVERSAL
    clp07 = decision.payer_claim_id
    if reversal and decision.original_payer_claim_id:
        clp07 = decision.original_payer_claim_id
    out = [
        segment(
            "CLP",
            clean(decision.claim_id, 38),
            decision.status.value,
            _amt(decision.charge),
            _amt(decision.paid),
            "" if decision.patient_responsibility == 0 else _amt(decision.patient_responsibility),
            filing_indicator_835(decision.filing_indicator),
            clean(clp07, 50),
            clean(decision.facility_code, 2),
            clean(decision.frequency_code, 1),
        )
    ]
    out += _cas_segments(decision.adjustments)
    last, first = clean(decision.patient_last, 60), clean(decision.patient_first, 35)
    member = clean(decision.member_id, 80)
    out.append(segment("NM1", "QC", "1", last, first, "", "", "", "MI" if member else "", member))
    remarks = [clean(r, 30) for r in decision.remarks if clean(r, 30)]
    if remarks:
        out.append(segment("MOA", "", "", *remarks[:MAX_MOA_REMARKS]))
    original = clean(decision.original_payer_claim_id or "", 50)
    if original and not reversal and original != clean(decision.payer_claim_id, 50):
        out.append(segment("REF", "F8", original))
    if decision.service_date is not None:
        out.append(segment("DTM", "232", _d8(decision.service_date)))
        if decision.service_date_end is not None:
            out.append(segment("DTM", "233", _d8(decision.service_date_end)))
    if decision.received is not None:
        out.append(segment("DTM", "050", _d8(decision.received)))
    for line in decision.lines:
        out += _line_segments(line)
    return out


def _line_segments(line: LineDecision) -> list[str]:
    procedure = _procedure(line)
    revenue = ""
    if line.revenue_code and line.procedure_qualifier != "NU":
        revenue = clean(line.revenue_code, 48)
    units = "" if line.units == 1 else _qty(line.units)
    out = [segment("SVC", procedure, _amt(line.charge), _amt(line.paid), revenue, units)]
    start, end = line.service_date, line.service_date_end
    if start is not None:
        if end is None or end == start:
            out.append(segment("DTM", "472", _d8(start)))
        else:
            out += [segment("DTM", "150", _d8(start)), segment("DTM", "151", _d8(end))]
    out += _cas_segments(line.adjustments)
    if line.control_number and clean(line.control_number, 50):
        out.append(segment("REF", "6R", clean(line.control_number, 50)))
    if line.allowed is not None:
        out.append(segment("AMT", "B6", _amt(line.allowed)))
    for remark in line.remarks:
        if clean(remark, 30):
            out.append(segment("LQ", "HE", clean(remark, 30)))
    return out


def _plb_segments(payment: Payment, fiscal_period_end: date) -> list[str]:
    provider = clean(payment.payee_npi, 50) or _digits(payment.payee_tin) or "UNKNOWN"
    items = list(payment.provider_adjustments)
    out: list[str] = []
    for start in range(0, len(items), MAX_PLB_PAIRS):
        elements: list[str] = []
        for item in items[start : start + MAX_PLB_PAIRS]:
            reason = clean(item.reason, 2)
            reference = clean(item.reference, 50)
            composite = reason + (OUTBOUND.component + reference if reference else "")
            elements += [composite, _amt(item.amount)]
        out.append(segment("PLB", provider, _d8(fiscal_period_end), *elements))
    return out


def _transaction(
    payment: Payment,
    st02: str,
    payer: PayerRemitInfo,
    payee_address: Address | None,
    bank: BankAccounts | None,
) -> list[str]:
    total = payment.total
    payer_id10 = "1" + _digits(payer.tin)[-9:].rjust(9, "0")
    body = [
        _bpr(payment, total, payer_id10, bank),
        segment("TRN", "1", clean(payment.trace_number, 50) or st02, payer_id10),
        segment("DTM", "405", _d8(payment.production_date)),
        *_payer_loop(payment, payer),
        *_payee_loop(payment, payee_address),
    ]
    groups: dict[str, list[ClaimDecision]] = {}
    for decision in payment.claims:
        groups.setdefault(clean(decision.facility_code, 2), []).append(decision)
    for number, decisions in enumerate(groups.values(), start=1):
        body.append(segment("LX", str(number)))
        for decision in decisions:
            body += _claim_segments(decision)
    fiscal_end = date(payment.production_date.year, 12, 31)
    body += _plb_segments(payment, fiscal_end)
    return [
        segment("ST", "835", st02),  # ST03 is not used in 005010X221A1: GS08 names the guide
        *body,
        segment("SE", str(len(body) + 2), st02),
    ]


def build_835(
    payment: Payment | Sequence[Payment],
    *,
    sender: tuple[str, str],
    receiver: tuple[str, str],
    usage: str,
    next_control: Callable[[], int],
    now: datetime,
    payer: PayerRemitInfo,
    payee_address: Address | None = None,
    bank: BankAccounts | None = None,
    sender_application: str = "",
    receiver_application: str = "",
) -> BuiltAck:
    """One 835 interchange from ``sender`` to ``receiver`` (ISA qualifier, id): an
    ``ST*835`` per payment (all for the same payee: never mix payees in one file).

    Control numbers: ISA13, GS06, then each ST02 from ``next_control()``. GS02/GS03 default
    to the ISA ids. ``usage`` is ISA15. ``bank`` is required for ACH payments.
    Raises :class:`UnbalancedRemittance` (a ``ValueError``) before building anything when an
    input does not balance or cannot be valid.
    """
    payments = [payment] if isinstance(payment, Payment) else list(payment)
    if not payments:
        raise UnbalancedRemittance("no payment to remit")
    for item in payments:
        check_payment(item)
    payees = {(p.payee_npi, _digits(p.payee_tin)) for p in payments}
    if len(payees) > 1:
        raise UnbalancedRemittance("one 835 interchange must not mix payees")
    isa13 = format_control(next_control(), 9)
    gs06 = str(next_control() % 1_000_000_000)
    out = [
        isa_segment(sender, receiver, usage=usage, control=isa13, now=now),
        gs_segment(
            "HP",
            sender_application or sender[1],
            receiver_application or receiver[1],
            gs06,
            IMPLEMENTATION_835,
            now,
        ),
    ]
    claims = paid_claims = 0
    for item in payments:
        st02 = format_control(next_control(), 4)
        out += _transaction(item, st02, payer, payee_address, bank)
        claims += len(item.claims)
        paid_claims += sum(1 for c in item.claims if c.paid > 0)
    out.append(segment("GE", str(len(payments)), gs06))
    out.append(segment("IEA", "1", isa13))
    return BuiltAck(
        content="".join(out).encode("ascii"),
        control_number=isa13,
        sets_received=len(payments),
        sets_accepted=len(payments),
        claims_received=claims,
        claims_accepted=paid_claims,
    )
