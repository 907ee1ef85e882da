"""837P health care claim: professional (005010X222A1; X222A2 and X222 read alike).

Submitter (1000A) and receiver (1000B); billing provider levels (2000A HL*20) with the
billing provider (2010AA, once), pay-to address (2010AB) and pay-to plan (2010AC);
subscriber levels (2000B HL*22: SBR, subscriber 2010BA and payer 2010BB, both required);
patient levels (2000C HL*23: PAT, patient 2010CA); claims (2300 CLM with dates, references,
HI diagnoses, the providers of 2310A-F, other subscribers 2320/2330); service lines (2400
LX/SV1 with DTP, REF, the drug of 2410 LIN/CTP, line providers 2420, adjudications 2430).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from medoffice.x12 import values
from medoffice.x12.errors import BadValue
from medoffice.x12.transactions.common import (
    Cursor,
    Party,
    address,
    contacts,
    dated,
    demographics,
    el,
    hl,
    nm1,
    references,
    required,
)


@dataclass(slots=True)
class Diagnosis:
    qualifier: str  # ABK principal ICD-10-CM, ABF other ICD-10-CM (BK/BF: ICD-9)
    code: str


@dataclass(slots=True)
class Drug:
    qualifier: str  # N4: NDC in 5-4-2 format
    code: str
    quantity: Decimal | None = None
    unit: str = ""  # F2, GR, ME, ML, UN


@dataclass(slots=True)
class ServiceLine:
    number: str  # LX01
    qualifier: str  # HC (HCPCS/CPT), ...
    code: str
    modifiers: list[str]
    charge: Decimal
    unit_basis: str  # UN units, MJ minutes
    units: Decimal | None
    place_of_service: str
    diagnosis_pointers: list[int]
    description: str = ""
    emergency: str = ""
    dates: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    drug: Drug | None = None
    providers: list[Party] = field(default_factory=list)
    adjudications: list[list[str]] = field(default_factory=list)  # 2430 SVD..., as segments

    @property
    def service_date(self) -> dt.date | None:
        for qualifier, start, _end in self.dates:
            if qualifier == "472":
                return start
        return None


@dataclass(slots=True)
class OtherSubscriber:
    payer_responsibility: str
    relationship: str
    group_number: str
    filing_indicator: str
    paid: Decimal | None = None
    parties: list[Party] = field(default_factory=list)  # IL other insured, PR other payer...
    segments: list[list[str]] = field(default_factory=list)  # CAS, AMT, OI, MOA as read


@dataclass(slots=True)
class Claim:
    claim_id: str  # CLM01: the patient control number
    charge: Decimal
    place_of_service: str
    facility_qualifier: str
    frequency_code: str  # 1 original, 7 replacement, 8 void
    provider_signature: str
    assignment: str
    benefits_assignment: str
    release_of_information: str
    dates: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    providers: list[Party] = field(default_factory=list)  # DN referring, 82 rendering, 77, DQ...
    other_subscribers: list[OtherSubscriber] = field(default_factory=list)
    service_lines: list[ServiceLine] = field(default_factory=list)

    def reference(self, qualifier: str) -> str:
        return next((value for code, value in self.references if code == qualifier), "")

    @property
    def prior_authorization(self) -> str:
        return self.reference("G1")

    @property
    def payer_claim_number(self) -> str:
        return self.reference("F8")

    def provider(self, code: str) -> Party | None:
        return next((p for p in self.providers if p.entity_code == code), None)


@dataclass(slots=True)
class Patient:
    relationship: str  # PAT01
    patient: Party
    claims: list[Claim] = field(default_factory=list)


@dataclass(slots=True)
class Subscriber:
    payer_responsibility: str  # SBR01: P primary, S secondary, T tertiary...
    relationship: str  # SBR02: 18 self, or empty when a patient level follows
    group_number: str
    group_name: str
    filing_indicator: str  # SBR09: CI commercial, MB Medicare B, MC Medicaid...
    subscriber: Party
    payer: Party
    patients: list[Patient] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)  # when the patient is the subscriber


@dataclass(slots=True)
class BillingProvider:
    provider: Party
    taxonomy: str = ""
    pay_to: Party | None = None
    pay_to_plan: Party | None = None
    subscribers: list[Subscriber] = field(default_factory=list)


@dataclass(slots=True)
class ProfessionalClaims:
    purpose: str  # BHT02: 00 original, 18 reissue
    reference: str  # BHT03: the submitter's batch id
    created: dt.date
    claim_or_encounter: str  # BHT06: CH chargeable, RP reporting
    submitter: Party
    receiver: Party
    billing_providers: list[BillingProvider] = field(default_factory=list)

    def claims(self) -> list[Claim]:
        found: list[Claim] = []
        for billing in self.billing_providers:
            for subscriber in billing.subscribers:
                found.extend(subscriber.claims)
                for patient in subscriber.patients:
                    found.extend(patient.claims)
        return found


_DIAGNOSIS_QUALIFIERS = frozenset(
    {
        "ABK",
        "ABF",
        "BK",
        "BF",
        "ABJ",
        "BJ",
        "APR",
        "PR",
        "ABN",
        "BN",
        "DR",
        "BP",
        "BO",
        "BG",
        "BR",
        "BQ",
        "BE",
        "BH",
        "TC",
        "ABU",
        "BZ",
    }
)
_CLAIM_RANK = {
    "DTP": 1,
    "PWK": 2,
    "CN1": 3,
    "AMT": 4,
    "REF": 5,
    "K3": 6,
    "NTE": 7,
    "CR1": 8,
    "CR2": 9,
    "CRC": 10,
    "HI": 11,
    "HCP": 12,
}
_LINE_RANK = {
    "SV5": 1,
    "PWK": 2,
    "CR1": 3,
    "CR3": 4,
    "CRC": 5,
    "DTP": 6,
    "QTY": 7,
    "MEA": 8,
    "CN1": 9,
    "REF": 10,
    "AMT": 11,
    "K3": 12,
    "NTE": 13,
    "PS1": 14,
    "HCP": 15,
}
# 2310A-F: (rank, how many)
_CLAIM_PROVIDERS = {
    "DN": (1, 2),
    "P3": (1, 2),
    "82": (2, 1),
    "77": (3, 1),
    "DQ": (4, 1),
    "PW": (5, 1),
    "45": (6, 1),
}
_LINE_PROVIDERS = {
    "82": (1, 1),
    "QB": (2, 1),
    "77": (3, 1),
    "DQ": (4, 1),
    "DK": (5, 1),
    "DN": (6, 2),
    "P3": (6, 2),
    "PE": (7, 1),
    "PW": (8, 1),
    "45": (9, 1),
}
_OTHER_PARTIES = frozenset({"IL", "PR", "DN", "P3", "82", "77", "DQ", "85"})
_PROVIDER_SEGMENTS = frozenset({"PRV", "N3", "N4", "REF", "PER"})


def _named_loops(cur: Cursor, table: dict[str, tuple[int, int]], where: str) -> list[Party]:
    """NM1 loops in a fixed order, each with its PRV/N3/N4/REF/PER."""
    found: list[Party] = []
    seen: dict[int, int] = {}
    rank = 0
    while cur.at("NM1") and (cur.peek_element(1) in table or not cur.peek_element(1)):
        code = cur.peek_element(1)
        if not code:
            cur.warn_here(
                f"NM101 (entity identifier code) is missing: the provider's role in the {where} is unknown"
            )
            fields = cur.take()
            party = nm1(["NM1", "ZZ", *fields[2:]])
            party.entity_code = ""
            found.append(party)
            continue
        here, limit = table[code]
        if here < rank:
            cur.warn_here(f"NM1*{code} is out of order among the {where} providers")
        seen[here] = seen.get(here, 0) + 1
        if seen[here] > limit:
            raise cur.here(f"the NM1*{code} loop repeats more than {limit} time(s) in the {where}")
        rank = here
        party = nm1(cur.take())
        while cur.peek() in _PROVIDER_SEGMENTS:
            if cur.at("PRV"):
                party.references.append(("PXC", el(cur.take(), 3)))
            elif cur.at("N3") or cur.at("N4"):
                address(cur, party, what=f"NM1*{code}")
            elif cur.at("REF"):
                party.references.extend(references(cur, 20, f"NM1*{code}"))
            else:
                party.contacts.extend(contacts(cur, 2, f"NM1*{code}"))
        found.append(party)
    return found


def _diagnoses(cur: Cursor, fields: list[str], into: list[Diagnosis]) -> None:
    component = cur.delimiters.component
    index = 1
    while index < len(fields):
        value = fields[index]
        index += 1
        if not value:
            continue
        parts = cur.composite(value, f"HI{index - 1:02d}")
        if (
            len(parts) == 1
            and value in _DIAGNOSIS_QUALIFIERS
            and index < len(fields)
            and component not in fields[index]
        ):
            cur.warn(
                f"HI{index - 1:02d} {value!r}: the qualifier and code are separate elements, not a composite"
            )
            parts = [value, fields[index]]
            index += 1
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise BadValue(
                f"HI{index - 1:02d} {value!r} needs a code list qualifier and a code (e.g. ABK:J069)"
            )
        into.append(Diagnosis(parts[0], parts[1]))


def _service_line(cur: Cursor) -> ServiceLine:
    number = required(cur.take(), 1, "line number")
    sv1 = cur.expect("SV1", f"the professional service (SV1) of line {number}")
    procedure = cur.composite(required(sv1, 1, "procedure"), "SV101")
    if len(procedure) < 2 or not procedure[1]:
        raise BadValue("SV101 (procedure) needs a qualifier and a code (e.g. HC:99213)")
    pointers = []
    for pointer in cur.composite(el(sv1, 7), "SV107") if el(sv1, 7) else []:
        if pointer:
            if pointer.endswith((".0", ".00")) and pointer.split(".")[0].isdigit():
                cur.warn(f"SV107 (diagnosis pointer) {pointer!r} is written as a decimal")
                pointer = pointer.split(".")[0]
            pointers.append(values.number(pointer, "SV107 (diagnosis pointer)"))
    line = ServiceLine(
        number=number,
        qualifier=procedure[0],
        code=procedure[1],
        modifiers=[m for m in procedure[2:6] if m],
        description=procedure[6] if len(procedure) > 6 else "",
        charge=values.amount(el(sv1, 2), "SV102 (line charge)"),
        unit_basis=el(sv1, 3),
        units=values.optional_amount(el(sv1, 4), "SV104 (units)"),
        place_of_service=el(sv1, 5),
        diagnosis_pointers=pointers,
        emergency=el(sv1, 9),
    )
    for fields in cur.ordered(_LINE_RANK, f"service line {number}", strict=False):
        sid = fields[0]
        if sid == "DTP":
            line.dates.append(dated(fields, "DTP03 (service date)"))
        elif sid == "REF":
            line.references.append((required(fields, 1, "reference qualifier"), el(fields, 2)))
        elif sid == "AMT":
            line.amounts[required(fields, 1, "amount qualifier")] = values.amount(
                el(fields, 2), "AMT02"
            )
        elif sid == "NTE":
            line.notes.append(el(fields, 2))
    if not any(q == "472" for q, _s, _e in line.dates):
        cur.warn(f"service line {number} has no service date (DTP*472)")
    if cur.at("LIN"):
        lin = cur.take()
        line.drug = Drug(el(lin, 2), required(lin, 3, "national drug code"))
        ctp = cur.expect("CTP", "the drug quantity (CTP) after LIN")
        line.drug.quantity = values.optional_amount(el(ctp, 4), "CTP04 (drug quantity)")
        line.drug.unit = cur.components(el(ctp, 5))[0] if el(ctp, 5) else ""
        line.references.extend(references(cur, 1, "the drug (2410)"))
    line.providers = _named_loops(cur, _LINE_PROVIDERS, f"service line {number}")
    while cur.at("SVD"):
        adjudication = [cur.take()]
        while cur.peek() in ("CAS", "DTP", "AMT"):
            adjudication.append(cur.take())
        line.adjudications.append(adjudication[0])
    while cur.at("LQ"):
        cur.take()
        while cur.at("FRM"):
            cur.take()
    return line


def _other_subscriber(cur: Cursor) -> OtherSubscriber:
    sbr = cur.take()
    other = OtherSubscriber(
        required(sbr, 1, "payer responsibility"), el(sbr, 2), el(sbr, 3), el(sbr, 9)
    )
    while cur.peek() in ("CAS", "AMT", "OI", "MOA", "DMG"):
        fields = cur.take()
        other.segments.append(fields)
        if fields[0] == "AMT" and el(fields, 1) == "D":
            other.paid = values.amount(el(fields, 2), "AMT02 (payer paid amount)")
    while cur.at("NM1") and cur.peek_element(1) in _OTHER_PARTIES:
        party = nm1(cur.take())
        while cur.peek() in ("N3", "N4", "REF", "DTP", "PER"):
            if cur.at("N3") or cur.at("N4"):
                address(cur, party, what="the other subscriber's party")
            else:
                fields = cur.take()
                if fields[0] == "REF":
                    party.references.append((el(fields, 1), el(fields, 2)))
        other.parties.append(party)
    return other


def _claim(cur: Cursor) -> Claim:
    clm = cur.take()
    claim_id = required(clm, 1, "patient control number")
    facility = cur.composite(required(clm, 5, "place of service"), "CLM05")
    if len(facility) < 3 or not facility[0] or not facility[2]:
        raise BadValue(
            "CLM05 needs the place of service, its qualifier and the frequency code (e.g. 11:B:1)"
        )
    claim = Claim(
        claim_id=claim_id,
        charge=values.amount(required(clm, 2, "total claim charge"), "CLM02 (total claim charge)"),
        place_of_service=facility[0],
        facility_qualifier=facility[1],
        frequency_code=facility[2],
        provider_signature=el(clm, 6),
        assignment=el(clm, 7),
        benefits_assignment=el(clm, 8),
        release_of_information=el(clm, 9),
    )
    for fields in cur.ordered(_CLAIM_RANK, f"claim {claim_id}", strict=False):
        sid = fields[0]
        if sid == "DTP":
            claim.dates.append(dated(fields, "DTP03 (claim date)"))
        elif sid == "REF":
            claim.references.append(
                (required(fields, 1, "reference qualifier"), required(fields, 2, "reference"))
            )
        elif sid == "AMT":
            claim.amounts[required(fields, 1, "amount qualifier")] = values.amount(
                el(fields, 2), "AMT02"
            )
        elif sid == "NTE":
            claim.notes.append(el(fields, 2))
        elif sid == "HI":
            _diagnoses(cur, fields, claim.diagnoses)
    if not claim.diagnoses:
        cur.warn(f"claim {claim_id} has no diagnoses (HI is required in loop 2300)")
    claim.providers = _named_loops(cur, _CLAIM_PROVIDERS, f"claim {claim_id}")
    while cur.at("SBR"):
        if len(claim.other_subscribers) == 10:
            raise cur.here("loop 2320 (other subscriber) repeats more than 10 times")
        claim.other_subscribers.append(_other_subscriber(cur))
    if not cur.at("LX"):
        raise cur.here(
            f"claim {claim_id} needs at least one service line (LX/SV1), found {cur.peek()}"
        )
    while cur.at("LX"):
        if len(claim.service_lines) == 50:
            raise cur.here(f"claim {claim_id} has more than 50 service lines")
        claim.service_lines.append(_service_line(cur))
    return claim


def _claims(cur: Cursor, into: list[Claim]) -> None:
    while cur.at("CLM"):
        if len(into) == 100:
            raise cur.here("more than 100 claims under one subscriber or patient")
        into.append(_claim(cur))


def _billing_provider(cur: Cursor) -> BillingProvider:
    prv = cur.optional("PRV")
    cur.optional("CUR")
    if not cur.at("NM1", 1, frozenset({"85"})):
        raise cur.here(
            f"loop 2010AA (billing provider, NM1*85) is required after HL*20; found {cur._found()}"
        )
    provider = nm1(cur.take())
    address(cur, provider, n3_required=True, n4_required=True, what="the billing provider (2010AA)")
    provider.references = references(cur, 3, "the billing provider")
    provider.contacts = contacts(cur, 2, "the billing provider")
    billing = BillingProvider(provider=provider, taxonomy=el(prv, 3) if prv else "")
    if cur.at("NM1", 1, frozenset({"85"})):
        raise cur.here(
            "loop 2010AA (billing provider) repeats: it appears once per billing provider level"
        )
    if cur.at("NM1", 1, frozenset({"87"})):
        billing.pay_to = nm1(cur.take())
        address(
            cur,
            billing.pay_to,
            n3_required=True,
            n4_required=True,
            what="the pay-to address (2010AB)",
        )
    if cur.at("NM1", 1, frozenset({"PE"})):
        billing.pay_to_plan = nm1(cur.take())
        address(
            cur,
            billing.pay_to_plan,
            n3_required=True,
            n4_required=True,
            what="the pay-to plan (2010AC)",
        )
        billing.pay_to_plan.references = references(cur, 2, "the pay-to plan")
    if cur.at("NM1"):
        raise cur.here(
            f"NM1*{cur.peek_element(1)} is not expected in the billing provider level (2010AA, 2010AB, 2010AC)"
        )
    return billing


def _person(cur: Cursor, party: Party, what: str) -> None:
    address(cur, party, what=what)
    if cur.at("DMG"):
        demographics(cur.take(), party)
    party.references = references(cur, 3, what)
    party.contacts = contacts(cur, 1, what)


def _subscriber(cur: Cursor) -> Subscriber:
    sbr = cur.expect("SBR", "the subscriber information (SBR) of the subscriber level (HL*22)")
    cur.optional("PAT")
    if not cur.at("NM1", 1, frozenset({"IL"})):
        raise cur.here(
            f"loop 2010BA (subscriber, NM1*IL) is required in the subscriber level; found {cur._found()}"
        )
    insured = nm1(cur.take())
    _person(cur, insured, "the subscriber (2010BA)")
    if not cur.at("NM1", 1, frozenset({"PR"})):
        raise cur.here(
            f"loop 2010BB (payer, NM1*PR) is required in the subscriber level; found {cur._found()}"
        )
    payer = nm1(cur.take())
    address(cur, payer, what="the payer (2010BB)")
    payer.references = references(cur, 5, "the payer")
    if cur.at("NM1"):
        raise cur.here(
            f"NM1*{cur.peek_element(1)} is not expected in the subscriber level (2010BA, 2010BB)"
        )
    return Subscriber(
        payer_responsibility=required(sbr, 1, "payer responsibility"),
        relationship=el(sbr, 2),
        group_number=el(sbr, 3),
        group_name=el(sbr, 4),
        filing_indicator=el(sbr, 9),
        subscriber=insured,
        payer=payer,
    )


def _patient(cur: Cursor) -> Patient:
    pat = cur.expect("PAT", "the patient information (PAT) of the patient level (HL*23)")
    if not cur.at("NM1", 1, frozenset({"QC"})):
        raise cur.here(
            f"loop 2010CA (patient, NM1*QC) is required in the patient level; found {cur._found()}"
        )
    person = nm1(cur.take())
    _person(cur, person, "the patient (2010CA)")
    return Patient(relationship=el(pat, 1), patient=person)


def _submitter(cur: Cursor, version: str = "5010") -> Party:
    """Loop 1000A from its NM1*41: the submitter and its contacts (PER, at most 2)."""
    submitter = nm1(cur.take())
    if version == "4010":
        cur.optional("N2")  # additional name, in 4010 only
    submitter.contacts = contacts(cur, 2, "the submitter")
    return submitter


def check_4010_header(cur: Cursor) -> None:
    """A 4010 837P (004010X098A1) is not mapped (its segments are kept as sent), but its
    submitter loop 1000A (after BHT and REF*87) is the 5010 837P's: when it is there, its name
    and its contacts (PER, at most two) are checked as the 837P's are."""
    if cur.optional("BHT") is None:
        return
    cur.optional("REF", 1, frozenset({"87"}))
    if cur.at("NM1", 1, frozenset({"41"})):
        _submitter(cur, "4010")


