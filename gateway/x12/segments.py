"""The shapes shared by the tokenizer, the envelope check and the IG validator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from gateway.x12.results import IgError


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str
    """ISA position 4 (usually ``*``)."""
    segment: str
    """The character after ISA16 (usually ``~``); CR/LF after it are tolerated."""
    component: str
    """ISA16 (usually ``:``)."""
    repetition: str | None
    """ISA11 when it is a separator (5010: usually ``^``); None for 4010 ``U``."""


@dataclass(slots=True)
class Segment:
    """One segment. Not frozen (half the construction cost, and a file has millions): treat
    it as read-only all the same."""

    id: str
    """Segment ID, e.g. ``CLM``."""
    elements: tuple[str, ...]
    """Raw data elements after the ID: ``elements[0]`` is XXX01. Composites and
    repetitions are NOT split here (use the delimiters). Text is the file's bytes read as
    latin-1; a binary element (``BIN02``, read by the tokenizer by its length) may hold any
    character, separators and control characters included: ``.encode("latin-1")`` gives
    its bytes back."""
    line: int
    """1-based line number in the file (counting LF), for humans."""

    def __init__(self, id: str, elements: tuple[str, ...], line: int) -> None:
        # the dataclass's own __init__, written out: mypyc compiles it (gateway/_native.py)
        self.id = id
        self.elements = elements
        self.line = line


class Validator(Protocol):
    """Implementation-guide validation of one transaction set (ST..SE inclusive)."""

    def supports(self, implementation: str) -> bool:
        """True for the guides this validator knows (``005010X222A1``, ``005010X223A2``...)."""
        ...

    def validate(
        self,
        segments: Sequence[Segment],
        delimiters: Delimiters,
        implementation: str,
    ) -> tuple[list[IgError], int]:
        """IG errors of the set (IK3/IK4 codes, loop id, CLM01 context) and its claim count.
        Segment positions count ST as 1. SE count/control checks are the caller's job."""
        ...


class SetSession(Protocol):
    """Incremental validation of one transaction set: :meth:`feed` every segment from ST to
    SE inclusive, then :meth:`finish` once (a set cut short is simply dropped)."""

    error_total: int
    """Errors found so far, stored or not."""
    implementation_errors: int
    """Errors whose code starts with ``I`` (IK502 ``I5``), stored or not."""

    def feed(self, segment: Segment) -> None: ...

    def finish(self) -> tuple[list[IgError], int]:
        """The stored errors (at most ``max_errors``) and the set's claim count."""
        ...


class StreamingValidator(Validator, Protocol):
    """A validator that can also take a set one segment at a time (constant memory)."""

    def begin(
        self, delimiters: Delimiters, implementation: str, *, max_errors: int | None = None
    ) -> SetSession: ...


def is_implementation_error(error: IgError) -> bool:
    """Whether an error is an implementation-guide one (code ``I..``) rather than X12 syntax."""
    code = error.element_error if error.element_position is not None else error.segment_error
    return bool(code) and str(code).startswith("I")


class ListSession:
    """:class:`SetSession` over a validator that only has ``validate``: keeps the set's
    segments and validates them at :meth:`finish` (memory grows with the set)."""

    def __init__(
        self,
        validator: Validator,
        delimiters: Delimiters,
        implementation: str,
        max_errors: int | None,
    ) -> None:
        self.validator = validator
        self.delimiters = delimiters
        self.implementation = implementation
        self.max_errors = max_errors
        self.segments: list[Segment] = []
        self.error_total = 0
        self.implementation_errors = 0

    def feed(self, segment: Segment) -> None:
        self.segments.append(segment)

    def finish(self) -> tuple[list[IgError], int]:
        errors, claims = self.validator.validate(
            self.segments, self.delimiters, self.implementation
        )
        self.segments = []
        self.error_total = len(errors)
        self.implementation_errors = sum(1 for e in errors if is_implementation_error(e))
        if self.max_errors is not None:
            errors = errors[: self.max_errors]
        return errors, claims


def begin_session(
    validator: Validator, delimiters: Delimiters, implementation: str, max_errors: int | None
) -> SetSession:
    """A session for one set: the validator's own ``begin`` when it has one (see
    :class:`StreamingValidator`), else a :class:`ListSession`."""
    begin = getattr(validator, "begin", None)
    if begin is None:
        return ListSession(validator, delimiters, implementation, max_errors)
    return cast(SetSession, begin(delimiters, implementation, max_errors=max_errors))
