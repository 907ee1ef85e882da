"""The end of the day at a desk (the drawer counted and closed, the difference to cash
over/short), the bank deposit of closed days (cash and checks from the drawer to the bank) and
the card processor's payment of their card batches (card clearing to the bank, less fees)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

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


def _count(value: object, field: str, label: str) -> Decimal:
    if value is None or str(value).strip() == "":
        raise InvalidInput(
            f"{label} is missing: type the amount counted (0.00 if none).", field=field
        )
    return parse_money(value, field=field, label=label, minimum=ZERO)


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > 200:
        raise InvalidInput("note: keep the note to 200 characters.", field="note")
    if looks_like_card_number(note):
        raise InvalidInput("note: never record a card number.", field="note")
    return note


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
    closes = list(
        DrawerClose.objects.select_for_update()
        .filter(pk__in=ids, location=location)
        .order_by("date")
    )
    if len(closes) != len(ids):
        raise InvalidInput(f"days: choose closed days of {location.name} only.", field="days")
    taken = DepositDay.objects.filter(drawer_close__in=closes).select_related("drawer_close")
    for already in taken:
        raise Conflict(
            f"days: {already.drawer_close.date:%m/%d/%Y} is in deposit {already.deposit_id} "
            "already.",
            field="days",
        )
    if any(close.date > day for close in closes):
        raise InvalidInput(
            "date: a deposit cannot be dated before the days it carries.", field="date"
        )
    cash = sum((close.counted_cash for close in closes), ZERO)
    checks = sum((close.counted_checks for close in closes), ZERO)
    if cash + checks <= 0:
        raise InvalidInput("days: there is no cash or check in the days chosen.", field="days")
    deposit = Deposit(
        location=location,
        date=day,
        cash=cash,
        checks=checks,
        check_count=len(checks_of_closes(closes)),
        made_at=now,
        made_by=made_by,
        note=note,
    )
    deposit.save(force_insert=True)
    try:
        with transaction.atomic():
            DepositDay.objects.bulk_create(
                [DepositDay(deposit=deposit, drawer_close=close) for close in closes]
            )
    except IntegrityError:  # another deposit took one of these days beside this one
        raise Conflict(
            "days: one of these days went into another deposit just now.", field="days"
        ) from None
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
    if net is None or str(net).strip() == "":
        raise InvalidInput("Type the amount the processor paid into the bank.", field="net")
    paid = parse_money(net, field="net", label="Amount paid into the bank", minimum=ZERO)
    ids = sorted({int(pk) for pk in close_ids})
    if not ids:
        raise InvalidInput("Choose the closed days whose card batches were paid.", field="days")
    if day > local_today(now):
        raise InvalidInput(f"{day:%m/%d/%Y} has not come yet.", field="date")
    closes = list(
        DrawerClose.objects.select_for_update()
        .filter(pk__in=ids, location=location)
        .order_by("date")
    )
    if len(closes) != len(ids):
        raise InvalidInput(f"Choose closed days of {location.name} only.", field="days")
    taken = CardSettlementDay.objects.filter(drawer_close__in=closes).select_related("drawer_close")
    for already in taken:
        raise Conflict(
            f"The card batch of {already.drawer_close.date:%m/%d/%Y} is in card settlement "
            f"{already.settlement_id} already.",
            field="days",
        )
    if any(close.date > day for close in closes):
        raise InvalidInput(
            "A settlement cannot be dated before the days whose batches it pays.", field="date"
        )
    gross = sum((close.counted_card for close in closes), ZERO)
    if gross <= 0:
        raise InvalidInput("There is no card batch in the days chosen.", field="days")
    if paid <= 0:
        raise InvalidInput(
            "Type what reached the bank: a settlement of $0.00 would make the whole batch fees.",
            field="net",
        )
    if paid > gross:
        raise InvalidInput(
            f"${paid:,.2f} is more than the batches chosen (${gross:,.2f}): choose every day "
            "this payment covers.",
            field="net",
        )
    if (gross - paid) * 10 > gross:
        raise InvalidInput(
            f"${gross - paid:,.2f} in fees is more than a tenth of the batches (${gross:,.2f}): "
            "check the amount paid, or choose only the days this payment covers.",
            field="net",
        )
    settlement = CardSettlement(
        location=location,
        date=day,
        gross=gross,
        fees=gross - paid,
        net=paid,
        reference=reference,
        made_at=now,
        made_by=made_by,
        note=note,
    )
    settlement.save(force_insert=True)
    try:
        with transaction.atomic():
            CardSettlementDay.objects.bulk_create(
                [CardSettlementDay(settlement=settlement, drawer_close=close) for close in closes]
            )
    except IntegrityError:  # another settlement took one of these batches beside this one
        raise Conflict(
            "One of these card batches went into another settlement just now.", field="days"
        ) from None
    ledger.post(card_settlement_posting(settlement), actor=made_by)
    return settlement
