"""JSON API of the fee schedule and payer contracts: /api/coding/fees, /contracts and
/expected-payment (the pages' permissions: `coding.view` to read, `coding.manage_fees` to set).

Setting a fee moves what every later charge is: it honours an Idempotency-Key header
(docs/adr/0010), so a retry with the same key returns the first answer and writes nothing.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated

from django.db.models import Q
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from medoffice.coding import fees, pricing
from medoffice.coding.models import Fee, PayerContract
from medoffice.coding.permissions import CodingPerm
from medoffice.core.api_auth import requires, user_of
from medoffice.core.dates import Day
from medoffice.core.exceptions import NotFound
from medoffice.core.idempotency import honour_keys, idempotent
from medoffice.core.money import ZERO, MoneyRange
from medoffice.patients.models import Payer

router = Router(tags=["coding"])
router.add_decorator(honour_keys, mode="view")

MAX_FEES = 5000
Charge = Annotated[
    Decimal, MoneyRange(minimum=ZERO, description='dollars and cents, e.g. "150.00"; 0 allowed')
]


def dollars(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


class FeeOut(Schema):
    id: int
    code: str
    modifier: str
    charge: Decimal
    effective_from: date
    effective_to: date | None


class FeeFilters(Schema):
    code: str | None = Field(None, max_length=5)
    day: Day | None = Field(None, description="only the fees in force on this day")
    limit: int = Field(1000, ge=1, le=MAX_FEES)


class FeeIn(Schema):
    code: str = Field(..., max_length=5, description="CPT or HCPCS code, e.g. 99213")
    modifier: str = Field("", max_length=2)
    charge: Charge
    effective_from: Day


def _fee_out(fee: Fee) -> dict:
    return {
        "id": fee.pk,
        "code": fee.code,
        "modifier": fee.modifier,
        "charge": dollars(int(fee.charge_cents)),
        "effective_from": fee.effective_from,
        "effective_to": fee.effective_to,
    }


@router.get("/fees", response=list[FeeOut], summary="The practice's fee schedule")
@requires(CodingPerm.VIEW)
def fee_list(request, filters: Query[FeeFilters]):
    found = Fee.objects.order_by("code", "modifier", "-effective_from")
    if filters.code:
        found = found.filter(code=filters.code.strip().upper())
    if filters.day is not None:
        found = pricing.fees_in_force(filters.day)
        if filters.code:
            found = found.filter(code=filters.code.strip().upper())
    return [_fee_out(fee) for fee in found[: filters.limit]]


@router.post("/fees", response={201: FeeOut}, summary="Set a fee from a day on")
@requires(CodingPerm.MANAGE_FEES)
@idempotent
def fee_set(request, payload: FeeIn):
    """The fee in force before the day ends the day before; a fee already starting on that
    day is corrected. Send an Idempotency-Key to make a retry safe."""
    fee = fees.fee_set(
        actor=user_of(request),
        code=payload.code,
        modifier=payload.modifier,
        charge=payload.charge,
        effective_from=payload.effective_from,
    )
    return Status(201, _fee_out(fee))


class ContractOut(Schema):
    id: int
    payer_id: int
    payer: str
    name: str
    basis: str
    medicare_percent: Decimal | None
    mac: str
    locality: str
    effective_from: date
    effective_to: date | None
    rates: int = Field(..., description="how many per-code rates it has")


class ContractFilters(Schema):
    payer_id: int | None = None
    day: Day | None = Field(None, description="only the contracts in force on this day")


@router.get("/contracts", response=list[ContractOut], summary="Payer contracts")
@requires(CodingPerm.VIEW)
def contract_list(request, filters: Query[ContractFilters]):
    from django.db.models import Count

    found = PayerContract.objects.select_related("payer").annotate(rate_count=Count("rates"))
    if filters.payer_id is not None:
        found = found.filter(payer_id=filters.payer_id)
    if filters.day is not None:
        found = found.filter(effective_from__lte=filters.day).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=filters.day)
        )
    return [
        {
            "id": c.pk,
            "payer_id": c.payer_id,
            "payer": c.payer.name,
            "name": c.name,
            "basis": c.basis,
            "medicare_percent": c.medicare_percent,
            "mac": c.mac,
            "locality": c.locality,
            "effective_from": c.effective_from,
            "effective_to": c.effective_to,
            "rates": c.rate_count,
        }
        for c in found
    ]


class ExpectedQuery(Schema):
    payer_id: int
    code: str = Field(..., max_length=5)
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    day: Day | None = Field(None, description="the date of service; today by default")
    place_of_service: str = Field("11", max_length=2, description="CMS code, e.g. 11 (office)")


class ExpectedOut(Schema):
    payer_id: int
    code: str
    modifiers: list[str]
    day: date
    place_of_service: str
    facility: bool
    charge: Decimal | None = Field(..., description="the practice's fee; null when none is set")
    contract_id: int | None
    expected: Decimal | None = Field(..., description="null when no contract prices the code")


@router.get("/expected-payment", response=ExpectedOut,
            summary="The practice's charge and a payer's expected payment for a code")  # fmt: skip
@requires(CodingPerm.VIEW)
def expected_payment(request, query: Query[ExpectedQuery]):
    payer = Payer.objects.filter(pk=query.payer_id).first()
    if payer is None:
        raise NotFound(f"No payer {query.payer_id}.")
    day = query.day or timezone.localdate()
    code = fees.clean_code(query.code)
    modifiers = [fees.clean_modifier(m, field="modifiers") for m in query.modifiers if m]
    place = pricing.place_of_service(query.place_of_service)
    contract = pricing.contract_in_force(payer, day)
    return {
        "payer_id": payer.pk,
        "code": code,
        "modifiers": modifiers,
        "day": day,
        "place_of_service": place.code,
        "facility": place.is_facility,
        "charge": dollars(pricing.fee_cents(code, modifiers, day)),
        "contract_id": contract.pk if contract is not None else None,
        "expected": dollars(pricing.expected_payment_cents(payer, code, modifiers, day, place)),
    }
