"""Claim status: the 276 request and the 277 response (005010X212), and the 277CA claim
acknowledgment (005010X214).

All three are hierarchies of HL levels: the information source (HL*20, the payer or the
clearinghouse), the information receiver (HL*21, the submitter), the provider (HL*19), then
the subscriber (HL*22) and dependent (HL*23) in 276/277, or the patient (HL*PT) in a 277CA.
The levels of the source, receiver and provider may carry their own trace number (TRN),
statuses (STC), quantities (QTY) and amounts (AMT). The subscriber, dependent and patient
levels hold the claims: each starts with its trace number (TRN: in a 277CA the patient
control number we sent as CLM01) and holds its statuses, references (REF*1K the payer's
claim control number, REF*EJ the patient control number in a 277), dates (DTP*472) and its
service lines (SVC with STC, REF*FJ line item control number, DTP*472).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from medoffice.x12 import codes, values
from medoffice.x12.errors import BadValue, X12Error
from medoffice.x12.transactions.common import (
    Cursor,
    Party,
    contacts,
    dated,
    demographics,
    el,
    hl,
    nm1,
    required,
)

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One health care claim status composite (C043): STC01, STC10 or STC11."""

    category: str  # C043-1 (code source 507): A1 received, A2 accepted, A7 rejected, F1 paid...
    code: str  # C043-2 (code source 508): the status itself
    entity: str = ""  # C043-3: the entity the status is about (85 billing provider, ...)
    code_list: str = ""  # C043-4: another code list (RX: NCPDP reject codes)

    @property
    def category_description(self) -> str:
        return codes.describe(codes.CLAIM_STATUS_CATEGORIES, self.category, "category")

    @property
    def code_description(self) -> str:
        if self.code_list:
            return f"code {self.code} of list {self.code_list}"
        return codes.describe(codes.CLAIM_STATUS, self.code, "status code")

    @property
    def entity_description(self) -> str:
        return codes.describe(codes.ENTITIES, self.entity, "entity")

    @property
    def description(self) -> str:
        """e.g. "Acknowledgement/Rejected for invalid information: Entity's National Provider
        Identifier (NPI) (Billing provider)"."""
        text = f"{self.category_description}: {self.code_description}"
        return f"{text} ({self.entity_description})" if self.entity else text


@dataclass(frozen=True, slots=True)
class Status:
    """An STC segment."""

    codes: tuple[StatusCode, ...]  # STC01, then STC10 and STC11 when sent
    effective_date: dt.date | None = None  # STC02
    action_code: str = ""  # STC03 (WQ, U)
    charge: Decimal | None = None  # STC04: total claim charge
    paid: Decimal | None = None  # STC05: claim payment
    adjudication_date: dt.date | None = None  # STC06
    payment_method: str = ""  # STC07
    check_date: dt.date | None = None  # STC08
    check_number: str = ""  # STC09
    message: str = ""  # STC12

    @property
    def category(self) -> str:
        return self.codes[0].category

    @property
    def code(self) -> str:
        return self.codes[0].code

    @property
    def rejected(self) -> bool:
        """Any of its composites says the claim was not taken in or cannot be processed."""
        return any(c.category in codes.REJECTING_CATEGORIES for c in self.codes)

    @property
    def accepted(self) -> bool:
        return not self.rejected and self.codes[0].category in codes.ACCEPTING_CATEGORIES

    @property
    def descriptions(self) -> list[str]:
        return [c.description for c in self.codes]


def _reference(references: list[tuple[str, str]], qualifier: str) -> str:
    return next((value for code, value in references if code == qualifier), "")


def _first_date(
    dates: list[tuple[str, dt.date, dt.date]], qualifier: str
) -> tuple[dt.date, dt.date] | None:
    return next(((start, end) for q, start, end in dates if q == qualifier), None)


@dataclass(slots=True)
class ServiceStatus:
    """A service line (2220D/E in 277 and 277CA, 2210D/E in 276)."""

    qualifier: str  # SVC01-1: HC (HCPCS/CPT), N4 (NDC), NU (revenue)...
    code: str
    modifiers: list[str]
    charge: Decimal  # SVC02
    paid: Decimal | None = None  # SVC03
    revenue_code: str = ""  # SVC04
    units: Decimal | None = None  # SVC07
    statuses: list[Status] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    dates: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)

    @property
    def line_item_control_number(self) -> str:
        """REF*FJ: the line's REF*6R of the 837 (our id of the line)."""
        return _reference(self.references, "FJ")

    @property
    def service_period(self) -> tuple[dt.date, dt.date] | None:
        return _first_date(self.dates, "472")


