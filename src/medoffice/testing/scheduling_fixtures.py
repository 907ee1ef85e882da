"""pytest fixtures for scheduling tests: a small clinic with hours, types and rooms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import holidays
import pytest
from django.utils import timezone

from medoffice.testing import factories
from medoffice.testing import scheduling_factories as sf


def workday(weekday: int = 1, *, weeks_ahead: int = 2) -> date:
    """A future date on `weekday` (0 = Monday) that is not a US federal holiday."""
    day = timezone.localdate() + timedelta(weeks=weeks_ahead)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    us = holidays.country_holidays("US", years=range(day.year, day.year + 2), observed=True)
    while day in us:
        day += timedelta(days=7)
    return day


def at(day: date, hhmm: str) -> datetime:
    """An aware datetime at a wall-clock time on a day, in the practice's zone (tests: Chicago)."""
    from medoffice.scheduling.availability import practice_zone

    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=practice_zone())


@dataclass
class Clinic:
    location: object
    other_location: object
    provider: object
    other_provider: object
    follow_up: object
    new_patient: object
    procedure: object
    exam_room: object
    procedure_room: object
    patient: object
    template: object


@pytest.fixture
def clinic(db, practice, users):
    """Dr A works Mon-Fri 9-17 (lunch 12-13) at Main St; Dr B the same. Procedure needs the
    procedure room. The clinician user is Dr A."""
    from medoffice.testing import patients_factories

    main = factories.location(name="Main St")
    north = factories.location(name="North")
    dr_a = factories.provider(
        first_name="Ann", last_name="Able", locations=[main], user=users["clinician"]
    )
    dr_b = factories.provider(first_name="Ben", last_name="Baker", locations=[main, north])
    exam = sf.room(location=main, name="Exam 1")
    proc_room = sf.room(location=main, name="Procedure room")
    follow_up = sf.appointment_type(
        name="Follow-up", code="follow-up", duration_minutes=20, providers=[dr_a, dr_b]
    )
    new_patient = sf.appointment_type(
        name="New patient", code="new-patient", duration_minutes=40, providers=[dr_a, dr_b]
    )
    procedure = sf.appointment_type(
        name="Procedure", code="procedure", duration_minutes=30, providers=[dr_a, dr_b],
        rooms=[proc_room],
    )  # fmt: skip
    template = sf.template(provider=dr_a, location=main)
    sf.template(provider=dr_b, location=main)
    return Clinic(
        location=main, other_location=north, provider=dr_a, other_provider=dr_b,
        follow_up=follow_up, new_patient=new_patient, procedure=procedure, exam_room=exam,
        procedure_room=proc_room, patient=patients_factories.patient(), template=template,
    )  # fmt: skip


@pytest.fixture
def no_overlap_check(monkeypatch):
    """Switch off booking's Python overlap pre-check, so only the database's occupancy cells
    decide. The check is replaced where booking looks it up (services.booking), and the test
    fails if the replacement was never consulted (the patch missed its mark)."""
    from medoffice.scheduling.services import booking

    real = booking._overlapping
    calls: list[object] = []

    def nothing_overlaps(queryset, start, end, exclude_ids=()):
        calls.append(queryset)
        return real(queryset, start, end, exclude_ids).none()

    monkeypatch.setattr(booking, "_overlapping", nothing_overlaps)
    yield calls
    assert calls, "booking never consulted the replaced overlap check: patch where it is looked up"
