"""Build small 837P batches for the payer tests and turn them into ClaimInputs.

The claims go through the real tokenizer and claim extraction, so what the adjudication sees
is exactly what the pipeline will give it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from gateway.payers.adjudicate import (
    Accumulator,
    AccumulatorKey,
    AdjudicationResult,
    ClaimInput,
    adjudicate,
    counter,
    release_pended,
)
from gateway.payers.config import PayerConfig
from gateway.payers.inputs import claim_inputs
from gateway.payers.loader import load_payer
from gateway.payers.model import ClaimDecision
from gateway.x12.claims import extract_claims, iter_transaction_sets

ROOT = Path(__file__).resolve().parents[2]
SIM01_DIR = ROOT / "partners" / "payers" / "sim01"
SIM02_DIR = ROOT / "partners" / "payers" / "sim02"
RECEIVED = date(2026, 11, 20)
DOS = date(2026, 10, 5)


@dataclass(frozen=True)
class Line:
    code: str
    charge: str
    units: str = "1"
    modifiers: tuple[str, ...] = ()
    day: date | None = DOS
    pointers: str = "1"
    authorization: str = ""
    control: str = ""


@dataclass(frozen=True)
class Spec:
    member: str
    lines: tuple[Line, ...]
    claim_id: str = "PCN1"
    diagnoses: tuple[str, ...] = ("M5450", "I10")
    frequency: str = "1"
    original: str = ""
    authorization: str = ""
    charge: str | None = None
    payer: str = "SIM01"
    patient: tuple[str, str] | None = None
    other_payer_authorization: str = ""
    """A REF*G1 in 2330B (another payer's): must not count as this claim's."""


def _segments(specs: Sequence[Spec]) -> list[str]:
    out = [
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*B1*20261120*1200*CH",
        "NM1*41*2*DEMO BILLING*****46*DEMOBILLING",
        "PER*IC*DESK*TE*5555550100",
        "NM1*40*2*CLEARINGHOUSE*****46*CLEARINGHOUSE",
        "HL*1**20*1",
        "NM1*85*2*DEMO FAMILY PRACTICE*****XX*1234567893",
        "N3*100 MAIN STREET",
        "N4*SPRINGFIELD*IL*627010001",
        "REF*EI*123456789",
    ]
    hl = 1
    for spec in specs:
        hl += 1
        subscriber_hl = hl
        out += [
            f"HL*{hl}*1*22*{1 if spec.patient else 0}",
            f"SBR*P*{'' if spec.patient else '18'}*******CI",
            f"NM1*IL*1*DOE*JANE****MI*{spec.member}",
            "N3*1 ELM ST",
            "N4*SPRINGFIELD*IL*627020002",
            "DMG*D8*19800101*F",
            f"NM1*PR*2*SIM PAYER*****PI*{spec.payer}",
        ]
        if spec.patient:
            hl += 1
            out += [
                f"HL*{hl}*{subscriber_hl}*23*0",
                "PAT*19",
                f"NM1*QC*1*{spec.patient[0]}*{spec.patient[1]}",
                "N3*1 ELM ST",
                "N4*SPRINGFIELD*IL*627020002",
                "DMG*D8*20100101*M",
            ]
        total = spec.charge
        if total is None:
            total = str(sum((Decimal(ln.charge) for ln in spec.lines), Decimal(0)))
        out.append(f"CLM*{spec.claim_id}*{total}***11:B:{spec.frequency}*Y*A*Y*Y")
        if spec.original:
            out.append(f"REF*F8*{spec.original}")
        if spec.authorization:
            out.append(f"REF*G1*{spec.authorization}")
        hi = [f"ABK:{spec.diagnoses[0]}"] + [f"ABF:{d}" for d in spec.diagnoses[1:]]
        out.append("HI*" + "*".join(hi))
        if spec.other_payer_authorization:
            out += [
                "SBR*S*18*******CI",
                "NM1*IL*1*DOE*JANE****MI*OTHER1",
                "NM1*PR*2*OTHER PAYER*****PI*OTHER",
                f"REF*G1*{spec.other_payer_authorization}",
            ]
        for number, line in enumerate(spec.lines, start=1):
            procedure = ":".join(("HC", line.code, *line.modifiers))
            out += [
                f"LX*{number}",
                f"SV1*{procedure}*{line.charge}*UN*{line.units}***{line.pointers}",
            ]
            if line.day is not None:
                out.append(f"DTP*472*D8*{line.day:%Y%m%d}")
            if line.authorization:
                out.append(f"REF*G1*{line.authorization}")
            if line.control:
                out.append(f"REF*6R*{line.control}")
    out.append(f"SE*{len(out) + 1}*0001")
    return out


def x12(specs: Sequence[Spec]) -> bytes:
    segments = [
        "ISA*00*          *00*          *ZZ*DEMOBILLING    *ZZ*CLEARINGHOUSE  "
        "*261120*1200*^*00501*000000001*0*T*:",
        "GS*HC*DEMOBILLING*CLEARINGHOUSE*20261120*1200*1*X*005010X222A1",
        *_segments(specs),
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "".join(s + "~\n" for s in segments).encode("ascii")


def inputs(*specs: Spec) -> list[ClaimInput]:
    out: list[ClaimInput] = []
    for ts in iter_transaction_sets(x12(specs)):
        claims = extract_claims(ts.segments, ts.delimiters, ts.gs08)
        out += claim_inputs(ts.segments, claims, [f"ref-{c.claim_id}" for c in claims])
    assert len(out) == len(specs)
    return out


_CONFIGS: dict[Path, PayerConfig] = {}


def config(directory: Path = SIM01_DIR) -> PayerConfig:
    if directory not in _CONFIGS:
        _CONFIGS[directory] = load_payer(directory)
    return _CONFIGS[directory]


@dataclass
class Payer:
    """A simulated payer with the caller's state (what the pipeline keeps in its store)."""

    config: PayerConfig = field(default_factory=config)
    accumulators: dict[AccumulatorKey, Accumulator] = field(default_factory=dict)
    history: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, ClaimDecision] = field(default_factory=dict)
    numbers: Callable[[], str] = field(default_factory=lambda: counter("SIM01-"))

    def run(self, *specs: Spec, received: date = RECEIVED) -> AdjudicationResult:
        result = adjudicate(
            inputs(*specs),
            self.config,
            self.accumulators.get,
            received=received,
            paid_history=self.history.get,
            original=self.decisions.get,
            next_claim_number=self.numbers,
        )
        self.persist(result)
        return result

    def release(
        self, pended: Sequence[tuple[ClaimInput, ClaimDecision]], unanswered: Sequence[str] = ()
    ) -> AdjudicationResult:
        result = release_pended(
            pended,
            self.config,
            self.accumulators.get,
            paid_history=self.history.get,
            original=self.decisions.get,
            unanswered=unanswered,
        )
        self.persist(result)
        return result

    def persist(self, result: AdjudicationResult) -> None:
        """What the pipeline must store, in one transaction."""
        for update in result.accumulator_updates:
            self.accumulators[update.key] = update.after
        for pcid in result.reversed:
            for fingerprint in [f for f, p in self.history.items() if p == pcid]:
                del self.history[fingerprint]
        for record in result.paid:
            self.history[record.fingerprint] = record.payer_claim_id
        for decision in result.decisions:
            if decision.payer_claim_id:
                self.decisions[decision.payer_claim_id] = decision


def assert_balanced(decision: ClaimDecision) -> None:
    """The rules of gateway.payers.model (what the 835 builder checks)."""
    line_adjustments = Decimal(0)
    for line in decision.lines:
        adjusted = sum((a.amount for a in line.adjustments), Decimal(0))
        assert line.charge - adjusted == line.paid, line
        line_adjustments += adjusted
    claim_adjusted = sum((a.amount for a in decision.adjustments), Decimal(0))
    assert decision.charge - claim_adjusted - line_adjustments == decision.paid, decision
    if decision.lines:
        assert decision.paid == sum((ln.paid for ln in decision.lines), Decimal(0))
    pr = sum(
        (
            a.amount
            for a in (*decision.adjustments, *(a for ln in decision.lines for a in ln.adjustments))
            if a.group == "PR"
        ),
        Decimal(0),
    )
    assert decision.patient_responsibility == pr
    for amount in (decision.charge, decision.paid, decision.patient_responsibility):
        assert amount == amount.quantize(Decimal("0.01"))


def reasons(decision: ClaimDecision) -> list[str]:
    """``GROUP-CARC amount`` of every line adjustment, line by line."""
    return [f"{a.group}-{a.reason} {a.amount}" for line in decision.lines for a in line.adjustments]
