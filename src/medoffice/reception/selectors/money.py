"""Reads of the desk's money: balances from the books, payments, refunds and the patient's
account activity; the drawer's day and the closed days to deposit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet, Sum

from medoffice.core.models import Location
from medoffice.reception.models import (
    CardSettlement,
    DepositDay,
    DrawerClose,
    Payment,
    PaymentMethod,
    Refund,
    RefundStatus,
)

if TYPE_CHECKING:
    from medoffice.patients.models import Patient

from medoffice.reception.selectors.common import CENT, ZERO, day_bounds, local_today, practice_zone

# --- Balances -----------------------------------------------------------------------------

# Each source gives, for a set of patients, the amount it adds to what they owe (charges are
# positive, payments negative). The books are the one source: the desk's payments, voids and
# refunds post there, and so will the claims module's charges and insurance payments.
BalanceSource = Callable[[list[int]], dict[int, Decimal]]
_balance_sources: list[BalanceSource] = []
_charge_sources: list[BalanceSource] = []


def register_balance_source(source: BalanceSource, *, adds_charges: bool = False) -> None:
    """`adds_charges`: the source posts what patients are billed (not only what they paid)."""
    if source not in _balance_sources:
        _balance_sources.append(source)
    if adds_charges and source not in _charge_sources:
        _charge_sources.append(source)


def charges_are_posted() -> bool:
    """Whether any module posts charges yet; until one does, money received is simply paid,
    and a negative balance is no credit to refund."""
    return bool(_charge_sources)


def balance_text(amount: Decimal) -> str:
    """What the patient owes, or has paid, or the credit on their account, in words."""
    from medoffice.core.formats import money

    if amount > 0:
        return f"{money(amount)} due"
    if amount < 0:
        if not charges_are_posted():
            return f"{money(-amount)} paid (no charges posted yet)"
        return f"{money(-amount)} credit"
    return money(ZERO)


def _patient_accounts(patient_ids: list[int]) -> dict[int, Decimal]:
    """The patient accounts in the books (patient A/R less unapplied payments), summed by the
    database in whole cents: what the desk took, less voids and refunds, plus what is billed."""
    from medoffice.ledger.selectors import patient_account_cents

    return {
        pid: (Decimal(cents) * CENT).quantize(CENT)
        for pid, cents in patient_account_cents(patient_ids).items()
    }


register_balance_source(_patient_accounts)


def balances_for(patient_ids: Iterable[int]) -> dict[int, Decimal]:
    """What each patient owes (negative: a credit on account); one query per source."""
    ids = list(set(patient_ids))
    balances = {pid: ZERO for pid in ids}
    if not ids:
        return balances
    for source in _balance_sources:
        for pid, amount in source(ids).items():
            balances[pid] = balances.get(pid, ZERO) + amount
    # SQLite sums decimals as binary floats: 12.34 + 5 + 12 comes back as 29.3400000000000.
    return {pid: amount.quantize(CENT, rounding=ROUND_HALF_UP) for pid, amount in balances.items()}


def patient_balance(patient: Patient) -> Decimal:
    """What the patient owes the practice now; negative when they have a credit."""
    return balances_for([patient.pk])[patient.pk]


def payments_of(patient: Patient, limit: int = 50) -> QuerySet[Payment]:
    return Payment.objects.filter(patient=patient).select_related(
        "received_by", "visit", "voided_by"
    )[:limit]


def may_void(payment: Payment) -> bool:
    """Whether the void form is worth showing: today's, not void, its drawer still open."""
    if payment.is_void or payment.received_at.astimezone(practice_zone()).date() != local_today():
        return False
    return not DrawerClose.objects.filter(
        location_id=payment.location_id, date=local_today()
    ).exists()


def refunds_of(patient: Patient, limit: int = 50) -> QuerySet[Refund]:
    return Refund.objects.filter(patient=patient).select_related("requested_by", "location")[:limit]


def refund_with_details(pk: int | str) -> QuerySet[Refund]:
    return Refund.objects.filter(pk=pk).select_related(
        "patient", "requested_by", "paid_by", "location", "approval__decided_by"
    )


