"""Requests for additional information and the attachments that answer them. PURE: no I/O,
no clock (``now`` is passed in), no Twisted.

Two transaction sets of issue 9:

- the **277 Request for Additional Information** (``005010X213``): a payer asks the provider
  for documentation of a claim, each document as a LOINC code (STC01-2 under the code list
  qualifier ``LOI``, a LOINC modifier in STC01-3), with a response due date.
  :func:`write_277_rfai` writes one (the gateway acting for an in-house payer);
  :func:`read_277_rfai` reads one from an external payer (to match it to the claim and
  forward it to the provider);
- the **275 Additional Information to Support a Health Care Claim or Encounter**
  (``005010X210``): the provider answers with the document (PDF/TIFF/JPEG...) in a ``BIN``
  segment. :func:`read_275` reads the attachments of a 275 set (the payload bytes exactly as
  sent: the tokenizer reads ``BIN02`` by its declared length); :func:`write_275` builds a
  275 around a file (tests, the demo, the provider-side CLI).

Matching key between the two: the payer claim control number (277 2200D ``REF*1K``, quoted
back by the provider in the 275) and the patient control number (CLM01: 277 2200D ``TRN02``,
275 ``REF*EJ``); the attachment control number (277 2200D ``REF*...`` / 275 ``TRN02``), when
the payer gives one, identifies the request itself.

PHI (patient names, member IDs, dates, attachment contents) lives in the X12 only: nothing
here logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from gateway.x12.segments import Delimiters, Segment

IMPLEMENTATION_277RFAI = "005010X213"
"""ST03/GS08 of the 277 Request for Additional Information."""
IMPLEMENTATION_275 = "005010X210"
"""ST03/GS08 of the 275 Additional Information to Support a Health Care Claim or Encounter."""


@dataclass(frozen=True)
class RequestedItem:
    """One document asked for: a LOINC code (the attachment type, e.g. ``18842-5`` discharge
    summary) and optionally a LOINC modifier (e.g. a time window)."""

    code: str
    """LOINC code (STC01-2 under code list qualifier ``LOI``), e.g. ``18842-5``."""
    modifier: str = ""
    """LOINC modifier code (STC01-3), optional."""
    text: str = ""
    """Plain-words description for people (NOT written in the X12)."""


@dataclass(frozen=True)
class InfoRequest:
    """One claim's request for additional information, in one 277 RFAI (a 2000D/2200D)."""

    payer_claim_number: str
    """2200D ``REF*1K``: the payer claim control number."""
    patient_control_number: str
    """CLM01 of the claim: 2200D ``TRN02`` (TRN01 ``1``)."""
    billed_amount: Decimal
    """2200D ``AMT``... CLM02 of the claim."""
    service_from: date
    service_to: date
    """2200D ``DTP*472`` (a single day is written D8, a span RD8)."""
    items: tuple[RequestedItem, ...]
    """What is asked for (one STC per item, 2200D)."""
    due: date
    """Response due date (2200D ``DTP*106``... the TR3's "Response Due Date")."""
    patient_last: str
    patient_first: str
    member_id: str
    """2100D patient name and member ID (PHI: emitted only in the X12)."""
    provider_npi: str
    provider_name: str
    """2100C: the provider asked (NPI, ``NM1*1P*2`` organisation name)."""
    attachment_control: str = ""
    """An attachment/request control number the provider quotes back in the 275 (2200D
    ``REF``... empty when the payer gives none)."""


@dataclass(frozen=True)
class RfaiReceived:
    """One claim's request read from a 277 X213 of an EXTERNAL payer (for matching/forwarding)."""

    payer_claim_number: str
    patient_control_number: str
    items: tuple[RequestedItem, ...]
    due: date | None
    attachment_control: str = ""
    provider_npi: str = ""
    payer_id: str = ""


@dataclass(frozen=True)
class Attachment:
    """One attachment (one 275 transaction set) as received or to be sent."""

    st02: str
    payer_claim_number: str
    """As quoted by the provider (the matching key)."""
    patient_control_number: str
    attachment_control: str
    """The attachment/request control number, empty when absent."""
    loinc: tuple[str, ...]
    """The LOINC codes the document answers."""
    format: str
    """The document's file type as the TR3 codes it (e.g. ``PDF``, ``TIF``, ``JPG``)."""
    data: bytes
    """The BIN02 payload, exact bytes."""
    payer_id: str
    provider_npi: str
    payer_name: str = ""
    provider_name: str = ""
    patient_last: str = ""
    patient_first: str = ""
    member_id: str = ""
    service_from: date | None = None
    service_to: date | None = None


def write_277_rfai(
    requests: Sequence[InfoRequest],
    *,
    payer_name: str,
    payer_id: str,
    receiver_name: str,
    receiver_id: str,
    sender_id: str,
    receiver_isa_id: str,
    control_number: int,
    now: datetime,
    usage: str = "P",
) -> bytes:
    """A whole interchange (ISA/GS ``HI``...IEA) holding one 277 X213 with all ``requests``:
    2000A the payer, 2000B the receiver (information receiver: the submitter), 2000C one per
    provider (by NPI, in order of first appearance), 2000D one per claim."""
    raise NotImplementedError


def read_277_rfai(segments: Sequence[Segment], delimiters: Delimiters) -> list[RfaiReceived]:
    """The claims' requests of one 277 X213 set (ST..SE), in set order."""
    raise NotImplementedError


def read_275(segments: Sequence[Segment], delimiters: Delimiters) -> list[Attachment]:
    """The attachment(s) of one 275 X210 set (ST..SE); ``data`` is BIN02 as bytes (latin-1
    of the tokenizer's text: exactly the bytes of the file)."""
    raise NotImplementedError


def write_275(
    attachment: Attachment,
    *,
    sender_id: str,
    receiver_isa_id: str,
    control_number: int,
    now: datetime,
    usage: str = "P",
    sender_name: str = "",
) -> bytes:
    """A whole interchange (ISA/GS...IEA) holding one 275 X210 carrying ``attachment``
    (``attachment.st02`` is its ST02; the payload in one BIN, any bytes)."""
    raise NotImplementedError
