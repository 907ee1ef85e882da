"""Booking one appointment: checking the request (a clear message per field), then writing
the appointment and its occupancy cells in one transaction. The unique constraints on the
cells are the final word when two people book the same time at once (docs/adr/0004).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import Location, Provider, User
from medoffice.scheduling.availability import Calendar, local_date, practice_zone
from medoffice.scheduling.models import (
    CELL_MINUTES,
    CELL_SECONDS,
    HOLDING_STATUSES,
    MAX_APPOINTMENT_MINUTES,
    Appointment,
    AppointmentQuerySet,
    AppointmentType,
    Occupancy,
    RecurringSeries,
    Room,
)
from medoffice.scheduling.permissions import SchedulingPerm
from medoffice.scheduling.services._common import _fmt_time, _fmt_when, _require

if TYPE_CHECKING:
    from medoffice.patients.models import Patient


def cells_of(start: datetime, end: datetime) -> range:
    """The five-minute cells [start, end) covers, numbered since the Unix epoch."""
    return range(int(start.timestamp()) // CELL_SECONDS, -(-int(end.timestamp()) // CELL_SECONDS))


# --- Checking a booking --------------------------------------------------------------------


@dataclass
class BookingRequest:
    patient: Patient
    provider: Provider
    location: Location
    appointment_type: AppointmentType
    start: datetime
    end: datetime
    room: Room | None = None


PAST_TIME_MESSAGE = (
    "That time has passed. To record a visit that already happened, the office manager books "
    "it with “This visit already happened” ticked."
)


def _field_errors(req: BookingRequest, *, allow_past: bool, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if timezone.is_naive(req.start) or timezone.is_naive(req.end):
        add("start", "Give the time with its time zone.")
        return errors
    if req.end <= req.start:
        add("end", "The end must be after the start (an appointment cannot have zero length).")
    elif (req.end - req.start) > timedelta(minutes=MAX_APPOINTMENT_MINUTES):
        add("end", f"An appointment can last at most {MAX_APPOINTMENT_MINUTES // 60} hours.")
    if int(req.start.timestamp()) % CELL_SECONDS:
        add("start", f"Appointments start on a {CELL_MINUTES}-minute mark (e.g. 9:00, 9:05).")
    if int(req.end.timestamp()) % CELL_SECONDS:
        add("end", f"Appointments end on a {CELL_MINUTES}-minute mark.")
    if not allow_past and req.start < now:
        add("start", PAST_TIME_MESSAGE)
    patient = req.patient
    merged_into = patient.merged_into if getattr(patient, "merged_into_id", None) else None
    if merged_into is not None:
        add(
            "patient",
            f"This record was merged into MRN {merged_into.mrn}; book on that record.",
        )
    elif not getattr(patient, "is_active", True):
        add("patient", "This patient record is inactive; reactivate it before booking.")
    if not req.provider.is_active:
        add("provider", f"{req.provider} is no longer active.")
    if not req.location.is_active:
        add("location", f"{req.location} is no longer active.")
    kind = req.appointment_type
    if not kind.is_active:
        add("appointment_type", f"{kind.name} is no longer offered.")
    elif not kind.providers.filter(pk=req.provider.pk).exists():
        add("provider", f"{req.provider} does not offer {kind.name}.")
    if req.room is not None:
        if req.room.location_id != req.location.pk:
            add("room", f"{req.room.name} is not at {req.location}.")
        elif not req.room.is_active:
            add("room", f"{req.room.name} is out of service.")
        else:
            pool = list(kind.rooms.all())
            if pool and req.room not in pool:
                needed = ", ".join(sorted({r.name for r in pool})) or "none"
                add(
                    "room",
                    f"{req.room.name} does not have what {kind.name} needs (one of: {needed}).",
                )
    return errors


def _schedule_error(req: BookingRequest) -> InvalidInput | None:
    """Is the time inside the provider's hours at the location, accepting this type?"""
    tz = practice_zone()
    day = local_date(req.start, tz)
    if local_date(req.end - timedelta(seconds=1), tz) != day:
        return InvalidInput("An appointment must start and end on the same day.", field="end")
    calendar = Calendar(
        first=day, last=day, provider_ids=[req.provider.pk], location_ids=[req.location.pk], tz=tz
    )
    plan = calendar.plan(req.provider.pk, req.location.pk, day)
    when = f"{day:%a %b} {day.day}, {day:%Y}"
    if plan.closed_reason:
        return InvalidInput(
            f"Closed on {when}: {plan.closed_reason}. Choose another day.",
            field="start",
            code="closed",
        )
    span = f"{_fmt_time(req.start)}-{_fmt_time(req.end)}"
    if not plan.covers(req.start, req.end):
        return InvalidInput(
            f"{req.provider} does not see patients at {req.location} at {span} on {when} "
            f"(hours that day: {plan.hours_text}).",
            field="start",
            code="outside_hours",
        )
    if not plan.covers(req.start, req.end, req.appointment_type.pk):
        return InvalidInput(
            f"{req.appointment_type.name} is not booked in {req.provider}'s hours at "
            f"{req.location} at {span} on {when}.",
            field="appointment_type",
            code="type_not_allowed",
        )
    return None