def refundable_credit(patient_id: int) -> Decimal:
    """The credit a refund may give back: what the patient has paid ahead (their account below
    zero), less refunds asked for and not yet approved (approved ones are in the books)."""
    balance = balances_for([patient_id])[patient_id]
    waiting = (
        Refund.objects.filter(patient_id=patient_id, status=RefundStatus.REQUESTED).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    return max(-balance - Decimal(waiting), ZERO).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AccountActivity:
    """One line of a patient's account in the books: a payment, a void, a refund, a charge."""

    date: date
    memo: str
    source_key: str
    amount: Decimal  # what it adds to what the patient owes (a payment is negative)


def account_activity(patient: Patient, limit: int = 200) -> list[AccountActivity]:
    """The patient account's lines in the books, newest first (one query)."""
    from medoffice.ledger.models import JournalLine
    from medoffice.ledger.selectors import PATIENT_ACCOUNT_KEYS

    rows = (
        JournalLine.objects.filter(patient=patient, account__key__in=PATIENT_ACCOUNT_KEYS)
        .order_by("-date", "-entry_id", "-id")
        .values_list("date", "entry__memo", "entry__source_key", "amount_cents")[:limit]
    )
    return [
        AccountActivity(day, memo, key, (Decimal(cents) * CENT).quantize(CENT))
        for day, memo, key, cents in rows
    ]


def payment_with_details(pk: int | str) -> QuerySet[Payment]:
    return Payment.objects.filter(pk=pk).select_related(
        "patient",
        "received_by",
        "location",
        "visit__appointment__provider",
    )


# --- The drawer and the bank deposit -----------------------------------------------------


@dataclass
class DrawerDay:
    """What one location's drawer should hold at the end of a day, from its money."""

    location: Location
    day: date
    payments: list[Payment]  # the day's payments at the desk, voided ones too
    refunds: list[Refund]  # refunds paid out at this desk that day, in cash or to a card
    close: DrawerClose | None

    def _total(self, method: str) -> Decimal:
        return sum((p.amount for p in self.payments if p.method == method and not p.is_void), ZERO)

    @property
    def cash_refunds(self) -> list[Refund]:
        return [r for r in self.refunds if r.method == PaymentMethod.CASH]

    @property
    def card_refunds(self) -> list[Refund]:
        return [r for r in self.refunds if r.method == PaymentMethod.CARD]

    @property
    def expected_cash(self) -> Decimal:
        return self._total(PaymentMethod.CASH) - sum((r.amount for r in self.cash_refunds), ZERO)

    @property
    def expected_checks(self) -> Decimal:
        return self._total(PaymentMethod.CHECK)

    @property
    def expected_card(self) -> Decimal:
        """The terminal's batch: the day's card payments less the refunds back to cards."""
        return self._total(PaymentMethod.CARD) - sum((r.amount for r in self.card_refunds), ZERO)

    def expected(self, method: str) -> Decimal:
        """What the day holds of one method: its cash, its checks or its card batch."""
        return {
            PaymentMethod.CASH: self.expected_cash,
            PaymentMethod.CHECK: self.expected_checks,
            PaymentMethod.CARD: self.expected_card,
        }[PaymentMethod(method)]

    @property
    def has_activity(self) -> bool:
        return bool(self.payments or self.refunds)

    @property
    def checks(self) -> list[Payment]:
        return [p for p in self.payments if p.method == PaymentMethod.CHECK and not p.is_void]

    @property
    def voided(self) -> list[Payment]:
        return [p for p in self.payments if p.is_void]


def drawer_day(location: Location, day: date) -> DrawerDay:
    """The day's payments and the refunds paid out at a location (cash from the drawer, or
    back to a card through its terminal), and its close if any."""
    start, end = day_bounds(day)
    payments = list(
        Payment.objects.filter(location=location, received_at__gte=start, received_at__lt=end)
        .select_related("patient", "received_by")
        .order_by("received_at", "pk")
    )
    refunds = list(
        Refund.objects.filter(
            location=location,
            method__in=(PaymentMethod.CASH, PaymentMethod.CARD),
            status=RefundStatus.PAID,
            paid_at__gte=start,
            paid_at__lt=end,
        ).select_related("patient")
    )
    close = (
        DrawerClose.objects.filter(location=location, date=day).select_related("closed_by").first()
    )
    return DrawerDay(location, day, payments, refunds, close)


def closes_to_deposit(location: Location) -> QuerySet[DrawerClose]:
    """Closed days at a location whose cash and checks have not gone to the bank yet (a day
    that counted neither has nothing to carry)."""
    return (
        DrawerClose.objects.filter(location=location, deposit_day__isnull=True)
        .exclude(counted_cash=0, counted_checks=0)
        .select_related("closed_by")
        .order_by("date")
    )


def checks_of_closes(closes: Iterable[DrawerClose]) -> list[Payment]:
    """The checks taken on closed days (not voided), for the deposit slip; one query."""
    conditions = Q(pk__in=[])
    for close in closes:
        start, end = day_bounds(close.date)
        conditions |= Q(location_id=close.location_id, received_at__gte=start, received_at__lt=end)
    return list(
        Payment.objects.filter(conditions, method=PaymentMethod.CHECK, voided_at__isnull=True)
        .select_related("patient")
        .order_by("received_at", "pk")
    )


def deposit_closes(deposit_id: int) -> list[DrawerClose]:
    return [
        day.drawer_close
        for day in DepositDay.objects.filter(deposit_id=deposit_id)
        .select_related("drawer_close")
        .order_by("drawer_close__date")
    ]


def closes_to_settle(location: Location) -> QuerySet[DrawerClose]:
    """A location's closed days whose card batch the processor has not paid yet, oldest first."""
    return (
        DrawerClose.objects.filter(
            location=location, counted_card__gt=0, card_settlement_day__isnull=True
        )
        .select_related("closed_by")
        .order_by("date")
    )


def card_settlements(location: Location, limit: int = 20) -> QuerySet[CardSettlement]:
    return CardSettlement.objects.filter(location=location).select_related("made_by")[:limit]
