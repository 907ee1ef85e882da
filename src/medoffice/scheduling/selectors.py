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
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from medoffice.core.access import has_perm
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import Location, Provider, User
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
    AppointmentQuerySet,
    AppointmentStatus,
    AppointmentType,
    Closure,
    Occupancy,
    OfferStatus,
    Room,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from medoffice.scheduling.permissions import SchedulingPerm

if TYPE_CHECKING:
    from medoffice.patients.models import Patient

MAX_SEARCH_DAYS = 366
MAX_SLOT_LIMIT = 200


def _appointments() -> AppointmentQuerySet:
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
    found = _appointments().overlapping(start, end)
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


def patient_appointments(patient: Patient | int) -> AppointmentQuerySet:
    """Every appointment of a patient, newest first (unsliced, for further filtering)."""
    return _appointments().filter(patient=patient).order_by("-start")


def appointments_of_patient(patient: Patient | int, *, limit: int = 50) -> QuerySet[Appointment]:
    return patient_appointments(patient)[:limit]


def next_appointment(patient: Patient | int) -> Appointment | None:
    return (
        _appointments()
        .filter(patient=patient, status=AppointmentStatus.BOOKED, start__gte=timezone.now())
        .order_by("start")
        .first()
    )


def no_show_count(patient: Patient | int) -> int:
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


def patient_double_bookings() -> QuerySet[Appointment]:
    """Appointments holding time that overlap an earlier appointment of the same patient.

    They date from before the database held the patient rule: migration 0005 left the
    earlier booking holding the patient's cells and these without a patient on the shared
    cells (docs/adr/0013). New ones cannot be written.
    """
    unheld = Occupancy.objects.filter(appointment=OuterRef("pk"), patient__isnull=True)
    return (
        _appointments().filter(Exists(unheld), status__in=HOLDING_STATUSES).order_by("start", "pk")
    )


# --- Who may see which schedule --------------------------------------------------------------


def own_provider(user: User | AnonymousUser) -> Provider | None:
    return Provider.objects.filter(user=user).first() if user.is_authenticated else None


def visible_providers(user: User) -> QuerySet[Provider]:
    """Everyone with VIEW_SCHEDULE; only their own schedule with VIEW_OWN_SCHEDULE."""
    if has_perm(user, SchedulingPerm.VIEW_SCHEDULE):
        return Provider.objects.filter(is_active=True)
    if has_perm(user, SchedulingPerm.VIEW_OWN_SCHEDULE):
        return Provider.objects.filter(user=user)
    raise NotPermitted("Your role does not include the schedule.")


def can_see_all(user: User) -> bool:
    return has_perm(user, SchedulingPerm.VIEW_SCHEDULE)


def restrict_to_visible(queryset: AppointmentQuerySet, user: User) -> AppointmentQuerySet:
    if has_perm(user, SchedulingPerm.VIEW_SCHEDULE):
        return queryset
    if has_perm(user, SchedulingPerm.VIEW_OWN_SCHEDULE):
        return queryset.filter(provider__user=user)
    raise NotPermitted("Your role does not include the schedule.")


def appointment_for_user(user: User, pk: int | str) -> Appointment:
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


# Days read per query, growing while too little is found: most searches end in a day or two.
WINDOW_STEPS = (1, 2, 4, 7, 14)


def _busy_masks(
    field: str, ids: list[int], first_cell: int, last_cell: int
) -> dict[int, bytearray]:
    """Occupied five-minute cells of some providers (or rooms), as one byte per cell.

    Read from the occupancy table through its unique (provider, cell) / (room, cell)
    index: plain integers, exactly what the constraints hold. A byte mask lets the search
    test a whole candidate slot with one `find` in C.
    """
    masks: dict[int, bytearray] = {}
    if not ids:
        return masks
    span = last_cell - first_cell
    query = (
        Occupancy.objects.filter(**{f"{field}__in": ids}, cell__gte=first_cell, cell__lt=last_cell)
        .order_by()
        .values_list(field, "cell")
    )
    # Thousands of integer pairs: read them with the cursor, past the ORM's row machinery.
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for key, cell in rows:
        mask = masks.get(key)
        if mask is None:
            mask = masks[key] = bytearray(span)
        mask[cell - first_cell] = 1
    return masks


