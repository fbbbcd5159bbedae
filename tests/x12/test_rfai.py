"""277 RFAI (005010X213) and 275 attachments (005010X210): writers validated against our maps,
readers, exact binary round trips, the engine's 999 for good and bad 275s."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.x12.acks import Gateway
from gateway.x12.claims import iter_transaction_sets, iter_transaction_sets_stream
from gateway.x12.engine import analyze, build_responses
from gateway.x12.forward import rewrap
from gateway.x12.igvalidator import PyX12Validator
from gateway.x12.rfai import (
    IMPLEMENTATION_275,
    IMPLEMENTATION_277RFAI,
    Attachment,
    AttachmentSizeLimit,
    InfoRequest,
    RequestedItem,
    attachment_format,
    read_275,
    read_277_rfai,
    sniff_format,
    write_275,
    write_277_rfai,
)
from tests.x12.conftest import DIRECTORY, GATEWAY, SUBMITTER
from tests.x12files import engine_verdicts

VALIDATOR = PyX12Validator()
NOW = datetime(2026, 11, 24, 9, 30)
EVERY_BYTE = b"%PDF-1.7\n" + bytes(range(256)) + b"~*:^\r\n~" + bytes(range(255, -1, -1))

REQUEST = InfoRequest(
    payer_claim_number="PAYER-CLM-1",
    patient_control_number="PCN-1",
    billed_amount=Decimal("125.50"),
    service_from=date(2026, 11, 1),
    service_to=date(2026, 11, 3),
    items=(
        RequestedItem("18842-5", text="Discharge summary"),
        RequestedItem("11506-3", modifier="18805-9", text="Progress note"),
    ),
    due=date(2026, 12, 24),
    patient_last="DOE",
    patient_first="JANE",
    member_id="M123456",
    provider_npi="1234567893",
    provider_name="MAIN STREET CLINIC",
    attachment_control="ACN0001",
)

ATTACHMENT = Attachment(
    st02="0042",
    payer_claim_number="PAYER-CLM-1",
    patient_control_number="PCN-1",
    attachment_control="ACN0001",
    loinc=("18842-5", "11506-3"),
    format="PDF",
    data=EVERY_BYTE,
    payer_id="12345",
    provider_npi="1234567893",
    payer_name="DEMO PAYER",
    provider_name="MAIN STREET CLINIC",
    patient_last="DOE",
    patient_first="JANE",
    member_id="M123456",
    service_from=date(2026, 11, 1),
    service_to=date(2026, 11, 3),
)


def rfai_277(requests: list[InfoRequest], control: int = 7) -> bytes:
    return write_277_rfai(
        requests,
        payer_name="DEMO PAYER",
        payer_id="12345",
        receiver_name="DEMO BILLING",
        receiver_id="999999999",
        sender_id="CLEARINGHOUSE",
        receiver_isa_id="DEMOBILLING",
        control_number=control,
        now=NOW,
    )


def x275(attachment: Attachment = ATTACHMENT, **kw: object) -> bytes:
    args: dict[str, object] = {
        "sender_id": SUBMITTER[1],
        "receiver_isa_id": GATEWAY[1],
        "control_number": 8,
        "now": NOW,
        "usage": "T",
    }
    args.update(kw)
    return write_275(attachment, **args)  # type: ignore[arg-type]


def errors_of(content: bytes, guide: str) -> list[object]:
    sets = list(iter_transaction_sets(content))
    assert sets
    found: list[object] = []
    for ts in sets:
        assert ts.gs08 == guide
        errors, _ = VALIDATOR.validate(list(ts.segments), ts.delimiters, guide)
        found += errors
    return found


def attachments_of(content: bytes) -> list[Attachment]:
    return [
        a for ts in iter_transaction_sets(content) for a in read_275(ts.segments, ts.delimiters)
    ]


# ------------------------------------------------------------------ 277 X213


def test_277_rfai_validates_and_reads_back() -> None:
    other = replace(
        REQUEST,
        payer_claim_number="PAYER-CLM-2",
        patient_control_number="PCN-2",
        provider_npi="1003000126",
        provider_name="OTHER CLINIC",
        service_to=REQUEST.service_from,
        attachment_control="",
        items=(RequestedItem("34133-9", category="R3"),),
    )
    third = replace(REQUEST, payer_claim_number="PAYER-CLM-3", patient_control_number="PCN-3")
    content = rfai_277([REQUEST, other, third])
    assert errors_of(content, IMPLEMENTATION_277RFAI) == []
    text = content.decode("ascii")
    assert text.count("ST*277*") == 1 and "GS*HN*" in text
    assert text.count("*19*1~") == 2  # one 2000C per provider NPI
    assert "DTP*472*D8*20261101~" in text and "DTP*106*D8*20261224~" in text
    assert "Discharge" not in text  # the plain words are for people, not the X12
    [ts] = list(iter_transaction_sets(content))
    got = read_277_rfai(ts.segments, ts.delimiters)
    assert [r.payer_claim_number for r in got] == ["PAYER-CLM-1", "PAYER-CLM-3", "PAYER-CLM-2"]
    first = got[0]
    assert first.patient_control_number == "PCN-1"
    assert first.due == date(2026, 12, 24)
    assert first.attachment_control == "ACN0001"
    assert first.provider_npi == "1234567893" and first.payer_id == "12345"
    assert [(i.code, i.modifier, i.category) for i in first.items] == [
        ("18842-5", "", "R4"),
        ("11506-3", "18805-9", "R4"),
    ]
    assert got[2].items == (RequestedItem("34133-9", category="R3"),)
    assert got[2].attachment_control == "" and got[2].provider_npi == "1003000126"


def test_277_rfai_needs_a_request_and_items() -> None:
    with pytest.raises(ValueError):
        rfai_277([])
    with pytest.raises(ValueError):
        rfai_277([replace(REQUEST, items=())])


def test_read_277_rfai_from_an_external_payer_with_a_line_level_request() -> None:
    content = (
        b"ISA*00*          *00*          *ZZ*PAYER          *ZZ*GATEWAY        *261124*0930*^*"
        b"00501*000000001*0*T*>~\n"
        b"GS*HN*PAYER*GATEWAY*20261124*0930*1*X*005010X213~\n"
        b"ST*277*1001*005010X213~\nBHT*0010*08*X1*20261124*0930~\nHL*1**20*1~\n"
        b"NM1*PR*2*EXTERNAL PAYER*****PI*77777~\nHL*2*1*21*1~\n"
        b"NM1*41*2*GATEWAY*****46*GATEWAY~\nHL*3*2*19*1~\n"
        b"NM1*1P*2*CLINIC*****XX*1234567893~\nHL*4*3*PT~\nNM1*QC*1*ROE*RICHARD~\n"
        b"TRN*1*PCN-9~\nSTC*R4>18842-5>>LOI*20261124~\nREF*1K*EXT-77~\n"
        b"DTP*472*D8*20261101~\nDTP*106*D8*20261215~\n"
        b"SVC*HC>99213*80~\nSTC*R3>11506-3>18805-9>LOI*20261124~\nDTP*472*D8*20261101~\n"
        b"SE*19*1001~\nGE*1*1~\nIEA*1*000000001~\n"
    )
    assert errors_of(content, IMPLEMENTATION_277RFAI) == []
    [ts] = list(iter_transaction_sets(content))
    [got] = read_277_rfai(ts.segments, ts.delimiters)
    assert got.payer_claim_number == "EXT-77" and got.patient_control_number == "PCN-9"
    assert got.payer_id == "77777" and got.due == date(2026, 12, 15)
    assert [(i.code, i.modifier) for i in got.items] == [("18842-5", ""), ("11506-3", "18805-9")]


# ------------------------------------------------------------------ 275 X210


def test_275_validates_and_round_trips_every_byte() -> None:
    content = x275()
    assert errors_of(content, IMPLEMENTATION_275) == []
    assert content.count(b"BIN*" + str(len(EVERY_BYTE)).encode() + b"*" + EVERY_BYTE + b"~") == 1
    [got] = attachments_of(content)
    assert got == ATTACHMENT
    assert got.data == EVERY_BYTE


def test_275_read_streamed_in_small_chunks() -> None:
    content = x275()
    for size in (1, 5, 64, 997):
        chunks = [content[i : i + size] for i in range(0, len(content), size)]
        sets = list(iter_transaction_sets_stream(chunks))
        got = [a for ts in sets for a in read_275(ts.segments, ts.delimiters)]
        assert got == [ATTACHMENT], size


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=2000))
def test_any_payload_round_trips_and_validates(payload: bytes) -> None:
    attachment = replace(ATTACHMENT, data=payload)
    content = x275(attachment)
    assert errors_of(content, IMPLEMENTATION_275) == []
    assert attachments_of(content) == [attachment]


def test_275_minimal_unsolicited_and_formats() -> None:
    bare = Attachment(
        st02="1",
        payer_claim_number="",
        patient_control_number="PCN-7",
        attachment_control="",
        loinc=(),
        format="",
        data=b"\x89PNG\r\n\x1a\n" + bytes(64),
        payer_id="12345",
        provider_npi="1234567893",
        provider_name="CLINIC",
        patient_last="DOE",
    )
    content = x275(bare, purpose="02")
    assert errors_of(content, IMPLEMENTATION_275) == []
    assert b"ST*275*0001*" in content and b"BGN*02*" in content and b"CAT*AE*PNG~" in content
    [got] = attachments_of(content)
    assert got.data == bare.data and got.format == "PNG" and got.st02 == "0001"
    assert attachment_format("tiff") == "TIF" and attachment_format(".jpeg") == "JPG"
    assert attachment_format("exe") == ""
    assert sniff_format(b"%PDF-1.4") == "PDF" and sniff_format(b"II*\x00rest") == "TIF"
    assert sniff_format(b"\xff\xd8\xff\xe0") == "JPG" and sniff_format(b"plain words\n") == "TXT"
    assert sniff_format(b"\x00\x01") == ""


HAND_275 = (
    b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*GATEWAY        *261124*1015*^*"
    b"00501*000000031*0*T*:~\r\n"
    b"GS*PI*SUBMITTER*GATEWAY*20261124*1015*31*X*005010X210~\r\n"
    b"ST*275*0031*005010X210~\r\n"
    b"BGN*11*ATT31*20261124*1015~\r\n"
    b"NM1*PR*2*DEMO PAYER*****PI*12345~\r\n"
    b"NM1*41*2*DEMO BILLING*****46*999999999~\r\n"
    b"NM1*1P*2*MAIN STREET CLINIC*****XX*1234567893~\r\n"
    b"NM1*QC*1*DOE*JANE****MI*M123456~\r\n"
    b"REF*EJ*PCN-1~\r\n"
    b"REF*1K*PAYER-CLM-1~\r\n"
    b"DTP*472*D8*20261101~\r\n"
    b"LX*1~\r\n"
    b"TRN*2*ACN0001~\r\n"
    b"STC*R4:18842-5::LOI~\r\n"
    b"CAT*AE*HL~\r\n"
    b"EFI*05~\r\n"
    b"BIN*24*<ClinicalDocument>~*</>~~\r\n"
    b"LX*2~\r\n"
    b"CAT*AE*TXT~\r\n"
    b"EFI*05~\r\n"
    b"BIN*5*a\r\nb~~\r\n"
    b"SE*21*0031~\r\n"
    b"GE*1*31~\r\n"
    b"IEA*1*000000031~\r\n"
)


def test_hand_written_275_with_two_attachments() -> None:
    assert errors_of(HAND_275, IMPLEMENTATION_275) == []
    first, second = attachments_of(HAND_275)
    assert first.st02 == "0031" and first.format == "HL"
    assert first.data == b"<ClinicalDocument>~*</>~"
    assert first.payer_claim_number == "PAYER-CLM-1" and first.patient_control_number == "PCN-1"
    assert first.attachment_control == "ACN0001" and first.loinc == ("18842-5",)
    assert first.service_from == first.service_to == date(2026, 11, 1)
    assert (first.payer_id, first.provider_npi, first.member_id) == (
        "12345",
        "1234567893",
        "M123456",
    )
    assert second.data == b"a\r\nb~" and second.format == "TXT"
    assert second.attachment_control == "" and second.loinc == ()
    assert second.payer_claim_number == "PAYER-CLM-1"


# ------------------------------------------------------------------ the engine's 999


def respond(content: bytes) -> list[tuple[str, bytes]]:
    analysis = analyze(content, uploader="acme", directory=DIRECTORY, validator=VALIDATOR)
    numbers = itertools.count(500)
    responses = build_responses(
        analysis, directory=DIRECTORY, duplicates=(), next_control=lambda: next(numbers), now=NOW
    )
    return [(r.kind, r.content) for r in responses]


def test_engine_accepts_a_good_275_and_its_999_validates() -> None:
    [(kind, ack)] = respond(x275())
    assert kind == "999"
    assert b"AK1*PI*8*005010X210~" in ack and b"AK2*275*0042*005010X210~" in ack
    assert b"IK5*A~" in ack and b"AK9*A*1*1*1~" in ack
    # our 999 map (schemas/999.5010X231.A1.xml) knows AK101 PI / AK201 275; pyx12's does not
    assert [(st01, ok) for st01, ok, _ in engine_verdicts(ack)] == [("999", True)]


@pytest.mark.parametrize(
    ("bin_segment", "element", "code"),
    [
        (b"BIN*12*abc", b"IK4*2*785*4", "too short"),  # "abc" then "~": cut on delimiters
        (b"BIN*2*abc", b"IK4*2*785*5", "too long"),
        (b"BIN*X9*abc", b"IK4*1*784*6", "not numeric"),
    ],
)
def test_engine_rejects_a_bad_bin_length_with_ik4(
    bin_segment: bytes, element: bytes, code: str
) -> None:
    good = x275(replace(ATTACHMENT, data=b"abc"))
    bad = good.replace(b"BIN*3*abc", bin_segment)
    assert bad != good
    [(kind, ack)] = respond(bad)
    assert kind == "999", code
    assert element in ack, (code, ack)
    assert b"IK3*BIN*" in ack and b"IK5*R" in ack
    assert b"abc" not in ack  # never the attachment's bytes
    assert [(st01, ok) for st01, ok, _ in engine_verdicts(ack)] == [("999", True)]


def test_engine_rejects_a_bin_running_past_the_end() -> None:
    good = x275(replace(ATTACHMENT, data=b"secret~*"))
    bad = good.replace(b"BIN*8*", b"BIN*9999*")
    [(kind, ack)] = respond(bad)
    assert kind == "999"
    assert b"IK3*BIN*" in ack and b"IK5*R" in ack
    assert b"secret" not in ack


def test_a_275_forwarded_verbatim_keeps_its_bytes_and_validates() -> None:
    sets = list(iter_transaction_sets(x275()))
    numbers = itertools.count(900)
    content, _ = rewrap(
        sets,
        gateway=Gateway("ZZ", "GATEWAY"),
        receiver=("ZZ", "PAYER"),
        usage="T",
        next_control=lambda: next(numbers),
        now=NOW,
    )
    assert b"GS*PI*GATEWAY*PAYER*" in content
    assert errors_of(content, IMPLEMENTATION_275) == []
    assert attachments_of(content) == [ATTACHMENT]


def test_attachment_over_the_size_limit_gets_a_clear_999() -> None:
    limited = AttachmentSizeLimit(VALIDATOR, max_bytes=100)
    analysis = analyze(x275(), uploader="acme", directory=DIRECTORY, validator=limited)
    numbers = itertools.count(500)
    [response] = build_responses(
        analysis, directory=DIRECTORY, duplicates=(), next_control=lambda: next(numbers), now=NOW
    )
    ack = response.content
    assert response.kind == "999"
    assert b"IK3*BIN*16*2100*8~" in ack and b"IK4*2*785*5~" in ack and b"IK5*R*5~" in ack
    assert engine_verdicts(ack)[0][1]
    [ts] = analysis.interchanges[0].groups[0].transactions
    [error] = ts.errors
    assert error.message.endswith(
        f"is {len(EVERY_BYTE)} bytes: this gateway accepts attachments of at most 100 bytes"
    )
    # under the limit, and for other guides, the inner validator alone decides
    roomy = AttachmentSizeLimit(VALIDATOR, max_bytes=len(EVERY_BYTE))
    ok = analyze(x275(), uploader="acme", directory=DIRECTORY, validator=roomy)
    assert ok.interchanges[0].groups[0].transactions[0].errors == ()
    [ts_] = list(iter_transaction_sets(x275()))
    errors, _ = limited.validate(list(ts_.segments), ts_.delimiters, IMPLEMENTATION_275)
    assert [(e.segment_position, e.element_error) for e in errors] == [(16, "5")]
    assert limited.supports(IMPLEMENTATION_277RFAI)
    content = rfai_277([REQUEST])
    [ts277] = list(iter_transaction_sets(content))
    assert limited.validate(list(ts277.segments), ts277.delimiters, IMPLEMENTATION_277RFAI)[0] == []


def test_a_999_never_copies_attachment_bytes() -> None:
    payload = b"MEMBER JANE DOE*DOB 19800101*" + bytes(range(32, 127))
    good = x275(replace(ATTACHMENT, data=payload))
    bad = good.replace(b"BIN*%d*" % len(payload), b"BIN*99999*")
    [(kind, ack)] = respond(bad)
    assert kind == "999" and b"IK5*R" in ack
    assert b"JANE" not in ack and b"19800101" not in ack and b"DOB" not in ack
    assert engine_verdicts(ack)[0][1]
