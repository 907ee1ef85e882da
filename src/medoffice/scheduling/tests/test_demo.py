"""Scheduling's part of the demo practice: realistic outcomes, cells in step, setup in place."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Count, Exists, F, OuterRef

from medoffice.core import demo
from medoffice.scheduling.models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentType,
    Closure,
    Occupancy,
    ScheduleTemplate,
    WaitlistEntry,
)

TODAY = date(2026, 3, 3)  # a Tuesday


@pytest.mark.django_db
def test_demo_schedule_has_realistic_outcomes_and_consistent_cells():
    demo.load_demo(seed=7, today=TODAY)

    assert AppointmentType.objects.filter(code="new-patient", duration_minutes=40).exists()
    assert AppointmentType.objects.get(code="procedure").rooms.exists()
    assert ScheduleTemplate.objects.count() >= 8
    assert Closure.objects.count() >= 3
    assert WaitlistEntry.objects.exists()

    past = Appointment.objects.filter(start__date__lt=TODAY)
    total = past.count()
    assert total > 2000
    share = {
        row["status"]: row["n"] / total for row in past.values("status").annotate(n=Count("pk"))
    }
    assert 0.05 <= share["no_show"] <= 0.09
    assert 0.08 <= share["cancelled"] <= 0.12
    assert share["completed"] > 0.75
    assert Appointment.objects.filter(start__date__gt=TODAY, status="booked").exists()

    # Every appointment holding time has exactly its cells; the others have none.
    holding = Appointment.objects.filter(status__in=HOLDING_STATUSES)
    minutes = sum(
        (a.end - a.start).total_seconds() // 60 for a in holding.only("start", "end").iterator()
    )
    assert Occupancy.objects.count() == minutes // 5
    assert not Occupancy.objects.exclude(appointment__status__in=HOLDING_STATUSES).exists()
    # Every cell carries its appointment's patient (the unique (patient, cell) rule holds).
    assert not Occupancy.objects.exclude(patient_id=F("appointment__patient_id")).exists()


@pytest.mark.django_db
def test_demo_books_no_patient_twice_at_once():
    """No two appointments of one patient overlap, counted on the appointments themselves
    (not the cells), among those holding time and among all of them."""
    demo.load_demo(seed=7, today=TODAY)
    assert Appointment.objects.count() > 2000
    for statuses in (HOLDING_STATUSES, None):
        mine = Appointment.objects.filter(
            patient_id=OuterRef("patient_id"),
            start__lt=OuterRef("end"),
            end__gt=OuterRef("start"),
        ).exclude(pk=OuterRef("pk"))
        found = Appointment.objects.all()
        if statuses is not None:
            mine = mine.filter(status__in=statuses)
            found = found.filter(status__in=statuses)
        pairs = found.filter(Exists(mine)).count()
        assert pairs == 0, f"{pairs} appointments overlap another of the same patient"
