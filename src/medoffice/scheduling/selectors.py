"""Reads of the scheduling app: day and week lists, counts, and free slots.

`free_slots` ("find next available") walks forward a few days at a time: per window one
query for the busy intervals of the candidate providers (and one for the rooms the type
needs), then the free starts are computed in memory from the templates, closures and
holidays loaded once by `availability.Calendar`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from medoffice.core.access import has_perm
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import Location, Provider
from medoffice.core.permissions import Perm
from medoffice.scheduling.availability import (
    Calendar,
    local_date,
    local_day_bounds,
    practice_zone,
    scheduling_settings,
)
from medoffice.scheduling.models import (
    CELL_SECONDS,
    HOLDING_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    OfferStatus,
    Room,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)

MAX_SEARCH_DAYS = 366
MAX_SLOT_LIMIT = 200
# Busy intervals are read for this many days per query.
WINDOW_DAYS = 7


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related(
        "patient", "provider", "location", "appointment_type", "room"
    )


def appointments_between(
    start: datetime,
    end: datetime,
    *,
    location: Location | int | None = None,
    provider: Provider | int | None = None,
    include_cancelled: bool = True,
) -> QuerySet[Appointment]:
    found = _appointments().filter(start__lt=end, end__gt=start)
    if location is not None:
        found = found.filter(location=location)
    if provider is not None:
        found = found.filter(provider=provider)
    if not include_cancelled:
        found = found.filter(status__in=HOLDING_STATUSES)
    return found.order_by("start", "provider__last_name", "pk")


def appointments_on(
    day: date,
    location: Location | int | None = None,
    provider: Provider | int | None = None,
    *,
    include_cancelled: bool = True,
) -> QuerySet[Appointment]:
    """The appointments of one local day (practice zone), earliest first."""
    start, end = local_day_bounds(day)
    return appointments_between(
        start, end, location=location, provider=provider, include_cancelled=include_cancelled
    )


def appointments_of_patient(patient, *, limit: int = 50) -> QuerySet[Appointment]:
    return _appointments().filter(patient=patient).order_by("-start")[:limit]


def next_appointment(patient) -> Appointment | None:
    return (
        _appointments()
        .filter(patient=patient, status=AppointmentStatus.BOOKED, start__gte=timezone.now())
        .order_by("start")
        .first()
    )


def no_show_count(patient) -> int:
    return Appointment.objects.filter(patient=patient, status=AppointmentStatus.NO_SHOW).count()


def no_show_counts(patient_ids: Iterable[int]) -> dict[int, int]:
    """No-shows per patient for a page of patients, in one query."""
    rows = (
        Appointment.objects.filter(
            patient_id__in=list(patient_ids), status=AppointmentStatus.NO_SHOW
        )
        .values("patient_id")
        .annotate(n=Count("pk"))
    )
    return {row["patient_id"]: row["n"] for row in rows}


def status_counts(start: datetime, end: datetime) -> dict[str, int]:
    rows = (
        Appointment.objects.filter(start__gte=start, start__lt=end)
        .values("status")
        .annotate(n=Count("pk"))
    )
    return {row["status"]: row["n"] for row in rows}


# --- Who may see which schedule --------------------------------------------------------------


def own_provider(user) -> Provider | None:
    return Provider.objects.filter(user=user).first() if user.is_authenticated else None


def visible_providers(user) -> QuerySet[Provider]:
    """Everyone with VIEW_SCHEDULE; only their own schedule with VIEW_OWN_SCHEDULE."""
    if has_perm(user, Perm.VIEW_SCHEDULE):
        return Provider.objects.filter(is_active=True)
    if has_perm(user, Perm.VIEW_OWN_SCHEDULE):
        return Provider.objects.filter(user=user)
    raise NotPermitted("Your role does not include the schedule.")


def can_see_all(user) -> bool:
    return has_perm(user, Perm.VIEW_SCHEDULE)


def restrict_to_visible(queryset: QuerySet[Appointment], user) -> QuerySet[Appointment]:
    if has_perm(user, Perm.VIEW_SCHEDULE):
        return queryset
    if has_perm(user, Perm.VIEW_OWN_SCHEDULE):
        return queryset.filter(provider__user=user)
    raise NotPermitted("Your role does not include the schedule.")


def appointment_for_user(user, pk) -> Appointment:
    """One appointment the user may see (all, or only their own as a clinician); audited view."""
    from medoffice.core import audit
    from medoffice.core.exceptions import NotFound

    try:
        appointment = restrict_to_visible(_appointments(), user).get(pk=pk)
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No appointment with id {pk}.") from None
    audit.record_view(appointment)
    return appointment


# --- Free slots -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    provider_id: int
    location_id: int
    start: datetime
    end: datetime
    room_id: int | None = None


def _busy_cells(rows: Iterable[tuple[int, datetime, datetime]]) -> dict[int, set[int]]:
    busy: dict[int, set[int]] = defaultdict(set)
    for key, start, end in rows:
        if key is None:
            continue
        first = int(start.timestamp()) // CELL_SECONDS
        last = -(-int(end.timestamp()) // CELL_SECONDS)
        busy[key].update(range(first, last))
    return busy


def free_slots(
    appointment_type: AppointmentType,
    providers: Iterable[Provider | int] | None = None,
    locations: Iterable[Location | int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 10,
    *,
    step_minutes: int | None = None,
    per_provider_day: int | None = None,
) -> list[Slot]:
    """The first free slots for an appointment type, earliest first.

    Respects each provider's template at each location (hours, lunch, blocked time, types
    allowed), closures, holidays, existing bookings of the provider, and a free room when
    the type needs one. `providers`/`locations` narrow the search (default: every provider
    offering the type, everywhere they work). `start` defaults to now, `end` to 90 days later.
    """
    now = timezone.now()
    start = max(start or now, now)
    end = end or start + timedelta(days=90)
    if end <= start:
        raise InvalidInput("The end of the search must be after its start.", field="end")
    limit = max(1, min(int(limit), MAX_SLOT_LIMIT))
    tz = practice_zone()
    first_day, last_day = local_date(start, tz), local_date(end, tz)
    if (last_day - first_day).days > MAX_SEARCH_DAYS:
        raise InvalidInput(f"Search at most {MAX_SEARCH_DAYS} days at once.", field="end")
    step = step_minutes or scheduling_settings().slot_step_minutes
    step_delta = timedelta(minutes=step)
    length = timedelta(minutes=appointment_type.duration_minutes)
    length_cells = appointment_type.duration_minutes * 60 // CELL_SECONDS

    offering = set(appointment_type.providers.filter(is_active=True).values_list("pk", flat=True))
    if providers is not None:
        offering &= {p if isinstance(p, int) else p.pk for p in providers}
    location_ids = None
    if locations is not None:
        location_ids = [loc if isinstance(loc, int) else loc.pk for loc in locations]
    if not offering or not appointment_type.is_active:
        return []
    calendar = Calendar(
        first=first_day,
        last=last_day,
        provider_ids=sorted(offering),
        location_ids=location_ids,
        tz=tz,
    )
    active_locations = set(Location.objects.filter(is_active=True).values_list("pk", flat=True))
    pairs = [
        (provider_id, location_id)
        for provider_id, location_id in calendar.pairs
        if location_id in active_locations
    ]
    if not pairs:
        return []
    pool: dict[int, list[int]] = defaultdict(list)
    for room_id, location_id in (
        appointment_type.rooms.filter(is_active=True)
        .order_by("name")
        .values_list("pk", "location_id")
    ):
        pool[location_id].append(room_id)
    needs_room = appointment_type.rooms.exists()
    if needs_room:
        pairs = [pair for pair in pairs if pool.get(pair[1])]
    provider_ids = sorted({p for p, _ in pairs})
    room_ids = sorted({r for rooms in pool.values() for r in rooms})

    found: list[Slot] = []
    window_start = first_day
    while window_start <= last_day:
        window_end = min(window_start + timedelta(days=WINDOW_DAYS - 1), last_day)
        plans = {}
        day = window_start
        while day <= window_end:
            for pair in pairs:
                plan = calendar.plan(pair[0], pair[1], day)
                windows = plan.windows_for(appointment_type.pk)
                if windows:
                    plans[(pair, day)] = windows
            day += timedelta(days=1)
        if plans:
            span_start = local_day_bounds(window_start, tz)[0]
            span_end = local_day_bounds(window_end, tz)[1]
            provider_busy = _busy_cells(
                Appointment.objects.filter(
                    provider_id__in=provider_ids,
                    status__in=HOLDING_STATUSES,
                    start__lt=span_end,
                    start__gte=span_start - timedelta(hours=8),
                    end__gt=span_start,
                ).values_list("provider_id", "start", "end")
            )
            room_busy = (
                _busy_cells(
                    Appointment.objects.filter(
                        room_id__in=room_ids,
                        status__in=HOLDING_STATUSES,
                        start__lt=span_end,
                        start__gte=span_start - timedelta(hours=8),
                        end__gt=span_start,
                    ).values_list("room_id", "start", "end")
                )
                if needs_room
                else {}
            )
            batch: list[Slot] = []
            for ((provider_id, location_id), _day), windows in plans.items():
                taken = provider_busy.get(provider_id, set())
                per_day = 0
                for window in windows:
                    moment = window.start
                    while moment + length <= window.end:
                        if start <= moment and moment + length <= end:
                            first_cell = int(moment.timestamp()) // CELL_SECONDS
                            cells = range(first_cell, first_cell + length_cells)
                            if not any(cell in taken for cell in cells):
                                room_id = None
                                ok = True
                                if needs_room:
                                    ok = False
                                    for candidate in pool[location_id]:
                                        used = room_busy.get(candidate)
                                        if not used or not any(cell in used for cell in cells):
                                            room_id, ok = candidate, True
                                            break
                                if ok:
                                    batch.append(
                                        Slot(
                                            provider_id,
                                            location_id,
                                            moment.astimezone(UTC),
                                            (moment + length).astimezone(UTC),
                                            room_id,
                                        )
                                    )
                                    per_day += 1
                                    if per_provider_day and per_day >= per_provider_day:
                                        break
                        moment += step_delta
                    if per_provider_day and per_day >= per_provider_day:
                        break
            batch.sort(key=lambda slot: (slot.start, slot.provider_id, slot.location_id))
            found.extend(batch)
            if len(found) >= limit:
                return found[:limit]
        window_start = window_end + timedelta(days=1)
    return found[:limit]


def first_free_slot(appointment_type: AppointmentType, **kwargs) -> Slot | None:
    slots = free_slots(appointment_type, limit=1, **kwargs)
    return slots[0] if slots else None


def describe_slots(slots: list[Slot]) -> list[dict]:
    """Slots with the names people read (two queries for the whole list)."""
    providers = {p.pk: p for p in Provider.objects.filter(pk__in={s.provider_id for s in slots})}
    locations = {
        loc.pk: loc for loc in Location.objects.filter(pk__in={s.location_id for s in slots})
    }
    rooms = {r.pk: r for r in Room.objects.filter(pk__in={s.room_id for s in slots if s.room_id})}
    return [
        {
            "slot": slot,
            "provider": providers.get(slot.provider_id),
            "location": locations.get(slot.location_id),
            "room": rooms.get(slot.room_id) if slot.room_id else None,
        }
        for slot in slots
    ]


# --- Waitlist -------------------------------------------------------------------------------


def waitlist_entries(*, status: str | None = WaitlistStatus.WAITING) -> QuerySet[WaitlistEntry]:
    found = WaitlistEntry.objects.select_related(
        "patient", "appointment_type", "provider", "location"
    )
    if status:
        found = found.filter(status=status)
    return found.order_by("priority", "created_at", "pk")


def open_offers() -> QuerySet[WaitlistOffer]:
    return (
        WaitlistOffer.objects.filter(status=OfferStatus.OPEN)
        .select_related(
            "entry", "entry__patient", "entry__appointment_type", "provider", "location", "room"
        )
        .order_by("start")
    )


def appointments_in_closure(closure) -> QuerySet[Appointment]:
    """Booked appointments that fall in a closure, so the front desk can call the patients."""
    tz = practice_zone()
    start = local_day_bounds(closure.start_date, tz)[0]
    end = local_day_bounds(closure.end_date, tz)[1]
    found = _appointments().filter(
        status__in=[AppointmentStatus.BOOKED], start__lt=end, end__gt=start
    )
    if closure.location_id and closure.scope == "location":
        found = found.filter(location_id=closure.location_id)
    if closure.provider_id:
        found = found.filter(provider_id=closure.provider_id)
        if closure.location_id:
            found = found.filter(location_id=closure.location_id)
    if closure.start_time is not None:
        keep = [
            a.pk
            for a in found
            if a.start.astimezone(tz).time() < closure.end_time
            and a.end.astimezone(tz).time() > closure.start_time
        ]
        found = _appointments().filter(pk__in=keep)
    return found.order_by("start")


def day_summary(day: date) -> dict[str, int]:
    start, end = local_day_bounds(day)
    return status_counts(start, end)


def open_offer_count() -> int:
    return WaitlistOffer.objects.filter(status=OfferStatus.OPEN).count()
