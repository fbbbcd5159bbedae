"""Read 835s (005010X221A1) that external payers upload, into the decision model.

:func:`read_835` returns one :class:`Remittance` per ``ST*835`` of a file: a
:class:`~gateway.payers.model.Payment` with a :class:`~gateway.payers.model.ClaimDecision`
per CLP, where every piece sits in the file (ISA13/GS06/ST02, segment positions and lines),
and the problems found. It never raises on odd data: what cannot be read becomes a
:class:`RemitProblem` (and a zero/empty value in the model).

Balance checks (each failure names the CLP and SVC by segment position and file line):

* line:    SVC02 - sum(line CAS) = SVC03
* claim:   CLP03 - sum(claim CAS) - sum(line CAS) = CLP04
* payment: sum(CLP04) - sum(PLB amounts) = BPR02

Problem messages never contain CLP01 (the patient control number) or names: the value is
in :attr:`RemitProblem.claim_id` for the report back to the payer, who sent it.

Payer identification: TRN03 is ``1`` + the payer's EIN (the originating company), not the
payer ID the 837 named in 2010BB, so it is never read as a payer ID (it is kept in
:attr:`Remittance.payer_identifier`). A payer ID is read only where the 835 states one, both
optional: ``REF*2U`` in loop 1000A and ``N1*PR`` N104 when N103 is a payer-ID qualifier
(``XV`` CMS plan ID, or ``PI`` payor identification); :attr:`Payment.payer_id` is the first
of them, else ''. Who the payer is follows from who uploaded the file (the gateway checks
these against that partner's profile).

Mapping notes: CLP02 ``19``/``20``/``21`` (processed as primary/secondary/tertiary, forwarded)
read as 1/2/3, ``23`` and ``25`` as 4 (denied); the code as sent is kept in
:attr:`RemitClaim.status_code`. BPR04 ``BOP``/``FWT`` read as ``ACH`` (raw in
:attr:`Remittance.method_code`). Line numbers are the SVC's order within its claim (an 835
has no LX per line; REF*6R carries the 837's line control number).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from gateway.payers.model import (
    Adjustment,
    ClaimDecision,
    ClaimStatus,
    GroupCode,
    LineDecision,
    Outcome,
    Payment,
    ProviderAdjustment,
)
from gateway.x12.claims import iter_transaction_sets, parse_d8, parse_decimal
from gateway.x12.segments import Delimiters, Segment
from gateway.x12.tokenizer import IsaHeader, tokenize

ProblemCode = Literal[
    "line-balance", "claim-balance", "payment-balance", "amount", "structure", "not-835"
]

_ZERO = Decimal("0.00")
PAYER_ID_QUALIFIERS = frozenset({"XV", "PI"})
"""N103 codes under which N1*PR N104 is a payer ID (XV: CMS plan ID; PI: payor id)."""
_GROUPS: dict[str, GroupCode] = {"CO": "CO", "PR": "PR", "OA": "OA", "PI": "PI", "CR": "CR"}
_STATUS: dict[str, ClaimStatus] = {
    "1": ClaimStatus.PAID_PRIMARY,
    "2": ClaimStatus.PAID_SECONDARY,
    "3": ClaimStatus.PAID_TERTIARY,
    "4": ClaimStatus.DENIED,
    "22": ClaimStatus.REVERSAL,
    "19": ClaimStatus.PAID_PRIMARY,
    "20": ClaimStatus.PAID_SECONDARY,
    "21": ClaimStatus.PAID_TERTIARY,
    "23": ClaimStatus.DENIED,
    "25": ClaimStatus.DENIED,
}
_METHODS: dict[str, Literal["CHK", "ACH", "NON"]] = {
    "CHK": "CHK",
    "ACH": "ACH",
    "NON": "NON",
    "BOP": "ACH",
    "FWT": "ACH",
}


@dataclass(frozen=True)
class RemitProblem:
    code: ProblemCode
    message: str
    """Plain words with positions; no CLP01 value, no names."""
    claim_id: str = ""
    """CLP01 of the claim concerned ('' for payment-level problems)."""
    segment_id: str = ""
    position: int = 0
    """Segment position in the transaction set (ST = 1); 0 when not tied to a segment."""
    line: int = 0
    """File line (counting LF)."""


@dataclass(frozen=True)
class RemitLine:
    decision: LineDecision
    position: int
    line: int


@dataclass(frozen=True)
class RemitClaim:
    decision: ClaimDecision
    status_code: str
    """CLP02 as sent."""
    position: int
    """Position of the CLP in the transaction set (ST = 1)."""
    line: int
    lines: tuple[RemitLine, ...]


@dataclass(frozen=True)
class Remittance:
    """One ``ST*835`` read into the model, with its source references and problems."""

    payment: Payment
    claims: tuple[RemitClaim, ...]
    isa13: str
    gs06: str
    st02: str
    interchange_index: int
    set_index: int
    sender: tuple[str, str]
    """ISA05/ISA06 (stripped)."""
    receiver: tuple[str, str]
    usage: str
    method_code: str
    """BPR04 as sent."""
    handling_code: str
    """BPR01."""
    total: Decimal | None
    """BPR02 (None when unreadable)."""
    payer_identifier: str
    """TRN03 (``1`` + the payer's EIN/TIN; not a payer ID)."""
    payer_id_source: str
    """Where :attr:`Payment.payer_id` came from: ``REF*2U``, ``N1*PR`` (N104 with N103
    ``XV``/``PI``), or '' when the 835 names no payer ID."""
    payer_ids_named: tuple[tuple[str, str], ...]
    """Every payer ID the 835 states, as (source, value): ``REF*2U`` and/or ``N1*PR``."""
    errors: tuple[RemitProblem, ...]

    @property
    def balanced(self) -> bool:
        return not any(e.code.endswith("balance") for e in self.errors)

    @property
    def ok(self) -> bool:
        return not self.errors


def _el(segment: Segment, index: int) -> str:
    return segment.elements[index - 1] if 0 < index <= len(segment.elements) else ""


@dataclass
class _Line:
    segment: Segment
    position: int
    delimiters: Delimiters
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    start: date | None = None
    end: date | None = None
    control: str | None = None
    allowed: Decimal | None = None


@dataclass
class _Claim:
    segment: Segment
    position: int
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)
    patient: Segment | None = None
    start: date | None = None
    end: date | None = None
    received: date | None = None
    original: str | None = None


