"""What a service costs and what each payer is expected to pay for it (reads only).

The practice's charge is its fee in force on the day (a modifier's own fee first, else the
code's). A payer's expected payment comes from its contract in force on the day: the
contract's rate for the code when it has one, else (in a Medicare-percent contract) the
percentage of the Medicare physician fee schedule amount, which is

    ((work RVU * work GPCI) + (PE RVU * PE GPCI) + (MP RVU * MP GPCI)) * conversion factor

with the facility or non-facility practice-expense RVU as the place of service says, from the
newest MPFS release in effect on the day, rounded half-up to the cent only at the end.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, QuerySet

from medoffice.coding.models import (
    CodeSetKind,
    CodeSetRelease,
    ContractBasis,
    ContractRate,
    Fee,
    MpfsGpci,
    MpfsRvu,
    PayerContract,
    PlaceOfService,
    PriorAuthRule,
    ProcedureCode,
)
from medoffice.core.exceptions import InvalidInput
from medoffice.patients.models import Payer

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# MPFS status codes with RVUs Medicare pays on (active, restricted, paid alone); others
# (bundled, carrier-priced, non-covered, invalid …) have no fee schedule amount.
PAID_STATUSES = frozenset({"A", "R", "T"})
# Modifiers with their own MPFS line: the professional and the technical component, and the
# discontinued colonoscopy (53).
COMPONENT_MODIFIERS = ("26", "TC", "53")


def _in_force(day: date) -> Q:
    return Q(effective_from__lte=day) & (Q(effective_to__isnull=True) | Q(effective_to__gte=day))


def to_cents(amount: Decimal) -> int:
    """Dollars (any precision) to integer cents, half-up."""
    return int((amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value())


# --- The practice's charge --------------------------------------------------------------------


def fee_cents(code: str, modifiers: Sequence[str], day: date) -> int | None:
    """The practice's charge for `code` on `day`: the fee of the first of `modifiers` that has
    one, else the code's plain fee; None when no fee is in force."""
    wanted = [m.upper() for m in modifiers if m]
    found = {
        modifier: cents
        for modifier, cents in Fee.objects.filter(
            _in_force(day), code=code.upper(), modifier__in=[*wanted, ""]
        ).values_list("modifier", "charge_cents")
    }
    for modifier in [*wanted, ""]:
        if modifier in found:
            return int(found[modifier])
    return None


@dataclass(slots=True)
class FeeBook:
    """The practice's fees for some codes over some days, read at once (`fee_book`): the same
    answers as `fee_cents`, for many lines without a query each."""

    spans: dict[tuple[str, str], list[tuple[date, date | None, int]]] = field(default_factory=dict)

    def fee_cents(self, code: str, modifiers: Sequence[str], day: date) -> int | None:
        for modifier in [*(m.upper() for m in modifiers if m), ""]:
            for start, end, cents in self.spans.get((code.upper(), modifier), ()):
                if start <= day and (end is None or day <= end):
                    return cents
        return None


def fee_book(codes: Collection[str], days: Collection[date]) -> FeeBook:
    """The fees of `codes` in force on any of `days` (one query)."""
    book = FeeBook()
    if not codes or not days:
        return book
    rows = Fee.objects.filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=min(days)),
        code__in=sorted({c.upper() for c in codes}),
        effective_from__lte=max(days),
    ).values_list("code", "modifier", "effective_from", "effective_to", "charge_cents")
    for code, modifier, start, end, cents in rows:
        book.spans.setdefault((code, modifier), []).append((start, end, int(cents)))
    return book


# --- The Medicare physician fee schedule ------------------------------------------------------


def mpfs_release(kind: str, day: date) -> CodeSetRelease | None:
    """The newest release of an MPFS table in effect on `day`."""
    return (
        CodeSetRelease.objects.filter(kind=kind, effective_date__lte=day)
        .order_by("-effective_date", "-id")
        .first()
    )


def pricing_modifier(modifiers: Iterable[str]) -> str:
    """The modifier that picks an MPFS line: 26, TC or 53 when billed, else none."""
    for modifier in modifiers:
        if modifier and modifier.upper() in COMPONENT_MODIFIERS:
            return modifier.upper()
    return ""


