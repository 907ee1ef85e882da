"""Writing 270 eligibility inquiries (005010X279A1) from plain data classes.

    data = write_inquiry(inquiry)   # bytes: one interchange, one group, one transaction set

The inquiry names the information source (2100A, the payer), the information receiver
(2100B, the provider asking) and one or more members: a subscriber (HL*22) and, when the
patient is not the subscriber, the dependent (HL*23) under them; the inquiries (EQ) go on the
patient's level. `eligibility.build_request` reads what this writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from medoffice.x12.errors import X12Error
from medoffice.x12.writer import Segment, date8, write_one_group

IMPLEMENTATION = "005010X279A1"


@dataclass
class Source:
    """The payer (NM1*PR, PI)."""

    name: str
    payer_id: str


@dataclass
class Receiver:
    """The provider asking (NM1*1P, XX): an organization, or a person when first_name is set."""

    name: str
    npi: str
    first_name: str = ""


@dataclass
class Person:
    last_name: str
    first_name: str
    birth_date: dt.date | None = None
    gender: str = ""  # DMG03: F, M, U
    member_id: str = ""  # NM109 (MI): required for the subscriber
    middle_name: str = ""
    suffix: str = ""
    group_number: str = ""  # REF*6P, subscriber only


@dataclass
class MemberInquiry:
    """One patient asked about: the subscriber, and the dependent when that is the patient."""

    trace_number: str  # TRN02 (TRN*1): echoed in the 271 as TRN*2
    subscriber: Person
    dependent: Person | None = None
    relationship: str = ""  # INS02 of the dependent: 01 spouse, 19 child, G8 other
    service_types: Sequence[str] = ("30",)  # EQ01 (repeated): 30 health benefit plan coverage
    service_date: dt.date | None = None  # DTP*291


@dataclass
class EligibilityInquiry:
    source: Source
    receiver: Receiver
    members: Sequence[MemberInquiry]
    reference: str  # BHT03
    created: dt.datetime
    interchange_control_number: int
    group_control_number: int
    transaction_control_number: int
    sender_id: str  # ISA06 / GS02
    receiver_id: str  # ISA08 / GS03
    trace_originator: str = ""  # TRN03: "1" + the EIN, or the receiver's 10-character id
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    usage: str = "P"


def _name(code: str, person: Person, identifier: str) -> Segment:
    return (
        "NM1",
        code,
        "1",
        person.last_name,
        person.first_name,
        person.middle_name,
        None,
        person.suffix,
        "MI" if identifier else None,
        identifier,
    )


def _patient(
    code: str, person: Person, member: MemberInquiry, originator: str, with_inquiry: bool
) -> list[Segment]:
    segments: list[Segment] = []
    if with_inquiry:
        segments.append(("TRN", "1", member.trace_number, originator))
    segments.append(_name(code, person, person.member_id))
    if code == "IL" and person.group_number:
        segments.append(("REF", "6P", person.group_number))
    if person.birth_date is not None:
        segments.append(("DMG", "D8", date8(person.birth_date), person.gender))
    if code == "03" and member.relationship:
        segments.append(("INS", "N", member.relationship))
    if with_inquiry:
        if member.service_date is not None:
            segments.append(("DTP", "291", "D8", date8(member.service_date)))
        for service_type in member.service_types:
            segments.append(("EQ", service_type))
    return segments


def transaction_segments(inquiry: EligibilityInquiry) -> list[Segment]:
    """The segments between ST and SE."""
    if not inquiry.members:
        raise X12Error("the inquiry asks about no member")
    if not inquiry.source.payer_id:
        raise X12Error(f"the payer {inquiry.source.name} needs its electronic payer id (PI)")
    if not inquiry.receiver.npi:
        raise X12Error(f"the information receiver {inquiry.receiver.name} needs an NPI")
    receiver = inquiry.receiver
    segments: list[Segment] = [
        (
            "BHT",
            "0022",
            "13",
            inquiry.reference,
            date8(inquiry.created),
            inquiry.created.strftime("%H%M"),
        ),
        ("HL", "1", None, "20", "1"),
        ("NM1", "PR", "2", inquiry.source.name, None, None, None, None, "PI",
         inquiry.source.payer_id),
        ("HL", "2", "1", "21", "1"),
        ("NM1", "1P", "1" if receiver.first_name else "2", receiver.name, receiver.first_name,
         None, None, None, "XX", receiver.npi),
    ]  # fmt: skip
    number = 2
    for member in inquiry.members:
        where = f"member {member.trace_number}"
        if not member.trace_number:
            raise X12Error("each member asked about needs a trace number (TRN02)")
        if not member.subscriber.member_id:
            raise X12Error(f"{where}: the subscriber's member id (NM109) is required")
        if not member.service_types:
            raise X12Error(f"{where}: ask about at least one service type (EQ01)")
        number += 1
        subscriber_level = number
        has_dependent = member.dependent is not None
        segments.append(("HL", str(subscriber_level), "2", "22", "1" if has_dependent else "0"))
        segments.extend(
            _patient("IL", member.subscriber, member, inquiry.trace_originator, not has_dependent)
        )
        if member.dependent is not None:
            number += 1
            segments.append(("HL", str(number), str(subscriber_level), "23", "0"))
            segments.extend(
                _patient("03", member.dependent, member, inquiry.trace_originator, True)
            )
    return segments


def write_inquiry(
    inquiry: EligibilityInquiry, *, line_break: bool = False, uppercase: bool = False
) -> bytes:
    """The inquiry as one 270 interchange (ISA..IEA), ASCII bytes."""
    return write_one_group(
        inquiry,
        functional_id="HS",
        set_id="270",
        implementation=IMPLEMENTATION,
        transactions=[(inquiry.transaction_control_number, transaction_segments(inquiry))],
        line_break=line_break,
        uppercase=uppercase,
    )
