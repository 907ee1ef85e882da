"""835 health care claim payment/advice (005010X221A1): payment, payer, payee, claims
(CLP with CAS adjustments), service lines (SVC with DTM, CAS, REF, AMT, LQ), provider
adjustments (PLB).

Claims and service lines are the hot path of the reader (an ERA can hold many thousands);
their segments are read in one loop each, with the order of the segments inside a loop
checked by rank instead of by nested look-ahead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from medoffice.x12 import values
from medoffice.x12.errors import BadValue
from medoffice.x12.transactions.common import (
    Cursor,
    Party,
    address,
    contacts,
    el,
    n1,
    nm1,
    references,
    required,
)

amount = values.amount
_AMOUNTS = values.AMOUNTS
_DATES = values.DATES
_CACHE_LIMIT = values.CACHE_LIMIT


@dataclass(slots=True)
class Adjustment:
    group_code: str  # CO contractual, PR patient responsibility, OA, PI, CR
    reason_code: str  # CARC
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(slots=True)
class Procedure:
    qualifier: str  # HC (HCPCS/CPT), NU (revenue), N4 (NDC), ...
    code: str
    modifiers: list[str]
    description: str = ""


@dataclass(slots=True)
class ServicePayment:
    procedure: Procedure
    charge: Decimal
    paid: Decimal
    revenue_code: str = ""
    units: Decimal | None = None
    original_procedure: Procedure | None = None
    original_units: Decimal | None = None
    dates: dict[str, dt.date] = field(default_factory=dict)  # 472 service, 150/151 period
    adjustments: list[Adjustment] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # B6 allowed, ...
    remarks: list[tuple[str, str]] = field(default_factory=list)  # LQ (HE: RARC)


@dataclass(slots=True)
class ClaimPayment:
    patient_control_number: str  # CLP01: the provider's claim id
    status_code: str  # 1 processed as primary, 2 secondary, 4 denied, 22 reversal, ...
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    filing_indicator: str
    payer_claim_number: str
    facility_code: str = ""
    frequency_code: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)  # QC patient, IL insured, 82 rendering...
    references: list[tuple[str, str]] = field(default_factory=list)
    dates: dict[str, dt.date] = field(default_factory=dict)  # 232/233 statement, 050 received
    amounts: dict[str, Decimal] = field(default_factory=dict)
    service_lines: list[ServicePayment] = field(default_factory=list)
    header_number: str = ""  # the LX this claim is under

    def party(self, code: str) -> Party | None:
        for party in self.parties:
            if party.entity_code == code:
                return party
        return None


@dataclass(slots=True)
class ProviderAdjustment:
    provider_id: str
    fiscal_period_end: dt.date
    items: list[tuple[str, str, Decimal]]  # (reason code, reference, amount)


@dataclass(slots=True)
class Payment:
    handling_code: str  # C payment + advice, H advice only, I remittance information only...
    amount: Decimal
    credit_debit: str
    method: str  # ACH, CHK, NON, BOP, FWT
    payment_format: str
    date: dt.date | None
    trace_number: str
    originator_id: str


@dataclass(slots=True)
class Remittance:
    payment: Payment
    payer: Party
    payee: Party
    claims: list[ClaimPayment]
    provider_adjustments: list[ProviderAdjustment]
    references: list[tuple[str, str]]
    production_date: dt.date | None = None


def _payment(cur: Cursor) -> Payment:
    bpr = cur.expect("BPR", "the financial information (BPR) at the start of the 835")
    method = el(bpr, 4)
    date = None
    if el(bpr, 16):
        try:
            date = values.date8(bpr[16], "BPR16 (payment date)")
        except BadValue as exc:
            cur.warn(f"{exc}; the payment date is left empty")
    else:
        cur.warn("BPR16 (check issue or EFT effective date) is missing")
    handling = required(bpr, 1, "transaction handling code")
    paid = amount(required(bpr, 2, "total payment amount"), "BPR02 (total payment amount)")
    trn = cur.expect("TRN", "the reassociation trace number (TRN)")
    return Payment(
        handling_code=handling,
        amount=paid,
        credit_debit=el(bpr, 3),
        method=method,
        payment_format=el(bpr, 5),
        date=date,
        trace_number=required(trn, 2, "check or EFT trace number"),
        originator_id=el(trn, 3),
    )


def _adjustments(fields: list[str], into: list[Adjustment], warn: Callable[[str], None]) -> None:
    count = len(fields)
    group = fields[1] if count > 1 else ""
    if not group:
        raise BadValue("CAS01 (claim adjustment group code) is required")
    if count < 4:
        raise BadValue("CAS needs at least a reason code (CAS02) and an amount (CAS03)")
    if count == 4 and fields[2]:  # one adjustment, the usual case
        value = _AMOUNTS.get(fields[3])
        if value is not None:
            into.append(Adjustment(group, fields[2], value))
            return
    cached = _AMOUNTS.get
    for index in range(2, count, 3):
        reason = fields[index]
        money = fields[index + 1] if index + 1 < count else ""
        if not reason or not money:
            if not reason and not money:
                continue
            raise BadValue(
                f"CAS{index:02d}/CAS{index + 1:02d}: an adjustment needs a reason and an amount"
            )
        quantity = fields[index + 2] if index + 2 < count else ""
        value = cached(money)
        try:
            if value is None:
                value = amount(money, "")
            counted = amount(quantity, "") if quantity else None
        except BadValue:
            # The claim no longer balances without it, which the poster's balancing check
            # (charge - payment = adjustments) catches; the warning says why.
            warn(
                f"CAS{index + 1:02d}/CAS{index + 2:02d} {money!r}/{quantity!r} is not an amount; the adjustment {group}-{reason} is left out"
            )
            continue
        into.append(Adjustment(group, reason, value, counted))


# A procedure composite as read (qualifier, code, modifiers, description), by the component
# separator and its text.
_PROCEDURES: dict[str, dict[str, tuple[str, str, tuple[str, ...], str]]] = {}
_NONE: dict[str, tuple[str, str, tuple[str, ...], str]] = {}


def _procedure(cur: Cursor, value: str, name: str) -> Procedure:
    component = cur.delimiters.component
    known = _PROCEDURES.get(component, _NONE).get(value)
    if known is not None:
        return Procedure(known[0], known[1], list(known[2]), known[3])
    parts = value.split(component)
    if len(parts) == 1 and len(value) > 3 and value[:2].isalpha() and not value[2].isalnum():
        # a sender that used another component separator than its ISA16 declares
        cur.warn(
            f"{name} {value!r} uses {value[2]!r} as component separator; ISA16 is {component!r}"
        )
        parts = value.split(value[2])
        component = ""  # not kept: the warning is given each time
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BadValue(f"{name} needs a qualifier and a code (e.g. HC:99213)")
    read = (
        parts[0],
        parts[1],
        tuple(m for m in parts[2:6] if m),
        parts[6] if len(parts) > 6 else "",
    )
    if component:
        known_here = _PROCEDURES.setdefault(component, {})
        if len(known_here) < _CACHE_LIMIT:
            known_here[value] = read
    return Procedure(read[0], read[1], list(read[2]), read[3])


# Order of the segments inside a claim (2100) and a service line (2110).
_CLAIM_RANK = {
    "CAS": 1,
    "NM1": 2,
    "MIA": 3,
    "MOA": 4,
    "REF": 5,
    "DTM": 6,
    "PER": 7,
    "AMT": 8,
    "QTY": 9,
}
_LINE_RANK = {"DTM": 1, "CAS": 2, "REF": 3, "AMT": 4, "QTY": 5, "LQ": 6}
_CLAIM_ORDER = "the claim (CAS, NM1, MIA, MOA, REF, DTM, PER, AMT, QTY)"
_LINE_ORDER = "the service line (DTM, CAS, REF, AMT, QTY, LQ)"
_CLAIM_PARTIES = frozenset({"QC", "IL", "74", "82", "TT", "PR", "GB"})


def _money(text: str, name: str) -> Decimal:
    value = _AMOUNTS.get(text)
    return amount(text, name) if value is None else value


def _day(text: str, name: str) -> dt.date:
    value = _DATES.get(text)
    return values.date8(text, name) if value is None else value


def _service(cur: Cursor, fields: list[str]) -> ServicePayment:
    """A service line from its SVC (the segments after it are read by `_claim`)."""
    count = len(fields)
    if count < 4:
        raise BadValue(
            "SVC needs the procedure (SVC01), the charge (SVC02) and the payment (SVC03)"
        )
    cached = _AMOUNTS.get
    charge, paid = cached(fields[2]), cached(fields[3])
    known = _PROCEDURES.get(cur.delimiters.component, _NONE).get(fields[1])  # saves a call
    line = ServicePayment(
        _procedure(cur, fields[1], "SVC01 (procedure)")
        if known is None
        else Procedure(known[0], known[1], list(known[2]), known[3]),
        amount(fields[2], "SVC02 (line charge)") if charge is None else charge,
        amount(fields[3], "SVC03 (line payment)") if paid is None else paid,
        fields[4] if count > 4 else "",
    )
    if count > 5:
        if fields[5]:
            units = cached(fields[5])
            line.units = _money(fields[5], "SVC05 (units paid)") if units is None else units
        if count > 6 and fields[6]:
            line.original_procedure = _procedure(cur, fields[6], "SVC06 (procedure submitted)")
        if count > 7 and fields[7]:
            line.original_units = _money(fields[7], "SVC07 (units submitted)")
    return line


def _qualifier(fields: list[str], name: str) -> str:
    value = fields[1] if len(fields) > 1 else ""
    if not value:
        raise BadValue(f"{fields[0]}01 ({name}) is required")
    return value


def _claim(cur: Cursor, fields: list[str], header: str) -> ClaimPayment:
    """A claim from its CLP, then its segments and its service lines.

    The service lines' segments are most of an 835, so they are walked here with a local
    position (not `Cursor.ordered`, a generator) and the usual ones (one adjustment, a date or
    an amount already seen) are read inline. `cur.pos` is set before anything that may warn
    and when a BadValue leaves, so errors and warnings name the segment as `ordered` would.
    """
    count = len(fields)
    if count < 8:
        raise BadValue(
            "CLP needs at least CLP01 to CLP07 (claim id, status, charge, payment, patient responsibility, filing indicator, payer claim number)"
        )
    if not fields[1]:
        raise BadValue("CLP01 (patient control number) is required")
    if not fields[2]:
        raise BadValue("CLP02 (claim status code) is required")
    responsibility = fields[5]
    claim = ClaimPayment(  # positional: keywords cost twice as much here
        fields[1],
        fields[2],
        _money(fields[3], "CLP03 (total claim charge)"),
        _money(fields[4], "CLP04 (claim payment)"),
        _money(responsibility, "CLP05 (patient responsibility)") if responsibility else None,
        fields[6],
        fields[7],
        fields[8] if count > 8 else "",
        fields[9] if count > 9 else "",
        [],
        [],
        [],
        {},
        {},
        [],
        header,
    )
    for segment in cur.ordered(_CLAIM_RANK, _CLAIM_ORDER):
        sid = segment[0]
        if sid == "CAS":
            value = (
                _AMOUNTS.get(segment[3])
                if len(segment) == 4 and segment[1] and segment[2]
                else None
            )
            if value is None:
                _adjustments(segment, claim.adjustments, cur.warn)
            else:
                claim.adjustments.append(Adjustment(segment[1], segment[2], value))
        elif sid == "NM1":
            claim.parties.append(nm1(segment, _CLAIM_PARTIES))
        elif sid == "DTM":
            claim.dates[_qualifier(segment, "date qualifier")] = _day(
                segment[2] if len(segment) > 2 else "", "DTM02 (claim date)"
            )
        elif sid == "REF":
            claim.references.append((required(segment, 1, "reference qualifier"), el(segment, 2)))
        elif sid == "AMT":
            claim.amounts[_qualifier(segment, "amount qualifier")] = _money(
                segment[2] if len(segment) > 2 else "", "AMT02 (amount)"
            )
    body = cur.body
    end = len(body)
    pos = cur.pos
    cached = _AMOUNTS.get
    cached_day = _DATES.get
    try:
        # --- 2110: each SVC, then its DTM, CAS, REF, AMT, QTY, LQ in that order ---
        line_rank = _LINE_RANK.get
        lines = claim.service_lines
        while pos < end and body[pos][0] == "SVC":
            pos += 1
            cur.pos = pos
            line = _service(cur, body[pos - 1])
            lines.append(line)
            dates, adjustments, amounts = line.dates, line.adjustments, line.amounts
            rank = 0
            while pos < end:
                segment = body[pos]
                sid = segment[0]
                here = line_rank(sid)
                if here is None:
                    break
                pos += 1
                if here < rank:
                    cur.pos = pos
                    raise cur.last(f"{sid} is out of order in {_LINE_ORDER}")
                rank = here
                size = len(segment)
                if sid == "CAS":
                    value = cached(segment[3]) if size == 4 and segment[1] and segment[2] else None
                    if value is None:
                        cur.pos = pos
                        _adjustments(segment, adjustments, cur.warn)
                    else:
                        adjustments.append(Adjustment(segment[1], segment[2], value))
                elif sid == "DTM":
                    day = cached_day(segment[2]) if size == 3 and segment[1] else None
                    if day is None:
                        qualifier = _qualifier(segment, "date qualifier")
                        dates[qualifier] = _day(el(segment, 2), "DTM02 (service date)")
                    else:
                        dates[segment[1]] = day
                elif sid == "AMT":
                    value = cached(segment[2]) if size == 3 and segment[1] else None
                    if value is None:
                        amounts[_qualifier(segment, "amount qualifier")] = _money(
                            el(segment, 2), "AMT02 (amount)"
                        )
                    else:
                        amounts[segment[1]] = value
                elif sid == "REF":
                    line.references.append(
                        (required(segment, 1, "reference qualifier"), el(segment, 2))
                    )
                elif sid == "LQ":
                    line.remarks.append(
                        (
                            required(segment, 1, "code list qualifier"),
                            required(segment, 2, "remark code"),
                        )
                    )
    except BadValue:
        cur.pos = pos  # the segment being read is the one last taken
        raise
    cur.pos = pos
    return claim


def _provider_adjustment(cur: Cursor, fields: list[str]) -> ProviderAdjustment:
    items = []
    for index in range(3, len(fields), 2):
        if not fields[index] and not el(fields, index + 1):
            continue
        reason = cur.components(fields[index])
        items.append(
            (
                reason[0],
                reason[1] if len(reason) > 1 else "",
                amount(el(fields, index + 1), f"PLB{index + 1:02d} (adjustment amount)"),
            )
        )
    if not items:
        raise BadValue("PLB needs at least one adjustment (PLB03 and PLB04)")
    return ProviderAdjustment(
        provider_id=required(fields, 1, "provider identifier"),
        fiscal_period_end=values.date8(el(fields, 2), "PLB02 (fiscal period date)"),
        items=items,
    )


def build(cur: Cursor) -> Remittance:
    payment = _payment(cur)
    cur.optional("CUR")
    refs = references(cur, 2, "the 835 header")
    production = None
    for dtm in cur.repeat("DTM", 1, "the production date (DTM*405)"):
        production = values.date8(el(dtm, 2), "DTM02 (production date)")
    # 1000A payer, 1000B payee
    payer = n1(cur.expect("N1", "the payer (loop 1000A, N1*PR)", 1, frozenset({"PR"})))
    address(cur, payer, what="the payer")
    payer.references = references(cur, 4, "the payer")
    payer.contacts = contacts(cur, 3, "the payer")
    payee = n1(cur.expect("N1", "the payee (loop 1000B, N1*PE)", 1, frozenset({"PE"})))
    address(cur, payee, what="the payee")
    payee.references = references(cur, 99, "the payee")
    cur.optional("RDM")
    claims: list[ClaimPayment] = []
    body = cur.body
    end = len(body)
    while cur.pos < end and body[cur.pos][0] in ("LX", "CLP"):
        header = ""
        if body[cur.pos][0] == "LX":
            header = required(cur.take(), 1, "assigned number")
            cur.optional("TS3")
            cur.optional("TS2")
            if not cur.at("CLP"):
                raise cur.here(
                    f"a claim (CLP) must follow the header number LX*{header}, found {cur.peek()}"
                )
        while cur.pos < end and body[cur.pos][0] == "CLP":
            cur.pos += 1
            claims.append(_claim(cur, body[cur.pos - 1], header))
    adjustments = []
    while cur.at("PLB"):
        adjustments.append(_provider_adjustment(cur, cur.take()))
    if cur.pos < end:
        raise cur.unexpected(
            "an 835 holds BPR, TRN, the payer and payee, then LX/CLP claims, then PLB"
        )
    return Remittance(
        payment=payment,
        payer=payer,
        payee=payee,
        claims=claims,
        provider_adjustments=adjustments,
        references=refs,
        production_date=production,
    )
