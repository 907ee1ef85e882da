"""An appointment after it is booked: cancelling, no-show, check-in and its undo,
completing, and rescheduling (one, or this and the following ones of a series).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from medoffice.core.context import binds_actor
from medoffice.core.exceptions import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    MedofficeError,
    NotFound,
)
from medoffice.core.models import Location, Provider, User
from medoffice.core.modules import is_enabled
from medoffice.scheduling.availability import local_date, practice_zone
from medoffice.scheduling.models import (
    APPOINTMENT_TRANSITIONS,
    Appointment,
    AppointmentStatus,
    Room,
)
from medoffice.scheduling.permissions import SchedulingPerm
from medoffice.scheduling.services._common import _fmt_when, _require
from medoffice.scheduling.services.booking import (
    BookingRequest,
    _hold_cells,
    _release_cells,
    check_booking,
)
from medoffice.scheduling.services.waitlist import waitlist_offer_freed_slot


def _locked(appointment: Appointment) -> Appointment:
    try:
        return (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("patient", "provider", "location", "appointment_type", "room")
            .get(pk=appointment.pk)
        )
    except Appointment.DoesNotExist:
        raise NotFound("That appointment no longer exists.") from None


def _transition(appointment: Appointment, new_status: str) -> None:
    if new_status not in APPOINTMENT_TRANSITIONS[appointment.status]:
        raise InvalidTransition(
            f"An appointment that is {appointment.get_status_display().lower()} cannot become "
            f"{AppointmentStatus(new_status).label.lower()}."
        )
    appointment.status = new_status


@transaction.atomic
@binds_actor("cancelled_by")
def appointment_cancel(
    *, appointment: Appointment, reason: str, cancelled_by: User | None
) -> Appointment:
    """Cancel with a reason; the time is freed and offered to the first matching waitlist entry."""
    _require(cancelled_by, SchedulingPerm.BOOK_APPOINTMENTS)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for cancelling.", field="reason")
    appointment = _locked(appointment)
    _transition(appointment, AppointmentStatus.CANCELLED)
    appointment.cancel_reason = reason[:300]
    appointment.cancelled_at = timezone.now()
    appointment.cancelled_by = cancelled_by
    appointment.save()
    _release_cells(appointment)
    waitlist_offer_freed_slot(
        provider=appointment.provider,
        location=appointment.location,
        start=appointment.start,
        end=appointment.end,
        freed_by=appointment,
    )
    return appointment


@transaction.atomic
@binds_actor("marked_by")
def appointment_mark_no_show(*, appointment: Appointment, marked_by: User | None) -> Appointment:
    """The patient did not come: only once the appointment's start has passed."""
    _require(marked_by, SchedulingPerm.BOOK_APPOINTMENTS, SchedulingPerm.CHECK_IN)
    appointment = _locked(appointment)
    if appointment.start > timezone.now():
        raise InvalidTransition(
            "A no-show can be recorded only after the appointment's start time."
        )
    _transition(appointment, AppointmentStatus.NO_SHOW)
    appointment.no_show_at = timezone.now()
    appointment.save()
    _release_cells(appointment)
    return appointment


FRONT_DESK_MODULE = "reception"


@transaction.atomic
@binds_actor("checked_in_by")
def appointment_check_in(
    *, appointment: Appointment, checked_in_by: User | None, full_check_in: bool = False
) -> Appointment:
    """booked -> checked_in. Not for an appointment on a later day.

    While the front desk module is on, checking in is its full check-in (demographics,
    insurance, eligibility, forms, copay: reception.services.check_in), which calls this with
    `full_check_in=True` for the status. Any other caller (the schedule's page and API) is
    refused, so no interface can check a patient in with the status alone (docs/adr/0013).
    """
    _require(checked_in_by, SchedulingPerm.CHECK_IN)
    if not full_check_in and is_enabled(FRONT_DESK_MODULE):
        raise Conflict(
            "Check-in is done at the front desk (demographics, insurance, forms and copay): "
            f"open the check-in page, or POST /api/reception/appointments/{appointment.pk}"
            "/check-in.",
            field="appointment",
            code="front_desk_check_in",
        )
    appointment = _locked(appointment)
    tz = practice_zone()
    if local_date(appointment.start, tz) > timezone.now().astimezone(tz).date():
        raise InvalidTransition("Patients are checked in on the day of their appointment.")
    _transition(appointment, AppointmentStatus.CHECKED_IN)
    appointment.checked_in_at = timezone.now()
    appointment.save()
    return appointment


