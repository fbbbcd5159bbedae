"""The registry of transaction kinds: ONE place that says what the gateway does with a
transaction set, keyed by (ST01, implementation guide). PURE.

The pipeline asks :func:`kind_of` instead of branching on ``st01 == ...``:

- ``CLAIMS`` (837P/I/D from a submitter): claim extraction, front-end edits, the
  clearinghouse 277CA, routing to the payers;
- ``PAYER_ANSWER`` (999, 277CA, 835, 271, 277 X212 from a payer): matched back through the
  routes (a 271 or a 277 X212: through the batch inquiries routed to that payer, by TRN02)
  and forwarded to the partner they are for (:attr:`Kind.name` is the mailbox kind);
- ``INQUIRY`` (270 X279A1; ``ELIGIBILITY`` is the same member): a request whose sets are
  answered ONE-TO-ONE by another set (:attr:`Kind.answer`, the 271), in real time
  (``POST /api/v1/x12``, ``/api/v1/eligibility``, CAQH CORE ``/core``) or in batch (a file
  over SFTP/API/AS2/CORE gets its 999, then ``<stamp>_<file id>_<answer>.x12`` in the
  submitter's mailbox, one answer set per request set, matched by TRN). The 276 X212 claim
  status request (``CLAIM_STATUS``, the same member) is one too: answered by a 277 X212 from
  the claim's lifecycle in the store (gateway/pipeline/claim_status.py registers its answerer).

- ``ATTACHMENT`` (275 X210 from a provider): an answer to a payer's request for information
  (a 277 X213, the ``PAYER_ANSWER`` ``277RFAI`` when an external payer sends it), matched to
  the request and routed to the payer (gateway/pipeline/rfai.py).

A later set is one more entry here and one handler: an inquiry kind, plus its answerer
registered in :mod:`gateway.pipeline.inquiries` (``register_answerer(name, ...)``) and its CORE
PayloadTypes in :mod:`gateway.caqh.payloads`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.x12.ca277 import IMPLEMENTATION_277CA
from gateway.x12.rfai import IMPLEMENTATION_275, IMPLEMENTATION_277RFAI

ANY_GUIDE = ""


class Handling(StrEnum):
    CLAIMS = "claims"
    PAYER_ANSWER = "payer_answer"
    INQUIRY = "inquiry"
    """Answered one-to-one by :attr:`Kind.answer` (real time or batch)."""
    ELIGIBILITY = "inquiry"  # an alias of INQUIRY (the 270 was the first)
    CLAIM_STATUS = "inquiry"  # an alias of INQUIRY (the 276)
    ATTACHMENT = "attachment"
    """A provider's 275 X210: matched to an open request for information (by payer claim
    number), stored, and routed to the payer (gateway/pipeline/rfai.py)."""


@dataclass(frozen=True)
class Kind:
    st01: str
    guide: str
    """The implementation guide (ST03 / GS08), or :data:`ANY_GUIDE`."""
    name: str
    """Short name, e.g. ``837``, ``277CA`` (for payer answers: the mailbox kind)."""
    handling: Handling
    description: str = ""
    """Plain words (in reports to partners)."""
    answer: str = ""
    """For an ``INQUIRY``: the short name of the set answering it (``271``; the mailbox kind
    of a batch's answers)."""
    answer_to: str = ""
    """For a ``PAYER_ANSWER`` that answers batch inquiries routed to an external payer (a
    271): the inquiry's short name (``270``); matched back by TRN02."""


KINDS: tuple[Kind, ...] = (
    Kind("837", ANY_GUIDE, "837", Handling.CLAIMS, "claims"),
    Kind("270", "005010X279A1", "270", Handling.INQUIRY, "an eligibility inquiry", "271"),
    Kind("276", "005010X212", "276", Handling.CLAIM_STATUS, "a claim status request", "277"),
    Kind("999", ANY_GUIDE, "999", Handling.PAYER_ANSWER, "an implementation acknowledgment"),
    Kind("277", IMPLEMENTATION_277CA, "277CA", Handling.PAYER_ANSWER, "a claim acknowledgment"),
    Kind("835", ANY_GUIDE, "835", Handling.PAYER_ANSWER, "a remittance advice"),
    Kind("271", "005010X279A1", "271", Handling.PAYER_ANSWER, "an eligibility answer",
         answer_to="270"),
    Kind("277", "005010X212", "277", Handling.PAYER_ANSWER, "a claim status answer",
         answer_to="276"),
    Kind("277", IMPLEMENTATION_277RFAI, "277RFAI", Handling.PAYER_ANSWER,
         "a request for additional information"),
    Kind("275", IMPLEMENTATION_275, "275", Handling.ATTACHMENT,
         "an attachment (additional information for a claim)"),
)  # fmt: skip

_EXACT = {(k.st01, k.guide): k for k in KINDS if k.guide != ANY_GUIDE}
_ANY = {k.st01: k for k in KINDS if k.guide == ANY_GUIDE}


def kind_of(st01: str, guide: str) -> Kind | None:
    """The kind of a set (an exact guide wins over an any-guide entry), or None."""
    return _EXACT.get((st01, guide)) or _ANY.get(st01)


def kinds_for(st01: str, handling: Handling) -> list[Kind]:
    """Every kind of ``st01`` handled that way (e.g. what a payer's 277 may be)."""
    return [k for k in KINDS if k.st01 == st01 and k.handling is handling]


def carries_claims(st01: str) -> bool:
    """Sets whose claims are extracted, edited and routed (the 837s)."""
    return any(k.st01 == st01 and k.handling is Handling.CLAIMS for k in KINDS)


def carries_attachments(st01: str) -> bool:
    """Sets a provider sends to answer requests for information (the 275s)."""
    return any(k.st01 == st01 and k.handling is Handling.ATTACHMENT for k in KINDS)


def payer_answer_names() -> list[str]:
    """What a payer may send back, in registry order (``999``, ``277CA``, ``835``)."""
    return [k.name for k in KINDS if k.handling is Handling.PAYER_ANSWER]


def is_inquiry(st01: str, guide: str) -> Kind | None:
    """The kind of a set answered one-to-one (a 270), else None."""
    kind = kind_of(st01, guide)
    return kind if kind is not None and kind.handling is Handling.INQUIRY else None


def is_attachment(st01: str, guide: str) -> Kind | None:
    """The kind of a provider's attachment set (a 275 X210), else None."""
    kind = kind_of(st01, guide)
    return kind if kind is not None and kind.handling is Handling.ATTACHMENT else None
