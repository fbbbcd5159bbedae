"""Glue: analyze a file, then build its responses (see ``gateway/x12/__init__.py``).

:func:`analyze` takes the bytes; :func:`analyze_file` (a path or a binary file object) and
:func:`analyze_stream` (chunks) read the file 1 MiB at a time, so memory does not grow with
the file: tokens stream into the envelope walker, each set's segments into a validation
session, and the unreadable-file report needs only the size and the first bytes.

Response policy:

* envelope rejected (``ta1_code`` set, or the store says ISA13 is a duplicate → 025):
  one ``TA1`` response (TA104 ``R``), no 999;
* envelope accepted: when ISA14 = ``1`` first a ``TA1`` response with TA104 ``A`` in its own
  interchange (pyx12's control map does not accept a TA1 next to a GS, and a stand-alone TA1
  is what most partners parse), then one ``999`` interchange with an ST*999 per inbound GS;
* nothing readable: one ``REJECT`` plain-text report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from os import PathLike
from typing import BinaryIO

from gateway.x12.acks import BuiltAck, Gateway, build_999, build_ta1
from gateway.x12.envelope import ACK_FUNCTIONAL_ID, read_interchanges, set_accepted
from gateway.x12.kinds import carries_claims
from gateway.x12.report import describe_start, unreadable_report
from gateway.x12.results import (
    FileAnalysis,
    InterchangeResult,
    PartnerDirectory,
    Response,
    TransactionResult,
)
from gateway.x12.segments import Validator
from gateway.x12.tokenizer import CHUNK_SIZE, Run, read_chunks, tokenize_runs


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
    view = memoryview(data)
    chunks = (bytes(view[i : i + CHUNK_SIZE]) for i in range(0, len(view), CHUNK_SIZE))
    return analyze_stream(chunks, uploader=uploader, directory=directory, validator=validator)


def analyze_file(
    source: str | PathLike[str] | BinaryIO,
    *,
    uploader: str,
    directory: PartnerDirectory,
    validator: Validator | None = None,
    claim_ids: bool = False,
    observe: Callable[[Run], object] | None = None,
) -> FileAnalysis:
    """:func:`analyze` for a file (a path, or a binary file object read from where it
    stands), read 1 MiB at a time: memory does not grow with the file's size (except with
    ``claim_ids``, see :func:`analyze_stream`)."""
    return analyze_stream(
        read_chunks(source),
        uploader=uploader,
        directory=directory,
        validator=validator,
        claim_ids=claim_ids,
        observe=observe,
    )


def analyze_stream(
    chunks: Iterable[bytes],
    *,
    uploader: str,
    directory: PartnerDirectory,
    validator: Validator | None = None,
    claim_ids: bool = False,
    observe: Callable[[Run], object] | None = None,
) -> FileAnalysis:
    """:func:`analyze` over the file's bytes in ``chunks`` (cut anywhere).

    With ``claim_ids`` the guide pass also keeps the CLM01s of the 837 sets (memory then
    grows with the claims, a string each until the end of the pass) and the analysis
    names those that occur more than once (:attr:`FileAnalysis.repeated_claim_ids`): the
    front-end edits then need no pass of their own to count them.

    ``observe`` is given every token run the guide pass reads, after the pass has taken it
    (so a set's guide is loaded by the time its ST is observed): another reader of the same
    tokens, e.g. the claim edits of ``gateway validate``
    (:func:`gateway.x12.frontend.analyze_and_spill`), with no second tokenizing pass."""
    checker = validator if validator is not None else default_validator()
    probe = _Probe(chunks)
    collected: list[tuple[TransactionResult, list[str] | None]] | None = [] if claim_ids else None
    runs = tokenize_runs(probe)
    interchanges = read_interchanges(
        runs if observe is None else _observed(runs, observe),
        directory=directory,
        uploader=uploader,
        validator=checker,
        claim_ids=collected,
    )
    if not interchanges:  # then the tokenizer read to the end: the probe saw it all
        return FileAnalysis(readable=False, reject_reason=probe.unreadable_reason())
    return FileAnalysis(
        readable=True,
        interchanges=tuple(interchanges),
        repeated_claim_ids=(
            None if collected is None else _repeated_claim_ids(interchanges, collected)
        ),
    )


def _observed(runs: Iterable[Run], observe: Callable[[Run], object]) -> Iterator[Run]:
    """``runs``, each handed to ``observe`` once the consumer has taken it (it asks for the
    next one): the runs are not changed by their consumer."""
    for run in runs:
        yield run
        observe(run)


def _repeated_claim_ids(
    interchanges: Sequence[InterchangeResult],
    claim_ids: Sequence[tuple[TransactionResult, Sequence[str] | None]],
) -> dict[str, int] | None:
    """CLM01s that occur more than once in the accepted 837 sets (the sets the front-end
    edits take), with their counts; None when a set's CLM01s were not collected."""
    by_set = {id(result): ids for result, ids in claim_ids}
    counts: Counter[str] = Counter()
    for interchange in interchanges:
        if interchange.ta1_code is not None:
            continue
        for group in interchange.groups:
            for transaction in group.transactions:
                if not carries_claims(transaction.st01) or not set_accepted(group, transaction):
                    continue
                ids = by_set.get(id(transaction))
                if ids is None:
                    return None
                counts.update(ids)
    return {claim_id: count for claim_id, count in counts.items() if count > 1}


_BOM = b"\xef\xbb\xbf"
_SAMPLE = 64
"""Bytes after the BOM and leading blanks that :func:`describe_start` looks at."""


class _Probe:
    """Passes the chunks through, noting what the unreadable-file report needs without
    keeping the file: its size, whether it starts with a UTF-8 BOM, its first bytes after
    the BOM and leading blanks, and whether ``ISA`` occurs anywhere."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.size = 0
        self.isa_seen = False
        self.bom = False
        self.sample = b""
        self._tail = b""
        self._start = b""
        """The first bytes, until three of them decide the BOM question."""
        self._started = False
        self._skipping = True

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            if not self.isa_seen:
                window = self._tail + chunk
                self.isa_seen = b"ISA" in window
                self._tail = window[-2:]
            if len(self.sample) < _SAMPLE:
                self._look(chunk)
            yield chunk
        if not self._started:
            self._started = True
            self._after_bom(self._start)

    def _look(self, chunk: bytes) -> None:
        if not self._started:
            self._start += chunk[:3]
            chunk = chunk[3:]
            if len(self._start) < 3:
                return
            start, self._start = self._start, b""
            excess = start[3:]
            start = start[:3]
            self._started = True
            self.bom = start == _BOM
            self._after_bom(b"" if self.bom else start)
            chunk = excess + chunk
        self._after_bom(chunk)

    def _after_bom(self, data: bytes) -> None:
        if self._skipping:
            data = data.lstrip(b" \t\r\n")
            if not data:
                return
            self._skipping = False
        self.sample += data[: _SAMPLE - len(self.sample)]

    def describe_start(self) -> str:
        """:func:`gateway.x12.report.describe_start` of the whole file, from the probe."""
        if not self.size:
            return describe_start(b"")
        stand_in = (_BOM if self.bom else b"") + (self.sample or b" ")
        text = describe_start(stand_in)
        said = f"The file is {len(stand_in)} bytes long"
        if text.startswith(said):
            text = f"The file is {self.size} bytes long" + text[len(said) :]
        return text

    def unreadable_reason(self) -> str:
        start = self.describe_start()
        if self.isa_seen:
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
        # Functional acknowledgments are never acknowledged (an FA group gets no 999), and an
        # interchange acknowledgment (TA1 only, no groups) gets none either.
        answerable = tuple(g for g in interchange.groups if g.gs01 != ACK_FUNCTIONAL_ID)
        if not answerable:
            continue
        if len(answerable) != len(interchange.groups):
            interchange = replace(interchange, groups=answerable)
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
