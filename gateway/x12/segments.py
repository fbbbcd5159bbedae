"""The shapes shared by the tokenizer, the envelope check and the IG validator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    """Segment ID, e.g. ``CLM``."""
    elements: tuple[str, ...]
    """Raw data elements after the ID: ``elements[0]`` is XXX01. Composites and
    repetitions are NOT split here (use the delimiters)."""
    line: int
    """1-based line number in the file (counting LF), for humans."""


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
