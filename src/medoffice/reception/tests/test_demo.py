"""The front desk's part of the demo practice."""

from __future__ import annotations

from collections import Counter
from datetime import date

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
