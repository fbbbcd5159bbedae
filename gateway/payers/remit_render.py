"""The provider's readable forms of a posted 835 (pure: bytes out, no I/O).

* :func:`posting_csv`: the posting file practice-management systems import (layout in
  :data:`CSV_HEADER`, documented in the README): one ``claim`` row per claim (claim totals,
  claim-level adjustments), one ``line`` row per service line, one ``plb`` row per
  provider-level adjustment.
* :func:`remittance_text`: a remittance laid out like the CMS Standard Paper Remittance
  (payment header; per claim the patient, account and payer claim numbers, the lines,
  billed/allowed/paid, adjustments by group and reason; totals; PLB; a glossary of the codes
  used, in plain words from :mod:`gateway.payers.carc`).

Both carry PHI (patient names): they go to the provider's mailbox only, never to a log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from gateway.payers.carc import carc_words, group_words, plb_words, rarc_words
from gateway.payers.posting import STATUS_WORDS, ZERO, PostedAdjustment, PostedClaim, Posting

CSV_HEADER: tuple[str, ...] = (
    "row_type",
    "payer_id",
    "payer_name",
    "trace_number",
    "payment_date",
    "payment_method",
    "payment_amount",
    "payee_npi",
    "payee_tin",
    "claim_seq",
    "patient_control_number",
    "payer_claim_number",
    "claim_status",
    "claim_kind",
    "original_payer_claim_number",
    "claim_state",
    "patient_last",
    "patient_first",
    "member_id",
    "line_number",
    "procedure",
    "line_control_number",
    "service_date",
    "units",
    "billed",
    "allowed",
    "paid",
    "contractual",
    "patient_responsibility",
    "other_adjustments",
    "adjustments",
    "remarks",
    "plb_reason",
    "plb_reference",
    "plb_amount",
)

METHOD_WORDS = {
    "CHK": "check",
    "ACH": "EFT (ACH)",
    "BOP": "EFT",
    "FWT": "wire transfer",
    "NON": "no payment",
}


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _adjustments(adjustments: Iterable[PostedAdjustment]) -> str:
    return ";".join(f"{a.group}-{a.carc}:{a.amount:.2f}" for a in adjustments)


def _group(adjustments: Sequence[PostedAdjustment], *groups: str) -> Decimal:
    return sum((a.amount for a in adjustments if a.group in groups), ZERO)


def posting_csv(postings: Sequence[Posting]) -> bytes:
    """The posting file of one 835 file (one or more ST*835), CRLF lines, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for p in postings:
        head = [p.payer_id or p.payer_identifier, p.payer_name, p.trace,
                p.payment_date.isoformat(), p.method_code, _money(p.amount), p.payee_npi,
                p.payee_tin]  # fmt: skip
        for c in p.claims:
            claim = [c.seq, c.patient_control, c.payer_claim_id, c.status_code, c.kind,
                     c.original_payer_claim_id, c.state, c.patient_last, c.patient_first,
                     c.member_id]  # fmt: skip
            writer.writerow([
                "claim", *head, *claim, "", "", "",
                c.service_date.isoformat() if c.service_date else "", "",
                _money(c.billed), _money(c.allowed), _money(c.paid), _money(c.contractual),
                _money(c.patient_responsibility), _money(c.other),
                _adjustments(c.adjustments), " ".join(c.remarks), "", "", "",
            ])  # fmt: skip
            for ln in c.lines:
                adj = ln.adjustments
                co, pr = _group(adj, "CO"), _group(adj, "PR")
                writer.writerow([
                    "line", *head, *claim, ln.line_number, ln.procedure, ln.control_number,
                    ln.service_date.isoformat() if ln.service_date else "", f"{ln.units}",
                    _money(ln.billed), _money(ln.allowed), _money(ln.paid), _money(co),
                    _money(pr), _money(ln.billed - ln.paid - co - pr), _adjustments(adj),
                    " ".join(ln.remarks), "", "", "",
                ])  # fmt: skip
        for plb in p.plb:
            writer.writerow(["plb", *head, *[""] * 25, plb.reason, plb.reference,
                             _money(plb.amount)])  # fmt: skip
    return out.getvalue().encode("utf-8")


# ----------------------------------------------------------------------------- text

_WIDTH = 100


def _rule(char: str = "-") -> str:
    return char * _WIDTH