def _overlapping(
    queryset: AppointmentQuerySet,
    start: datetime,
    end: datetime,
    exclude_ids: Iterable[int] = (),
) -> AppointmentQuerySet:
    """Appointments of `queryset` holding time in [start, end), bounded below on `start`
    (see AppointmentQuerySet.overlapping), so a long history is never scanned."""
    found = queryset.overlapping(start, end).filter(status__in=HOLDING_STATUSES)
    if exclude_ids:
        found = found.exclude(pk__in=list(exclude_ids))
    return found.select_related("appointment_type", "provider").order_by("start")


def _free_room(req: BookingRequest, exclude_ids: Iterable[int] = ()) -> Room | None:
    """The room the booking takes: the one asked for, or the first free one the type needs."""
    pool = list(
        req.appointment_type.rooms.filter(location=req.location, is_active=True).order_by("name")
    )
    if req.room is None and not pool and req.appointment_type.rooms.exists():
        raise InvalidInput(
            f"{req.location} has no room or equipment for {req.appointment_type.name}.",
            field="location",
            code="no_room_at_location",
        )
    candidates = [req.room] if req.room is not None else pool
    if not candidates:
        return None
    busy_ids = set(
        _overlapping(
            Appointment.objects.filter(room__in=candidates), req.start, req.end, exclude_ids
        ).values_list("room_id", flat=True)
    )
    for room in candidates:
        if room.pk not in busy_ids:
            return room
    if req.room is not None:
        raise Conflict(
            f"{req.room.name} is already in use at {_fmt_time(req.start)}-{_fmt_time(req.end)}.",
            field="room",
            code="room_busy",
        )
    names = ", ".join(room.name for room in pool)
    raise Conflict(
        f"No room for {req.appointment_type.name} is free at {_fmt_time(req.start)}-"
        f"{_fmt_time(req.end)} ({names} all in use).",
        field="start",
        code="room_busy",
    )


