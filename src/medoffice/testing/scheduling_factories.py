"""Factories for scheduling records; valid by default, every field overridable.

`appointment()` writes an appointment and its occupancy cells directly (no hours or
closure checks), for other apps' tests that just need one; scheduling's own tests book
through `services.appointment_book`.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from medoffice.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BlockKind,
    Closure,
    Occupancy,
    Room,
    ScheduleTemplate,
    TemplateBlock,
)
from medoffice.testing import factories

_counter = itertools.count(1)
WEEKDAYS = (0, 1, 2, 3, 4)


def room(**fields) -> Room:
    n = next(_counter)
    values = {"name": f"Room {n}", "kind": "room"}
    values.update(fields)
    if "location" not in values:
        values["location"] = factories.location()
    return Room.objects.create(**values)


def appointment_type(*, providers=(), rooms=(), **fields) -> AppointmentType:
    n = next(_counter)
    values = {"name": f"Visit type {n}", "code": f"visit-{n}", "duration_minutes": 20}
    values.update(fields)
    made = AppointmentType.objects.create(**values)
    if providers:
        made.providers.set(providers)
    if rooms:
        made.rooms.set(rooms)
    return made


def _as_time(value) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def template(
    *,
    provider,
    location,
    weekdays=WEEKDAYS,
    start="09:00",
    end="17:00",
    lunch=("12:00", "13:00"),
    valid_from: date = date(2020, 1, 1),
    valid_to: date | None = None,
    types=(),
) -> ScheduleTemplate:
    """A weekly template: the same hours (and lunch) on each of `weekdays`."""
    made = ScheduleTemplate.objects.create(
        provider=provider, location=location, valid_from=valid_from, valid_to=valid_to
    )
    for weekday in weekdays:
        block = TemplateBlock.objects.create(
            template=made, weekday=weekday, start_time=_as_time(start), end_time=_as_time(end)
        )
        if types:
            block.appointment_types.set(types)
        if lunch:
            TemplateBlock.objects.create(
                template=made,
                weekday=weekday,
                start_time=_as_time(lunch[0]),
                end_time=_as_time(lunch[1]),
                kind=BlockKind.LUNCH,
            )
    return made


def closure(**fields) -> Closure:
    values = {"scope": "practice", "reason": "Closed for training"}
    values.update(fields)
    values.setdefault("end_date", values["start_date"])
    return Closure.objects.create(**values)


def appointment(
    *,
    patient=None,
    provider=None,
    location=None,
    appointment_type=None,
    start: datetime | None = None,
    minutes: int | None = None,
    status: str = AppointmentStatus.BOOKED,
    room=None,
    **fields,
) -> Appointment:
    """An appointment written directly (cells included while it holds its time).

    Default: today, on the next free 20-minute step from 08:00 local for the provider.
    """
    from medoffice.testing import patients_factories

    location = location or factories.location()
    provider = provider or factories.provider(locations=[location])
    appointment_type = appointment_type or globals()["appointment_type"](providers=[provider])
    patient = patient or patients_factories.patient()
    length = timedelta(minutes=minutes or appointment_type.duration_minutes)
    if start is None:
        local_today = timezone.localdate()
        start = datetime.combine(local_today, time(8, 0), tzinfo=timezone.get_current_timezone())
        while Occupancy.objects.filter(
            provider=provider,
            cell__gte=int(start.timestamp()) // 300,
            cell__lt=int((start + length).timestamp()) // 300,
        ).exists():
            start += length
    made = Appointment.objects.create(
        patient=patient,
        provider=provider,
        location=location,
        appointment_type=appointment_type,
        room=room,
        start=start,
        end=start + length,
        status=status,
        **fields,
    )
    if status in (
        AppointmentStatus.BOOKED,
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.COMPLETED,
    ):
        first = int(made.start.timestamp()) // 300
        last = -(-int(made.end.timestamp()) // 300)
        Occupancy.objects.bulk_create(
            [
                Occupancy(
                    appointment=made, provider=provider, room=room, patient=patient, cell=cell
                )
                for cell in range(first, last)
            ]
        )
    return made