@transaction.atomic
@binds_actor("undone_by")
def appointment_undo_check_in(*, appointment: Appointment, undone_by: User | None) -> Appointment:
    _require(undone_by, SchedulingPerm.CHECK_IN)
    appointment = _locked(appointment)
    _transition(appointment, AppointmentStatus.BOOKED)
    appointment.checked_in_at = None
    appointment.save()
    return appointment


@transaction.atomic
@binds_actor("completed_by")
def appointment_complete(*, appointment: Appointment, completed_by: User | None) -> Appointment:
    """checked_in -> completed (reception, at check-out)."""
    _require(completed_by, SchedulingPerm.CHECK_IN)
    appointment = _locked(appointment)
    _transition(appointment, AppointmentStatus.COMPLETED)
    appointment.completed_at = timezone.now()
    appointment.save()
    return appointment


class RescheduleScope:
    ONE = "one"
    FOLLOWING = "following"


@transaction.atomic
@binds_actor("rescheduled_by")
def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    rescheduled_by: User | None,
    provider: Provider | None = None,
    location: Location | None = None,
    room: Room | None = None,
    scope: str = RescheduleScope.ONE,
) -> list[Appointment]:
    """Move a booked appointment (keeping its length); with scope "following", this and the
    later booked occurrences of its series move by the same local shift.

    All or nothing: if any moved occurrence cannot be booked, nothing moves. The freed
    times are offered to the waitlist. Returns the moved appointments.
    """
    _require(rescheduled_by, SchedulingPerm.BOOK_APPOINTMENTS)
    if scope not in (RescheduleScope.ONE, RescheduleScope.FOLLOWING):
        raise InvalidInput("Choose this appointment or this and the following ones.", field="scope")
    appointment = _locked(appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition(
            f"Only a booked appointment can be rescheduled (this one is "
            f"{appointment.get_status_display().lower()})."
        )
    if start is None or timezone.is_naive(start):
        raise InvalidInput("Give the new start time with its time zone.", field="start")
    targets = [appointment]
    if scope == RescheduleScope.FOLLOWING and appointment.series_id:
        targets += list(
            Appointment.objects.select_for_update(of=("self",))
            .filter(
                series_id=appointment.series_id,
                status=AppointmentStatus.BOOKED,
                start__gt=appointment.start,
            )
            .select_related("patient", "provider", "location", "appointment_type", "room")
            .order_by("start")
        )
    tz = practice_zone()
    # The shift in local wall-clock terms, so 9:00 stays 9:00 across a DST change.
    old_local = appointment.start.astimezone(tz).replace(tzinfo=None)
    shift = start.astimezone(tz).replace(tzinfo=None) - old_local
    freed = [(t.provider, t.location, t.start, t.end, t) for t in targets]
    moved_ids = [t.pk for t in targets]
    for target in targets:
        _release_cells(target)
    moved: list[Appointment] = []
    for target in targets:
        length = target.end - target.start
        new_start = (target.start.astimezone(tz).replace(tzinfo=None) + shift).replace(tzinfo=tz)
        new_start = new_start.astimezone(UTC)
        new_location = location or target.location
        keep_room = (
            target.room
            if room is None
            and new_location == target.location
            and not target.appointment_type.rooms.exists()
            else None
        )
        req = BookingRequest(
            target.patient,
            provider or target.provider,
            new_location,
            target.appointment_type,
            new_start,
            new_start + length,
            room or keep_room,
        )
        try:
            chosen_room = check_booking(req, exclude_ids=moved_ids)
        except MedofficeError as exc:
            if len(targets) > 1:
                raise type(exc)(
                    f"The occurrence on {_fmt_when(target.start)} cannot move to "
                    f"{_fmt_when(new_start)}: {exc.message} Nothing was moved.",
                    field=exc.field,
                ) from exc
            raise
        target.provider, target.location = req.provider, req.location
        target.start, target.end, target.room = req.start, req.end, chosen_room
        target.save()
        _hold_cells(target)
        moved.append(target)
    for old_provider, old_location, old_start, old_end, target in freed:
        waitlist_offer_freed_slot(
            provider=old_provider,
            location=old_location,
            start=old_start,
            end=old_end,
            freed_by=target,
        )
    return moved
