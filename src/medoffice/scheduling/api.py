"""JSON API: /api/appointments and /api/slots, with the same permissions as the pages.

Booking answers 201 with the appointment, 409 with the reason when the time is taken,
422 naming the fields when the request is not valid (outside hours, closed, bad times).
"""

from datetime import date, datetime

from ninja import Field, Query, Router, Schema, Status

from medoffice.core import audit
from medoffice.core.api_auth import requires, user_of
from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import Location, Provider
from medoffice.scheduling import selectors, services
from medoffice.scheduling.availability import local_day_bounds
from medoffice.scheduling.models import Appointment, AppointmentType, Room
from medoffice.scheduling.permissions import SchedulingPerm

appointments_router = Router(tags=["appointments"])
slots_router = Router(tags=["slots"])

VIEW = (SchedulingPerm.VIEW_SCHEDULE, SchedulingPerm.VIEW_OWN_SCHEDULE)


class AppointmentOut(Schema):
    id: int
    patient_id: int
    patient_name: str
    patient_mrn: str
    provider_id: int
    provider_name: str
    location_id: int
    location_name: str
    appointment_type_id: int
    appointment_type_name: str
    room_id: int | None
    room_name: str | None
    start: datetime
    end: datetime
    status: str
    cancel_reason: str
    series_id: int | None
    notes: str

    @staticmethod
    def resolve_patient_name(obj: Appointment) -> str:
        return f"{obj.patient.last_name}, {obj.patient.first_name}"

    @staticmethod
    def resolve_patient_mrn(obj: Appointment) -> str:
        return obj.patient.mrn

    @staticmethod
    def resolve_provider_name(obj: Appointment) -> str:
        return str(obj.provider)

    @staticmethod
    def resolve_location_name(obj: Appointment) -> str:
        return obj.location.name

    @staticmethod
    def resolve_appointment_type_name(obj: Appointment) -> str:
        return obj.appointment_type.name

    @staticmethod
    def resolve_room_name(obj: Appointment) -> str | None:
        return obj.room.name if obj.room_id else None


class AppointmentIn(Schema):
    patient: int
    provider: int
    location: int
    appointment_type: int
    start: datetime
    end: datetime | None = None
    room: int | None = None
    notes: str = Field("", max_length=2000)
    allow_past: bool = Field(False, description="data entry of a visit that already happened")


class CancelIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)
    scope: str = Field(
        "one",
        pattern="^(one|following)$",
        description="following: and the later ones of its series",
    )


class RescheduleIn(Schema):
    start: datetime
    provider: int | None = None
    location: int | None = None
    room: int | None = None
    scope: str = Field("one", pattern="^(one|following)$")


class AppointmentFilter(Schema):
    day: date | None = None
    provider: int | None = None
    location: int | None = None
    patient: int | None = None
    status: str | None = None
    limit: int = Field(200, ge=1, le=1000)


class SlotFilter(Schema):
    appointment_type: int
    provider: list[int] | None = None
    location: list[int] | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = Field(10, ge=1, le=200)


class SlotOut(Schema):
    provider_id: int
    provider_name: str
    location_id: int
    location_name: str
    room_id: int | None
    room_name: str | None
    start: datetime
    end: datetime


def _get(model, pk: int | None, field: str, *, required: bool = True):
    if pk is None:
        if required:
            raise InvalidInput("This field is required.", field=field)
        return None
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise InvalidInput(f"No {model._meta.verbose_name} with id {pk}.", field=field)
    return found


def _patient(pk: int):
    from medoffice.patients.models import Patient

    return _get(Patient, pk, "patient")


def _appointment(request, appointment_id: int) -> Appointment:
    return selectors.appointment_for_user(user_of(request), appointment_id)


@appointments_router.post(
    "", response={201: AppointmentOut}, summary="Book an appointment (409 when taken)"
)
@requires(SchedulingPerm.BOOK_APPOINTMENTS)
def appointment_book(request, payload: AppointmentIn):
    appointment = services.appointment_book(
        patient=_patient(payload.patient),
        provider=_get(Provider, payload.provider, "provider"),
        location=_get(Location, payload.location, "location"),
        appointment_type=_get(AppointmentType, payload.appointment_type, "appointment_type"),
        start=payload.start,
        end=payload.end,
        room=_get(Room, payload.room, "room", required=False),
        notes=payload.notes,
        allow_past=payload.allow_past,
        booked_by=user_of(request),
    )
    return Status(201, selectors.appointment_for_user(user_of(request), appointment.pk))


