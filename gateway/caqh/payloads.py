"""The CORE PayloadType registry: which X12 inquiry a PayloadType carries and what answers it.

One :class:`PayloadKind` per transaction: the real-time/batch request PayloadType, the
PayloadType of its answer, the kind of the X12 inside (ST01 + guide, the key of
:mod:`gateway.x12.kinds`) and the PayloadType of a batch-results retrieval. The HTTP edge
(:mod:`gateway.api.core`) dispatches on this table only; the X12 is answered by the answerer
registered for the kind (:mod:`gateway.pipeline.inquiries`). Claim status plugs in with one
entry::

    PayloadKind("X12_276_Request_005010X212", "X12_277_Response_005010X212", "276",
                "005010X212", "X12_005010_Request_Batch_Results_277")
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PayloadKind:
    request: str
    """PayloadType of a request (RealTime, and of a Batch submission)."""
    response: str
    """PayloadType of the real-time answer (and of retrieved batch results)."""
    st01: str
    guide: str
    batch_results: str = ""
    """PayloadType of a BatchResultsRetrieval request for this kind's answers."""


PAYLOAD_KINDS: tuple[PayloadKind, ...] = (
    PayloadKind(
        "X12_270_Request_005010X279A1",
        "X12_271_Response_005010X279A1",
        "270",
        "005010X279A1",
        "X12_005010_Request_Batch_Results_271",
    ),
    PayloadKind(
        "X12_276_Request_005010X212",
        "X12_277_Response_005010X212",
        "276",
        "005010X212",
        "X12_005010_Request_Batch_Results_277",
    ),
)

ACK_999 = "X12_999_Response_005010X231A1"
"""PayloadType of a 999 answering a request that failed the guide."""
TA1 = "X12_TA1_Response_00501X231A1"
"""PayloadType of a TA1 answering a request whose envelope failed."""
BATCH_RECEIPT = "X12_BatchReceiptConfirmation"
"""PayloadType of the answer to a Batch submission (the file is stored)."""


def by_request(payload_type: str) -> PayloadKind | None:
    return next((k for k in PAYLOAD_KINDS if k.request == payload_type), None)


def by_results(payload_type: str) -> PayloadKind | None:
    return next((k for k in PAYLOAD_KINDS if k.batch_results == payload_type), None)


def known_payload_types() -> list[str]:
    out: list[str] = []
    for kind in PAYLOAD_KINDS:
        out += [kind.request] + ([kind.batch_results] if kind.batch_results else [])
    return out