class _SetReader:
    def __init__(self, segments: Sequence[Segment], delimiters: Delimiters) -> None:
        self.segments = segments
        self.delimiters = delimiters
        self.problems: list[RemitProblem] = []
        self.claims: list[_Claim] = []
        self.plb: list[ProviderAdjustment] = []
        self.plb_where: list[tuple[int, int]] = []
        self.bpr: Segment | None = None
        self.bpr_position = 0
        self.trn: Segment | None = None
        self.production: date | None = None
        self.payer_n1: Segment | None = None
        self.payee_n1: Segment | None = None
        self.payer_ref: str = ""
        self.payee_tin: str = ""
        self.loop = "header"

    # ------------------------------------------------------------------ helpers
    def amount(
        self, segment: Segment, index: int, position: int, claim: _Claim | None, *, required: bool
    ) -> Decimal:
        raw = _el(segment, index)
        if not raw and not required:
            return _ZERO
        value = parse_decimal(raw)
        if value is None:
            self.problems.append(
                RemitProblem(
                    "amount",
                    f"{segment.id}{index:02d} at segment {position} (line {segment.line}) "
                    "is not a number",
                    claim_id=_el(claim.segment, 1) if claim else "",
                    segment_id=segment.id,
                    position=position,
                    line=segment.line,
                )
            )
            return _ZERO
        return value

    def cas(self, segment: Segment, position: int, claim: _Claim | None) -> list[Adjustment]:
        group = _GROUPS.get(_el(segment, 1))
        if group is None:
            self.problems.append(
                RemitProblem(
                    "structure",
                    f"CAS at segment {position} (line {segment.line}) has an unknown group code",
                    claim_id=_el(claim.segment, 1) if claim else "",
                    segment_id="CAS",
                    position=position,
                    line=segment.line,
                )
            )
            return []
        out: list[Adjustment] = []
        for start in range(2, 20, 3):
            reason = _el(segment, start)
            if not reason:
                continue
            amount = self.amount(segment, start + 1, position, claim, required=True)
            quantity = parse_decimal(_el(segment, start + 2)) if _el(segment, start + 2) else None
            out.append(Adjustment(group, reason, amount, quantity))
        return out

    # --------------------------------------------------------------------- walk
    def run(self) -> None:
        claim: _Claim | None = None
        line: _Line | None = None
        for position, segment in enumerate(self.segments, start=1):
            sid = segment.id
            if sid == "CLP":
                claim = _Claim(segment, position)
                self.claims.append(claim)
                line = None
                self.loop = "claim"
            elif sid == "LX":
                claim = line = None
                self.loop = "lx"
            elif sid == "PLB":
                claim = line = None
                self.loop = "plb"
                self._plb(segment, position)
            elif sid == "SVC" and claim is not None:
                line = _Line(segment, position, self.delimiters)
                claim.lines.append(line)
            elif line is not None:
                self._line_segment(line, claim, segment, position)
            elif claim is not None:
                self._claim_segment(claim, segment, position)
            else:
                self._header_segment(segment, position)

    def _header_segment(self, segment: Segment, position: int) -> None:
        sid = segment.id
        if sid == "BPR" and self.bpr is None:
            self.bpr, self.bpr_position = segment, position
        elif sid == "TRN" and self.trn is None:
            self.trn = segment
        elif sid == "DTM" and _el(segment, 1) == "405":
            self.production = parse_d8(_el(segment, 2))
        elif sid == "N1":
            if _el(segment, 1) == "PR":
                self.payer_n1, self.loop = segment, "payer"
            elif _el(segment, 1) == "PE":
                self.payee_n1, self.loop = segment, "payee"
        elif sid == "REF":
            if self.loop == "payer" and _el(segment, 1) == "2U" and not self.payer_ref:
                self.payer_ref = _el(segment, 2)
            elif self.loop == "payee" and _el(segment, 1) == "TJ" and not self.payee_tin:
                self.payee_tin = _el(segment, 2)

    def _claim_segment(self, claim: _Claim, segment: Segment, position: int) -> None:
        sid, q = segment.id, _el(segment, 1)
        if sid == "CAS":
            claim.adjustments += self.cas(segment, position, claim)
        elif sid == "NM1" and q == "QC":
            claim.patient = segment
        elif sid == "MOA":
            claim.remarks += [v for v in segment.elements[2:7] if v]
        elif sid == "MIA":
            claim.remarks += [_el(segment, i) for i in (5, 20, 21, 22, 23) if _el(segment, i)]
        elif sid == "REF" and q == "F8":
            claim.original = _el(segment, 2)
        elif sid == "DTM":
            value = parse_d8(_el(segment, 2))
            if q == "232":
                claim.start = value
            elif q == "233":
                claim.end = value
            elif q == "050":
                claim.received = value

    def _line_segment(
        self, line: _Line, claim: _Claim | None, segment: Segment, position: int
    ) -> None:
        sid, q = segment.id, _el(segment, 1)
        if sid == "CAS":
            line.adjustments += self.cas(segment, position, claim)
        elif sid == "DTM":
            value = parse_d8(_el(segment, 2))
            if q in ("472", "150"):
                line.start = value
                if q == "472":
                    line.end = value
            elif q == "151":
                line.end = value
        elif sid == "REF" and q == "6R":
            line.control = _el(segment, 2)
        elif sid == "AMT" and q == "B6":
            line.allowed = parse_decimal(_el(segment, 2))
        elif sid == "LQ" and q == "HE" and _el(segment, 2):
            line.remarks.append(_el(segment, 2))

    def _plb(self, segment: Segment, position: int) -> None:
        for start in range(3, 14, 2):
            composite = _el(segment, start)
            if not composite:
                continue
            parts = composite.split(self.delimiters.component)
            amount = self.amount(segment, start + 1, position, None, required=True)
            reference = parts[1] if len(parts) > 1 else ""
            self.plb.append(ProviderAdjustment(parts[0], reference, amount))
            self.plb_where.append((position, segment.line))

    # ------------------------------------------------------------------- build
    def build_line(self, claim: _Claim, line: _Line, number: int) -> RemitLine:
        svc = line.segment
        parts = _el(svc, 1).split(self.delimiters.component)
        parts += [""] * (2 - len(parts))
        modifiers = tuple(m for m in parts[2:6] if m)
        if not parts[1]:
            self.problems.append(
                RemitProblem(
                    "structure",
                    f"SVC at segment {line.position} (line {svc.line}): SVC01 has no procedure "
                    "code (is the component separator the one ISA16 declares?)",
                    claim_id=_el(claim.segment, 1),
                    segment_id="SVC",
                    position=line.position,
                    line=svc.line,
                )
            )
        units = parse_decimal(_el(svc, 5)) if _el(svc, 5) else Decimal(1)
        decision = LineDecision(
            line_number=number,
            procedure_qualifier=parts[0],
            procedure_code=parts[1],
            modifiers=modifiers,
            charge=self.amount(svc, 2, line.position, claim, required=True),
            paid=self.amount(svc, 3, line.position, claim, required=True),
            units=units if units is not None else Decimal(1),
            allowed=line.allowed,
            adjustments=tuple(line.adjustments),
            remarks=tuple(line.remarks),
            service_date=line.start,
            service_date_end=line.end if line.end != line.start else None,
            control_number=line.control,
            revenue_code=_el(svc, 4) or None,
        )
        return RemitLine(decision, line.position, svc.line)

    def build_claim(self, claim: _Claim, npi: str, tin: str) -> RemitClaim:
        clp = claim.segment
        claim_id = _el(clp, 1)
        lines = tuple(self.build_line(claim, ln, n) for n, ln in enumerate(claim.lines, start=1))
        facility = _el(clp, 8)
        status_code = _el(clp, 2)
        status = _STATUS.get(status_code)
        if status is None:
            self.problems.append(
                RemitProblem(
                    "structure",
                    f"CLP at segment {claim.position} (line {clp.line}) has an unknown "
                    "claim status code (CLP02)",
                    claim_id=claim_id,
                    segment_id="CLP",
                    position=claim.position,
                    line=clp.line,
                )
            )
            status = ClaimStatus.DENIED
        patient = claim.patient
        decision = ClaimDecision(
            claim_id=claim_id,
            payer_claim_id=_el(clp, 7),
            outcome=Outcome.ADJUDICATED,
            status=status,
            charge=self.amount(clp, 3, claim.position, claim, required=True),
            paid=self.amount(clp, 4, claim.position, claim, required=True),
            patient_responsibility=self.amount(clp, 5, claim.position, claim, required=False),
            filing_indicator=_el(clp, 6),
            facility_code=facility,
            frequency_code=_el(clp, 9),
            lines=tuple(rl.decision for rl in lines),
            adjustments=tuple(claim.adjustments),
            remarks=tuple(claim.remarks),
            billing_npi=npi,
            billing_tin=tin,
            patient_last=_el(patient, 3) if patient else "",
            patient_first=_el(patient, 4) if patient else "",
            member_id=_el(patient, 9) if patient else "",
            service_date=claim.start,
            service_date_end=claim.end,
            received=claim.received,
            original_payer_claim_id=claim.original,
        )
        if status is ClaimStatus.REVERSAL:
            decision = _with_original(decision)
        self.check_claim(decision, claim, lines)
        return RemitClaim(decision, status_code, claim.position, clp.line, lines)

    def check_claim(
        self, decision: ClaimDecision, claim: _Claim, lines: Sequence[RemitLine]
    ) -> None:
        clp = claim.segment
        where = f"CLP at segment {claim.position} (line {clp.line})"
        for rl in lines:
            ln = rl.decision
            cas = _sum(a.amount for a in ln.adjustments)
            if ln.charge - cas != ln.paid:
                self.problems.append(
                    RemitProblem(
                        "line-balance",
                        f"{where}, SVC at segment {rl.position} (line {rl.line}): "
                        f"SVC02 {ln.charge} - line CAS {cas} = {ln.charge - cas}, "
                        f"but SVC03 is {ln.paid}",
                        claim_id=decision.claim_id,
                        segment_id="SVC",
                        position=rl.position,
                        line=rl.line,
                    )
                )
        claim_cas = _sum(a.amount for a in decision.adjustments)
        line_cas = _sum(a.amount for ln in decision.lines for a in ln.adjustments)
        expected = decision.charge - claim_cas - line_cas
        if expected != decision.paid:
            self.problems.append(
                RemitProblem(
                    "claim-balance",
                    f"{where}: CLP03 {decision.charge} - claim CAS {claim_cas} - line CAS "
                    f"{line_cas} = {expected}, but CLP04 is {decision.paid}",
                    claim_id=decision.claim_id,
                    segment_id="CLP",
                    position=claim.position,
                    line=clp.line,
                )
            )


