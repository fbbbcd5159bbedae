"""Posting each 835 that reaches a provider into the ledger (gateway/store/ledger.py). No
Twisted.

:func:`post_835` is called in the transaction that places an 835 in a provider's mailbox
(gateway/pipeline/routing.py: a simulated payer's ``_remit`` and an external payer's
forwarded one), so the 835, its posting and its readable forms commit together or not at
all. Each ``ST*835`` posts once (the ledger's key is payer + TRN02); each claim is matched to
the route it answers (payer partner + CLP01, the payee's NPI first) and a claim that matches
none still posts, unmatched ("needs attention"). Beside the 835, same name stem: the posting
file ``.csv`` and the readable remittance ``.txt`` (gateway/payers/remit_render.py) and
``.pdf`` (gateway/payers/remit_pdf.py).

What it returns is for the audit log: counts and file names, no PHI.
"""

from __future__ import annotations

from gateway.payers.posting import PostedClaim, Posting, posting_of
from gateway.payers.remit_pdf import remittance_pdf
from gateway.payers.remit_render import posting_csv, remittance_text
from gateway.store.blobs import BlobStore
from gateway.store.sqlite import Transaction
from gateway.x12.remit_read import read_835

POSTING_KINDS = {"csv": "835-CSV", "txt": "835-TXT", "pdf": "835-PDF"}
"""Mailbox kinds of the files placed beside an 835, by extension."""


def _route_id(tx: Transaction, payer_partner_id: str, claim: PostedClaim, npi: str) -> int | None:
    routes = tx.routes_by_clm01(payer_partner_id, claim.patient_control)
    if not routes:
        return None
    candidates = [r for r in routes if r.billing_npi == npi] or routes
    # the route this payer claim number answers (a reversal: the claim it reverses), else
    # the newest with this CLM01
    same_claim = [r for r in candidates if r.payer_claim_id == claim.payer_claim_id]
    return int((same_claim or candidates)[0].id)


def post_835(
    tx: Transaction,
    blobs: BlobStore,
    partner_id: str,
    payer_partner_id: str,
    name: str,
    content: bytes,
    now: float,
) -> dict[str, object]:
    """Post the 835 ``content`` placed as ``name`` in ``partner_id``'s mailbox (see the
    module docstring); the audit details of the posting."""
    posted: list[Posting] = []
    duplicates = unmatched = 0
    for remit in read_835(content):
        if any(p.code == "not-835" for p in remit.errors):
            continue
        posting = posting_of(remit)
        routes = [_route_id(tx, payer_partner_id, c, posting.payee_npi) for c in posting.claims]
        if tx.post_remittance(
            posting, partner_id=partner_id, mailbox_name=name, route_ids=routes, now=now
        ):
            posted.append(posting)
            unmatched += sum(1 for r in routes if r is None)
        else:
            duplicates += 1
    details: dict[str, object] = {
        "posted_payments": len(posted),
        "posted_claims": sum(len(p.claims) for p in posted),
        "unmatched_claims": unmatched,
    }
    if duplicates:
        details["already_posted"] = duplicates
    if not posted:
        return details
    stem = name.rsplit(".", 1)[0]
    files = []
    rendered = (
        ("csv", posting_csv(posted)),
        ("txt", remittance_text(posted)),
        ("pdf", remittance_pdf(posted)),
    )
    for extension, content_out in rendered:
        sha = blobs.put(content_out)
        file_name = f"{stem}.{extension}"
        tx.add_mailbox(partner_id, file_name, POSTING_KINDS[extension], None, sha,
                       len(content_out), now)  # fmt: skip
        files.append(file_name)
    details["posting_files"] = files
    return details
