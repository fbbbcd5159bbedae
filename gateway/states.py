"""The one state model of an uploaded file (SFTP, HTTP or AS2), as the store keeps it and the
API, ``gateway trace`` and the README show it.

::

    received ──► processed ──► routed
       │             │    └──► rejected
       └─────────────┴──────► failed

A file is ``received`` once its bytes are stored durably (only then is the upload answered).
The checks then commit its answers (TA1/999/277CA or a REJECT report) to the submitter's
mailbox in the same transaction that makes it ``processed``. Routing ends it: ``routed`` when
something in it went on (accepted claims to their payers; for a payer's upload, its answers
to the partners they are for), ``rejected`` when nothing did. A file whose processing keeps
failing ends ``failed`` after the configured attempts (nothing is lost: its payload stays in
the store and a restart does not pick it up again until an operator looks).
"""

from __future__ import annotations

RECEIVED = "received"
PROCESSED = "processed"
ROUTED = "routed"
REJECTED = "rejected"
FAILED = "failed"

#: Every state a file can be in, with its meaning (the README's table says the same).
FILE_STATES: dict[str, str] = {
    RECEIVED: "stored durably; its checks are waiting or running",
    PROCESSED: "its answers (TA1/999/277CA or REJECT report) are in the mailbox; routing is next",
    ROUTED: "done: accepted claims went on to their payers (a payer's file: its answers were "
    "forwarded)",
    REJECTED: "done: nothing in it went on (envelope, guide or front-end edits rejected all of "
    "it, a duplicate interchange, or not X12 at all); the answers say why",
    FAILED: "processing kept failing; the payload is kept, an operator must look",
}

#: Allowed transitions (for documentation and tests).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    RECEIVED: (PROCESSED, FAILED),
    PROCESSED: (ROUTED, REJECTED, FAILED),
    ROUTED: (),
    REJECTED: (),
    FAILED: (),
}
