"""Factories for reminder and calendar feed tests: appointments written straight to the table.

These appointments skip the booking rules (templates, occupancy cells): reminders and feeds
read appointments, whichever way they were booked.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from medoffice.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from medoffice.testing import factories
from medoffice.testing.patients_factories import patient as make_patient

_counter = itertools.count(1)


def appointment_type(**fields) -> AppointmentType:
    n = next(_counter)
    values = {"name": f"Follow-up visit {n}", "code": f"follow-up-{n}", "duration_minutes": 30}
    values.update(fields)
    return AppointmentType.objects.create(**values)


def reachable_patient(**fields):
    """A patient who agreed to email and text reminders, with an address and a mobile number."""
    n = next(_counter)
    values = {
        "first_name": "Jordan",
        "last_name": f"Rivera{n}",
        "email": f"patient{n}@example.org",
        "contact_by_email": True,
        "phone": f"+1217555{n % 10000:04d}",
        "phone_type": "mobile",
        "contact_by_sms": True,
    }
    values.update(fields)
    return make_patient(**values)


def appointment(*, start: datetime, **fields) -> Appointment:
    values: dict[str, Any] = {"status": AppointmentStatus.BOOKED}
    values.update(fields)
    if "patient" not in values:
        values["patient"] = reachable_patient()
    if "location" not in values:
        values["location"] = factories.location()
    if "provider" not in values:
        values["provider"] = factories.provider(locations=[values["location"]])
    if "appointment_type" not in values:
        values["appointment_type"] = appointment_type()
    values.setdefault("end", start + timedelta(minutes=values["appointment_type"].duration_minutes))
    return Appointment.objects.create(start=start, **values)
