"""The books' dashboard tiles: cash collected at the desks today and this month, by location,
with the last six months as a bar chart."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from medoffice.core.formats import money
from medoffice.core.tile_registry import Bar, Tile, TileProvider, register
from medoffice.ledger.models import to_dollars
from medoffice.ledger.permissions import LedgerPerm


def _money(cents: int) -> str:
    return money(to_dollars(cents))


def _cash(user) -> list[Tile]:
    from medoffice.ledger.reports import cash_collected

    today = timezone.localdate()
    cash = cash_collected(today)
    top = max([abs(cents) for _, cents in cash.months] + [1])
    bars = tuple(
        Bar(month.strftime("%b"), _money(cents), max(0, round(100 * cents / top)))
        for month, cents in cash.months
    )
    books = reverse("ledger:home")
    return [
        Tile(
            "Cash collected today",
            _money(cash.today_cents),
            "cash, checks and cards taken at the desks, voids taken off",
            books,
            section="money",
            breakdown=tuple(
                (name, _money(cents)) for name, cents in sorted(cash.today_by_location.items())
            ),
        ),
        Tile(
            "Cash collected this month",
            _money(cash.month_cents),
            f"{today:%B %Y} to date",
            books,
            section="money",
            breakdown=tuple(
                (name, _money(cents)) for name, cents in sorted(cash.month_by_location.items())
            ),
            bars=bars,
            bars_caption="Cash collected, last six months",
        ),
    ]


register(TileProvider("ledger", (LedgerPerm.VIEW_BOOKS,), _cash, order=40))
