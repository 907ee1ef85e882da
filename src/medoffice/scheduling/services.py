"""Every write of the scheduling app: booking, rescheduling, cancelling, statuses,
recurring series, the waitlist, and the practice's scheduling setup.

Booking checks the request (clear message per field), then writes the appointment and
its occupancy cells in one transaction; the unique constraints on the cells are the
final word when two people book the same time at once (docs/adr/0004).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from dateutil import rrule as dateutil_rrule
from django.db import IntegrityError, transaction
from django.db.models import Model, Q
from django.utils import timezone

from medoffice.core import formats
from medoffice.core.access import require_perm
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
from medoffice.core.services import full_clean_or_raise
from medoffice.scheduling.availability import Calendar, local_date, practice_zone
from medoffice.scheduling.models import (
    APPOINTMENT_TRANSITIONS,
    CELL_MINUTES,
    CELL_SECONDS,
    HOLDING_STATUSES,
    MAX_APPOINTMENT_MINUTES,
    Appointment,
    AppointmentQuerySet,
    AppointmentStatus,
    AppointmentType,
    BlockKind,
    Closure,
    ClosureScope,
    Occupancy,
    OfferStatus,
    RecurringSeries,
    Room,
    ScheduleTemplate,
    SchedulingSettings,
    SeriesPolicy,
    TemplateBlock,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from medoffice.scheduling.permissions import SchedulingPerm

if TYPE_CHECKING:
    from medoffice.patients.models import Patient

MAX_SERIES_OCCURRENCES = 104
MAX_SERIES_YEARS = 2


def _require(user: User | None, *perms: str) -> None:
    if user is not None:
        require_perm(user, *perms)


def _fmt_time(moment: datetime) -> str:
    return formats.us_time(moment.astimezone(practice_zone()))


def _fmt_when(moment: datetime) -> str:
    return formats.us_day_time(moment.astimezone(practice_zone()))


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


# --- Recurring series ----------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    end: datetime
    problem: str = ""
    code: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def expand_rrule(rule: str, first_start: datetime) -> list[datetime]:
    """Expand an RFC 5545 RRULE in the practice's zone: each occurrence keeps the wall-clock
    time of the first, whatever daylight-saving does in between. Returns aware datetimes."""
    tz = practice_zone()
    rule = (rule or "").strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[6:]
    if not rule:
        raise InvalidInput("Give the repeat rule (e.g. FREQ=WEEKLY;COUNT=10).", field="rrule")
    upper = rule.upper()
    if "COUNT=" not in upper and "UNTIL=" not in upper:
        raise InvalidInput(
            "A repeat rule needs an end: a number of times (COUNT) or a last date (UNTIL).",
            field="rrule",
        )
    if timezone.is_naive(first_start):
        raise InvalidInput("Give the first start with its time zone.", field="start")
    local_first = first_start.astimezone(tz).replace(tzinfo=None)
    parts = []
    for part in rule.split(";"):
        key, _, value = part.partition("=")
        if key.strip().upper() == "UNTIL" and value.upper().endswith("Z"):
            value = value[:-1]  # compared with local wall time; a date-time is taken as local
        parts.append(f"{key.strip().upper()}={value.strip()}")
    try:
        rules = dateutil_rrule.rrulestr(";".join(parts), dtstart=local_first, forceset=False)
        horizon = local_first.replace(year=local_first.year + MAX_SERIES_YEARS)
        found: list[datetime] = []
        for moment in rules:
            if moment > horizon or len(found) >= MAX_SERIES_OCCURRENCES:
                break
            found.append(moment)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"The repeat rule is not valid: {exc}.", field="rrule") from exc
    if not found:
        raise InvalidInput("The repeat rule gives no dates.", field="rrule")
    return [moment.replace(tzinfo=tz).astimezone(UTC) for moment in found]


def series_preview(
    *,
    patient: Patient,
    provider: Provider,
    location: Location,
    appointment_type: AppointmentType,
    first_start: datetime,
    rrule: str,
    room: Room | None = None,
) -> list[Occurrence]:
    """Each occurrence of a proposed series and what (if anything) stops it being booked."""
    length = timedelta(minutes=appointment_type.duration_minutes)
    found: list[Occurrence] = []
    for start in expand_rrule(rrule, first_start):
        req = BookingRequest(
            patient, provider, location, appointment_type, start, start + length, room
        )
        try:
            check_booking(req)
        except MedofficeError as exc:
            found.append(Occurrence(start, start + length, exc.message, exc.code))
        else:
            found.append(Occurrence(start, start + length))
    return found


@transaction.atomic
@binds_actor("booked_by")
def series_book(
    *,
    patient: Patient,
    provider: Provider,
    location: Location,
    appointment_type: AppointmentType,
    first_start: datetime,
    rrule: str,
    booked_by: User | None,
    policy: str = SeriesPolicy.ALL_OR_NOTHING,
    room: Room | None = None,
    notes: str = "",
) -> tuple[RecurringSeries, list[Appointment], list[Occurrence]]:
    """Book a recurring appointment.

    ALL_OR_NOTHING (default): if any occurrence conflicts or falls outside hours, nothing is
    booked and Conflict lists them. FREE_ONLY: the free occurrences are booked, the others are
    returned (and kept on the series) with their reason.
    """
    _require(booked_by, SchedulingPerm.BOOK_APPOINTMENTS)
    if policy not in SeriesPolicy.values:
        raise InvalidInput("Choose what to do with conflicting dates.", field="policy")
    starts = expand_rrule(rrule, first_start)
    series = RecurringSeries.objects.create(
        patient=patient,
        provider=provider,
        location=location,
        appointment_type=appointment_type,
        rrule=rrule.strip().removeprefix("RRULE:"),
        first_start=starts[0],
        time_zone=str(practice_zone()),
        policy=policy,
        created_by=booked_by,
    )
    booked: list[Appointment] = []
    skipped: list[Occurrence] = []
    for start in starts:
        try:
            with transaction.atomic():
                booked.append(
                    appointment_book(
                        patient=patient,
                        provider=provider,
                        location=location,
                        appointment_type=appointment_type,
                        start=start,
                        booked_by=booked_by,
                        room=room,
                        notes=notes,
                        series=series,
                    )
                )
        except (InvalidInput, Conflict) as exc:
            end = start + timedelta(minutes=appointment_type.duration_minutes)
            skipped.append(Occurrence(start, end, exc.message, exc.code))
    if skipped and policy == SeriesPolicy.ALL_OR_NOTHING:
        listing = "; ".join(f"{_fmt_when(o.start)}: {o.problem}" for o in skipped[:5])
        more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
        raise Conflict(
            f"{len(skipped)} of {len(starts)} dates cannot be booked, so none were: "
            f"{listing}{more}",
            field="rrule",
            code="series_conflicts",
        )
    if not booked:
        raise Conflict("None of the dates can be booked.", field="rrule", code="series_conflicts")
    if skipped:
        series.skipped = [
            {"start": o.start.isoformat(), "problem": o.problem, "code": o.code} for o in skipped
        ]
        series.save(update_fields=["skipped"])
    return series, booked, skipped


@transaction.atomic
@binds_actor("cancelled_by")
def series_cancel_following(
    *, appointment: Appointment, reason: str, cancelled_by: User | None
) -> list[Appointment]:
    """Cancel this appointment and every later booked one of its series."""
    _require(cancelled_by, SchedulingPerm.BOOK_APPOINTMENTS)
    targets = [appointment]
    if appointment.series_id:
        targets = list(
            Appointment.objects.filter(
                series_id=appointment.series_id,
                status=AppointmentStatus.BOOKED,
                start__gte=appointment.start,
            ).order_by("start")
        )
    return [
        appointment_cancel(appointment=target, reason=reason, cancelled_by=cancelled_by)
        for target in targets
    ]


@transaction.atomic
def appointment_cancel_in_scope(
    *, appointment: Appointment, reason: str, cancelled_by: User | None, scope: str = "one"
) -> list[Appointment]:
    """Cancel one appointment ("one") or it and the later ones of its series ("following"):
    the page and the API both cancel through here."""
    if scope == RescheduleScope.FOLLOWING:
        return series_cancel_following(
            appointment=appointment, reason=reason, cancelled_by=cancelled_by
        )
    if scope not in ("", None, RescheduleScope.ONE):
        raise InvalidInput("Choose this appointment or this and the following ones.", field="scope")
    return [appointment_cancel(appointment=appointment, reason=reason, cancelled_by=cancelled_by)]


# --- Waitlist -------------------------------------------------------------------------------


@transaction.atomic
@binds_actor("added_by")
def waitlist_add(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    earliest_date: date,
    latest_date: date,
    added_by: User | None,
    provider: Provider | None = None,
    location: Location | None = None,
    priority: int = 3,
    notes: str = "",
) -> WaitlistEntry:
    _require(added_by, SchedulingPerm.BOOK_APPOINTMENTS)
    if getattr(patient, "merged_into_id", None) or not getattr(patient, "is_active", True):
        raise InvalidInput("This patient record is inactive or merged.", field="patient")
    entry = WaitlistEntry(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        location=location,
        earliest_date=earliest_date,
        latest_date=latest_date,
        priority=priority,
        notes=notes.strip(),
        created_by=added_by,
    )
    if earliest_date and latest_date and latest_date < earliest_date:
        raise InvalidInput("The last date must be on or after the first.", field="latest_date")
    full_clean_or_raise(entry, exclude=["created_by"])
    entry.save()
    return entry


@transaction.atomic
@binds_actor("removed_by")
def waitlist_remove(*, entry: WaitlistEntry, removed_by: User | None) -> WaitlistEntry:
    _require(removed_by, SchedulingPerm.BOOK_APPOINTMENTS)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status == WaitlistStatus.BOOKED:
        raise InvalidTransition("This entry was already booked.")
    entry.status = WaitlistStatus.REMOVED
    entry.save(update_fields=["status"])
    entry.offers.filter(status=OfferStatus.OPEN).update(
        status=OfferStatus.DECLINED, responded_at=timezone.now(), responded_by=removed_by
    )
    return entry


@binds_actor("freed_by")
def waitlist_offer_freed_slot(
    *,
    provider: Provider,
    location: Location,
    start: datetime,
    end: datetime,
    freed_by: Appointment | None = None,
    skip_entry_ids: Iterable[int] = (),
) -> WaitlistOffer | None:
    """Offer a freed time to the first matching waiting patient (priority, then order added).

    Matching: waiting, date window containing the day, provider and location preferences
    met (or empty), the entry's appointment type no longer than the freed time, and bookable
    at that start (hours, type allowed there, provider offers it, a room free if needed).
    Only future times are offered.
    """
    now = timezone.now()
    if start <= now:
        return None
    day = local_date(start)
    candidates = (
        WaitlistEntry.objects.select_related("patient", "appointment_type")
        .filter(status=WaitlistStatus.WAITING, earliest_date__lte=day, latest_date__gte=day)
        .filter(Q(provider__isnull=True) | Q(provider=provider))
        .filter(Q(location__isnull=True) | Q(location=location))
        .exclude(pk__in=list(skip_entry_ids))
        .exclude(
            offers__start=start, offers__provider=provider, offers__status=OfferStatus.DECLINED
        )
        .order_by("priority", "created_at", "pk")
    )
    if freed_by is not None:
        candidates = candidates.exclude(patient_id=freed_by.patient_id)
    for entry in candidates[:50]:
        length = timedelta(minutes=entry.appointment_type.duration_minutes)
        if start + length > end:
            continue  # longer than the freed time
        req = BookingRequest(
            entry.patient, provider, location, entry.appointment_type, start, start + length
        )
        try:
            room = check_booking(req, now=now)
        except MedofficeError:
            continue
        entry.status = WaitlistStatus.OFFERED
        entry.save(update_fields=["status"])
        return WaitlistOffer.objects.create(
            entry=entry,
            provider=provider,
            location=location,
            room=room,
            start=start,
            end=start + length,
            freed_by=freed_by,
        )
    return None


def _open_offer(offer: WaitlistOffer) -> WaitlistOffer:
    offer = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related(
            "entry", "entry__patient", "entry__appointment_type", "provider", "location"
        )
        .get(pk=offer.pk)
    )
    if offer.status != OfferStatus.OPEN:
        raise InvalidTransition(f"This offer is already {offer.get_status_display().lower()}.")
    return offer


@binds_actor("accepted_by")
def waitlist_offer_accept(*, offer: WaitlistOffer, accepted_by: User | None) -> Appointment:
    """The patient takes the offered time: book it.

    If the time was taken (or closed) meanwhile, the offer is marked taken, the patient goes
    back to waiting, and Conflict says why.
    """
    _require(accepted_by, SchedulingPerm.BOOK_APPOINTMENTS)
    appointment, problem = _accept_offer(offer, accepted_by)
    if problem is not None:
        raise Conflict(
            f"The offered time can no longer be booked: {problem.message} The patient stays on "
            "the waitlist.",
            code="offer_taken",
        )
    assert appointment is not None  # booked when nothing went wrong
    return appointment


@transaction.atomic
def _accept_offer(
    offer: WaitlistOffer, accepted_by: User | None
) -> tuple[Appointment | None, MedofficeError | None]:
    offer = _open_offer(offer)
    entry = offer.entry
    offer.responded_at, offer.responded_by = timezone.now(), accepted_by
    try:
        with transaction.atomic():
            appointment = appointment_book(
                patient=entry.patient,
                provider=offer.provider,
                location=offer.location,
                appointment_type=entry.appointment_type,
                start=offer.start,
                end=offer.end,
                booked_by=accepted_by,
                room=offer.room,
                notes=f"From the waitlist. {entry.notes}".strip(),
            )
    except (Conflict, InvalidInput) as exc:
        offer.status = OfferStatus.TAKEN
        offer.save()
        entry.status = WaitlistStatus.WAITING
        entry.save(update_fields=["status"])
        return None, exc
    offer.status = OfferStatus.ACCEPTED
    offer.appointment = appointment
    offer.save()
    entry.status = WaitlistStatus.BOOKED
    entry.save(update_fields=["status"])
    return appointment, None


@transaction.atomic
@binds_actor("declined_by")
def waitlist_offer_decline(
    *, offer: WaitlistOffer, declined_by: User | None
) -> WaitlistOffer | None:
    """The patient does not want it: back to waiting, and the time goes to the next match."""
    _require(declined_by, SchedulingPerm.BOOK_APPOINTMENTS)
    offer = _open_offer(offer)
    offer.status = OfferStatus.DECLINED
    offer.responded_at, offer.responded_by = timezone.now(), declined_by
    offer.save()
    entry = offer.entry
    entry.status = WaitlistStatus.WAITING
    entry.save(update_fields=["status"])
    return waitlist_offer_freed_slot(
        provider=offer.provider,
        location=offer.location,
        start=offer.start,
        end=offer.end,
        freed_by=offer.freed_by,
        skip_entry_ids=[entry.pk],
    )


# --- Setup: rooms, types, templates, closures, settings ------------------------------------


def _apply(instance: Model, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


@transaction.atomic
@binds_actor("actor")
def room_save(*, actor: User | None, room: Room | None = None, **fields: Any) -> Room:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    room = room or Room()
    _apply(room, fields)
    full_clean_or_raise(room)
    room.save()
    return room


@transaction.atomic
@binds_actor("actor")
def appointment_type_save(
    *,
    actor: User | None,
    appointment_type: AppointmentType | None = None,
    providers: list[Provider] | None = None,
    rooms: list[Room] | None = None,
    **fields: Any,
) -> AppointmentType:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    kind = appointment_type or AppointmentType()
    _apply(kind, fields)
    full_clean_or_raise(kind)
    if kind.duration_minutes % CELL_MINUTES:
        raise InvalidInput(
            f"The length must be a multiple of {CELL_MINUTES} minutes.", field="duration_minutes"
        )
    kind.save()
    if providers is not None:
        kind.providers.set(providers)
    if rooms is not None:
        kind.rooms.set(rooms)
    return kind


@transaction.atomic
@binds_actor("actor")
def template_save(
    *, actor: User | None, template: ScheduleTemplate | None = None, **fields: Any
) -> ScheduleTemplate:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    template = template or ScheduleTemplate()
    _apply(template, fields)
    if template.valid_to and template.valid_from and template.valid_to < template.valid_from:
        raise InvalidInput("The last day must be on or after the first.", field="valid_to")
    full_clean_or_raise(template)
    template.save()
    return template


def _block_minutes(value: time) -> int:
    return value.hour * 60 + value.minute


@transaction.atomic
@binds_actor("actor")
def template_block_add(
    *,
    actor: User | None,
    template: ScheduleTemplate,
    weekday: int,
    start_time: time,
    end_time: time,
    kind: str = BlockKind.WORK,
    appointment_types: list[AppointmentType] | None = None,
    note: str = "",
) -> TemplateBlock:
    """Add working hours, lunch or blocked time to a weekday of a template.

    Working blocks of one template may not overlap each other, nor the provider's working
    hours at another location on the same weekday while both templates are valid.
    """
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    block = TemplateBlock(
        template=template,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        kind=kind,
        note=note.strip(),
    )
    full_clean_or_raise(block)
    if end_time <= start_time:
        raise InvalidInput("The end must be after the start.", field="end_time")
    if _block_minutes(start_time) % CELL_MINUTES or _block_minutes(end_time) % CELL_MINUTES:
        raise InvalidInput(f"Use times on a {CELL_MINUTES}-minute mark.", field="start_time")
    if kind == BlockKind.WORK:
        same_time = TemplateBlock.objects.filter(
            kind=BlockKind.WORK,
            weekday=weekday,
            start_time__lt=end_time,
            end_time__gt=start_time,
            template__provider=template.provider,
            template__is_active=True,
        )
        valid_together = Q(template__valid_to__isnull=True) | Q(
            template__valid_to__gte=template.valid_from
        )
        if template.valid_to is not None:
            valid_together &= Q(template__valid_from__lte=template.valid_to)
        # Another template at the same location supersedes this one; elsewhere they clash.
        overlapping = same_time.filter(
            Q(template=template) | (valid_together & ~Q(template__location=template.location))
        ).select_related("template__location")
        clash = overlapping.first()
        if clash is not None:
            where = (
                "in this template"
                if clash.template_id == template.pk
                else f"at {clash.template.location}"
            )
            raise Conflict(
                f"{template.provider} already works {formats.us_time(clash.start_time)}-"
                f"{formats.us_time(clash.end_time)} on {clash.get_weekday_display()} {where}.",
                field="start_time",
            )
    block.save()
    if appointment_types:
        block.appointment_types.set(appointment_types)
    return block


@transaction.atomic
@binds_actor("actor")
def template_block_remove(*, actor: User | None, block: TemplateBlock) -> None:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    block.delete()


@transaction.atomic
@binds_actor("actor")
def closure_save(
    *,
    actor: User | None,
    scope: str,
    start_date: date,
    end_date: date,
    reason: str,
    location: Location | None = None,
    provider: Provider | None = None,
    start_time: time | None = None,
    end_time: time | None = None,
) -> Closure:
    """Close the practice, a location or a provider for a date range (or part of each day).

    Existing appointments in the closed time are not cancelled: the closures page lists
    them so the front desk can call the patients.
    """
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    errors: dict[str, list[str]] = {}
    if scope == ClosureScope.LOCATION and location is None:
        errors["location"] = ["Choose the location that closes."]
    if scope == ClosureScope.PROVIDER and provider is None:
        errors["provider"] = ["Choose the provider who is away."]
    if (start_time is None) != (end_time is None):
        errors["end_time" if end_time is None else "start_time"] = [
            "Give both a start and an end time, or neither for whole days."
        ]
    elif start_time is not None and end_time is not None and end_time <= start_time:
        errors["end_time"] = ["The end time must be after the start time."]
    if end_date < start_date:
        errors["end_date"] = ["The last day must be on or after the first."]
    if not (reason or "").strip():
        errors["reason"] = ["Give the reason (shown to the front desk)."]
    if errors:
        first_field, messages = next(iter(errors.items()))
        raise InvalidInput(messages[0], field=first_field, errors=errors)
    closure = Closure(
        scope=scope,
        location=location if scope != ClosureScope.PRACTICE else None,
        provider=provider if scope == ClosureScope.PROVIDER else None,
        start_date=start_date,
        end_date=end_date,
        start_time=start_time,
        end_time=end_time,
        reason=reason.strip(),
        created_by=actor,
    )
    full_clean_or_raise(closure, exclude=["created_by"])
    closure.save()
    return closure


@transaction.atomic
@binds_actor("actor")
def closure_delete(*, actor: User | None, closure: Closure) -> None:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    closure.delete()


@transaction.atomic
@binds_actor("actor")
def scheduling_settings_save(*, actor: User | None, **fields: Any) -> SchedulingSettings:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    rules = SchedulingSettings.objects.select_for_update().order_by("pk").first()
    rules = rules or SchedulingSettings()
    _apply(rules, fields)
    full_clean_or_raise(rules)
    if rules.slot_step_minutes not in (5, 10, 15, 20, 30, 60):
        raise InvalidInput(
            "Use a step of 5, 10, 15, 20, 30 or 60 minutes.", field="slot_step_minutes"
        )
    rules.save()
    return rules
