"""Eligibility: the 270 inquiry and the 271 response (005010X279A1; X279 reads alike).

A hierarchy of HL levels: the information source (HL*20, the payer), the information
receiver (HL*21, the provider asking), the subscriber (HL*22) and the dependent (HL*23).
The subscriber and dependent levels carry the trace numbers (TRN), the person (NM1 with
REF, N3/N4, DMG, INS, DTP) and any rejection (AAA); in a 270 the inquiries (EQ), in a 271 the
benefits (EB with HSD, REF, DTP, AAA, MSG, III and the related entities of LS/LE 2120).

`Member.summary()` turns a 271's benefits into what check-in shows: active or inactive, the
plan, copay, deductible and remaining, coinsurance and out-of-pocket and remaining.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from medoffice.x12 import codes, values
from medoffice.x12.errors import BadValue
from medoffice.x12.transactions.common import (
    Address,
    Cursor,
    Party,
    contact,
    dated,
    demographics,
    el,
    hl,
    nm1,
    required,
)

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Rejection:
    """AAA: the request (or part of it) could not be answered."""

    valid_request: bool  # AAA01: Y the request was valid, N it was not
    reason_code: str  # AAA03
    follow_up_code: str  # AAA04

    @property
    def reason(self) -> str:
        return codes.describe(codes.REJECT_REASONS, self.reason_code, "reject reason")

    @property
    def follow_up(self) -> str:
        return codes.describe(codes.FOLLOW_UP_ACTIONS, self.follow_up_code, "follow-up action")


@dataclass(frozen=True, slots=True)
class Trace:
    """TRN: in a 270 the inquirer's trace (TRN*1), echoed in the 271 as TRN*2."""

    type: str  # TRN01: 1 current, 2 referenced
    number: str  # TRN02
    originator: str = ""  # TRN03: the assigning company's id
    supplemental: str = ""  # TRN04


@dataclass(frozen=True, slots=True)
class Benefit:
    """An EB segment (loop 2110C/D of a 271) with what follows it."""

    code: str  # EB01: 1 active, 6 inactive, A co-insurance, B co-payment, C deductible...
    coverage_level: str = ""  # EB02: IND, FAM, EMP...
    service_types: tuple[str, ...] = ()  # EB03 (repeated): 30 plan coverage, 98 office visit
    insurance_type: str = ""  # EB04: HM HMO, MB Medicare B, MC Medicaid, PR PPO...
    plan_description: str = ""  # EB05
    time_period: str = ""  # EB06: 23 calendar year, 29 remaining, 27 visit...
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08: a fraction as sent (0.2 is 20 %)
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: str = ""  # EB11: Y, N, U
    in_network: bool | None = None  # EB12: Y in network, N out of network (W, U: None)
    procedure: tuple[str, ...] = ()  # EB13: qualifier, code, modifiers
    delivery: tuple[tuple[str, ...], ...] = ()  # HSD segments, as sent
    references: tuple[tuple[str, str], ...] = ()
    dates: tuple[tuple[str, dt.date, dt.date], ...] = ()  # DTP: 291 plan, 292 benefit...
    rejections: tuple[Rejection, ...] = ()
    messages: tuple[str, ...] = ()  # MSG
    related_entities: tuple[Party, ...] = ()  # LS/LE 2120: P3 primary care, PR other payer...

    @property
    def description(self) -> str:
        return codes.describe(codes.BENEFIT_CODES, self.code, "benefit")

    @property
    def coverage_level_description(self) -> str:
        return codes.describe(codes.COVERAGE_LEVELS, self.coverage_level, "coverage level")

    @property
    def time_period_description(self) -> str:
        return codes.describe(codes.TIME_PERIODS, self.time_period, "time period")

    @property
    def service_type_descriptions(self) -> list[str]:
        return [codes.describe(codes.SERVICE_TYPES, s, "service type") for s in self.service_types]

    @property
    def percent_value(self) -> Decimal | None:
        """EB08 as a percentage (0.2 -> 20)."""
        return None if self.percent is None else self.percent * _HUNDRED


