"""The front desk's part of the demo practice."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Count

from medoffice.core import demo
from medoffice.reception import selectors
from medoffice.reception.models import FormType, Payment, ReceiptSequence, SignedForm, Stage, Visit
from medoffice.scheduling.models import Appointment

TODAY = date(2026, 3, 3)  # a Tuesday


@pytest.mark.django_db
def test_demo_fills_forms_copays_and_todays_board():
    demo.load_demo(seed=11, today=TODAY)

    assert FormType.objects.count() >= 3
    assert SignedForm.objects.values("patient").distinct().count() > 100

    completed = Appointment.objects.filter(status="completed").count()
    assert Visit.objects.filter(stage=Stage.CHECKED_OUT).count() == completed
    assert Payment.objects.count() > completed // 2
    assert not Payment.objects.filter(visit__isnull=True).exists()

    # Receipt numbers: unique, consecutive within each year, counters where they left off.
    by_year = Counter(
        number.split("-")[0] for number in Payment.objects.values_list("receipt_number", flat=True)
    )
    for row in ReceiptSequence.objects.all():
        assert by_year[str(row.year)] == row.last_number
    assert (
        Payment.objects.values("receipt_number").annotate(n=Count("pk")).filter(n__gt=1).count()
        == 0
    )

    board = selectors.flow_board(day=TODAY)
    stages = Counter(row.stage for row in board.rows)
    assert stages[Stage.CHECKED_OUT] and stages[Stage.ARRIVED] and stages[Stage.SCHEDULED]
    assert stages[Stage.ROOMED] + stages[Stage.WITH_PROVIDER] > 0
    rooms = [
        row.visit.room_id for row in board.rows if row.stage in (Stage.ROOMED, Stage.WITH_PROVIDER)
    ]
    assert len(rooms) == len(set(rooms))  # one patient per room


@pytest.mark.django_db
def test_demo_visits_arrive_on_their_day_and_the_dashboard_agrees_with_the_board():
    import zoneinfo
    from datetime import datetime, time, timedelta

    from medoffice.core.models import ApprovalRequest, ApprovalStatus
    from medoffice.core.selectors import practice_time_zone
    from medoffice.scheduling.selectors import day_summary

    demo.load_demo(seed=11, today=TODAY)
    zone = zoneinfo.ZoneInfo(practice_time_zone())

    # Every visit (completed or under way) arrives on its appointment's day, near its time.
    for arrived, start in Visit.objects.values_list("arrived_at", "appointment__start"):
        assert arrived.astimezone(zone).date() == start.astimezone(zone).date()
        assert start - timedelta(minutes=30) <= arrived <= start + timedelta(minutes=30)

    now = datetime.combine(TODAY, time(11, 30), tzinfo=zone)
    board = selectors.flow_board(day=TODAY)
    on_board = Counter(row.stage for row in board.rows)
    statuses = day_summary(TODAY)
    desk = selectors.front_desk_counts(day=TODAY, now=now)
    assert statuses.get("completed", 0) == on_board[Stage.CHECKED_OUT]  # "seen"
    assert desk["checked_in"] == sum(n for stage, n in on_board.items() if stage != Stage.SCHEDULED)
    assert desk["waiting"] == on_board[Stage.ARRIVED] + on_board[Stage.ROOMED]

    # The approvals queue shows what it is for.
    assert ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).count() >= 3


@pytest.mark.django_db
def test_demo_money_is_in_the_books_with_closed_days_and_deposits():
    from django.db.models import Sum

    from medoffice.ledger.models import JournalEntry, JournalLine
    from medoffice.ledger.selectors import trial_balance
    from medoffice.reception.models import Deposit, DepositDay, DrawerClose

    demo.load_demo(seed=11, today=TODAY)
    assert JournalEntry.objects.filter(source_type="reception.payment").count() == (
        Payment.objects.count()
    )
    balance = trial_balance()
    assert balance.balanced
    by_key = {row.account.key: row for row in balance.rows}
    assert by_key["unapplied_patient"].credit == Payment.objects.aggregate(t=Sum("amount"))["t"]
    assert by_key["bank_operating"].debit > 0 and by_key["card_clearing"].debit > 0
    closes = DrawerClose.objects.all()
    assert closes.exists() and not closes.filter(date__gte=TODAY).exists()
    assert 0 < sum(1 for close in closes if close.over_short) < closes.count() // 4
    assert Deposit.objects.exists() and DepositDay.objects.count() < closes.count()
    assert JournalLine.objects.filter(account__key="cash_over_short").aggregate(
        t=Sum("amount_cents")
    )["t"] == -sum(int(close.over_short * 100) for close in closes)
    # The processor paid all but the last card batches, less its fees: card clearing holds the
    # batches still on their way and today's card payments, nothing more.
    from medoffice.reception.models import CardSettlement

    waiting = selectors.closes_to_settle
    unsettled = sum(
        (close.counted_card for loc in {c.location for c in closes} for close in waiting(loc)),
        Decimal("0"),
    )
    from medoffice.reception.selectors import day_bounds

    today_cards = Payment.objects.filter(
        method="card", received_at__gte=day_bounds(TODAY)[0], voided_at__isnull=True
    ).aggregate(t=Sum("amount"))["t"] or Decimal("0")
    assert CardSettlement.objects.exists() and by_key["card_fees"].debit > 0
    assert by_key["card_clearing"].debit == unsettled + today_cards
    # Each patient's balance in the books is what they paid (patients with no finalized
    # visit: a self-pay visit's charges are on the patient's account too).
    from medoffice.claims.models import Encounter

    charged = set(Encounter.objects.filter(status="ready").values_list("patient_id", flat=True))
    paid = dict(
        Payment.objects.exclude(patient_id__in=charged)
        .values_list("patient_id")
        .annotate(t=Sum("amount"))
        .order_by("patient_id")
    )
    some = list(paid)[:20]
    assert some
    balances = selectors.balances_for(some)
    assert all(balances[pid] == -paid[pid] for pid in some)
