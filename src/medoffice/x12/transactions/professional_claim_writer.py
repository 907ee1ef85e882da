"""Writing 837P health care claims: professional (005010X222A1) from plain data classes.

    data = write_batch(batch)   # bytes: one interchange, one group, one transaction set

The batch names the submitter (1000A), the receiver (1000B), the billing provider (2010AA,
with its taxonomy PRV*BI) and the optional pay-to address (2010AB). Claims of the same
subscriber and payer share a subscriber level (HL*22); a claim for a dependent goes under a
patient level (HL*23) of its own subscriber level (SBR02 is then empty, PAT01 holds the
relationship). The apps allocate the control numbers; `professional_claim.build` reads what
this writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from medoffice.x12.errors import X12Error
from medoffice.x12.tokenizer import Delimiters
from medoffice.x12.writer import Segment, amount, date8, write_one_group

IMPLEMENTATION = "005010X222A1"
SELF = "18"
MAX_DIAGNOSES = 12
MAX_LINES = 50
MAX_CLAIMS_PER_LEVEL = 100  # loop 2300 under one subscriber or patient level
MAX_CLAIMS_PER_TRANSACTION = 5000  # the guide's recommended limit per transaction set
FREQUENCIES = ("1", "7", "8")


@dataclass
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass
class Submitter:
    name: str
    identifier: str  # NM109 (46): the submitter id the receiver assigned
    contact_name: str
    phone: str = ""
    email: str = ""


@dataclass
class Receiver:
    name: str
    identifier: str  # NM109 (46)


@dataclass
class BillingProvider:
    name: str  # the organization's name, or the last name of a person
    npi: str
    ein: str  # REF*EI: the tax id, digits only
    taxonomy: str  # PRV*BI*PXC
    address: Address
    first_name: str = ""  # set for a person (NM102 1)


@dataclass
class Person:
    last_name: str
    first_name: str
    birth_date: dt.date | None = None
    gender: str = ""  # DMG03: F, M, U
    address: Address | None = None
    middle_name: str = ""
    suffix: str = ""
    member_id: str = ""  # NM109 (MI) for the subscriber


@dataclass
class Payer:
    name: str
    payer_id: str  # NM109 (PI)
    address: Address | None = None


@dataclass
class Provider:
    """A rendering (82), referring (DN) or supervising (DQ) provider: a person with an NPI."""

    last_name: str
    first_name: str
    npi: str
    taxonomy: str = ""  # PRV*PE*PXC, rendering only
    middle_name: str = ""


@dataclass
class Drug:
    ndc: str  # 11 digits, 5-4-2 without hyphens
    quantity: Decimal
    unit: str = "UN"  # F2 international unit, GR gram, ME milligram, ML milliliter, UN unit


@dataclass
class ServiceLine:
    code: str  # HCPCS or CPT
    charge: Decimal
    units: Decimal
    service_date: dt.date
    diagnosis_pointers: Sequence[int] = (1,)  # 1..12, at most 4
    modifiers: Sequence[str] = ()
    place_of_service: str = ""  # SV105, when it differs from the claim's
    control_number: str = ""  # REF*6R: the line item control number
    drug: Drug | None = None
    qualifier: str = "HC"


@dataclass
class Claim:
    control_number: str  # CLM01: the patient control number
    subscriber: Person
    payer: Payer
    diagnoses: Sequence[str]  # ICD-10-CM, the principal first; dots are removed
    lines: Sequence[ServiceLine]
    place_of_service: str = "11"
    frequency_code: str = "1"  # 1 original, 7 replacement, 8 void
    payer_claim_number: str = ""  # REF*F8, required for 7 and 8 (and written only for them)
    prior_authorization: str = ""  # REF*G1
    relationship: str = SELF  # the patient to the subscriber: 18 self, 01 spouse, 19 child, G8
    patient: Person | None = None  # required unless the patient is the subscriber
    payer_responsibility: str = "P"  # SBR01: P primary, S secondary, T tertiary
    filing_indicator: str = "CI"  # SBR09: CI commercial, MB Medicare B, MC Medicaid, ...
    group_number: str = ""
    onset_date: dt.date | None = None  # DTP*431
    initial_treatment_date: dt.date | None = None  # DTP*454
    rendering: Provider | None = None  # 2310B
    referring: Provider | None = None  # 2310A
    supervising: Provider | None = None  # 2310D
    provider_signature: str = "Y"  # CLM06
    assignment: str = "A"  # CLM07
    benefits_assignment: str = "Y"  # CLM08
    release_of_information: str = "Y"  # CLM09

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal(0))


@dataclass
class ClaimBatch:
    submitter: Submitter
    receiver: Receiver
    billing_provider: BillingProvider
    claims: Sequence[Claim]
    reference: str  # BHT03: the submitter's batch id
    created: dt.datetime
    interchange_control_number: int
    group_control_number: int
    transaction_control_number: int
    sender_id: str  # ISA06 (and GS02 unless sender_code is given)
    receiver_id: str  # ISA08 (and GS03 unless receiver_code is given)
    pay_to: Address | None = None
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    sender_code: str = ""
    receiver_code: str = ""
    usage: str = "P"  # P production, T test
    acknowledgment_requested: bool = False
    claim_or_encounter: str = "CH"  # BHT06: CH chargeable, RP reporting


def _address(address: Address) -> list[Segment]:
    return [
        ("N3", address.line1, address.line2),
        ("N4", address.city, address.state, address.postal_code),
    ]


def _name(code: str, person: Person | Provider, qualifier: str, identifier: str) -> Segment:
    suffix = person.suffix if isinstance(person, Person) else ""
    return (
        "NM1",
        code,
        "1",
        person.last_name,
        person.first_name,
        person.middle_name,
        None,
        suffix,
        qualifier if identifier else None,
        identifier,
    )


def _demographics(person: Person) -> list[Segment]:
    if person.birth_date is None:
        return []
    return [("DMG", "D8", date8(person.birth_date), person.gender)]


def _person(code: str, person: Person, qualifier: str, identifier: str) -> list[Segment]:
    segments = [_name(code, person, qualifier, identifier)]
    if person.address is not None:
        segments.extend(_address(person.address))
    segments.extend(_demographics(person))
    return segments


def _diagnoses(claim: Claim) -> Segment:
    if not claim.diagnoses:
        raise X12Error(f"claim {claim.control_number}: at least one diagnosis is required")
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        raise X12Error(
            f"claim {claim.control_number}: {len(claim.diagnoses)} diagnoses; an 837P holds "
            f"at most {MAX_DIAGNOSES}"
        )
    composites: list[Sequence[str]] = []
    for index, code in enumerate(claim.diagnoses):
        composites.append(("ABK" if index == 0 else "ABF", code.replace(".", "").strip()))
    return ("HI", *composites)


def _line(claim: Claim, number: int, line: ServiceLine) -> list[Segment]:
    where = f"claim {claim.control_number}, line {number}"
    if len(line.modifiers) > 4:
        raise X12Error(f"{where}: {len(line.modifiers)} modifiers; at most 4")
    pointers = list(line.diagnosis_pointers)
    if not 1 <= len(pointers) <= 4:
        raise X12Error(f"{where}: a line points to 1 to 4 diagnoses, not {len(pointers)}")
    for pointer in pointers:
        if not 1 <= pointer <= len(claim.diagnoses):
            raise X12Error(
                f"{where}: diagnosis pointer {pointer} is not one of the claim's "
                f"{len(claim.diagnoses)} diagnoses"
            )
    if line.units <= 0:
        raise X12Error(f"{where}: units must be positive, not {line.units}")
    segments: list[Segment] = [
        ("LX", str(number)),
        (
            "SV1",
            (line.qualifier, line.code, *line.modifiers),
            amount(line.charge, f"{where}: SV102 (line charge)"),
            "UN",
            amount(line.units, f"{where}: SV104 (units)", places=3),
            line.place_of_service,
            None,
            tuple(str(p) for p in pointers),
        ),
        ("DTP", "472", "D8", date8(line.service_date)),
    ]
    if line.control_number:
        segments.append(("REF", "6R", line.control_number))
    if line.drug is not None:
        segments.append(("LIN", None, "N4", line.drug.ndc))
        segments.append(
            (
                "CTP",
                None,
                None,
                None,
                amount(line.drug.quantity, f"{where}: CTP04 (drug quantity)", places=3),
                (line.drug.unit,),
            )
        )
    return segments


def _provider(code: str, provider: Provider, role: str) -> list[Segment]:
    segments: list[Segment] = [_name(code, provider, "XX", provider.npi)]
    if role == "rendering" and provider.taxonomy:
        segments.append(("PRV", "PE", "PXC", provider.taxonomy))
    return segments


def _claim(claim: Claim) -> list[Segment]:
    where = f"claim {claim.control_number}"
    if claim.frequency_code not in FREQUENCIES:
        raise X12Error(f"{where}: frequency code {claim.frequency_code!r} is not 1, 7 or 8")
    if claim.frequency_code in ("7", "8") and not claim.payer_claim_number:
        raise X12Error(
            f"{where}: a {'replacement' if claim.frequency_code == '7' else 'void'} "
            "(frequency 7 or 8) needs the payer's claim control number (REF*F8)"
        )
    if not claim.lines:
        raise X12Error(f"{where}: at least one service line is required")
    if len(claim.lines) > MAX_LINES:
        raise X12Error(f"{where}: {len(claim.lines)} service lines; at most {MAX_LINES}")
    segments: list[Segment] = [
        (
            "CLM",
            claim.control_number,
            amount(claim.total_charge, f"{where}: CLM02 (total charge)"),
            None,
            None,
            (claim.place_of_service, "B", claim.frequency_code),
            claim.provider_signature,
            claim.assignment,
            claim.benefits_assignment,
            claim.release_of_information,
        )
    ]
    if claim.onset_date is not None:
        segments.append(("DTP", "431", "D8", date8(claim.onset_date)))
    if claim.initial_treatment_date is not None:
        segments.append(("DTP", "454", "D8", date8(claim.initial_treatment_date)))
    if claim.prior_authorization:
        segments.append(("REF", "G1", claim.prior_authorization))
    if claim.frequency_code in ("7", "8"):  # F8 is for a replacement or a void only
        segments.append(("REF", "F8", claim.payer_claim_number))
    segments.append(_diagnoses(claim))
    if claim.referring is not None:
        segments.extend(_provider("DN", claim.referring, "referring"))
    if claim.rendering is not None:
        segments.extend(_provider("82", claim.rendering, "rendering"))
    if claim.supervising is not None:
        segments.extend(_provider("DQ", claim.supervising, "supervising"))
    for number, line in enumerate(claim.lines, start=1):
        segments.extend(_line(claim, number, line))
    return segments


def _subscriber_key(claim: Claim) -> tuple[object, ...]:
    s = claim.subscriber
    return (
        claim.relationship == SELF,
        s.last_name,
        s.first_name,
        s.member_id,
        s.birth_date,
        claim.payer.payer_id,
        claim.payer_responsibility,
        claim.filing_indicator,
        claim.group_number,
    )


def _patient_key(claim: Claim) -> tuple[object, ...]:
    p = claim.patient
    assert p is not None
    return (claim.relationship, p.last_name, p.first_name, p.birth_date)


def _chunks(claims: list[Claim], size: int) -> list[list[Claim]]:
    return [claims[start : start + size] for start in range(0, len(claims), size)]


def transaction_segments(batch: ClaimBatch, claims: Sequence[Claim] | None = None) -> list[Segment]:
    """The segments between ST and SE of one transaction set holding `claims` (the batch's
    when None)."""
    claims = list(batch.claims if claims is None else claims)
    if not claims:
        raise X12Error("the batch holds no claim")
    submitter, receiver, billing = batch.submitter, batch.receiver, batch.billing_provider
    contact: list[str] = []
    for qualifier, value in (("TE", submitter.phone), ("EM", submitter.email)):
        if value:
            contact.extend((qualifier, value))
    if not contact:
        raise X12Error("the submitter needs a phone number or an e-mail address (PER)")
    segments: list[Segment] = [
        (
            "BHT",
            "0019",
            "00",
            batch.reference,
            date8(batch.created),
            batch.created.strftime("%H%M"),
            batch.claim_or_encounter,
        ),
        ("NM1", "41", "2", submitter.name, None, None, None, None, "46", submitter.identifier),
        ("PER", "IC", submitter.contact_name, *contact),
        ("NM1", "40", "2", receiver.name, None, None, None, None, "46", receiver.identifier),
        ("HL", "1", None, "20", "1"),
        ("PRV", "BI", "PXC", billing.taxonomy),
        (
            "NM1",
            "85",
            "1" if billing.first_name else "2",
            billing.name,
            billing.first_name,
            None,
            None,
            None,
            "XX",
            billing.npi,
        ),
        *_address(billing.address),
        ("REF", "EI", billing.ein.replace("-", "")),
    ]
    if batch.pay_to is not None:
        segments.append(("NM1", "87", "2"))
        segments.extend(_address(batch.pay_to))

    # Subscriber levels in the order of their first claim; each patient level under its own.
    levels: dict[tuple[object, ...], list[Claim]] = {}
    for claim in claims:
        if claim.relationship != SELF and claim.patient is None:
            raise X12Error(
                f"claim {claim.control_number}: the patient is not the subscriber "
                f"(relationship {claim.relationship}), so the patient is required"
            )
        levels.setdefault(_subscriber_key(claim), []).append(claim)
    number = 1
    for level in levels.values():
        is_self = level[0].relationship == SELF
        # A level holds at most 100 claims (loop 2300 repeats 100 times): more start another.
        if is_self:
            for part in _chunks(level, MAX_CLAIMS_PER_LEVEL):
                number += 1
                segments.extend(_subscriber_level(part[0], number, has_patients=False))
                for claim in part:
                    segments.extend(_claim(claim))
            continue
        number += 1
        subscriber_level = number
        segments.extend(_subscriber_level(level[0], number, has_patients=True))
        patients: dict[tuple[object, ...], list[Claim]] = {}
        for claim in level:
            patients.setdefault(_patient_key(claim), []).append(claim)
        for dependents in patients.values():
            for part in _chunks(dependents, MAX_CLAIMS_PER_LEVEL):
                number += 1
                patient = part[0].patient
                assert patient is not None
                segments.append(("HL", str(number), str(subscriber_level), "23", "0"))
                segments.append(("PAT", part[0].relationship))
                segments.extend(_person("QC", patient, "", ""))
                for claim in part:
                    segments.extend(_claim(claim))
    return segments


def _subscriber_level(first: Claim, number: int, *, has_patients: bool) -> list[Segment]:
    """HL*22 with SBR, the subscriber (2010BA) and the payer (2010BB)."""
    segments: list[Segment] = [
        ("HL", str(number), "1", "22", "1" if has_patients else "0"),
        (
            "SBR",
            first.payer_responsibility,
            None if has_patients else SELF,
            first.group_number,
            None,
            None,
            None,
            None,
            None,
            first.filing_indicator,
        ),
        *_person("IL", first.subscriber, "MI", first.subscriber.member_id),
        ("NM1", "PR", "2", first.payer.name, None, None, None, None, "PI", first.payer.payer_id),
    ]
    if first.payer.address is not None:
        segments.extend(_address(first.payer.address))
    return segments


def write_batch(
    batch: ClaimBatch,
    *,
    delimiters: Delimiters | None = None,
    line_break: bool = False,
    uppercase: bool = False,
) -> bytes:
    """The batch as one 837P interchange (ISA..IEA) of one functional group, ASCII bytes.

    A transaction set holds at most 5000 claims (the guide's recommendation); a larger batch
    is written as several, numbered from `transaction_control_number` up."""
    claims = list(batch.claims)
    if not claims:
        raise X12Error("the batch holds no claim")
    return write_one_group(
        batch,
        functional_id="HC",
        set_id="837",
        implementation=IMPLEMENTATION,
        transactions=[
            (batch.transaction_control_number + index, transaction_segments(batch, part))
            for index, part in enumerate(_chunks(claims, MAX_CLAIMS_PER_TRANSACTION))
        ],
        sender_code=batch.sender_code,
        receiver_code=batch.receiver_code,
        acknowledgment_requested=batch.acknowledgment_requested,
        delimiters=delimiters,
        line_break=line_break,
        uppercase=uppercase,
    )
