"""The manager's cash tile: desk payments to the drawers and card clearing, voids taken off,
by location, with six months of bars (and the same figures as a table)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.ledger import reports, services
from medoffice.ledger.services import Line, Posting
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


def _months_back(day: dt.date, n: int) -> dt.date:
    for _ in range(n):
        day = (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return day


@pytest.fixture
def desk_money(users, practice):
    north, south = factories.location(name="North"), factories.location(name="South")
    patient = pf.patient()
    manager = users["manager"]
    today = timezone.localdate()

    def payment(n, amount, day, location, account="cash_drawer", source="reception.payment"):
        return services.post(
            Posting(
                source_type=source, source_id=str(n), date=day, location=location,
                lines=[Line(account, debit=amount),
                       Line("unapplied_patient", credit=amount, patient=patient)],
            ),
            actor=manager,
        )  # fmt: skip

    payment(1, "40.00", today, north)
    payment(2, "25.00", today, south, account="card_clearing")
    mistaken = payment(3, "30.00", today, north)
    services.reverse(mistaken, actor=manager, on=today, event="void")
    payment(4, "15.00", today.replace(day=1) if today.day > 1 else today, south)
    payment(5, "100.00", _months_back(today, 2), north)
    payment(6, "999.00", today, north, source="tests.other")  # not a desk payment
    payment(7, "7.00", _months_back(today, 7), north)  # older than the chart
    # Money leaving the drawer for the bank is not collected cash either.
    services.post(
        Posting(
            source_type="reception.deposit", source_id="1", date=today, location=north,
            lines=[Line("bank_operating", debit="40.00"), Line("cash_drawer", credit="40.00")],
        ),
        actor=manager,
    )  # fmt: skip
    return {"today": today}


def test_cash_collected_counts_desk_payments_less_their_voids(desk_money):
    today = desk_money["today"]
    cash = reports.cash_collected(today)
    assert cash.today_by_location == (
        {"North": 4000, "South": 2500 + 1500} if today.day == 1 else {"North": 4000, "South": 2500}
    )
    assert cash.month_by_location == {"North": 4000, "South": 4000}
    assert [month for month, _ in cash.months][-1] == today.replace(day=1)
    assert len(cash.months) == 6
    series = dict(cash.months)
    assert series[today.replace(day=1)] == 8000
    assert series[_months_back(today, 2)] == 10000
    assert sum(series.values()) == 18000  # the payment seven months back is not in the chart


def test_the_dashboard_shows_the_tile_with_an_accessible_chart(client_for, desk_money):
    page = client_for("manager").get(reverse("dashboard:home"))
    assert page.status_code == 200
    tiles = {tile.title: tile for _, group in page.context["sections"] for tile in group}
    month = tiles["Cash collected this month"]
    assert month.figure == "$80.00"
    assert dict(month.breakdown) == {"North": "$40.00", "South": "$40.00"}
    assert [bar.percent for bar in month.bars][-1] == 80 and max(
        b.percent for b in month.bars
    ) == 100
    html = page.content.decode()
    assert 'role="img"' in html and "Cash collected, last six months:" in html
    assert (
        '<table class="visually-hidden"><caption>Cash collected, last six months</caption>' in html
    )
    assert "$100.00" in html  # the chart's figures are in the table too


def test_the_tile_is_for_those_who_see_the_books(client_for, desk_money):
    page = client_for("front_desk").get(reverse("dashboard:home"))
    titles = {tile.title for _, group in page.context["sections"] for tile in group}
    assert "Cash collected today" not in titles
