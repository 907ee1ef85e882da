"""The envelope writer: fixed-width ISA, counts and control numbers in the trailers, delimiters
of the caller's choosing, and content that cannot be written refused with the element named."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TypedDict

import pytest

from medoffice.x12 import Delimiters, X12Error, read
from medoffice.x12.writer import Group, Interchange, TransactionSet, write

WHEN = dt.datetime(2026, 11, 20, 14, 5)


def _unmapped(*segments, control=1):
    return TransactionSet("999", control, "005010X231A1", list(segments))


def _interchange(*transactions, control=42, group_control=7, sender="SENDER"):
    return Interchange(
        sender_id=sender,
        receiver_id="RECEIVER",
        control_number=control,
        created=WHEN,
        usage="T",
        groups=[
            Group("FA", "SENDER", "RECEIVER", group_control, "005010X231A1", list(transactions))
        ],
    )


def _segments(data: bytes, terminator: str = "~") -> list[str]:
    return [s.strip() for s in data.decode("ascii").split(terminator) if s.strip()]


def test_counts_and_control_numbers_in_the_trailers():
    body = [("AK1", "HC", "17", "005010X222A1"), ("AK9", "A", "1", "1", "1")]
    data = write([_interchange(_unmapped(*body, control=5), _unmapped(*body, control=123456))])
    segments = _segments(data)
    assert segments[0] == (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261120*1405*^*"
        "00501*000000042*0*T*:"
    )
    assert segments[1] == "GS*FA*SENDER*RECEIVER*20261120*1405*7*X*005010X231A1"
    assert segments[2:6] == [
        "ST*999*0005*005010X231A1", "AK1*HC*17*005010X222A1", "AK9*A*1*1*1", "SE*4*0005",
    ]  # fmt: skip
    assert segments[6] == "ST*999*123456*005010X231A1" and segments[9] == "SE*4*123456"
    assert segments[10:] == ["GE*2*7", "IEA*1*000000042"]
    document = read(data, strict=True)  # strict: a count or a control number off would raise
    assert [t.control_number for t in document.transactions()] == ["0005", "123456"]


def test_two_interchanges_and_chosen_delimiters_with_line_breaks():
    delimiters = Delimiters(element="|", repetition="!", component=">", segment="\\")
    body = ("AK1", "HC", "1"), ("AK9", "A", "1", "1", ("1", None), None, None)
    data = write(
        [_interchange(_unmapped(*body), control=1), _interchange(_unmapped(*body), control=2)],
        delimiters=delimiters,
        line_break=True,
    )
    lines = data.decode("ascii").splitlines()
    assert lines[0].endswith("|!|00501|000000001|0|T|>\\") and len(lines[0]) == 106
    assert "AK9|A|1|1|1\\" in lines  # trailing empty elements and components are dropped
    document = read(data, strict=True)
    assert [i.control_number for i in document.interchanges] == ["000000001", "000000002"]
    assert document.interchanges[1].delimiters == delimiters


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("A*B", "AK102 'A*B' contains the element separator '*'"),
        ("A:B", "AK102 'A:B' contains the component separator ':'"),
        ("A^B", "AK102 'A^B' contains the repetition separator '^'"),
        ("A~B", "AK102 'A~B' contains the segment terminator '~'"),
        ("Müller", "AK102 'Müller' contains 'ü', which is not a printable ASCII character"),
        ("A\nB", "which is not a printable ASCII character"),
    ],
)
def test_content_holding_a_delimiter_or_non_ascii_is_refused_with_the_element_named(value, words):
    with pytest.raises(X12Error) as caught:
        write([_interchange(_unmapped(("AK1", "HC", "1"), ("AK1", "HC", value)))])
    assert (caught.value.segment_number, caught.value.segment_id) == (5, "AK1")
    assert words in str(caught.value)
    assert str(caught.value).startswith("segment 5 (AK1): ")


def test_a_component_holding_a_delimiter_names_the_component():
    with pytest.raises(X12Error, match=r"AK904-2 'x\*y' contains the element separator"):
        write([_interchange(_unmapped(("AK9", "A", "1", "1", ("1", "x*y"))))])


def test_uppercase_writes_the_basic_character_set():
    data = write([_interchange(_unmapped(("AK1", "hc", "1")))], uppercase=True)
    assert b"AK1*HC*1~" in data


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"control": 0}, "ISA13 (interchange control number) 0 is out of range"),
        ({"control": 1_000_000_000}, "ISA13 (interchange control number) 1000000000 is out"),
        ({"group_control": 0}, "GS06 (group control number) 0 is out of range"),
        ({"sender": "A" * 16}, "ISA06 'AAAAAAAAAAAAAAAA' is longer than 15 characters"),
        ({"sender": "  "}, "ISA06 is required"),
    ],
)
def test_envelope_values_out_of_range_are_refused(changes, words):
    with pytest.raises(X12Error, match=words.replace("(", r"\(").replace(")", r"\)")):
        write([_interchange(_unmapped(("AK1", "HC", "1")), **changes)])


def test_transaction_control_number_range_and_empty_envelopes():
    with pytest.raises(X12Error, match=r"ST02 \(transaction set control number\) 0 is out"):
        write([_interchange(_unmapped(("AK1", "HC", "1"), control=0))])
    with pytest.raises(X12Error, match="has no transaction set"):
        write([_interchange()])
    with pytest.raises(X12Error, match="nothing to write"):
        write([])
    with pytest.raises(X12Error, match="the four delimiters must differ"):
        write([], delimiters=Delimiters(element="*", component="*"))
    with pytest.raises(X12Error, match="printable ASCII punctuation"):
        write([], delimiters=Delimiters(segment="A"))
    with pytest.raises(X12Error, match="is not text"):
        write([_interchange(_unmapped(("AK1", 5)))])


# --- the envelope the transaction writers share -----------------------------------------


class Envelope(TypedDict):
    created: dt.datetime
    interchange_control_number: int
    group_control_number: int
    transaction_control_number: int
    sender_id: str
    receiver_id: str
    usage: str


ENVELOPE: Envelope = {
    "created": WHEN,
    "interchange_control_number": 42,
    "group_control_number": 7,
    "transaction_control_number": 3,
    "sender_id": "SENDER",
    "receiver_id": "RECEIVER",
    "usage": "T",
}


def _inquiry_270() -> bytes:
    from medoffice.x12.transactions import eligibility_writer as e

    subscriber = e.Person("DOE", "JOHN", dt.date(1970, 1, 2), "M", member_id="MEM001")
    return e.write_inquiry(
        e.EligibilityInquiry(
            source=e.Source("ACME HEALTH", "ACME1"),
            receiver=e.Receiver("RIVERSIDE CLINIC", "1497758544"),
            members=[e.MemberInquiry("TRACE1", subscriber, service_date=WHEN.date())],
            reference="INQ1",
            trace_originator="1999999999",
            **ENVELOPE,
        )
    )


def _request_276() -> bytes:
    from decimal import Decimal

    from medoffice.x12.transactions import claim_status_writer as s

    subscriber = s.Person("DOE", "JOHN", dt.date(1970, 1, 2), "M", member_id="MEM001")
    claim = s.ClaimInquiry(
        "TRACE1", "PCN1", Decimal("125.5"), WHEN.date(), subscriber, s.Payer("ACME", "ACME1")
    )
    return s.write_request(
        s.StatusRequest(
            receiver=s.Party("RIVERSIDE CLINIC", "SUB01"),
            provider=s.Party("RIVERSIDE CLINIC", "1497758544"),
            claims=[claim],
            reference="REQ1",
            **ENVELOPE,
        )
    )


def _batch_837p() -> bytes:
    from medoffice.x12.tests.test_professional_claim_writer import batch, self_claim
    from medoffice.x12.transactions.professional_claim_writer import write_batch

    claims = dataclasses.replace(
        batch(self_claim()), sender_code="CODE01", acknowledgment_requested=True, **ENVELOPE
    )
    return write_batch(claims)


@pytest.mark.parametrize(
    ("written", "kind", "gs01_gs03", "st", "ack"),
    [
        (_inquiry_270, "270", "HS*SENDER*RECEIVER", "ST*270*0003*005010X279A1", "0"),
        (_request_276, "276", "HR*SENDER*RECEIVER", "ST*276*0003*005010X212", "0"),
        (_batch_837p, "837P", "HC*CODE01*RECEIVER", "ST*837*0003*005010X222A1", "1"),
    ],
)
def test_each_transaction_writer_sends_one_interchange_of_one_group(
    written, kind, gs01_gs03, st, ack
):
    """The 270, 276 and 837P writers wrap their transaction set alike: ISA with the request's
    ids, GS with its functional code and the implementation as version, ST..SE, GE, IEA."""
    segments = _segments(written())
    version = st.rsplit("*", 1)[1]
    assert segments[0] == (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261120*1405*^*"
        f"00501*000000042*{ack}*T*:"
    )
    assert segments[1] == f"GS*{gs01_gs03}*20261120*1405*7*X*{version}"
    assert segments[2] == st
    assert segments[-3:] == [f"SE*{len(segments) - 4}*0003", "GE*1*7", "IEA*1*000000042"]
    (transaction,) = read(written(), strict=True).transactions()
    assert transaction.kind == kind and transaction.data is not None