def check_booking(
    req: BookingRequest,
    *,
    allow_past: bool = False,
    exclude_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> Room | None:
    """Raise InvalidInput or Conflict naming what is wrong; return the room to hold."""
    errors = _field_errors(req, allow_past=allow_past, now=now or timezone.now())
    if errors:
        first_field, messages = next(iter(errors.items()))
        raise InvalidInput(messages[0], field=first_field, errors=errors)
    problem = _schedule_error(req)
    if problem is not None:
        raise problem
    clash = _overlapping(
        Appointment.objects.filter(provider=req.provider), req.start, req.end, exclude_ids
    ).first()
    if clash is not None:
        raise Conflict(
            f"{req.provider} already has {clash.appointment_type.name} at "
            f"{_fmt_time(clash.start)}-{_fmt_time(clash.end)}; that time is taken.",
            field="start",
            code="provider_busy",
        )
    clash = _overlapping(
        Appointment.objects.filter(patient=req.patient), req.start, req.end, exclude_ids
    ).first()
    if clash is not None:
        raise Conflict(
            f"The patient already has {clash.appointment_type.name} with {clash.provider} at "
            f"{_fmt_time(clash.start)}-{_fmt_time(clash.end)}.",
            field="start",
            code="patient_busy",
        )
    return _free_room(req, exclude_ids)


def _hold_cells(appointment: Appointment) -> None:
    """Write the appointment's occupancy cells; the unique constraints refuse any overlap
    of the provider, the room or the patient."""
    cells = cells_of(appointment.start, appointment.end)
    try:
        with transaction.atomic():
            Occupancy.objects.bulk_create(
                [
                    Occupancy(
                        appointment=appointment,
                        provider_id=appointment.provider_id,
                        room_id=appointment.room_id,
                        patient_id=appointment.patient_id,
                        cell=cell,
                    )
                    for cell in cells
                ]
            )
    except IntegrityError as exc:
        patient_clash = (
            Occupancy.objects.filter(patient_id=appointment.patient_id, cell__in=list(cells))
            .exclude(appointment_id=appointment.pk)
            .exists()
        )
        if patient_clash:
            raise Conflict(
                f"The patient was booked at {_fmt_when(appointment.start)} by someone else a "
                "moment ago (another appointment at the same time). Choose another time.",
                field="start",
                code="patient_taken",
            ) from exc
        raise Conflict(
            f"{_fmt_when(appointment.start)} was booked by someone else a moment ago "
            f"({appointment.provider}{', ' + appointment.room.name if appointment.room else ''}). "
            "Choose another time.",
            field="start",
            code="slot_taken",
        ) from exc


def _release_cells(appointment: Appointment) -> None:
    Occupancy.objects.filter(appointment=appointment).delete()


def _booking_request(
    *,
    patient: Patient,
    provider: Provider,
    location: Location,
    appointment_type: AppointmentType,
    start: datetime | None,
    end: datetime | None,
    room: Room | None,
) -> BookingRequest:
    if start is None:
        raise InvalidInput("Choose the start time.", field="start")
    if end is None:
        end = start + timedelta(minutes=appointment_type.duration_minutes)
    return BookingRequest(patient, provider, location, appointment_type, start, end, room)


@transaction.atomic
@binds_actor("booked_by")
def appointment_book(
    *,
    patient: Patient,
    provider: Provider,
    location: Location,
    appointment_type: AppointmentType,
    start: datetime,
    booked_by: User | None,
    end: datetime | None = None,
    room: Room | None = None,
    notes: str = "",
    allow_past: bool = False,
    series: RecurringSeries | None = None,
) -> Appointment:
    """Book one appointment. `end` defaults to the type's length.

    Raises InvalidInput (outside hours, closed, bad times, provider not offering the type,
    patient inactive or merged, past without `allow_past`) or Conflict (the provider, the
    room or the patient is already booked then). Nothing is written when it raises.
    """
    _require(booked_by, SchedulingPerm.BOOK_APPOINTMENTS)
    req = _booking_request(
        patient=patient,
        provider=provider,
        location=location,
        appointment_type=appointment_type,
        start=start,
        end=end,
        room=room,
    )
    chosen_room = check_booking(req, allow_past=allow_past)
    appointment = Appointment(
        patient=patient,
        provider=provider,
        location=location,
        appointment_type=appointment_type,
        room=chosen_room,
        start=req.start,
        end=req.end,
        booked_by=booked_by,
        notes=notes.strip(),
        series=series,
    )
    with transaction.atomic():
        appointment.save()
        _hold_cells(appointment)
    return appointment