def _with_original(decision: ClaimDecision) -> ClaimDecision:
    if decision.original_payer_claim_id:
        return decision
    return replace(decision, original_payer_claim_id=decision.payer_claim_id)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, _ZERO)


def _isa_info(data: bytes | str) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
    out = []
    for token in tokenize(data):
        if isinstance(token, IsaHeader):
            el = token.segment.elements
            out.append(((el[4].strip(), el[5].strip()), (el[6].strip(), el[7].strip()), el[14]))
    return out


def read_835(data: bytes | str) -> list[Remittance]:
    """Every ``ST*835`` in ``data``, read and balance-checked (see the module docstring).

    Transaction sets that are not 835s are returned as well, with a ``not-835`` problem,
    so that a caller cannot mistake a 277CA uploaded as an 835 for an empty remittance.
    """
    isas = _isa_info(data)
    out: list[Remittance] = []
    for ts in iter_transaction_sets(data):
        reader = _SetReader(ts.segments, ts.delimiters)
        st = ts.segments[0]
        if _el(st, 1) != "835":
            reader.problems.append(
                RemitProblem("not-835", f"transaction set {_el(st, 1) or '?'} is not an 835")
            )
        reader.run()
        sender, receiver, usage = (
            isas[ts.interchange_index]
            if ts.interchange_index < len(isas)
            else (("", ""),) * 2 + ("",)
        )
        out.append(_build(reader, ts.isa13, ts.gs06, _el(st, 2), ts.interchange_index,
                          ts.set_index, sender, receiver, usage))  # fmt: skip
    return out


