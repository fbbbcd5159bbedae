"""``gateway attach``: the provider's side of a request for more information. Writes a 275
(X210) carrying a document (a PDF, TIFF, JPEG...) that answers a payer's 277 RFAI, ready to
upload over SFTP, the API or AS2. Needs no store and no daemon; the document's bytes go into
the file only (nothing is printed about them but their size).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from gateway.x12.rfai import Attachment, attachment_format, sniff_format, write_275


def cmd_attach(args: argparse.Namespace) -> int:
    source = Path(args.file)
    try:
        data = source.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {source}: {exc.strerror}", file=sys.stderr)
        return 2
    if not data:
        print(f"error: {source} is empty", file=sys.stderr)
        return 2
    fmt = attachment_format(args.format or source.suffix) or sniff_format(data)
    if not fmt:
        print(
            f"error: cannot tell the format of {source}: give --format (PDF, TIF, JPG, PNG, TXT)",
            file=sys.stderr,
        )
        return 2
    try:
        first = date.fromisoformat(args.service_date) if args.service_date else None
    except ValueError:
        print("error: --service-date must be YYYY-MM-DD", file=sys.stderr)
        return 2
    attachment = Attachment(
        st02="0001",
        payer_claim_number=args.payer_claim,
        patient_control_number=args.claim,
        attachment_control=args.control or "",
        loinc=tuple(args.loinc),
        format=fmt,
        data=data,
        payer_id=args.payer,
        provider_npi=args.npi,
        provider_name=args.provider_name,
        patient_last=args.last_name,
        patient_first=args.first_name,
        member_id=args.member,
        service_from=first,
        service_to=first,
    )
    content = write_275(
        attachment,
        sender_id=args.sender,
        receiver_isa_id=args.receiver,
        control_number=args.control_number,
        now=datetime.now(UTC),
        usage=args.usage,
    )
    out = Path(args.out)
    out.write_bytes(content)
    print(f"{out}: a 275 with a {fmt} attachment of {len(data)} bytes ({len(content)} bytes)")
    return 0


def add_parsers(sub: Any) -> None:
    attach = sub.add_parser(
        "attach",
        help="write a 275 (X210) answering a payer's request for information with a document",
        description="The provider's answer to a 277 RFAI: a 275 carrying the document (PDF, "
        "TIFF, JPEG, PNG or text) for the claim, to upload like any other file. The payer "
        "claim number and the attachment control number are the 277 RFAI's (its REF*1K and "
        "REF*ZZ).",
    )
    attach.add_argument("--claim", required=True, help="the claim's CLM01 (patient control no.)")
    attach.add_argument(
        "--payer-claim", required=True, help="the payer claim number the request named"
    )
    attach.add_argument(
        "--control", help="the attachment control number the request named (its REF*ZZ)"
    )
    attach.add_argument(
        "--loinc", action="append", required=True, help="LOINC code the document answers (repeat)"
    )
    attach.add_argument("--file", "--pdf", required=True, help="the document to attach")
    attach.add_argument("--format", help="its format (PDF, TIF, JPG...; default: from the file)")
    attach.add_argument("--out", required=True, help="where to write the 275")
    attach.add_argument("--payer", default="SIM01", help="payer ID (default SIM01)")
    attach.add_argument("--npi", default="1234567893", help="the provider's NPI")
    attach.add_argument(
        "--provider-name", default="DEMO FAMILY PRACTICE", help="the provider's name"
    )
    attach.add_argument("--member", required=True, help="the patient's member ID")
    attach.add_argument("--last-name", required=True, help="the patient's last name")
    attach.add_argument("--first-name", default="", help="the patient's first name")
    attach.add_argument("--service-date", help="the date of service, YYYY-MM-DD")
    attach.add_argument("--sender", default="DEMOBILLING", help="your ISA06 sender id")
    attach.add_argument(
        "--receiver", default="CLEARINGHOUSE", help="the gateway's ISA08 id (default CLEARINGHOUSE)"
    )
    attach.add_argument(
        "--control-number", type=int, default=1, help="ISA13/GS06 control number (default 1)"
    )
    attach.add_argument(
        "--usage", choices=("T", "P"), default="T", help="ISA15: T test (default) or P"
    )
    attach.set_defaults(func=cmd_attach)
