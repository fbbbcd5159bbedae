"""Build :class:`~gateway.payers.adjudicate.ClaimInput` from an 837 transaction set.

:class:`gateway.x12.claims.Claim` does not (yet) carry the prior authorization number
(2300 / 2400 ``REF*G1``), so it is read here from the claim's own segments, using the
positions the claim model records (``Claim.where.position`` .. ``Claim.end_position``).
Other payers' REF*G1 (2330x, after a 2320 ``SBR``) are not this claim's and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.payers.adjudicate import ClaimInput
from gateway.x12.claims import Claim, extract_claims
from gateway.x12.segments import Delimiters, Segment


def authorizations(segments: Sequence[Segment], claim: Claim) -> tuple[str, dict[str, str]]:
    """(2300 REF*G1, {LX01: 2400 REF*G1}) of ``claim`` in ``segments`` (ST = position 1)."""
    claim_level = ""
    lines: dict[str, str] = {}
    line: str | None = None
    in_other_payer = False
    first = claim.where.position  # CLM
    last = max(claim.end_position, first)
    for segment in segments[first : min(last, len(segments))]:
        sid = segment.id
        if sid == "LX":
            line = segment.elements[0] if segment.elements else ""
            in_other_payer = False
            continue
        if sid == "SBR" and line is None:
            in_other_payer = True
            continue
        if sid != "REF" or in_other_payer or len(segment.elements) < 2:
            continue
        if segment.elements[0] != "G1":
            continue
        value = segment.elements[1].strip()
        if line is None:
            claim_level = claim_level or value
        else:
            lines.setdefault(line, value)
    return claim_level, lines


def claim_inputs(
    segments: Sequence[Segment],
    claims: Sequence[Claim],
    references: Sequence[str] | None = None,
) -> list[ClaimInput]:
    """One :class:`ClaimInput` per claim of the set, with its prior authorizations and the
    caller's references (same order as ``claims``; default ``""``)."""
    out: list[ClaimInput] = []
    for index, claim in enumerate(claims):
        claim_level, lines = authorizations(segments, claim)
        reference = references[index] if references is not None else ""
        out.append(ClaimInput(claim, reference, claim_level, lines))
    return out


def inputs_from_set(
    segments: Sequence[Segment], delimiters: Delimiters, implementation: str = ""
) -> list[ClaimInput]:
    """Extract the claims of one transaction set (ST..SE) and build their inputs."""
    return claim_inputs(segments, extract_claims(segments, delimiters, implementation))