def mpfs_amount(rvu: MpfsRvu, gpci: MpfsGpci, *, facility: bool) -> Decimal | None:
    """The fee schedule amount in dollars, unrounded; None when the setting is NA or the
    code is not paid on the schedule."""
    if rvu.status_code and rvu.status_code.upper() not in PAID_STATUSES:
        return None
    if (facility and rvu.facility_na) or (not facility and rvu.non_facility_na):
        return None
    pe_rvu = rvu.facility_pe_rvu if facility else rvu.non_facility_pe_rvu
    total = (
        Decimal(rvu.work_rvu) * Decimal(gpci.work_gpci)
        + Decimal(pe_rvu) * Decimal(gpci.pe_gpci)
        + Decimal(rvu.mp_rvu) * Decimal(gpci.mp_gpci)
    )
    return total * Decimal(rvu.conversion_factor)


def _rvu_row(code: str, modifier: str, day: date) -> MpfsRvu | None:
    release = mpfs_release(CodeSetKind.MPFS_RVU, day)
    if release is None:
        return None
    return MpfsRvu.objects.filter(
        release=release, code=code.upper(), modifier=pricing_modifier([modifier])
    ).first()


def _gpci_row(mac: str, locality: str, day: date) -> MpfsGpci | None:
    release = mpfs_release(CodeSetKind.MPFS_GPCI, day)
    if release is None:
        return None
    return MpfsGpci.objects.filter(release=release, mac=mac, locality=locality).first()


def medicare_allowed_cents(
    code: str, modifier: str, day: date, mac: str, locality: str, facility: bool
) -> int | None:
    """The MPFS amount of `code` (its 26 or TC line when `modifier` is one) in a locality, in
    cents; None when the code, the locality or the setting's rate is not on the schedule."""
    rvu = _rvu_row(code, modifier, day)
    gpci = _gpci_row(mac, locality, day) if rvu is not None else None
    if rvu is None or gpci is None:
        return None
    amount = mpfs_amount(rvu, gpci, facility=facility)
    return None if amount is None else to_cents(amount)


# --- Payers' contracts ------------------------------------------------------------------------


def place_of_service(value: PlaceOfService | str) -> PlaceOfService:
    if isinstance(value, PlaceOfService):
        return value
    code = str(value or "").strip().zfill(2)
    found = PlaceOfService.objects.filter(code=code).first()
    if found is None:
        raise InvalidInput(
            f"There is no place of service {str(value)[:10]!r} (CMS codes such as 11, office).",
            field="place_of_service",
        )
    return found


def contract_in_force(payer: Payer | int, day: date) -> PayerContract | None:
    payer_id = payer.pk if isinstance(payer, Payer) else payer
    return PayerContract.objects.filter(_in_force(day), payer_id=payer_id).first()


def _rate_for(rates: dict[str, int], modifiers: Sequence[str]) -> int | None:
    for modifier in [*(m.upper() for m in modifiers if m), ""]:
        if modifier in rates:
            return rates[modifier]
    return None


def _percent_of(allowed_cents: int, percent: Decimal) -> int:
    return to_cents(Decimal(allowed_cents) * percent / HUNDRED / HUNDRED)


def expected_payment_cents(
    payer: Payer | int,
    code: str,
    modifiers: Sequence[str],
    day: date,
    place_of_service: PlaceOfService | str,
) -> int | None:
    """What `payer` is expected to pay for `code` on `day` at the place of service: the
    contract's own rate for the code if it has one, else its percentage of the Medicare
    amount; None when no contract is in force or it prices nothing for the code."""
    contract = contract_in_force(payer, day)
    if contract is None:
        return None
    code = code.upper()
    rates = dict(
        ContractRate.objects.filter(contract=contract, code=code).values_list(
            "modifier", "rate_cents"
        )
    )
    rate = _rate_for({m: int(c) for m, c in rates.items()}, modifiers)
    if rate is not None:
        return rate
    if contract.basis != ContractBasis.MEDICARE_PERCENT or contract.medicare_percent is None:
        return None
    facility = place_of_service_is_facility(place_of_service)
    allowed = medicare_allowed_cents(
        code, pricing_modifier(modifiers), day, contract.mac, contract.locality, facility
    )
    if allowed is None:
        return None
    return _percent_of(allowed, Decimal(contract.medicare_percent))