def _claim_block(c: PostedClaim) -> list[str]:
    name = ", ".join(v for v in (c.patient_last, c.patient_first) if v) or "(no name)"
    out = [
        f"NAME {name:<30} MID {c.member_id:<18} ACNT {c.patient_control:<20}",
        f"ICN {c.payer_claim_id:<20} STATUS {c.status_code} {_status(c):<45}"
        f" FREQ {c.frequency_code or '-'}",
    ]
    if c.original_payer_claim_id:
        out.append(f"  REPLACES/REVERSES ICN {c.original_payer_claim_id}")
    if c.remarks:
        out.append("  CLAIM REMARKS " + " ".join(c.remarks))
    out.append(
        f"  {'LN':>3} {'SERV DATE':<10} {'PROC':<16} {'UNITS':>6} {'BILLED':>11} "
        f"{'ALLOWED':>11} {'GRP/RC-AMT':<22} {'PROV PD':>11}"
    )
    for ln in c.lines:
        adj = [f"{a.group}-{a.carc} {a.amount:.2f}" for a in ln.adjustments] or [""]
        out.append(
            f"  {ln.line_number:>3} {ln.service_date.isoformat() if ln.service_date else '':<10} "
            f"{ln.procedure[3:] if ln.procedure.startswith('HC:') else ln.procedure:<16} "
            f"{ln.units:>6} {_money(ln.billed):>11} {_money(ln.allowed):>11} {adj[0]:<22} "
            f"{_money(ln.paid):>11}"
        )
        for more in adj[1:]:
            out.append(f"  {'':>3} {'':<10} {'':<16} {'':>6} {'':>11} {'':>11} {more:<22}")
        if ln.remarks:
            out.append(f"  {'':>3} REMARKS {' '.join(ln.remarks)}")
    for a in c.adjustments:
        out.append(f"  CLAIM ADJ {a.group}-{a.carc} {a.amount:.2f}")
    out.append(
        f"  PT RESP {_money(c.patient_responsibility):>10}  CLAIM  BILLED {_money(c.billed):>10}"
        f"  ALLOWED {_money(c.allowed) or '-':>10}  CO {_money(c.contractual):>10}"
        f"  NET {_money(c.paid):>10}"
    )
    out.append(f"  STATE {c.state}   OTHER ADJ {_money(c.other)}")
    return out


def _status(c: PostedClaim) -> str:
    return STATUS_WORDS.get(c.status_code, "Unknown status")


def remittance_text(postings: Sequence[Posting]) -> bytes:
    """The readable remittance of one 835 file (see the module docstring)."""
    out: list[str] = []
    for p in postings:
        method = METHOD_WORDS.get(p.method_code, p.method_code)
        out += [
            _rule("="),
            "REMITTANCE ADVICE (from the payer's 835)".center(_WIDTH),
            _rule("="),
            f"PAYER  {p.payer_name} (ID {p.payer_id or '-'}, TRN03 {p.payer_identifier or '-'})",
            f"PAYEE  {p.payee_name}   NPI {p.payee_npi or '-'}   TIN {p.payee_tin or '-'}",
            f"CHECK/EFT # {p.trace}   METHOD {p.method_code} ({method})   "
            f"PAYMENT DATE {p.payment_date.isoformat()}   AMOUNT {_money(p.amount)}",
            _rule(),
        ]
        if not p.balanced:
            out += ["NOTE: this 835 does not balance; check it against the payer's.", _rule()]
        for c in p.claims:
            out += _claim_block(c)
            out.append(_rule())
        billed = sum((c.billed for c in p.claims), ZERO)
        allowed = sum((c.allowed or ZERO for c in p.claims), ZERO)
        co = sum((c.contractual for c in p.claims), ZERO)
        pr = sum((c.patient_responsibility for c in p.claims), ZERO)
        out += [
            f"TOTALS  # OF CLAIMS {len(p.claims)}   BILLED {_money(billed)}   ALLOWED "
            f"{_money(allowed)}   CONTRACTUAL {_money(co)}   PT RESP {_money(pr)}",
            f"        PROV PD {_money(p.claims_paid)}   PROV ADJ {_money(p.plb_total)}   "
            f"CHECK AMT {_money(p.amount)}",
        ]
        if p.plb:
            out += [_rule(), "PROVIDER ADJUSTMENT DETAILS (PLB)"]
            out += [
                f"  {plb.reason:<4} {plb_words(plb.reason):<30} REF {plb.reference:<20} "
                f"{_money(plb.amount):>11}"
                for plb in p.plb
            ]
        out += [_rule(), "GLOSSARY: GROUP, REASON AND REMARK CODES"]
        adjustments = [a for c in p.claims for a in c.all_adjustments]
        for group in sorted({a.group for a in adjustments}):
            out.append(f"  {group:<8} {group_words(group)}")
        for carc in sorted({a.carc for a in adjustments}, key=lambda v: (len(v), v)):
            out.append(f"  {carc:<8} {carc_words(carc)}")
        remarks = {r for c in p.claims for r in (*c.remarks, *(x for ln in c.lines
                                                               for x in ln.remarks))}  # fmt: skip
        for rarc in sorted(remarks):
            out.append(f"  {rarc:<8} {rarc_words(rarc)}")
        out.append("")
    return ("\n".join(line.rstrip() for line in out) + "\n").encode("utf-8")