@dataclass(frozen=True, slots=True)
class Inquiry:
    """EQ (loop 2110C/D of a 270): what is asked about."""

    service_types: tuple[str, ...] = ()  # EQ01 (repeated)
    procedure: tuple[str, ...] = ()  # EQ02: qualifier, code, modifiers
    coverage_level: str = ""  # EQ03
    insurance_type: str = ""  # EQ04
    references: tuple[tuple[str, str], ...] = ()
    dates: tuple[tuple[str, dt.date, dt.date], ...] = ()
    amounts: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class EligibilitySummary:
    """What a 271 says of one member, for check-in and chart prep."""

    status: str  # "active", "inactive", "rejected" or "unknown"
    plan: str = ""
    insurance_type: str = ""
    coverage_begin: dt.date | None = None
    coverage_end: dt.date | None = None
    copay: Decimal | None = None
    deductible: Decimal | None = None
    deductible_remaining: Decimal | None = None
    coinsurance_percent: Decimal | None = None  # e.g. 20 for 20 %
    out_of_pocket: Decimal | None = None
    out_of_pocket_remaining: Decimal | None = None
    rejections: tuple[str, ...] = ()  # the reasons, in words

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(slots=True)
class Member:
    """A subscriber (HL*22) or a dependent (HL*23)."""

    level_code: str  # 22 subscriber, 23 dependent
    person: Party  # NM1*IL or NM1*03 with its address, references and demographics
    traces: list[Trace] = field(default_factory=list)
    relationship: str = ""  # INS02: 18 self, 01 spouse, 19 child...
    dates: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)  # DTP of 2100C/D
    rejections: list[Rejection] = field(default_factory=list)
    benefits: list[Benefit] = field(default_factory=list)  # 271
    inquiries: list[Inquiry] = field(default_factory=list)  # 270
    messages: list[str] = field(default_factory=list)
    dependents: list[Member] = field(default_factory=list)
    subscriber: Party | None = None  # for a dependent: the subscriber's name
    receiver: Party | None = None  # HL*21: the provider
    source: Party | None = None  # HL*20: the payer

    @property
    def is_dependent(self) -> bool:
        return self.level_code == "23"

    @property
    def member_id(self) -> str:
        """NM109 (MI): the member id; a dependent without one has the subscriber's."""
        if self.person.identifier:
            return self.person.identifier
        return self.subscriber.identifier if self.subscriber is not None else ""

    @property
    def trace_number(self) -> str:
        """The inquirer's trace: TRN*1 of a 270, echoed as TRN*2 in a 271."""
        for wanted in ("2", "1"):
            for trace in self.traces:
                if trace.type == wanted:
                    return trace.number
        return self.traces[0].number if self.traces else ""

    def date(self, qualifier: str) -> tuple[dt.date, dt.date] | None:
        return next(((s, e) for q, s, e in self.dates if q == qualifier), None)

    def summary(self) -> EligibilitySummary:
        return summarize(self)


@dataclass(slots=True)
class Receiver:
    party: Party | None
    rejections: list[Rejection] = field(default_factory=list)
    subscribers: list[Member] = field(default_factory=list)


@dataclass(slots=True)
class Source:
    party: Party | None
    rejections: list[Rejection] = field(default_factory=list)
    receivers: list[Receiver] = field(default_factory=list)


@dataclass(slots=True)
class Eligibility:
    """A 270 or a 271: `kind` says which."""

    kind: str
    purpose: str  # BHT02: 13 request, 11 response
    reference: str  # BHT03
    created: dt.date  # BHT04
    sources: list[Source] = field(default_factory=list)

    def members(self) -> Iterator[Member]:
        for source in self.sources:
            for receiver in source.receivers:
                for subscriber in receiver.subscribers:
                    yield subscriber
                    yield from subscriber.dependents

    def rejections(self) -> list[Rejection]:
        """Every AAA of the transaction: the source's, the receiver's and the members'."""
        found: list[Rejection] = []
        for source in self.sources:
            found.extend(source.rejections)
            for receiver in source.receivers:
                found.extend(receiver.rejections)
        for member in self.members():
            found.extend(member.rejections)
            for benefit in member.benefits:
                found.extend(benefit.rejections)
        return found


# --- the summary ---------------------------------------------------------------------------

_TOTAL_PERIODS = ("23", "22", "25", "", "26", "32")
_REMAINING_PERIODS = ("29", "33")
_SERVICE_RANK = {"30": 0, "98": 1, "1": 2}
_LEVEL_RANK = {"IND": 0, "": 1, "EMP": 1, "FAM": 2}


def _rank(benefit: Benefit, periods: tuple[str, ...] | None) -> tuple[int, int, int, int]:
    network = 0 if benefit.in_network is True else 1 if benefit.in_network is None else 2
    service = min((_SERVICE_RANK.get(s, 3) for s in benefit.service_types), default=0)
    level = _LEVEL_RANK.get(benefit.coverage_level, 3)
    period = periods.index(benefit.time_period) if periods is not None else 0
    return network, service, level, period