@dataclass(slots=True)
class TrackedClaim:
    """A claim's status tracking (2200D/E): in a 276 the claim asked about, in a 277 or a
    277CA the answer on it."""

    trace_type: str  # TRN01: 1 in a 276 (current), 2 in a 277 or 277CA (referenced)
    trace_number: str  # TRN02: in a 277CA the patient control number (CLM01) we sent
    originator: str = ""  # TRN03
    statuses: list[Status] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    dates: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # 276: T3 total claim charge
    service_lines: list[ServiceStatus] = field(default_factory=list)
    patient: Party | None = None  # the name of the level the claim is in (IL, QC)
    subscriber: Party | None = None  # HL*22 (the patient too when no HL*23 follows)
    provider: Party | None = None  # HL*19
    receiver: Party | None = None  # HL*21
    payer: Party | None = None  # HL*20

    @property
    def patient_control_number(self) -> str:
        """Our claim id (CLM01): REF*EJ when sent (276/277), else the trace number (277CA)."""
        return _reference(self.references, "EJ") or self.trace_number

    @property
    def payer_claim_number(self) -> str:
        """REF*1K: the payer's claim control number."""
        return _reference(self.references, "1K")

    @property
    def clearinghouse_trace_number(self) -> str:
        return _reference(self.references, "D9")

    @property
    def billing_type(self) -> str:
        return _reference(self.references, "BLT")

    @property
    def service_period(self) -> tuple[dt.date, dt.date] | None:
        return _first_date(self.dates, "472")

    @property
    def status(self) -> Status | None:
        return self.statuses[0] if self.statuses else None

    @property
    def charge(self) -> Decimal | None:
        """The total claim charge: STC04 of the first status that has it (276: AMT*T3)."""
        for status in self.statuses:
            if status.charge is not None:
                return status.charge
        return self.amounts.get("T3")

    @property
    def rejected(self) -> bool:
        return any(s.rejected for s in self.statuses)

    @property
    def accepted(self) -> bool:
        return bool(self.statuses) and not self.rejected and self.statuses[0].accepted


@dataclass(slots=True)
class Level:
    """An HL level with its name and what is reported at that level."""

    number: str  # HL01
    code: str  # HL03: 20, 21, 19, 22, 23 or PT
    party: Party | None
    trace_number: str = ""  # TRN02 of the level (2200A/B/C)
    statuses: list[Status] = field(default_factory=list)
    quantities: dict[str, Decimal] = field(default_factory=dict)  # QTY: 90 accepted, AA rejected
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT: YU accepted, YY rejected
    references: list[tuple[str, str]] = field(default_factory=list)
    dates: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)  # 050 received, 009
    claims: list[TrackedClaim] = field(default_factory=list)
    children: list[Level] = field(default_factory=list)


@dataclass(slots=True)
class ClaimStatusTransaction:
    """A 276, 277 or 277CA: `kind` says which."""

    kind: str
    purpose: str  # BHT02: 13 request, 08 status
    reference: str  # BHT03
    created: dt.date  # BHT04
    transaction_type: str  # BHT06: TH (277CA receipt acknowledgment), DG (277 response)
    sources: list[Level] = field(default_factory=list)

    def levels(self) -> Iterator[Level]:
        stack = list(reversed(self.sources))
        while stack:
            level = stack.pop()
            yield level
            stack.extend(reversed(level.children))

    def claims(self) -> list[TrackedClaim]:
        return [claim for level in self.levels() for claim in level.claims]

    def claim(self, patient_control_number: str) -> TrackedClaim | None:
        return next(
            (c for c in self.claims() if c.patient_control_number == patient_control_number), None
        )


_LEVEL_NAMES = {
    "20": "information source",
    "21": "information receiver",
    "19": "provider",
    "22": "subscriber",
    "23": "dependent",
    "PT": "patient",
}
_PARENT = {"20": "", "21": "20", "19": "21", "22": "19", "23": "22", "PT": "19"}
_CLAIM_LEVELS = frozenset({"22", "23", "PT"})
_ACK_LEVELS = frozenset({"20", "21", "19", "PT"})
_STATUS_LEVELS = frozenset({"20", "21", "19", "22", "23"})
_CLAIM_SEGMENTS = frozenset({"STC", "REF", "DTP", "AMT", "QTY"})
_SERVICE_SEGMENTS = frozenset({"STC", "REF", "DTP"})
_LEVEL_SEGMENTS = frozenset({"TRN", "STC", "QTY", "AMT", "REF", "DTP"})


def _optional_date(fields: list[str], index: int, name: str) -> dt.date | None:
    text = el(fields, index)
    return values.date8(text, f"STC{index:02d} ({name})") if text else None