@appointments_router.get(
    "", response=list[AppointmentOut], summary="Appointments by day, provider, patient"
)
@requires(*VIEW)
def appointment_list(request, filters: Query[AppointmentFilter]):
    if not (filters.day or filters.patient or filters.provider or filters.location):
        raise InvalidInput("Give a day, a provider, a location or a patient.", field="day")
    found = selectors.restrict_to_visible(selectors._appointments(), user_of(request))
    if filters.day:
        day_start, day_end = local_day_bounds(filters.day)
        found = found.overlapping(day_start, day_end)
    if filters.provider:
        found = found.filter(provider_id=filters.provider)
    if filters.location:
        found = found.filter(location_id=filters.location)
    if filters.patient:
        found = found.filter(patient_id=filters.patient)
    if filters.status:
        found = found.filter(status=filters.status)
    shown = list(found.order_by("start", "pk")[: filters.limit])
    audit.record_list(
        "scheduling.appointment", patient_ids=[a.patient_id for a in shown],
        description="appointment list",
        filters={"date": filters.day, "provider": filters.provider, "location": filters.location,
                 "patient": filters.patient, "status": filters.status},
    )  # fmt: skip
    return shown


@appointments_router.get("/{appointment_id}", response=AppointmentOut, summary="One appointment")
@requires(*VIEW)
def appointment_read(request, appointment_id: int):
    return _appointment(request, appointment_id)


@appointments_router.post(
    "/{appointment_id}/cancel", response=AppointmentOut, summary="Cancel with a reason"
)
@requires(SchedulingPerm.BOOK_APPOINTMENTS)
def appointment_cancel(request, appointment_id: int, payload: CancelIn):
    appointment = _appointment(request, appointment_id)
    services.appointment_cancel_in_scope(
        appointment=appointment,
        reason=payload.reason,
        cancelled_by=user_of(request),
        scope=payload.scope,
    )
    appointment.refresh_from_db()
    return appointment


@appointments_router.post(
    "/{appointment_id}/reschedule", response=list[AppointmentOut], summary="Move to another time"
)
@requires(SchedulingPerm.BOOK_APPOINTMENTS)
def appointment_reschedule(request, appointment_id: int, payload: RescheduleIn):
    return services.appointment_reschedule(
        appointment=_appointment(request, appointment_id),
        start=payload.start,
        provider=_get(Provider, payload.provider, "provider", required=False),
        location=_get(Location, payload.location, "location", required=False),
        room=_get(Room, payload.room, "room", required=False),
        scope=payload.scope,
        rescheduled_by=user_of(request),
    )


@appointments_router.post("/{appointment_id}/check-in", response=AppointmentOut, summary="Check in")
@requires(SchedulingPerm.CHECK_IN)
def appointment_check_in(request, appointment_id: int):
    return services.appointment_check_in(
        appointment=_appointment(request, appointment_id), checked_in_by=user_of(request)
    )


@appointments_router.post(
    "/{appointment_id}/no-show", response=AppointmentOut, summary="Record a no-show"
)
@requires(SchedulingPerm.BOOK_APPOINTMENTS, SchedulingPerm.CHECK_IN)
def appointment_no_show(request, appointment_id: int):
    return services.appointment_mark_no_show(
        appointment=_appointment(request, appointment_id), marked_by=user_of(request)
    )


@slots_router.get("", response=list[SlotOut], summary="Free slots for an appointment type")
@requires(SchedulingPerm.BOOK_APPOINTMENTS, SchedulingPerm.VIEW_SCHEDULE)
def slot_list(request, filters: Query[SlotFilter]):
    kind = _get(AppointmentType, filters.appointment_type, "appointment_type")
    slots = selectors.free_slots(
        kind,
        providers=filters.provider or None,
        locations=filters.location or None,
        start=filters.start,
        end=filters.end,
        limit=filters.limit,
    )
    return [
        {
            "provider_id": row["slot"].provider_id,
            "provider_name": str(row["provider"]),
            "location_id": row["slot"].location_id,
            "location_name": row["location"].name,
            "room_id": row["slot"].room_id,
            "room_name": row["room"].name if row["room"] else None,
            "start": row["slot"].start,
            "end": row["slot"].end,
        }
        for row in selectors.describe_slots(slots)
    ]


routers = [("appointments", appointments_router), ("slots", slots_router)]
