"""A payer's 277CA (005010X214): the payer's front-end answer on every claim it received.

The same shape as the clearinghouse 277CA of :mod:`gateway.x12.ca277` (built by it, through
its optional ``information_source`` and ``AckBatch.answers``), with the payer as the
information source (2100A ``NM1*PR``, ``PI`` + payer ID) and per claim (2200D):

* adjudicated (goes on to the 835): ``STC*A2:20`` (accepted into the adjudication system),
  action ``WQ``, counted as accepted;
* pended: also ``STC*A2:20`` / ``WQ`` / accepted — the claim has a CLP07, it entered
  adjudication. 005010X214 limits the claim-level STC01-1 to ``A*`` categories (X12 RFI
  1942; pyx12's map does not check it), so the pend status (the decision's
  ``status_category``, e.g. ``P2:21``, default ``P1:0``) goes into STC12 as text; a real
  ``P*`` status belongs in a later 277 (005010X212);
* rejected: the decision's ``status_category`` (e.g. ``A3:33:IL`` subscriber not found;
  default ``A3:21``) with ``status_text`` in STC12, action ``U``, counted as rejected;

echoing CLM01 (``TRN*2``), the payer claim control number (``REF*1K``), the clearinghouse
trace (``REF*D9``), ``REF*BLT`` for institutional claims and the service dates.

PURE. ``claims`` are the :class:`~gateway.x12.claims.Claim` objects the payer decided on (the
re-enveloped 837's, or the source's: same CLM01, names, amounts), paired one to one with
the decisions. The 277CA carries patient names and member IDs (the guide requires them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from gateway.payers.model import ClaimDecision, Outcome
from gateway.x12.acks import BuiltAck, Gateway
from gateway.x12.ca277 import AckBatch, ClaimAnswer, InformationSource, build_277ca
from gateway.x12.claims import Claim
from gateway.x12.edits import ClaimVerdict

ACCEPTED_INTO_ADJUDICATION = "A2:20"
DEFAULT_PENDED = "P1:0"
DEFAULT_REJECTED = "A3:21"


@dataclass(frozen=True)
class PayerIdentity:
    payer_id: str
    """2100A NM109 (with ``qualifier``)."""
    name: str
    interchange: tuple[str, str]
    """The payer's ISA05/ISA06: the 277CA's sender."""
    qualifier: str = "PI"
    """2100A NM108: ``PI`` payer ID, ``46`` ETIN, ``FI`` TIN, ``XV`` CMS plan ID."""


@dataclass(frozen=True)
class PayerAckBatch:
    """One ST*277: the claims of one transaction set the payer received, and its decisions."""

    claims: Sequence[Claim]
    decisions: Sequence[ClaimDecision]
    """Same order and length as ``claims`` (matched by CLM01)."""
    received: date
    """When the payer received them (DTP*050)."""
    trace: str
    """The payer's receipt trace for this batch (2200A TRN02)."""
    clearinghouse_ids: Sequence[str] | None = None
    """Per claim, the clearinghouse trace number to echo in REF*D9 (None = ``<trace>-<n>``)."""


def claim_answer(decision: ClaimDecision) -> ClaimAnswer:
    """The 2200D statuses for one decision (see the module docstring)."""
    if decision.outcome is Outcome.ADJUDICATED:
        return ClaimAnswer(True, ((ACCEPTED_INTO_ADJUDICATION, ""),), decision.payer_claim_id)
    if decision.outcome is Outcome.PENDED:
        code = (decision.status_category or DEFAULT_PENDED).replace(":", "-")
        text = f"Pended, status {code}. {decision.status_text}".strip()
        return ClaimAnswer(True, ((ACCEPTED_INTO_ADJUDICATION, text),), decision.payer_claim_id)
    code = decision.status_category or DEFAULT_REJECTED
    return ClaimAnswer(False, ((code, decision.status_text),), decision.payer_claim_id)


def _ack_batch(batch: PayerAckBatch) -> AckBatch:
    if len(batch.claims) != len(batch.decisions):
        raise ValueError(f"batch {batch.trace}: {len(batch.claims)} claims, "
                         f"{len(batch.decisions)} decisions")  # fmt: skip
    verdicts: list[ClaimVerdict] = []
    answers: list[ClaimAnswer] = []
    for index, (claim, decision) in enumerate(zip(batch.claims, batch.decisions, strict=True)):
        if claim.claim_id != decision.claim_id:
            raise ValueError(f"batch {batch.trace}: claim {index} and its decision differ in CLM01")
        answer = claim_answer(decision)
        verdicts.append(ClaimVerdict(claim, answer.accepted, (), ""))
        answers.append(answer)
    return AckBatch(
        verdicts=verdicts,
        received=batch.received,
        trace=batch.trace,
        clearinghouse_ids=batch.clearinghouse_ids,
        answers=answers,
    )


def build_payer_277ca(
    batches: Sequence[PayerAckBatch],
    *,
    payer: PayerIdentity,
    receiver: tuple[str, str],
    usage: str,
    next_control: Callable[[], int],
    now: datetime,
    receiver_application: str = "",
) -> BuiltAck:
    """One 277CA interchange from ``payer`` to ``receiver`` (ISA qualifier, id), a ST*277 per
    batch. Control numbers: ISA13, GS06, then each ST02 from ``next_control()``. Counts as in
    :func:`~gateway.x12.ca277.build_277ca` (pended claims count as accepted)."""
    return build_277ca(
        [_ack_batch(b) for b in batches],
        gateway=Gateway(payer.interchange[0], payer.interchange[1]),
        receiver=receiver,
        usage=usage,
        next_control=next_control,
        now=now,
        receiver_application=receiver_application,
        information_source=InformationSource("PR", payer.name, payer.qualifier, payer.payer_id),
        functional_sender=payer.interchange[1],
    )