def build(cur: Cursor) -> ProfessionalClaims:
    bht = cur.expect("BHT", "the beginning of hierarchical transaction (BHT)")
    cur.optional("REF", 1, frozenset({"87"}))  # 4010-era transmission type, tolerated
    if not cur.at("NM1", 1, frozenset({"41"})):
        raise cur.here(
            f"loop 1000A (submitter, NM1*41) is required after BHT; found {cur._found()}"
        )
    submitter = _submitter(cur)
    if not submitter.contacts:
        raise cur.here("the submitter's contact (PER) is required in loop 1000A")
    if not cur.at("NM1", 1, frozenset({"40"})):
        raise cur.here(
            f"loop 1000B (receiver, NM1*40) is required after the submitter; found {cur._found()}"
        )
    receiver = nm1(cur.take())
    document = ProfessionalClaims(
        purpose=el(bht, 2),
        reference=el(bht, 3),
        created=values.date8(el(bht, 4), "BHT04 (creation date)"),
        claim_or_encounter=el(bht, 6),
        submitter=submitter,
        receiver=receiver,
    )
    if not cur.at("HL"):
        raise cur.here(
            f"a billing provider level (HL*20) is required after the receiver; found {cur._found()}"
        )
    billing: BillingProvider | None = None
    subscriber: Subscriber | None = None
    while cur.at("HL"):
        _number, _parent, level, _children = hl(cur.take())
        if level == "20":
            billing = _billing_provider(cur)
            document.billing_providers.append(billing)
            subscriber = None
        elif level == "22":
            if billing is None:
                raise cur.last(
                    "a subscriber level (HL*22) needs a billing provider level (HL*20) before it"
                )
            subscriber = _subscriber(cur)
            billing.subscribers.append(subscriber)
            _claims(cur, subscriber.claims)
        elif level == "23":
            if subscriber is None:
                raise cur.last("a patient level (HL*23) needs a subscriber level (HL*22) before it")
            patient = _patient(cur)
            subscriber.patients.append(patient)
            _claims(cur, patient.claims)
            if not patient.claims:
                raise cur.here("the patient level (HL*23) needs at least one claim (CLM)")
        else:
            raise cur.last(f"HL03 (level code) {level!r} is not 20, 22 or 23 in an 837P")
        if not cur.at("HL") and cur.pos < len(cur.body):
            raise cur.unexpected("after a hierarchical level come its claims, then the next HL")
    for billing_level in document.billing_providers:
        if not billing_level.subscribers:
            raise X12ErrorAt(
                cur, "a billing provider level (HL*20) needs at least one subscriber level (HL*22)"
            )
    if not document.claims():
        raise cur.here("the 837P holds no claim (CLM)")
    return document


def X12ErrorAt(cur: Cursor, message: str) -> Exception:
    return cur.here(message)