def _build(
    reader: _SetReader,
    isa13: str,
    gs06: str,
    st02: str,
    interchange_index: int,
    set_index: int,
    sender: tuple[str, str],
    receiver: tuple[str, str],
    usage: str,
) -> Remittance:
    problems = reader.problems
    bpr, trn = reader.bpr, reader.trn
    if bpr is None:
        problems.append(RemitProblem("structure", "no BPR (financial information)"))
    if trn is None:
        problems.append(RemitProblem("structure", "no TRN (reassociation trace number)"))
    payee = reader.payee_n1
    npi = _el(payee, 4) if payee is not None and _el(payee, 3) == "XX" else ""
    tin = reader.payee_tin or (_el(payee, 4) if payee is not None and _el(payee, 3) == "FI" else "")
    if payee is None:
        problems.append(RemitProblem("structure", "no payee (N1*PE)"))
    payer = reader.payer_n1
    if payer is None:
        problems.append(RemitProblem("structure", "no payer (N1*PR)"))
    trn03 = _el(trn, 3) if trn is not None else ""
    named: list[tuple[str, str]] = []
    if reader.payer_ref:
        named.append(("REF*2U", reader.payer_ref))
    if payer is not None and _el(payer, 3) in PAYER_ID_QUALIFIERS and _el(payer, 4):
        named.append(("N1*PR", _el(payer, 4)))
    source, payer_id = named[0] if named else ("", "")
    claims = tuple(reader.build_claim(c, npi, tin) for c in reader.claims)
    total: Decimal | None = None
    method_code = handling = ""
    payment_date: date | None = None
    if bpr is not None:
        handling, method_code = _el(bpr, 1), _el(bpr, 4)
        total = parse_decimal(_el(bpr, 2))
        payment_date = parse_d8(_el(bpr, 16))
        if total is None:
            problems.append(
                RemitProblem(
                    "amount",
                    f"BPR02 at segment {reader.bpr_position} (line {bpr.line}) is not a number",
                    segment_id="BPR",
                    position=reader.bpr_position,
                    line=bpr.line,
                )
            )
    production = reader.production or payment_date or date.min
    payment = Payment(
        payer_id=payer_id,
        payer_name=_el(payer, 2) if payer is not None else "",
        payee_npi=npi,
        payee_tin=tin,
        payee_name=_el(payee, 2) if payee is not None else "",
        method=_METHODS.get(method_code, "NON"),
        trace_number=_el(trn, 2) if trn is not None else "",
        payment_date=payment_date or production,
        production_date=production,
        claims=tuple(c.decision for c in claims),
        provider_adjustments=tuple(reader.plb),
    )
    if total is not None and payment.total != total:
        clp04 = _sum(c.paid for c in payment.claims)
        plb = _sum(p.amount for p in payment.provider_adjustments)
        problems.append(
            RemitProblem(
                "payment-balance",
                f"sum of CLP04 {clp04} - sum of PLB {plb} = {payment.total}, but BPR02 is {total}",
                segment_id="BPR",
                position=reader.bpr_position,
                line=bpr.line if bpr is not None else 0,
            )
        )
    return Remittance(
        payment=payment,
        claims=claims,
        isa13=isa13,
        gs06=gs06,
        st02=st02,
        interchange_index=interchange_index,
        set_index=set_index,
        sender=sender,
        receiver=receiver,
        usage=usage,
        method_code=method_code,
        handling_code=handling,
        total=total,
        payer_identifier=trn03,
        payer_id_source=source,
        payer_ids_named=tuple(named),
        errors=tuple(problems),
    )
