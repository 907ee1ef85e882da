"""Writing 276 claim status requests (005010X212) from plain data classes.

    data = write_request(request)   # bytes: one interchange, one group, one transaction set

Levels: the payer (HL*20, one per payer), the information receiver (HL*21, the submitter),
the service provider (HL*19, the billing provider), then the subscriber (HL*22) and, for a
claim of a dependent, the dependent (HL*23). Each claim asked about is a TRN*1 with our
patient control number (REF*EJ), the payer's claim number when known (REF*1K), the total
charge (AMT*T3), the dates of service (DTP*472) and optionally its lines (SVC with REF*FJ).
`claim_status.build_request` reads what this writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from medoffice.x12.errors import X12Error
from medoffice.x12.writer import Segment, amount, date8, write_one_group

IMPLEMENTATION = "005010X212"


@dataclass
class Payer:
    name: str
    payer_id: str  # NM109 (PI)


@dataclass
class Party:
    """The information receiver (NM1*41, 46) or the service provider (NM1*1P, XX)."""

    name: str
    identifier: str
    first_name: str = ""


@dataclass
class Person:
    last_name: str
    first_name: str
    birth_date: dt.date | None = None
    gender: str = ""
    member_id: str = ""  # NM109 (MI) of the subscriber
    middle_name: str = ""
    suffix: str = ""


@dataclass
class LineInquiry:
    code: str
    charge: Decimal
    units: Decimal
    service_date: dt.date
    modifiers: Sequence[str] = ()
    control_number: str = ""  # REF*FJ: the REF*6R we sent
    qualifier: str = "HC"


@dataclass
class ClaimInquiry:
    trace_number: str  # TRN02 (TRN*1): echoed in the 277 as TRN*2
    patient_control_number: str  # REF*EJ: our CLM01
    charge: Decimal  # AMT*T3
    service_from: dt.date
    subscriber: Person
    payer: Payer
    service_to: dt.date | None = None
    payer_claim_number: str = ""  # REF*1K
    patient: Person | None = None  # the dependent, when not the subscriber
    lines: Sequence[LineInquiry] = field(default_factory=list)


@dataclass
class StatusRequest:
    receiver: Party  # HL*21: who asks (the submitter)
    provider: Party  # HL*19: the billing provider (NPI)
    claims: Sequence[ClaimInquiry]
    reference: str  # BHT03
    created: dt.datetime
    interchange_control_number: int
    group_control_number: int
    transaction_control_number: int
    sender_id: str
    receiver_id: str
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


def _demographics(person: Person) -> list[Segment]:
    if person.birth_date is None:
        return []
    return [("DMG", "D8", date8(person.birth_date), person.gender)]


def _claim(claim: ClaimInquiry) -> list[Segment]:
    where = f"claim {claim.patient_control_number}"
    segments: list[Segment] = [("TRN", "1", claim.trace_number)]
    if claim.payer_claim_number:
        segments.append(("REF", "1K", claim.payer_claim_number))
    segments.append(("REF", "EJ", claim.patient_control_number))
    segments.append(("AMT", "T3", amount(claim.charge, f"{where}: AMT02 (total claim charge)")))
    if claim.service_to is not None and claim.service_to != claim.service_from:
        if claim.service_to < claim.service_from:
            raise X12Error(f"{where}: the service dates end before they begin")
        period = f"{date8(claim.service_from)}-{date8(claim.service_to)}"
        segments.append(("DTP", "472", "RD8", period))
    else:
        segments.append(("DTP", "472", "D8", date8(claim.service_from)))
    for number, line in enumerate(claim.lines, start=1):
        here = f"{where}, line {number}"
        if len(line.modifiers) > 4:
            raise X12Error(f"{here}: {len(line.modifiers)} modifiers; at most 4")
        segments.append(
            (
                "SVC",
                (line.qualifier, line.code, *line.modifiers),
                amount(line.charge, f"{here}: SVC02 (line charge)"),
                None,
                None,
                None,
                None,
                amount(line.units, f"{here}: SVC07 (units)", places=3),
            )
        )
        if line.control_number:
            segments.append(("REF", "FJ", line.control_number))
        segments.append(("DTP", "472", "D8", date8(line.service_date)))
    return segments


def _subscriber_key(claim: ClaimInquiry) -> tuple[object, ...]:
    s = claim.subscriber
    return (s.member_id, s.last_name, s.first_name, s.birth_date, claim.patient is None)


def transaction_segments(request: StatusRequest) -> list[Segment]:
    """The segments between ST and SE."""
    if not request.claims:
        raise X12Error("the request asks about no claim")
    payers: dict[str, list[ClaimInquiry]] = {}
    names: dict[str, str] = {}
    for claim in request.claims:
        if not claim.payer.payer_id:
            raise X12Error(f"claim {claim.patient_control_number}: the payer needs its payer id")
        if not claim.subscriber.member_id:
            raise X12Error(
                f"claim {claim.patient_control_number}: the subscriber's member id is required"
            )
        if not claim.trace_number:
            raise X12Error(f"claim {claim.patient_control_number}: a trace number is required")
        payers.setdefault(claim.payer.payer_id, []).append(claim)
        names.setdefault(claim.payer.payer_id, claim.payer.name)
    receiver, provider = request.receiver, request.provider
    segments: list[Segment] = [
        ("BHT", "0010", "13", request.reference, date8(request.created),
         request.created.strftime("%H%M")),
    ]  # fmt: skip
    number = 0
    for payer_id, claims in payers.items():
        number += 1
        source = number
        segments.append(("HL", str(source), None, "20", "1"))
        segments.append(("NM1", "PR", "2", names[payer_id], None, None, None, None, "PI", payer_id))
        number += 1
        receiver_level = number
        segments.append(("HL", str(receiver_level), str(source), "21", "1"))
        segments.append(
            ("NM1", "41", "1" if receiver.first_name else "2", receiver.name,
             receiver.first_name, None, None, None, "46", receiver.identifier)
        )  # fmt: skip
        number += 1
        provider_level = number
        segments.append(("HL", str(provider_level), str(receiver_level), "19", "1"))
        segments.append(
            ("NM1", "1P", "1" if provider.first_name else "2", provider.name,
             provider.first_name, None, None, None, "XX", provider.identifier)
        )  # fmt: skip
        subscribers: dict[tuple[object, ...], list[ClaimInquiry]] = {}
        for claim in claims:
            subscribers.setdefault(_subscriber_key(claim), []).append(claim)
        for group in subscribers.values():
            first = group[0]
            number += 1
            subscriber_level = number
            own = first.patient is None
            segments.append(
                ("HL", str(subscriber_level), str(provider_level), "22", "0" if own else "1")
            )
            segments.extend(_demographics(first.subscriber) if own else [])
            segments.append(_name("IL", first.subscriber, first.subscriber.member_id))
            if own:
                for claim in group:
                    segments.extend(_claim(claim))
                continue
            for claim in group:
                patient = claim.patient
                assert patient is not None
                number += 1
                segments.append(("HL", str(number), str(subscriber_level), "23"))
                segments.extend(_demographics(patient))
                segments.append(_name("QC", patient, ""))
                segments.extend(_claim(claim))
    return segments


def write_request(
    request: StatusRequest, *, line_break: bool = False, uppercase: bool = False
) -> bytes:
    """The request as one 276 interchange (ISA..IEA), ASCII bytes."""
    return write_one_group(
        request,
        functional_id="HR",
        set_id="276",
        implementation=IMPLEMENTATION,
        transactions=[(request.transaction_control_number, transaction_segments(request))],
        line_break=line_break,
        uppercase=uppercase,
    )