def _pick(
    benefits: list[Benefit], code: str, periods: tuple[str, ...] | None, percent: bool = False
) -> Decimal | None:
    found = [
        b
        for b in benefits
        if b.code == code
        and (b.percent if percent else b.amount) is not None
        and (periods is None or b.time_period in periods)
    ]
    if not found:
        return None
    best = min(found, key=lambda b: _rank(b, periods))
    return best.percent_value if percent else best.amount


def summarize(member: Member) -> EligibilitySummary:
    benefits = member.benefits
    if any(b.code in codes.ACTIVE_CODES for b in benefits):
        status = "active"
    elif any(b.code in codes.INACTIVE_CODES for b in benefits):
        status = "inactive"
    elif member.rejections or any(b.rejections for b in benefits):
        status = "rejected"
    else:
        status = "unknown"
    coverage = [b for b in benefits if b.code in codes.ACTIVE_CODES] + benefits
    plan = next((b.plan_description for b in coverage if b.plan_description), "")
    insurance = next((b.insurance_type for b in coverage if b.insurance_type), "")
    begin = end = None
    for qualifier in ("346", "356", "291", "307"):
        found = member.date(qualifier)
        if found is not None:
            begin = found[0]
            if qualifier in ("291", "307") and found[1] != found[0]:
                end = found[1]
            break
    for qualifier in ("347", "357"):
        found = member.date(qualifier)
        if found is not None:
            end = found[0]
            break
    rejections = [*member.rejections, *(r for b in benefits for r in b.rejections)]
    return EligibilitySummary(
        status=status,
        plan=plan,
        insurance_type=insurance,
        coverage_begin=begin,
        coverage_end=end,
        copay=_pick(benefits, "B", None),
        deductible=_pick(benefits, "C", _TOTAL_PERIODS),
        deductible_remaining=_pick(benefits, "C", _REMAINING_PERIODS),
        coinsurance_percent=_pick(benefits, "A", None, percent=True),
        out_of_pocket=_pick(benefits, "G", _TOTAL_PERIODS),
        out_of_pocket_remaining=_pick(benefits, "G", _REMAINING_PERIODS),
        rejections=tuple(r.reason for r in rejections),
    )


# --- reading -------------------------------------------------------------------------------

_PERSON_SEGMENTS = frozenset(
    {"REF", "N3", "N4", "AAA", "PRV", "DMG", "INS", "HI", "DTP", "MPI", "PER"}
)
_BENEFIT_SEGMENTS = frozenset({"HSD", "REF", "DTP", "AAA", "MSG", "III"})
_INQUIRY_SEGMENTS = frozenset({"AMT", "III", "REF", "DTP"})
_LEVEL_NAMES = {
    "20": "information source",
    "21": "information receiver",
    "22": "subscriber",
    "23": "dependent",
}
_BENEFIT_CODES = frozenset(codes.BENEFIT_CODES)


def _rejection(fields: list[str]) -> Rejection:
    valid = required(fields, 1, "valid request indicator")
    if valid not in ("Y", "N"):
        raise BadValue(f"AAA01 (valid request indicator) {valid!r} is not Y or N")
    return Rejection(
        valid_request=valid == "Y",
        reason_code=required(fields, 3, "reject reason code"),
        follow_up_code=el(fields, 4),
    )


def _repeated(cur: Cursor, value: str) -> tuple[str, ...]:
    if not value:
        return ()
    separator = cur.delimiters.repetition
    parts = value.split(separator) if separator else [value]
    return tuple(p for p in parts if p)


def _details(
    cur: Cursor, party: Party, rejections: list[Rejection], member: Member | None = None
) -> None:
    """The segments after a name (2100A-D): references, address, AAA, demographics, dates."""
    lines: list[str] = []
    while cur.peek() in _PERSON_SEGMENTS:
        fields = cur.take()
        sid = fields[0]
        if sid == "REF":
            party.references.append(
                (required(fields, 1, "reference qualifier"), required(fields, 2, "reference"))
            )
        elif sid == "N3":
            lines = [line for line in fields[1:3] if line]
            if not lines:
                raise BadValue("N301 (address line) is required")
            party.address = Address(lines=lines)
        elif sid == "N4":
            party.address = Address(
                lines=lines,
                city=el(fields, 1),
                state=el(fields, 2),
                postal_code=el(fields, 3),
                country=el(fields, 4),
            )
        elif sid == "AAA":
            rejections.append(_rejection(fields))
        elif sid == "PRV":
            party.references.append(("PXC", el(fields, 3)))
        elif sid == "PER":
            party.contacts.append(contact(fields))
        elif sid == "DMG":
            demographics(fields, party)
        elif sid == "DTP":
            when = dated(fields, "DTP03 (eligibility date)")
            if member is not None:
                member.dates.append(when)
        elif sid == "INS" and member is not None:
            member.relationship = el(fields, 2)
        # HI (diagnoses asked about) and MPI (military personnel) are not kept


