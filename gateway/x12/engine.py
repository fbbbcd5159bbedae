"""Glue: analyze a file, then build its responses (see ``gateway/x12/__init__.py``).

Response policy:

* envelope rejected (``ta1_code`` set, or the store says ISA13 is a duplicate → 025):
  one ``TA1`` response (TA104 ``R``), no 999;
* envelope accepted: when ISA14 = ``1`` first a ``TA1`` response with TA104 ``A`` in its own
  interchange (pyx12's control map does not accept a TA1 next to a GS, and a stand-alone TA1
  is what most partners parse), then one ``999`` interchange with an ST*999 per inbound GS;
* nothing readable: one ``REJECT`` plain-text report.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from gateway.x12.acks import BuiltAck, Gateway, build_999, build_ta1
from gateway.x12.envelope import read_interchanges
from gateway.x12.report import describe_start, unreadable_report
from gateway.x12.results import FileAnalysis, InterchangeResult, PartnerDirectory, Response
from gateway.x12.segments import Validator
from gateway.x12.tokenizer import tokenize


def default_validator() -> Validator:
    """The implementation-guide validator (imported lazily: it loads pyx12 maps)."""
    from gateway.x12.igvalidator import PyX12Validator

    validator: Validator = PyX12Validator()
    return validator


def analyze(
    data: bytes,
    *,
    uploader: str,
    directory: PartnerDirectory,
    validator: Validator | None = None,
) -> FileAnalysis:
    """Everything the engine can say about ``data`` uploaded by partner ``uploader``.

    An interchange whose sender is not ``uploader``'s interchange ID gets TA1 006.
    Never raises on bad input (a failing ``validator`` is a bug and does propagate).
    """
    checker = validator if validator is not None else default_validator()
    tokens = tokenize(data)
    interchanges = read_interchanges(
        tokens, directory=directory, uploader=uploader, validator=checker
    )
    if not interchanges:
        return FileAnalysis(readable=False, reject_reason=_unreadable_reason(data))
    return FileAnalysis(readable=True, interchanges=tuple(interchanges))


def _unreadable_reason(data: bytes) -> str:
    start = describe_start(data)
    if b"ISA" in data:
        return (
            f"{start} The text 'ISA' occurs, but no complete ISA header (16 elements, "
            "then the component separator and the segment terminator) could be read."
        )
    return f"{start} No ISA interchange header was found."


def build_responses(
    analysis: FileAnalysis,
    *,
    directory: PartnerDirectory,
    duplicates: Collection[int],
    next_control: Callable[[], int],
    now: datetime,
) -> list[Response]:
    """One response per interchange answer (TA1 when the envelope fails or ISA14 asks for
    one, a 999 per accepted envelope), or one REJECT report when nothing was readable."""
    if not analysis.readable or not analysis.interchanges:
        reason = analysis.reject_reason or "No X12 interchange could be read."
        return [
            Response(
                kind="REJECT",
                content=unreadable_report(reason),
                interchange_control=None,
                accepted=False,
                details={"reason": "unreadable"},
            )
        ]
    gateway = Gateway(directory.gateway_qualifier, directory.gateway_id)
    responses: list[Response] = []
    for index, interchange in enumerate(analysis.interchanges):
        code = interchange.ta1_code or ("025" if index in duplicates else None)
        if code is not None:
            ack = build_ta1(
                interchange, code=code, gateway=gateway, control=next_control(), now=now
            )
            responses.append(_ta1_response(interchange, ack, code))
            continue
        if interchange.ack_requested:
            ack = build_ta1(
                interchange, code=None, gateway=gateway, control=next_control(), now=now
            )
            responses.append(_ta1_response(interchange, ack, None))
        ack = build_999(interchange, gateway=gateway, next_control=next_control, now=now)
        responses.append(_999_response(interchange, ack))
    return responses


def _base_details(interchange: InterchangeResult) -> dict[str, object]:
    return {
        "inbound_control": interchange.control_number,
        "sender": f"{interchange.sender_qualifier}:{interchange.sender_id}",
        "partner_id": interchange.partner_id,
        "usage": interchange.usage_indicator,
        "first_line": interchange.first_line,
    }


def _ta1_response(interchange: InterchangeResult, ack: BuiltAck, code: str | None) -> Response:
    details = _base_details(interchange)
    details.update({"ta1_ack": "A" if code is None else "R", "ta1_code": code or "000"})
    return Response(
        kind="TA1",
        content=ack.content,
        interchange_control=interchange.control_number,
        accepted=code is None,
        outbound_control=ack.control_number,
        details=details,
    )


def _999_response(interchange: InterchangeResult, ack: BuiltAck) -> Response:
    details = _base_details(interchange)
    details.update(
        {
            "groups": len(interchange.groups),
            "group_error_codes": sorted(
                {c for g in interchange.groups for c in g.group_error_codes}
            ),
            "sets_received": ack.sets_received,
            "sets_accepted": ack.sets_accepted,
            "sets_rejected": ack.sets_received - ack.sets_accepted,
            "claims_received": ack.claims_received,
            "claims_accepted": ack.claims_accepted,
            "errors_reported": ack.errors_reported,
            "errors_omitted": ack.errors_omitted,
        }
    )
    return Response(
        kind="999",
        content=ack.content,
        interchange_control=interchange.control_number,
        accepted=ack.sets_accepted > 0,
        outbound_control=ack.control_number,
        details=details,
    )
