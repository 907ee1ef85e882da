"""pytest fixtures for the front desk's tests: a clinic day with a patient booked today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf


@dataclass
class DeskDay:
    location: object
    provider: object
    visit_type: object
    rooms: list
    patient: object
    coverage: object
    appointment: object
    privacy: object
    financial: object


@pytest.fixture
def desk_day(db, practice, users):
    """Main St with two exam rooms; a patient with a $25 copay booked today at 08:00;
    a privacy notice renewed yearly and a financial policy signed once."""
    from medoffice.testing import factories

    location = factories.location(name="Main St")
    provider = factories.provider(first_name="Ann", last_name="Able", locations=[location])
    visit_type = sf.appointment_type(name="Follow-up", code="follow-up", providers=[provider])
    rooms = [sf.room(location=location, name="Exam 1"), sf.room(location=location, name="Exam 2")]
    patient = pf.patient(first_name="Maria", last_name="Lopez")
    coverage = pf.coverage(patient=patient, effective_date=date(2020, 1, 1))
    appointment = sf.appointment(
        patient=patient, provider=provider, location=location, appointment_type=visit_type
    )
    privacy = rf.form_type(name="Notice of privacy practices", renew_every_days=365, order=1)
    financial = rf.form_type(name="Financial policy", renew_every_days=None, order=2)
    return DeskDay(
        location=location, provider=provider, visit_type=visit_type, rooms=rooms,
        patient=patient, coverage=coverage, appointment=appointment,
        privacy=privacy, financial=financial,
    )  # fmt: skip