def _related_entities(cur: Cursor, references: list[tuple[str, str]]) -> list[Party]:
    cur.take()  # LS*2120
    found: list[Party] = []
    if cur.peek() in _PERSON_SEGMENTS:
        # a sender that wraps the benefit's own REF/DTP in LS/LE: kept on the benefit
        cur.warn_here(f"{cur.peek()} in loop LS*2120 without a name (NM1) before it")
        orphan = Party(entity_code="", entity_type="", name="")
        _details(cur, orphan, [])
        references.extend(orphan.references)
    while cur.at("NM1"):
        party = nm1(cur.take())
        _details(cur, party, [])
        found.append(party)
    if not cur.at("LE"):
        raise cur.here(f"the loop LS*2120 must end with LE*2120; found {cur._found()}")
    cur.take()
    return found


def _benefit(cur: Cursor, fields: list[str]) -> Benefit:
    code = required(fields, 1, "eligibility or benefit information code")
    if code not in _BENEFIT_CODES:
        raise BadValue(f"EB01 (eligibility or benefit information code) {code!r} is not a code")
    network = el(fields, 12)
    procedure = cur.composite(el(fields, 13), "EB13") if el(fields, 13) else []
    amount = values.optional_amount(el(fields, 7), "EB07 (benefit amount)")
    percent = values.optional_amount(el(fields, 8), "EB08 (benefit percent)")
    quantity = values.optional_amount(el(fields, 10), "EB10 (benefit quantity)")
    delivery: list[tuple[str, ...]] = []
    references: list[tuple[str, str]] = []
    dates: list[tuple[str, dt.date, dt.date]] = []
    rejections: list[Rejection] = []
    messages: list[str] = []
    entities: list[Party] = []
    while cur.peek() in _BENEFIT_SEGMENTS or cur.at("LS"):
        if cur.at("LS"):
            entities.extend(_related_entities(cur, references))
            continue
        segment = cur.take()
        sid = segment[0]
        if sid == "HSD":
            delivery.append(tuple(segment[1:]))
        elif sid == "REF":
            references.append(
                (required(segment, 1, "reference qualifier"), required(segment, 2, "reference"))
            )
        elif sid == "DTP":
            dates.append(dated(segment, "DTP03 (benefit date)"))
        elif sid == "AAA":
            rejections.append(_rejection(segment))
        elif sid == "MSG":
            messages.append(el(segment, 1))
    return Benefit(
        code=code,
        coverage_level=el(fields, 2),
        service_types=_repeated(cur, el(fields, 3)),
        insurance_type=el(fields, 4),
        plan_description=el(fields, 5),
        time_period=el(fields, 6),
        amount=amount,
        percent=percent,
        quantity_qualifier=el(fields, 9),
        quantity=quantity,
        authorization_required=el(fields, 11),
        in_network=True if network == "Y" else False if network == "N" else None,
        procedure=tuple(procedure),
        delivery=tuple(delivery),
        references=tuple(references),
        dates=tuple(dates),
        rejections=tuple(rejections),
        messages=tuple(messages),
        related_entities=tuple(entities),
    )


def _inquiry(cur: Cursor, fields: list[str]) -> Inquiry:
    procedure = cur.composite(el(fields, 2), "EQ02") if el(fields, 2) else []
    service_types = _repeated(cur, el(fields, 1))
    if not service_types and not procedure:
        raise BadValue("EQ needs a service type (EQ01) or a procedure (EQ02)")
    references: list[tuple[str, str]] = []
    dates: list[tuple[str, dt.date, dt.date]] = []
    amounts: list[tuple[str, Decimal]] = []
    while cur.peek() in _INQUIRY_SEGMENTS:
        segment = cur.take()
        sid = segment[0]
        if sid == "REF":
            references.append(
                (required(segment, 1, "reference qualifier"), required(segment, 2, "reference"))
            )
        elif sid == "DTP":
            dates.append(dated(segment, "DTP03 (service date)"))
        elif sid == "AMT":
            amounts.append(
                (
                    required(segment, 1, "amount qualifier"),
                    values.amount(el(segment, 2), "AMT02 (amount)"),
                )
            )
    return Inquiry(
        service_types=service_types,
        procedure=tuple(procedure),
        coverage_level=el(fields, 3),
        insurance_type=el(fields, 4),
        references=tuple(references),
        dates=tuple(dates),
        amounts=tuple(amounts),
    )


