#!/usr/bin/env python3
"""Generate a synthetic, valid 837P (005010X222A1) batch from the demo billing company.

    python scripts/gen_837.py --claims 5000 --control 42 > batch.837

Deterministic for the same arguments. Everything in it is fictitious: members are
``MBR`` + 9 digits (the demo payers' rosters enroll them), providers are the demo NPIs.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator

PROVIDERS = [
    ("DEMO FAMILY PRACTICE", "1234567893", "123456789"),
    ("DEMO PHYSICAL THERAPY", "1987654328", "987654321"),
]
PAYER_NAMES = {"SIM01": "SIM PAYER ONE", "SIM02": "SIM PAYER TWO", "EXT01": "EXTERNAL PAYER"}
PAYERS = [("SIM PAYER ONE", "SIM01"), ("SIM PAYER TWO", "SIM02")]
PROCEDURES = [("99213", "95.00"), ("99214", "140.00"), ("97110", "45.00"), ("90471", "25.00")]
DIAGNOSES = ["J069", "M5450", "I10", "E119", "Z0000", "R519"]
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS"]
FIRST = ["ALEX", "SAM", "JORDAN", "TAYLOR", "CASEY", "RILEY", "MORGAN", "JAMIE"]


def interchange(
    claims: int,
    control: int,
    sender: str = "DEMOBILLING",
    receiver: str = "CLEARINGHOUSE",
    usage: str = "T",
    date: str = "20261120",
    seed: int = 837,
    claims_per_provider: int = 1000,
    payers: list[str] | None = None,
) -> Iterator[str]:
    """The segments (without terminators) of one interchange with one transaction set."""
    rng = random.Random(seed)
    payer_list = [(PAYER_NAMES.get(p, p), p) for p in payers] if payers else PAYERS
    yield (
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}"
        f"*{date[2:]}*1200*^*00501*{control:09d}*0*{usage}*:"
    )
    yield f"GS*HC*{sender}*{receiver}*{date}*1200*{control}*X*005010X222A1"
    body: list[str] = [
        "ST*837*0001*005010X222A1",
        f"BHT*0019*00*{control}*{date}*1200*CH",
        "NM1*41*2*DEMO BILLING COMPANY*****46*DEMOBILLING",
        "PER*IC*CLAIMS DESK*TE*5555550100",
        "NM1*40*2*CLEARINGHOUSE*****46*CLEARINGHOUSE",
    ]
    hl = 0
    for start in range(0, claims, claims_per_provider):
        name, npi, tin = PROVIDERS[(start // claims_per_provider) % len(PROVIDERS)]
        hl += 1
        parent = hl
        body += [
            f"HL*{parent}**20*1",
            f"NM1*85*2*{name}*****XX*{npi}",
            "N3*100 MAIN STREET",
            "N4*SPRINGFIELD*IL*627010001",
            f"REF*EI*{tin}",
        ]
        for n in range(start, min(claims, start + claims_per_provider)):
            hl += 1
            payer_name, payer_id = payer_list[n % len(payer_list)]
            lines = [PROCEDURES[rng.randrange(len(PROCEDURES))] for _ in range(rng.randint(1, 3))]
            total = sum(float(charge) for _, charge in lines)
            dx = rng.sample(DIAGNOSES, 2)
            day = 1 + n % 28
            body += [
                f"HL*{hl}*{parent}*22*0",
                "SBR*P*18*******CI",
                f"NM1*IL*1*{LAST[n % len(LAST)]}*{FIRST[(n // 8) % len(FIRST)]}"
                f"****MI*MBR{n + 1:09d}",
                "N3*200 ELM STREET",
                "N4*SPRINGFIELD*IL*627020002",
                f"DMG*D8*{1950 + n % 50}0{1 + n % 9}15*{'F' if n % 2 else 'M'}",
                f"NM1*PR*2*{payer_name}*****PI*{payer_id}",
                f"CLM*C{control}X{n + 1}*{total:.2f}***11:B:1*Y*A*Y*Y",
                f"HI*ABK:{dx[0]}*ABF:{dx[1]}",
            ]
            for number, (code, charge) in enumerate(lines, start=1):
                body += [
                    f"LX*{number}",
                    f"SV1*HC:{code}*{charge}*UN*1***1",
                    f"DTP*472*D8*202610{day:02d}",
                ]
    body.append(f"SE*{len(body) + 1}*0001")
    yield from body
    yield f"GE*1*{control}"
    yield f"IEA*1*{control:09d}"


def render(segments: Iterator[str], newline: bool = True) -> bytes:
    terminator = "~\n" if newline else "~"
    return "".join(s + terminator for s in segments).encode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10)
    parser.add_argument("--control", type=int, default=1, help="ISA13 (1-999999999)")
    parser.add_argument("--usage", default="T", choices=["T", "P"])
    parser.add_argument("--sender", default="DEMOBILLING")
    parser.add_argument("--seed", type=int, default=837)
    parser.add_argument("--payers", default="SIM01,SIM02", help="payer IDs, claims round-robin")
    args = parser.parse_args(argv)
    if not 1 <= args.control <= 999_999_999:
        parser.error("--control must be 1..999999999 (ISA13 has 9 digits)")
    sys.stdout.buffer.write(
        render(
            interchange(
                args.claims,
                args.control,
                sender=args.sender,
                usage=args.usage,
                seed=args.seed,
                payers=args.payers.split(","),
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
