"""Cash collected at the desks: what the manager's dashboard tile shows.

Desk payments post to a location's cash drawer or to card clearing with the source
`reception.payment`; a void reverses the payment's entry. The ledger reads these by source
type alone (it imports nothing from the reception).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from medoffice.ledger.models import Account, JournalLine
from medoffice.ledger.reports import months_between

PAYMENT_SOURCE = "reception.payment"
CASH_KEYS = ("card_clearing",)  # and every location's "cash_drawer:<id>"


def _cash_accounts() -> list[int]:
    cash = Account.objects.filter(Q(key__startswith="cash_drawer:") | Q(key__in=CASH_KEYS))
    return list(cash.values_list("id", flat=True))


def _cash_lines(accounts: list[int], since: date, until: date) -> QuerySet[JournalLine]:
    """Lines on the drawers and the card clearing account posted by desk payments and by
    their reversals (voids): their sum is the cash collected, voids taken off."""
    source = Q(entry__source_type=PAYMENT_SOURCE) | Q(entry__reverses__source_type=PAYMENT_SOURCE)
    return JournalLine.objects.filter(source, account_id__in=accounts, date__range=(since, until))


@dataclass(frozen=True)
class CashCollected:
    today: date
    today_by_location: dict[str, int]
    month_by_location: dict[str, int]
    months: list[tuple[date, int]]  # oldest first, this month last

    @property
    def today_cents(self) -> int:
        return sum(self.today_by_location.values())

    @property
    def month_cents(self) -> int:
        return sum(self.month_by_location.values())


def cash_collected(today: date, *, months: int = 6) -> CashCollected:
    """Cash, checks and cards taken at the desks today and this month, by location, and the
    last `months` months' totals. Three queries."""
    month_start = today.replace(day=1)
    accounts = _cash_accounts()
    first = month_start
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    by_day = (
        _cash_lines(accounts, first, today)
        .order_by()
        .values_list("date")
        .annotate(net=Sum("amount_cents"))
    )
    totals: dict[date, int] = {}
    for day, net in by_day:  # at most one row a day
        totals[day.replace(day=1)] = totals.get(day.replace(day=1), 0) + int(net)
    per_location = (
        _cash_lines(accounts, month_start, today)
        .order_by()
        .values_list("location__name")
        .annotate(
            month=Sum("amount_cents"),
            day=Coalesce(Sum("amount_cents", filter=Q(date=today)), 0),
        )
    )
    today_by: dict[str, int] = {}
    month_by: dict[str, int] = {}
    for name, month_net, day_net in per_location:
        label = name or "No location"
        month_by[label] = month_by.get(label, 0) + int(month_net)
        today_by[label] = today_by.get(label, 0) + int(day_net)
    series = [(month, totals.get(month, 0)) for month in months_between(first, today)]
    return CashCollected(today, today_by, month_by, series)
