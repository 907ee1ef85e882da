"""Recurring appointments: an RFC 5545 rule expanded in the practice's zone, previewed,
booked all-or-nothing or free-only, and cancelled from one occurrence on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dateutil import rrule as dateutil_rrule
from django.db import transaction
from django.utils import timezone

from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, MedofficeError
from medoffice.core.models import Location, Provider, User
from medoffice.scheduling.availability import practice_zone
from medoffice.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    RecurringSeries,
    Room,
    SeriesPolicy,
)
from medoffice.scheduling.permissions import SchedulingPerm
from medoffice.scheduling.services._common import _fmt_when, _require
from medoffice.scheduling.services.booking import BookingRequest, appointment_book, check_booking
from medoffice.scheduling.services.lifecycle import RescheduleScope, appointment_cancel

if TYPE_CHECKING:
    from medoffice.patients.models import Patient

MAX_SERIES_OCCURRENCES = 104
MAX_SERIES_YEARS = 2


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