def payers_with_contracts(day: date) -> list[Payer]:
    """The payers with a contract in force on `day`, by name."""
    in_force = PayerContract.objects.filter(_in_force(day)).values("payer_id")
    return list(Payer.objects.filter(pk__in=in_force).order_by("name"))


def place_of_service_is_facility(value: PlaceOfService | str) -> bool:
    return place_of_service(value).is_facility


def requires_prior_auth(payer: Payer | int, codes: Iterable[str]) -> set[str]:
    """The ones of `codes` that `payer` pays only with a prior authorization on file."""
    payer_id = payer.pk if isinstance(payer, Payer) else payer
    wanted = {code.upper() for code in codes if code}
    return set(
        PriorAuthRule.objects.filter(payer_id=payer_id, code__in=wanted).values_list(
            "code", flat=True
        )
    )


# --- The page: each code's charge and every payer's expected payment -------------------------


@dataclass(frozen=True)
class FeeRow:
    code: str
    modifier: str
    description: str
    charge_cents: int
    effective_from: date
    effective_to: date | None
    expected_cents: tuple[int | None, ...]  # one per payer, in the order asked


def fees_in_force(day: date) -> QuerySet[Fee]:
    return Fee.objects.filter(_in_force(day)).order_by("code", "modifier")


def fee_table(day: date, payers: Sequence[Payer], *, facility: bool = False) -> list[FeeRow]:
    """Per fee in force on `day`: the charge and each payer's expected payment.

    A fixed number of queries whatever the number of codes and payers: the fees, the codes'
    descriptions, the contracts, their rates, and the MPFS lines and localities they need.
    """
    fees = list(fees_in_force(day))
    codes = {fee.code for fee in fees}
    described = dict(
        ProcedureCode.objects.filter(code__in=codes).values_list("code", "short_description")
    )
    contracts = {
        contract.payer_id: contract
        for contract in PayerContract.objects.filter(
            _in_force(day), payer__in=[payer.pk for payer in payers]
        )
    }
    rates: dict[tuple[int, str], dict[str, int]] = {}
    for contract_id, code, modifier, cents in ContractRate.objects.filter(
        contract__in=[c.pk for c in contracts.values()], code__in=codes
    ).values_list("contract_id", "code", "modifier", "rate_cents"):
        rates.setdefault((contract_id, code), {})[modifier] = int(cents)
    medicare = [c for c in contracts.values() if c.basis == ContractBasis.MEDICARE_PERCENT]
    rvus: dict[tuple[str, str], MpfsRvu] = {}
    gpcis: dict[tuple[str, str], MpfsGpci] = {}
    if medicare:
        rvu_release = mpfs_release(CodeSetKind.MPFS_RVU, day)
        gpci_release = mpfs_release(CodeSetKind.MPFS_GPCI, day)
        if rvu_release is not None:
            rvus = {
                (row.code, row.modifier): row
                for row in MpfsRvu.objects.filter(release=rvu_release, code__in=codes)
            }
        if gpci_release is not None:
            places = Q()
            for contract in medicare:
                places |= Q(mac=contract.mac, locality=contract.locality)
            gpcis = {
                (row.mac, row.locality): row
                for row in MpfsGpci.objects.filter(places, release=gpci_release)
            }

    def expected(contract: PayerContract | None, fee: Fee) -> int | None:
        if contract is None:
            return None
        modifiers = [fee.modifier] if fee.modifier else []
        rate = _rate_for(rates.get((contract.pk, fee.code), {}), modifiers)
        if rate is not None or contract.basis != ContractBasis.MEDICARE_PERCENT:
            return rate
        rvu = rvus.get((fee.code, pricing_modifier(modifiers)))
        gpci = gpcis.get((contract.mac, contract.locality))
        if rvu is None or gpci is None or contract.medicare_percent is None:
            return None
        amount = mpfs_amount(rvu, gpci, facility=facility)
        if amount is None:
            return None
        return _percent_of(to_cents(amount), Decimal(contract.medicare_percent))

    return [
        FeeRow(
            code=fee.code,
            modifier=fee.modifier,
            description=described.get(fee.code, ""),
            charge_cents=int(fee.charge_cents),
            effective_from=fee.effective_from,
            effective_to=fee.effective_to,
            expected_cents=tuple(expected(contracts.get(payer.pk), fee) for payer in payers),
        )
        for fee in fees
    ]