def _optional_amount(fields: list[str], index: int, name: str) -> Decimal | None:
    text = el(fields, index)
    return values.amount(text, f"STC{index:02d} ({name})") if text else None


def _status(cur: Cursor, fields: list[str]) -> Status:
    found: list[StatusCode] = []
    for index in (1, 10, 11):
        value = el(fields, index)
        if not value:
            if index == 1:
                raise BadValue("STC01 (health care claim status) is required")
            continue
        parts = cur.composite(value, f"STC{index:02d}")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise BadValue(
                f"STC{index:02d} {value!r} needs a status category code and a status code "
                "(e.g. A1:20)"
            )
        if len(parts[0]) > 3 or not _ALNUM.issuperset(parts[0]):
            raise BadValue(f"STC{index:02d}-1 (status category code) {parts[0]!r} is not a code")
        found.append(
            StatusCode(
                parts[0],
                parts[1],
                parts[2] if len(parts) > 2 else "",
                parts[3] if len(parts) > 3 else "",
            )
        )
    return Status(
        codes=tuple(found),
        effective_date=_optional_date(fields, 2, "status effective date"),
        action_code=el(fields, 3),
        charge=_optional_amount(fields, 4, "total claim charge"),
        paid=_optional_amount(fields, 5, "claim payment"),
        adjudication_date=_optional_date(fields, 6, "adjudication or payment date"),
        payment_method=el(fields, 7),
        check_date=_optional_date(fields, 8, "check issue or EFT date"),
        check_number=el(fields, 9),
        message=el(fields, 12),
    )


def _reference_of(fields: list[str]) -> tuple[str, str]:
    return required(fields, 1, "reference qualifier"), required(fields, 2, "reference")


def _quantity(fields: list[str]) -> tuple[str, Decimal]:
    return required(fields, 1, "quantity qualifier"), values.amount(
        el(fields, 2), "QTY02 (quantity)"
    )


def _money(fields: list[str]) -> tuple[str, Decimal]:
    return required(fields, 1, "amount qualifier"), values.amount(el(fields, 2), "AMT02 (amount)")


def _service(cur: Cursor) -> ServiceStatus:
    svc = cur.take()
    procedure = cur.composite(required(svc, 1, "procedure"), "SVC01")
    if len(procedure) < 2 or not procedure[0] or not procedure[1]:
        raise BadValue("SVC01 (procedure) needs a qualifier and a code (e.g. HC:99213)")
    line = ServiceStatus(
        qualifier=procedure[0],
        code=procedure[1],
        modifiers=[m for m in procedure[2:6] if m],
        charge=values.amount(required(svc, 2, "line item charge"), "SVC02 (line item charge)"),
        paid=values.optional_amount(el(svc, 3), "SVC03 (line item payment)"),
        revenue_code=el(svc, 4),
        units=values.optional_amount(el(svc, 7), "SVC07 (units of service)"),
    )
    while cur.peek() in _SERVICE_SEGMENTS:
        fields = cur.take()
        sid = fields[0]
        if sid == "STC":
            line.statuses.append(_status(cur, fields))
        elif sid == "REF":
            line.references.append(_reference_of(fields))
        else:
            line.dates.append(dated(fields, "DTP03 (service date)"))
    return line


def _claim(cur: Cursor, kind: str) -> TrackedClaim:
    trn = cur.take()
    trn_number = cur.number()
    claim = TrackedClaim(
        trace_type=required(trn, 1, "trace type code"),
        trace_number=required(trn, 2, "trace number"),
        originator=el(trn, 3),
    )
    while cur.peek() in _CLAIM_SEGMENTS:
        fields = cur.take()
        sid = fields[0]
        if sid == "STC":
            claim.statuses.append(_status(cur, fields))
        elif sid == "REF":
            claim.references.append(_reference_of(fields))
        elif sid == "DTP":
            claim.dates.append(dated(fields, "DTP03 (claim service date)"))
        elif sid == "AMT":
            qualifier, money = _money(fields)
            claim.amounts[qualifier] = money
        else:
            _quantity(fields)
    if kind != "276" and not claim.statuses:
        raise X12Error(
            f"claim {claim.trace_number}: its status (STC) is required after the trace number",
            segment_number=trn_number,
            segment_id="TRN",
        )
    while cur.at("SVC"):
        claim.service_lines.append(_service(cur))
    return claim


