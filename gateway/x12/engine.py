"""Glue: analyze a file, then build its responses (see ``gateway/x12/__init__.py``)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from gateway.x12.results import FileAnalysis, PartnerDirectory, Response


def analyze(data: bytes, *, uploader: str, directory: PartnerDirectory) -> FileAnalysis:
    """Everything the engine can say about ``data`` uploaded by partner ``uploader``.

    An interchange whose sender is not ``uploader``'s interchange ID gets TA1 006.
    """
    raise NotImplementedError


def build_responses(
    analysis: FileAnalysis,
    *,
    directory: PartnerDirectory,
    duplicates: Collection[int],
    next_control: Callable[[], int],
    now: datetime,
) -> list[Response]:
    """One response per interchange (TA1 when the envelope fails or ISA14 asks for one,
    a 999 per accepted envelope), or one REJECT report when nothing was readable."""
    raise NotImplementedError
