#!/usr/bin/env python3
"""Generate a synthetic, valid 837P (005010X222A1) batch from the demo billing company.

    python scripts/gen_837.py --claims 5000 > batch.837            # new claims, new ISA13
    python scripts/gen_837.py --claims 5000 --seed 7 > batch.837   # the same file every time

Each run makes new claims (other members, so the gateway's duplicate edit, which compares
content and not claim numbers, does not reject them as A3:78) and a new ISA13, unless
``--seed`` is given: then the output depends only on the arguments. ``--control`` sets the
ISA13 explicitly. Everything in it is fictitious: members are ``MBR`` + 9 digits (the demo
payers' rosters enroll them), providers are the demo NPIs.
"""

from __future__ import annotations

import argparse
import random
import secrets
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
    member_base: int = 0,
) -> Iterator[str]:
    """The segments (without terminators) of one interchange with one transaction set.

    Claim ``n`` (from 0) is for member ``MBR`` + ``member_base + n + 1`` (9 digits)."""
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
                f"****MI*MBR{member_base + n + 1:09d}",
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


#: Member numbers from 900,000,000 are the rosters' named special cases: stay below them.
_MEMBER_BLOCKS = 800_000


def plan(seed: int, claims: int) -> tuple[int, int]:
    """(ISA13, member base) for a seed: a fresh control number and a block of members of its
    own, in steps of 1,000 so that the last digits (the demo rosters' plans) stay the same."""
    rng = random.Random(f"gen_837:{seed}")
    blocks = max(1, _MEMBER_BLOCKS - (claims + 999) // 1000)
    return rng.randrange(1, 1_000_000_000), rng.randrange(blocks) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic, valid 837P (005010X222A1) batch on stdout. Each "
        "run makes new claims and a new ISA13 unless --seed is given."
    )
    parser.add_argument("--claims", type=int, default=10, help="number of claims (default 10)")
    parser.add_argument(
        "--control", type=int, default=None, help="ISA13, 1-999999999 (default: new each run)"
    )
    parser.add_argument("--usage", default="T", choices=["T", "P"], help="ISA15 (default T)")
    parser.add_argument("--sender", default="DEMOBILLING", help="ISA06/GS02 sender ID")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="make the output reproducible (tests, benchmarks); default: random, new claims",
    )
    parser.add_argument("--payers", default="SIM01,SIM02", help="payer IDs, claims round-robin")
    args = parser.parse_args(argv)
    seed = secrets.randbelow(2**63) if args.seed is None else args.seed
    control, member_base = plan(seed, args.claims)
    if args.control is not None:
        control = args.control
    if not 1 <= control <= 999_999_999:
        parser.error("--control must be 1..999999999 (ISA13 has 9 digits)")
    sys.stdout.buffer.write(
        render(
            interchange(
                args.claims,
                control,
                sender=args.sender,
                usage=args.usage,
                seed=seed,
                payers=args.payers.split(","),
                member_base=member_base,
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
