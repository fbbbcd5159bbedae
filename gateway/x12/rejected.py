"""The claims of 837 sets the clearinghouse rejected before its front-end edits. PURE.

A set the implementation-guide check rejects (999 IK5 ``R``), or every set of an interchange
the envelope check rejects (TA1), never reaches claim extraction and the edits, so nothing
recorded its claims: a later claim status request (276) for one of them would be answered
"not found" although the clearinghouse holds the claim and knows why it stopped it. This
module reads those sets' claims best-effort from the raw segments (the set may be
malformed: only CLM01, CLM02, CLM05-3 and the last billing-provider NPI and payer ID before
each CLM, outside the claim's own loops, are taken) so the pipeline can record them as
rejected, with the reason (:attr:`RejectedClaim.reason`).

Only files with such sets pay for the extra read (:func:`rejected_sets` is empty otherwise),
and it streams the file (one set in memory at a time).
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.x12.claims import iter_transaction_sets_stream
from gateway.x12.envelope import set_accepted
from gateway.x12.kinds import carries_claims
from gateway.x12.results import FileAnalysis, RejectedClaim
from gateway.x12.segments import Segment

GUIDE_REJECTED = "999"
""":attr:`RejectedClaim.reason` of a claim whose set the 999 rejected."""
ENVELOPE_REJECTED = "TA1:"
"""Prefix of :attr:`RejectedClaim.reason` when the TA1 rejected the interchange (+ TA105)."""


def rejected_sets(analysis: FileAnalysis) -> dict[tuple[int, int, int], tuple[str, str]]:
    """(interchange, group, set) → (ST02, reason) of the claim sets the 999 rejected, plus
    ``(interchange, -1, -1)`` → ("", reason) for each interchange the TA1 rejected (all of
    its 837 sets)."""
    wanted: dict[tuple[int, int, int], tuple[str, str]] = {}
    for i, interchange in enumerate(analysis.interchanges):
        if interchange.ta1_code is not None:
            wanted[(i, -1, -1)] = ("", ENVELOPE_REJECTED + interchange.ta1_code)
            continue
        for g, group in enumerate(interchange.groups):
            for t, transaction in enumerate(group.transactions):
                if carries_claims(transaction.st01) and not set_accepted(group, transaction):
                    wanted[(i, g, t)] = (transaction.st02, GUIDE_REJECTED)
    return wanted


def _element(segment: Segment, number: int) -> str:
    elements = segment.elements
    return elements[number - 1].strip() if len(elements) >= number else ""


def scan_rejected_claims(
    chunks: Iterable[bytes | str], analysis: FileAnalysis
) -> tuple[RejectedClaim, ...]:
    """The claims of the sets :func:`rejected_sets` names, read from the file's ``chunks``
    (:func:`gateway.x12.tokenizer.read_chunks`). Never raises on bad input."""
    wanted = rejected_sets(analysis)
    if not wanted:
        return ()
    found: list[RejectedClaim] = []
    for ts in iter_transaction_sets_stream(chunks):
        if not ts.segments or ts.segments[0].id != "ST":
            continue
        st = ts.segments[0]
        st01, st02 = _element(st, 1), _element(st, 2)
        picked = wanted.get((ts.interchange_index, ts.group_index, ts.set_index))
        if picked is not None and picked[0] != st02:
            picked = None  # the envelope walkers disagree: never guess
        if picked is None:
            whole = wanted.get((ts.interchange_index, -1, -1))
            if whole is None or not carries_claims(st01):
                continue
            picked = whole
        reason = picked[1]
        component = ts.delimiters.component
        payer_id = billing_npi = ""
        index = 0
        in_claim = False  # an NM1*PR after the CLM is another payer's (2330B), not ours
        for segment in ts.segments:
            sid = segment.id
            if sid == "HL":
                in_claim = False
            elif sid == "NM1" and not in_claim:
                qualifier = _element(segment, 1)
                if qualifier == "85":
                    billing_npi = _element(segment, 9)
                elif qualifier == "PR":
                    payer_id = _element(segment, 9)
            elif sid == "CLM":
                facility = _element(segment, 5)
                parts = facility.split(component) if component else [facility]
                found.append(
                    RejectedClaim(
                        interchange_index=ts.interchange_index,
                        isa13=ts.isa13,
                        st02=st02,
                        index=index,
                        clm01=_element(segment, 1)[:38],
                        payer_id=payer_id[:80],
                        billing_npi=billing_npi[:80],
                        charge=_element(segment, 2)[:18],
                        frequency_code=parts[2][:1] if len(parts) > 2 else "",
                        reason=reason,
                    )
                )
                index += 1
                in_claim = True
    return tuple(found)
