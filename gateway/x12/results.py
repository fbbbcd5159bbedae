"""What the X12 engine finds in a file, and what it answers. Pure data, picklable.

The pipeline calls :func:`gateway.x12.analyze` (heavy: tokenise, envelope, IG validation; may
run in a worker process) and then :func:`gateway.x12.build_responses` (light: needs fresh
control numbers and the duplicate-interchange verdicts from the store, runs inside the store
transaction that records the outputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class EnvelopeParty:
    """A trading partner as the envelope check sees it."""

    partner_id: str
    usage_indicators: frozenset[str]
    """Allowed ISA15 values (``T``/``P``); another value gets TA1 020."""


@dataclass(frozen=True)
class PartnerDirectory:
    """Snapshot of the partner profiles the envelope check needs (picklable)."""

    gateway_qualifier: str
    gateway_id: str
    parties: Mapping[tuple[str, str], EnvelopeParty] = field(default_factory=dict)
    """(ISA qualifier, ISA id without padding) -> party."""


@dataclass(frozen=True)
class IgError:
    """One implementation-guide error, with the codes a 999 needs.

    ``element_position`` None → segment-level (IK3 only); else IK3 + IK4.
    """

    segment_id: str
    segment_position: int
    """Position of the segment in the transaction set, ST = 1 (IK302)."""
    loop_id: str | None
    """Loop identifier (IK303), e.g. ``2300``; None when not in a loop."""
    segment_error: str | None
    """IK304 code (1-8, I4, I6-I9) for segment-level errors; ``8`` when IK4 follows."""
    element_position: int | None = None
    component_position: int | None = None
    repetition_position: int | None = None
    element_reference: str | None = None
    """Data element reference number (IK402-3), e.g. ``1028``."""
    element_error: str | None = None
    """IK403 code (1-10, 12, 13, I10, I11, I12, I13, I6, I9)."""
    bad_value: str | None = None
    """IK404 copy of the bad data element (omitted for missing elements)."""
    claim_id: str | None = None
    """CLM01 of the claim the error sits in, for CTX*CLM01 (837 only)."""
    line: int | None = None
    """1-based line of the segment in the file, for humans."""
    message: str = ""
    """Plain-words explanation for humans and logs (no PHI: never echo names/IDs/dates)."""


@dataclass(frozen=True)
class TransactionResult:
    st01: str
    st02: str
    st03: str | None
    errors: tuple[IgError, ...] = ()
    set_error_codes: tuple[str, ...] = ()
    """IK502+ codes (X12 718: ``2`` SE missing, ``3`` ST02/SE02 mismatch, ``4`` segment count,
    ``5`` segment errors, ``I5`` implementation errors...)."""
    claim_count: int = 0
    segment_count: int = 0

    @property
    def accepted(self) -> bool:
        return not self.errors and not self.set_error_codes


@dataclass(frozen=True)
class GroupResult:
    gs01: str
    gs02: str
    gs03: str
    gs06: str
    gs08: str
    transactions: tuple[TransactionResult, ...] = ()
    group_error_codes: tuple[str, ...] = ()
    """AK905+ codes (X12 716: ``2`` version not supported, ``4`` GS06/GE02 mismatch,
    ``5`` GE01 count wrong...)."""


@dataclass(frozen=True)
class InterchangeResult:
    sender_qualifier: str
    sender_id: str
    """ISA06 without padding."""
    receiver_qualifier: str
    receiver_id: str
    control_number: str
    """ISA13."""
    date: str
    """ISA09 (YYMMDD)."""
    time: str
    """ISA10 (HHMM)."""
    usage_indicator: str
    ack_requested: bool
    """ISA14 == '1'."""
    version: str
    """ISA12."""
    ta1_code: str | None = None
    """TA105 note code when the envelope is rejected (``001``, ``006``, ...); None = OK."""
    partner_id: str | None = None
    """The sending partner, when the sender is known."""
    groups: tuple[GroupResult, ...] = ()
    first_line: int = 1


@dataclass(frozen=True)
class RejectedClaim:
    """A claim in an 837 set that never reached the front-end edits: its set was rejected by
    the implementation-guide check (999 IK5 R) or its interchange by the envelope check (TA1).
    Read best-effort from the raw segments (the set may be malformed), so that claim status
    answers with the clearinghouse's reason instead of "not found"."""

    interchange_index: int
    isa13: str
    st02: str
    index: int
    """0-based index of the CLM in its set."""
    clm01: str
    payer_id: str
    """2010BB NM109 (the last NM1*PR before the CLM), '' when absent."""
    billing_npi: str
    """2010AA NM109 (the last NM1*85 before the CLM), '' when absent."""
    charge: str
    frequency_code: str
    reason: str
    """``999`` (the set was rejected) or ``TA1:<TA105>`` (the interchange was)."""


@dataclass(frozen=True)
class FileAnalysis:
    readable: bool
    """False when no ISA could be read at all: answer with a human-readable report."""
    reject_reason: str = ""
    interchanges: tuple[InterchangeResult, ...] = ()
    repeated_claim_ids: Mapping[str, int] | None = field(default=None, compare=False)
    """CLM01s found more than once in the 837 sets the file's 999s accept, with their
    counts (the front-end edits' uniqueness check, without reading the file again); None
    when not known (an analysis stored by an earlier release)."""
    rejected_claims: tuple[RejectedClaim, ...] = field(default=(), compare=False)
    """The claims of the 837 sets the TA1/999 reject (:mod:`gateway.x12.rejected`), when the
    caller asked for them."""


ResponseKind = Literal["TA1", "999", "277CA", "REJECT"]


@dataclass(frozen=True)
class Response:
    kind: ResponseKind
    content: bytes
    interchange_control: str | None
    """The inbound ISA13 this answers (None for the REJECT report)."""
    accepted: bool
    """TA1 A, or a 999 whose AK9 is A, E or P (at least one set accepted); False otherwise."""
    outbound_control: str | None = None
    """ISA13 of the response interchange we built (None for REJECT)."""
    details: Mapping[str, object] = field(default_factory=dict)
    """Identifiers and counts for the audit log (no PHI)."""
