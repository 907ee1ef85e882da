"""The end of the day at a desk (the drawer counted and closed, the difference to cash
over/short), the bank deposit of closed days (cash and checks from the drawer to the bank) and
the card processor's payment of their card batches (card clearing to the bank, less fees)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition
from medoffice.core.models import Location, User
from medoffice.core.money import ZERO, parse_money
from medoffice.ledger import services as ledger
from medoffice.ledger.permissions import LedgerPerm
from medoffice.reception.models import (
    CardSettlement,
    CardSettlementDay,
    Deposit,
    DepositDay,
    DrawerClose,
)
from medoffice.reception.payments import looks_like_card_number
from medoffice.reception.postings import (
    card_settlement_posting,
    deposit_posting,
    drawer_close_posting,
)
from medoffice.reception.selectors import checks_of_closes, drawer_day, local_today
from medoffice.reception.services.desk import lock_drawer


def _count(value: object, field: str, label: str, empty: str = "") -> Decimal:
    """An amount of money, none below zero; left empty, it is refused with `empty` (by default:
    type the amount counted)."""
    if value is None or str(value).strip() == "":
        raise InvalidInput(
            empty or f"{label} is missing: type the amount counted (0.00 if none).", field=field
        )
    return parse_money(value, field=field, label=label, minimum=ZERO)


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > 200:
        raise InvalidInput("note: keep the note to 200 characters.", field="note")
    if looks_like_card_number(note):
        raise InvalidInput("note: never record a card number.", field="note")
    return note


_Carrier = TypeVar("_Carrier", Deposit, CardSettlement)
_Day = TypeVar("_Day", DepositDay, CardSettlementDay)


@dataclass(frozen=True)
class _Carrying(Generic[_Carrier, _Day]):
    """What carries closed days (a deposit, a card settlement), the rows that link a day to it
    (`days`, their `field` naming it), and its refusals in words."""

    model: type[_Carrier]
    days: type[_Day]
    field: str
    other_location: str  # {location}
    taken: str  # {day}, and {carrier}: the one that has it
    early: str
    raced: str


_DEPOSIT = _Carrying(
    Deposit,
    DepositDay,
    "deposit",
    other_location="days: choose closed days of {location} only.",
    taken="days: {day:%m/%d/%Y} is in deposit {carrier} already.",
    early="date: a deposit cannot be dated before the days it carries.",
    raced="days: one of these days went into another deposit just now.",
)
_SETTLEMENT = _Carrying(
    CardSettlement,
    CardSettlementDay,
    "settlement",
    other_location="Choose closed days of {location} only.",
    taken="The card batch of {day:%m/%d/%Y} is in card settlement {carrier} already.",
    early="A settlement cannot be dated before the days whose batches it pays.",
    raced="One of these card batches went into another settlement just now.",
)


def _carry_closes(
    how: _Carrying[_Carrier, _Day],
    location: Location,
    ids: list[int],
    day: date,
    *,
    made_by: User,
    now: datetime,
    note: str,
    amounts: Callable[[list[DrawerClose]], dict[str, Any]],
) -> _Carrier:
    """Closed days of `location` carried by one deposit or settlement dated `day`, each day
    once: the closes are locked; a close of another location, one carried already or one after
    `day` is refused; `amounts` checks the closes' money and gives the carrier's amounts; the
    carrier is saved with a row linking each close to it. A close taken by another carrier at
    the same moment is refused."""
    closes = list(
        DrawerClose.objects.select_for_update()
        .filter(pk__in=ids, location=location)
        .order_by("date")
    )
    if len(closes) != len(ids):
        raise InvalidInput(how.other_location.format(location=location.name), field="days")
    for already in how.days.objects.filter(drawer_close__in=closes).select_related("drawer_close"):
        raise Conflict(
            how.taken.format(
                day=already.drawer_close.date, carrier=getattr(already, f"{how.field}_id")
            ),
            field="days",
        )
    if any(close.date > day for close in closes):
        raise InvalidInput(how.early, field="date")
    carried = how.model(
        location=location, date=day, made_at=now, made_by=made_by, note=note, **amounts(closes)
    )
    carried.save(force_insert=True)
    try:
        with transaction.atomic():
            how.days.objects.bulk_create(
                [how.days(**{how.field: carried, "drawer_close": close}) for close in closes]
            )
    except IntegrityError:  # another carrier took one of these closes beside this one
        raise Conflict(how.raced, field="days") from None
    return carried


@transaction.atomic
@binds_actor("closed_by")
def drawer_close(
    *,
    location: Location,
    day: date,
    counted_cash: object,
    counted_checks: object,
    counted_card: object,
    closed_by: User,
    note: str = "",
    now: datetime | None = None,
) -> DrawerClose:
    """Close a location's drawer for a day: the expected totals from the day's payments and
    cash refunds, the amounts counted, the difference posted to cash over/short. Once a day:
    closing again is refused, also when two people close at the same moment."""
    require_perm(closed_by, LedgerPerm.CLOSE_DRAWER)
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    counts: dict[str, Decimal] = {}
    for field, value, label in (
        ("counted_cash", counted_cash, "Cash counted"),
        ("counted_checks", counted_checks, "Checks counted"),
        ("counted_card", counted_card, "Card batch total"),
    ):
        try:
            counts[field] = _count(value, field, label)
        except InvalidInput as exc:
            errors[field] = [exc.message]
    try:
        note = _note(note)
    except InvalidInput as exc:
        errors["note"] = [exc.message]
    if day > local_today(now):
        errors["date"] = [f"{day:%m/%d/%Y} has not come yet; a drawer closes at the end of it."]
    if errors:
        words = {
            "counted_cash": "cash counted", "counted_checks": "checks counted",
            "counted_card": "card batch total", "note": "note", "date": "date",
        }  # fmt: skip
        raise InvalidInput(
            "Drawer not closed: check the " + ", ".join(words[f] for f in errors) + ".",
            errors=errors,
        )
    lock_drawer(location)
    existing = DrawerClose.objects.filter(location=location, date=day).first()
    if existing is not None:
        raise InvalidTransition(
            f"The drawer at {location.name} for {day:%m/%d/%Y} was closed already "
            f"by {existing.closed_by}.",
            field="date",
        )
    today = drawer_day(location, day)
    if day < local_today(now) and not today.has_activity:
        raise InvalidInput(
            f"There was no money at {location.name} on {day:%m/%d/%Y}: a past day closes only "
            "when it had payments or refunds (today's drawer closes whatever it holds).",
            field="date",
        )
    closed = ledger.closed_period_for(day)
    if closed is not None:
        raise InvalidTransition(
            f"{ledger.closed_words(day, closed)} in the books; its drawers cannot close now.",
            field="date",
        )
    close = DrawerClose(
        location=location,
        date=day,
        expected_cash=today.expected_cash,
        expected_checks=today.expected_checks,
        expected_card=today.expected_card,
        check_count=len(today.checks),
        note=note,
        closed_at=now,
        closed_by=closed_by,
        **counts,
    )
    try:
        with transaction.atomic():
            close.save(force_insert=True)
    except IntegrityError:  # a close of the same drawer and day committed beside this one
        raise InvalidTransition(
            f"The drawer at {location.name} for {day:%m/%d/%Y} was closed already.", field="date"
        ) from None
    posting = drawer_close_posting(close)
    if posting is not None:
        ledger.post(posting, actor=closed_by)
    return close


@transaction.atomic
@binds_actor("made_by")
def deposit_make(
    *,
    location: Location,
    close_ids: Sequence[int],
    made_by: User,
    day: date | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Deposit:
    """Carry the cash and checks of closed days at a location to the bank: one deposit, its
    entry (Dr the operating bank, Cr the drawer), each close at most once. Card money is not
    deposited: the processor pays it to the bank."""
    require_perm(made_by, LedgerPerm.CLOSE_DRAWER)
    now = now or timezone.now()
    day = day or local_today(now)
    note = _note(note)
    ids = sorted({int(pk) for pk in close_ids})
    if not ids:
        raise InvalidInput("days: choose the closed days going to the bank.", field="days")

    def amounts(closes: list[DrawerClose]) -> dict[str, Any]:
        cash = sum((close.counted_cash for close in closes), ZERO)
        checks = sum((close.counted_checks for close in closes), ZERO)
        if cash + checks <= 0:
            raise InvalidInput("days: there is no cash or check in the days chosen.", field="days")
        return {"cash": cash, "checks": checks, "check_count": len(checks_of_closes(closes))}

    deposit = _carry_closes(
        _DEPOSIT, location, ids, day, made_by=made_by, now=now, note=note, amounts=amounts
    )
    ledger.post(deposit_posting(deposit), actor=made_by)
    return deposit


@transaction.atomic
@binds_actor("made_by")
def card_settlement_record(
    *,
    location: Location,
    close_ids: Sequence[int],
    net: object,
    made_by: User,
    day: date | None = None,
    reference: str = "",
    note: str = "",
    now: datetime | None = None,
) -> CardSettlement:
    """Record the card processor's payment into the bank for closed days' card batches: what
    arrived (`net`), the batches' total, the fees as the difference. Its entry clears card
    clearing (Dr bank, Dr card fees, Cr card clearing); each batch is settled at most once."""
    require_perm(made_by, LedgerPerm.CLOSE_DRAWER)
    now = now or timezone.now()
    day = day or local_today(now)
    note = _note(note)
    reference = (reference or "").strip()
    if looks_like_card_number(reference) or len(reference) > 40:
        raise InvalidInput(
            "Check the reference: the processor's deposit reference, up to 40 characters, "
            "never a card number.",
            field="reference",
        )
    paid = _count(
        net, "net", "Amount paid into the bank", "Type the amount the processor paid into the bank."
    )
    ids = sorted({int(pk) for pk in close_ids})
    if not ids:
        raise InvalidInput("Choose the closed days whose card batches were paid.", field="days")
    if day > local_today(now):
        raise InvalidInput(f"{day:%m/%d/%Y} has not come yet.", field="date")

    def amounts(closes: list[DrawerClose]) -> dict[str, Any]:
        gross = sum((close.counted_card for close in closes), ZERO)
        if gross <= 0:
            raise InvalidInput("There is no card batch in the days chosen.", field="days")
        if paid <= 0:
            raise InvalidInput(
                "Type what reached the bank: a settlement of $0.00 would make the whole batch "
                "fees.",
                field="net",
            )
        if paid > gross:
            raise InvalidInput(
                f"${paid:,.2f} is more than the batches chosen (${gross:,.2f}): choose every "
                "day this payment covers.",
                field="net",
            )
        if (gross - paid) * 10 > gross:
            raise InvalidInput(
                f"${gross - paid:,.2f} in fees is more than a tenth of the batches "
                f"(${gross:,.2f}): check the amount paid, or choose only the days this payment "
                "covers.",
                field="net",
            )
        return {"gross": gross, "fees": gross - paid, "net": paid, "reference": reference}

    settlement = _carry_closes(
        _SETTLEMENT, location, ids, day, made_by=made_by, now=now, note=note, amounts=amounts
    )
    ledger.post(card_settlement_posting(settlement), actor=made_by)
    return settlement