def _member(cur: Cursor, code: str, kind: str) -> Member:
    name = _LEVEL_NAMES[code]
    traces = []
    for trn in cur.repeat("TRN", 3, f"the trace numbers (TRN) of the {name}"):
        traces.append(
            Trace(
                type=required(trn, 1, "trace type code"),
                number=required(trn, 2, "trace number"),
                originator=el(trn, 3),
                supplemental=el(trn, 4),
            )
        )
    if not cur.at("NM1"):
        raise cur.here(
            f"the name (NM1) of the {name} is required in its level (HL*{code}); "
            f"found {cur._found()}"
        )
    member = Member(level_code=code, person=nm1(cur.take()), traces=traces)
    _details(cur, member.person, member.rejections, member)
    if kind == "271":
        while cur.at("EB"):
            member.benefits.append(_benefit(cur, cur.take()))
        while cur.at("MSG"):  # a message after the benefits, without an EB before it
            member.messages.append(el(cur.take(), 1))
    else:
        while cur.at("EQ"):
            member.inquiries.append(_inquiry(cur, cur.take()))
    return member


def _party_level(cur: Cursor, code: str) -> tuple[Party | None, list[Rejection]]:
    name = _LEVEL_NAMES[code]
    rejections = [_rejection(f) for f in cur.repeat("AAA", 9, f"the AAA of the {name}")]
    if rejections and (cur.at("HL") or cur.pos == len(cur.body)):
        # A payer that cannot answer at all (AAA at the level: e.g. 42, unable to respond now)
        # may leave out the level's name, which nothing else in the answer would need.
        cur.warn_here(
            f"the name (NM1) of the {name} is missing; the level holds only its rejection (AAA)"
        )
        return None, rejections
    if not cur.at("NM1"):
        raise cur.here(
            f"the name (NM1) of the {name} is required in its level (HL*{code}); "
            f"found {cur._found()}"
        )
    party = nm1(cur.take())
    _details(cur, party, rejections)
    return party, rejections


def build(cur: Cursor, kind: str) -> Eligibility:
    bht = cur.expect("BHT", "the beginning of hierarchical transaction (BHT)")
    document = Eligibility(
        kind=kind,
        purpose=el(bht, 2),
        reference=el(bht, 3),
        created=values.date8(el(bht, 4), "BHT04 (creation date)"),
    )
    if not cur.at("HL"):
        raise cur.here(f"the information source level (HL*20) is required; found {cur._found()}")
    source: Source | None = None
    receiver: Receiver | None = None
    subscriber: Member | None = None
    while cur.at("HL"):
        _number, _parent, code, _children = hl(cur.take())
        if code == "20":
            party, rejections = _party_level(cur, code)
            source = Source(party=party, rejections=rejections)
            document.sources.append(source)
            receiver = subscriber = None
        elif code == "21":
            if source is None:
                raise cur.last("an information receiver level (HL*21) needs a source (HL*20)")
            party, rejections = _party_level(cur, code)
            receiver = Receiver(party=party, rejections=rejections)
            source.receivers.append(receiver)
            subscriber = None
        elif code == "22":
            if receiver is None or source is None:
                raise cur.last("a subscriber level (HL*22) needs a receiver level (HL*21)")
            subscriber = _member(cur, code, kind)
            subscriber.receiver, subscriber.source = receiver.party, source.party
            receiver.subscribers.append(subscriber)
        elif code == "23":
            if subscriber is None or receiver is None or source is None:
                raise cur.last("a dependent level (HL*23) needs a subscriber level (HL*22)")
            dependent = _member(cur, code, kind)
            dependent.subscriber = subscriber.person
            dependent.receiver, dependent.source = receiver.party, source.party
            subscriber.dependents.append(dependent)
        else:
            raise cur.last(
                f"HL03 (hierarchical level code) {code!r} is not 20, 21, 22 or 23 in a {kind}"
            )
        if cur.pos < len(cur.body) and not cur.at("HL"):
            raise cur.unexpected(f"in the {_LEVEL_NAMES[code]} level (HL*{code})")
    if cur.pos < len(cur.body):
        raise cur.unexpected(f"a {kind} holds BHT then its HL levels")
    return document


def build_request(cur: Cursor) -> Eligibility:
    return build(cur, "270")


def build_response(cur: Cursor) -> Eligibility:
    return build(cur, "271")