def _cell(moment: datetime) -> int:
    return int(moment.timestamp()) // CELL_SECONDS


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
    `per_provider_day` caps the slots listed per provider and day (a varied list for people).
    Candidate starts are on the slot step from the start of each working window.
    """
    for name, value in (("start", start), ("end", end)):
        if value is not None and timezone.is_naive(value):
            raise InvalidInput(f"Give the search {name} with its time zone.", field=name)
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
    if not appointment_type.is_active:
        return []
    rules = scheduling_settings()
    step = (step_minutes or rules.slot_step_minutes) * 60 // CELL_SECONDS
    length = appointment_type.duration_minutes * 60 // CELL_SECONDS
    offering = set(appointment_type.providers.filter(is_active=True).values_list("pk", flat=True))
    if providers is not None:
        offering &= {p if isinstance(p, int) else p.pk for p in providers}
    if not offering:
        return []
    location_ids = None
    if locations is not None:
        location_ids = [loc if isinstance(loc, int) else loc.pk for loc in locations]
    calendar = Calendar(
        first=first_day, last=last_day, provider_ids=sorted(offering), location_ids=location_ids,
        tz=tz, rules=rules,
    )  # fmt: skip
    pool: dict[int, list[int]] = defaultdict(list)
    needs_room = False
    for room_id, location_id, room_active in appointment_type.rooms.order_by("name").values_list(
        "pk", "location_id", "is_active"
    ):
        needs_room = True
        if room_active:
            pool[location_id].append(room_id)
    pairs = [pair for pair in calendar.pairs if not needs_room or pool.get(pair[1])]
    if not pairs:
        return []
    provider_ids = sorted({provider_id for provider_id, _ in pairs})
    room_ids = sorted({room for rooms in pool.values() for room in rooms})
    first_allowed = -(-int(start.timestamp()) // CELL_SECONDS)
    last_allowed = int(end.timestamp()) // CELL_SECONDS

    found: list[Slot] = []
    window_start, step_index = first_day, 0
    while window_start <= last_day:
        days = WINDOW_STEPS[min(step_index, len(WINDOW_STEPS) - 1)]
        step_index += 1
        window_end = min(window_start + timedelta(days=days - 1), last_day)
        plans: list[tuple[int, int, int, int]] = []
        day = window_start
        while day <= window_end:
            for provider_id, location_id in pairs:
                for first_cell, last_cell in calendar.cell_windows(
                    provider_id, location_id, day, appointment_type.pk
                ):
                    plans.append((provider_id, location_id, first_cell, last_cell))
            day += timedelta(days=1)
        if plans:
            base = _cell(local_day_bounds(window_start, tz)[0])
            top = _cell(local_day_bounds(window_end, tz)[1])
            provider_busy = _busy_masks("provider_id", provider_ids, base, top)
            room_busy = _busy_masks("room_id", room_ids, base, top) if needs_room else {}
            free = bytearray(top - base)  # the mask of someone with nothing booked
            batch = _candidates(
                plans, provider_busy, room_busy, pool if needs_room else None, free, base,
                length, step, first_allowed, last_allowed, per_provider_day,
            )  # fmt: skip
            batch.sort()
            found.extend(
                Slot(
                    provider_id,
                    location_id,
                    datetime.fromtimestamp(cell * CELL_SECONDS, tz=UTC),
                    datetime.fromtimestamp((cell + length) * CELL_SECONDS, tz=UTC),
                    room_id,
                )
                for cell, provider_id, location_id, room_id in batch
            )
            if len(found) >= limit:
                return found[:limit]
        window_start = window_end + timedelta(days=1)
    return found[:limit]


def _candidates(
    plans: list[tuple[int, int, int, int]],
    provider_busy: dict[int, bytearray],
    room_busy: dict[int, bytearray],
    pool: dict[int, list[int]] | None,
    free: bytearray,
    base: int,
    length: int,
    step: int,
    first_allowed: int,
    last_allowed: int,
    per_provider_day: int | None,
) -> list[tuple[int, int, int, int | None]]:
    """Free starts in the working windows: jump past each busy cell instead of testing
    every step, so a nearly full day costs a few `find` calls."""
    batch: list[tuple[int, int, int, int | None]] = []
    per_day: dict[tuple[int, int], int] = defaultdict(int)
    for provider_id, location_id, first_cell, last_cell in plans:
        mask = provider_busy.get(provider_id, free)
        origin = first_cell - base
        cell = origin
        stop = min(last_cell, last_allowed) - base
        if first_allowed - base > cell:  # skip the steps before the search's start
            cell += -(-(first_allowed - base - cell) // step) * step
        day_key = (provider_id, first_cell // 288)
        while cell + length <= stop:
            busy_at = mask.find(1, cell, cell + length)
            if busy_at >= 0:
                cell = origin + ((busy_at - origin) // step + 1) * step
                continue
            room_id = None
            if pool is not None:
                room_id = next(
                    (
                        r
                        for r in pool[location_id]
                        if room_busy.get(r, free).find(1, cell, cell + length) < 0
                    ),
                    None,
                )
                if room_id is None:
                    cell += step
                    continue
            if per_provider_day:
                if per_day[day_key] >= per_provider_day:
                    break
                per_day[day_key] += 1
            batch.append((cell + base, provider_id, location_id, room_id))
            cell += step
    return batch


def first_free_slot(appointment_type: AppointmentType, **kwargs: Any) -> Slot | None:
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


def appointments_in_closure(closure: Closure) -> QuerySet[Appointment]:
    """Booked appointments that fall in a closure, so the front desk can call the patients."""
    tz = practice_zone()
    start = local_day_bounds(closure.start_date, tz)[0]
    end = local_day_bounds(closure.end_date, tz)[1]
    found = _appointments().overlapping(start, end).filter(status=AppointmentStatus.BOOKED)
    if closure.location_id and closure.scope == "location":
        found = found.filter(location_id=closure.location_id)
    if closure.provider_id:
        found = found.filter(provider_id=closure.provider_id)
        if closure.location_id:
            found = found.filter(location_id=closure.location_id)
    if closure.start_time is not None and closure.end_time is not None:
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
