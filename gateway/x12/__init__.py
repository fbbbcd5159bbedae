"""The X12 engine. PURE: no Twisted, no I/O beyond reading pyx12's packaged maps.

Entry points used by the pipeline:

``analyze(data, *, uploader, directory) -> FileAnalysis``
    Tokenise (delimiters from each ISA), check envelopes, validate every transaction set
    against its implementation guide. Never raises on bad input.

``build_responses(analysis, *, duplicates, next_control, now) -> list[Response]``
    TA1 / 999 / rejection report for an analysed file. ``duplicates`` holds the indexes of
    interchanges the store has already seen from the same sender (TA1 025);
    ``next_control()`` returns a fresh control number (unique per gateway, durable).
"""

from gateway import _native
from gateway.x12.engine import analyze, build_responses
from gateway.x12.results import (
    EnvelopeParty,
    FileAnalysis,
    GroupResult,
    IgError,
    InterchangeResult,
    PartnerDirectory,
    Response,
    TransactionResult,
)

_native.repair_pickling()  # compiled (mypyc) records cross process boundaries too

__all__ = [
    "EnvelopeParty",
    "FileAnalysis",
    "GroupResult",
    "IgError",
    "InterchangeResult",
    "PartnerDirectory",
    "Response",
    "TransactionResult",
    "analyze",
    "build_responses",
]