def _level_reports(cur: Cursor, level: Level) -> None:
    """TRN, STC, QTY, AMT, REF and DTP of a source, receiver or provider level."""
    while cur.peek() in _LEVEL_SEGMENTS:
        fields = cur.take()
        sid = fields[0]
        if sid == "TRN":
            if level.trace_number:
                raise cur.last(
                    f"a second trace number (TRN) in the {_LEVEL_NAMES[level.code]} level"
                )
            level.trace_number = required(fields, 2, "trace number")
        elif sid == "STC":
            level.statuses.append(_status(cur, fields))
        elif sid == "QTY":
            qualifier, quantity = _quantity(fields)
            level.quantities[qualifier] = quantity
        elif sid == "AMT":
            qualifier, money = _money(fields)
            level.amounts[qualifier] = money
        elif sid == "REF":
            level.references.append(_reference_of(fields))
        else:
            level.dates.append(dated(fields, "DTP03 (date)"))


def _level(cur: Cursor, fields: list[str], kind: str) -> Level:
    number, _parent, code, children = hl(fields)
    if code not in (_ACK_LEVELS if kind == "277CA" else _STATUS_LEVELS):
        expected = "20, 21, 19 or PT" if kind == "277CA" else "20, 21, 19, 22 or 23"
        raise cur.last(f"HL03 (hierarchical level code) {code!r} is not {expected} in a {kind}")
    name = _LEVEL_NAMES[code]
    born = Party(entity_code="", entity_type="", name="")
    if cur.at("DMG"):  # 276: the demographics come before the name
        demographics(cur.take(), born)
    if not cur.at("NM1"):
        raise cur.here(
            f"the name (NM1) of the {name} is required in its level (HL*{code}); "
            f"found {cur._found()}"
        )
    party = nm1(cur.take())
    party.birth_date, party.gender = born.birth_date, born.gender
    party.contacts = contacts(cur, 3, f"the {name}")
    level = Level(number=number, code=code, party=party)
    if code in _CLAIM_LEVELS:
        if cur.peek() in _CLAIM_SEGMENTS or cur.at("SVC"):
            raise cur.here(
                f"a claim starts with its trace number (TRN); found {cur._found()} in the {name} level"
            )
        while cur.at("TRN"):
            level.claims.append(_claim(cur, kind))
        if not level.claims and not children:
            raise cur.here(
                f"the {name} level (HL*{code}) holds no claim (TRN) and no level below it"
            )
    else:
        _level_reports(cur, level)
    if cur.pos < len(cur.body) and not cur.at("HL"):
        raise cur.unexpected(f"in the {name} level (HL*{code})")
    return level


def build(cur: Cursor, kind: str) -> ClaimStatusTransaction:
    bht = cur.expect("BHT", "the beginning of hierarchical transaction (BHT)")
    document = ClaimStatusTransaction(
        kind=kind,
        purpose=el(bht, 2),
        reference=el(bht, 3),
        created=values.date8(el(bht, 4), "BHT04 (creation date)"),
        transaction_type=el(bht, 6),
    )
    if not cur.at("HL"):
        raise cur.here(f"the information source level (HL*20) is required; found {cur._found()}")
    current: dict[str, Level] = {}
    while cur.at("HL"):
        fields = cur.take()
        parent_code = _PARENT.get(el(fields, 3), "")
        parent = current.get(parent_code) if parent_code else None
        if parent_code and parent is None:
            code = el(fields, 3)
            raise cur.last(
                f"the {_LEVEL_NAMES[code]} level (HL*{code}) needs a "
                f"{_LEVEL_NAMES[parent_code]} level (HL*{parent_code}) before it"
            )
        level = _level(cur, fields, kind)
        if parent is not None:
            parent.children.append(level)
        else:
            document.sources.append(level)
        _forget(current, level.code)
        current[level.code] = level
        for claim in level.claims:
            _place(claim, level, current)
    if cur.pos < len(cur.body):
        raise cur.unexpected(f"a {kind} holds BHT then its HL levels")
    return document


def _forget(current: dict[str, Level], code: str) -> None:
    current.pop(code, None)
    for below in [c for c, p in _PARENT.items() if p == code]:
        _forget(current, below)


def _place(claim: TrackedClaim, level: Level, current: dict[str, Level]) -> None:
    def party(code: str) -> Party | None:
        found = current.get(code)
        return found.party if found is not None else None

    claim.patient = level.party
    claim.subscriber = party("22") if level.code != "PT" else None
    claim.provider = party("19")
    claim.receiver = party("21")
    claim.payer = party("20")


def build_request(cur: Cursor) -> ClaimStatusTransaction:
    return build(cur, "276")


def build_response(cur: Cursor) -> ClaimStatusTransaction:
    return build(cur, "277")


def build_acknowledgment(cur: Cursor) -> ClaimStatusTransaction:
    return build(cur, "277CA")
