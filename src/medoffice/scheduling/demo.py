"""Scheduling's part of the demo practice: rooms, appointment types, weekly templates,
closures, a few months of appointments (past ones with realistic outcomes), some recurring
series and a waitlist with an open offer.

Appointments are laid out in memory over each provider's real working windows (the same
`availability.Calendar` the booking service uses) and written in bulk with their occupancy
cells; the series, the waitlist and the cancellation that frees a slot go through the
services, so they behave exactly like the front desk's.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import time, timedelta

from django.utils import timezone

from medoffice.scheduling.availability import Calendar, practice_zone
from medoffice.scheduling.models import (
    CELL_SECONDS,
    HOLDING_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BlockKind,
    Closure,
    ClosureScope,
    Occupancy,
    Room,
    ScheduleTemplate,
    SeriesPolicy,
    TemplateBlock,
)

BATCH = 2000
# name, code, minutes, colour, who offers it ("all", or specialty words), needs (room names)
TYPES = (
    ("New patient", "new-patient", 40, "#0b5cad", "all", ()),
    ("Follow-up", "follow-up", 20, "#1a7f37", "all", ()),
    ("Annual physical", "annual-physical", 30, "#8250df", "all", ()),
    ("Sick visit", "sick-visit", 15, "#bf3989", "all", ()),
    ("Well child", "well-child", 30, "#d4a72c", ("Pediatrics",), ()),
    ("Minor procedure", "procedure", 45, "#b42318", ("Family", "Internal"), ("Procedure room",)),
    ("ECG", "ecg", 20, "#57606a", ("Cardio", "Internal"), ("ECG cart",)),
)
# share of each type among the appointments a provider can take (by code)
MIX = {
    "follow-up": 40, "sick-visit": 18, "annual-physical": 14, "new-patient": 12,
    "well-child": 10, "procedure": 4, "ecg": 4,
}  # fmt: skip
PAST_STATUS_WEIGHTS = (
    (AppointmentStatus.COMPLETED, 83),
    (AppointmentStatus.NO_SHOW, 7),
    (AppointmentStatus.CANCELLED, 10),
)
CANCEL_REASONS = (
    "Patient called: feeling better", "Patient called: work conflict", "Transportation problem",
    "Rescheduled by patient", "Provider out sick", "Weather",
)  # fmt: skip


def _rooms(locations) -> dict[str, list[Room]]:
    made: dict[str, list[Room]] = defaultdict(list)
    for n, location in enumerate(locations):
        for number in (1, 2, 3):
            Room.objects.create(location=location, name=f"Exam {number}")
        if n < 2:
            made["Procedure room"].append(
                Room.objects.create(location=location, name="Procedure room")
            )
        if n < 2:
            made["ECG cart"].append(
                Room.objects.create(location=location, name="ECG cart", kind="equipment")
            )
    return made


def _types(providers, rooms) -> list[AppointmentType]:
    made = []
    for name, code, minutes, color, who, needs in TYPES:
        kind = AppointmentType.objects.create(
            name=name, code=code, duration_minutes=minutes, color=color
        )
        if who == "all":
            offering = list(providers)
        else:
            offering = [p for p in providers if any(word in p.specialty for word in who)]
        kind.providers.set(offering)
        if needs:
            kind.rooms.set([room for need in needs for room in rooms.get(need, [])])
        made.append(kind)
    return made


def _templates(ctx, providers) -> None:
    rng = ctx.rng
    start_of_history = ctx.today - timedelta(days=400)
    for n, provider in enumerate(providers):
        places = list(provider.locations.order_by("name"))
        if not places:
            continue
        days_at = (
            {places[0]: (0, 1, 2, 3, 4)}
            if len(places) == 1
            else {places[0]: (0, 2, 4), places[1]: (1, 3)}
        )
        starts = rng.choice(((8, 0), (8, 30), (9, 0)))
        for location, weekdays in days_at.items():
            template = ScheduleTemplate.objects.create(
                provider=provider, location=location, name="Regular week",
                valid_from=start_of_history,
            )  # fmt: skip
            for weekday in weekdays:
                end = time(12, 0) if (n == 5 and weekday == 4) else time(17, 0)
                TemplateBlock.objects.create(
                    template=template, weekday=weekday, start_time=time(*starts), end_time=end
                )
                if end > time(13, 0):
                    TemplateBlock.objects.create(
                        template=template, weekday=weekday, start_time=time(12, 0),
                        end_time=time(13, 0), kind=BlockKind.LUNCH,
                    )  # fmt: skip
            if n == 0 and location == places[0]:
                # The owner keeps Thursday afternoons for paperwork, and Saturday mornings open.
                TemplateBlock.objects.create(
                    template=template, weekday=3, start_time=time(15, 0), end_time=time(17, 0),
                    kind=BlockKind.BLOCKED, note="Charts and admin",
                )  # fmt: skip
                TemplateBlock.objects.create(
                    template=template, weekday=5, start_time=time(9, 0), end_time=time(12, 0)
                )


def _closures(ctx, providers, locations, manager) -> None:
    rng = ctx.rng
    first_of_next = (ctx.today.replace(day=1) + timedelta(days=32)).replace(day=1)
    training = first_of_next + timedelta(days=(2 - first_of_next.weekday()) % 7)  # a Wednesday
    Closure.objects.create(
        scope=ClosureScope.PRACTICE, start_date=training, end_date=training,
        start_time=time(13, 0), end_time=time(17, 0), reason="All-staff training",
        created_by=manager,
    )  # fmt: skip
    away = rng.choice(providers[1:])
    vacation = ctx.today + timedelta(days=rng.randint(20, 35))
    vacation -= timedelta(days=vacation.weekday())
    Closure.objects.create(
        scope=ClosureScope.PROVIDER, provider=away, start_date=vacation,
        end_date=vacation + timedelta(days=4), reason="Vacation", created_by=manager,
    )  # fmt: skip
    past = ctx.today - timedelta(days=rng.randint(20, 50))
    Closure.objects.create(
        scope=ClosureScope.LOCATION, location=locations[-1], start_date=past, end_date=past,
        reason="Power outage", created_by=manager,
    )  # fmt: skip


def _cells(start, end) -> range:
    return range(int(start.timestamp()) // CELL_SECONDS, -(-int(end.timestamp()) // CELL_SECONDS))


def _free_patient(
    rng: random.Random,
    patient_ids: list[int],
    patient_busy: dict[int, set[int]],
    cells: set[int],
    tries: int = 8,
) -> int | None:
    """A random patient with nothing booked in these cells (None after a few tries)."""
    for _ in range(tries):
        patient_id = rng.choice(patient_ids)
        if not (patient_busy[patient_id] & cells):
            return patient_id
    return None


def _appointments(ctx, providers, types, patient_ids, desk_users) -> None:
    """Fill each provider's working windows, day by day, to a realistic level."""
    rng = ctx.rng
    tz = practice_zone()
    now = timezone.now()
    first = ctx.today - timedelta(days=ctx.count(small=90, large=365))
    last = ctx.today + timedelta(days=ctx.count(small=42, large=90))
    calendar = Calendar(first=first, last=last, provider_ids=[p.pk for p in providers], tz=tz)
    offered: dict[int, list[AppointmentType]] = defaultdict(list)
    for kind in types:
        for provider_id in kind.providers.values_list("pk", flat=True):
            offered[provider_id].append(kind)
    pools: dict[tuple[int, int], list[int]] = {}
    for kind in types:
        for room in kind.rooms.all():
            pools.setdefault((kind.pk, room.location_id), []).append(room.pk)
    needs_room = {kind.pk: kind.rooms.exists() for kind in types}
    room_busy: dict[int, set[int]] = defaultdict(set)
    # A patient is never in two places at once: the cells each patient already holds.
    patient_busy: dict[int, set[int]] = defaultdict(set)
    rows: list[Appointment] = []
    day = first
    while day <= last:
        horizon = (day - ctx.today).days
        # Further out, fewer slots are taken yet.
        fill = 0.82 if horizon <= 0 else max(0.25, 0.8 - horizon * 0.012)
        for provider_id, location_id in calendar.pairs:
            plan = calendar.plan(provider_id, location_id, day)
            for window in plan.windows:
                moment = window.start
                while moment < window.end:
                    choices = offered.get(provider_id) or []
                    if not choices:
                        break
                    kind = rng.choices(choices, [MIX.get(k.code, 5) for k in choices])[0]
                    end = moment + timedelta(minutes=kind.duration_minutes)
                    if end > window.end:
                        moment += timedelta(minutes=5)
                        continue
                    if rng.random() > fill:
                        moment += timedelta(minutes=rng.choice((10, 15, 20)))
                        continue
                    room_id = None
                    pool = pools.get((kind.pk, location_id))
                    if needs_room[kind.pk] and not pool:
                        moment = end
                        continue
                    cells = set(_cells(moment, end))
                    patient_id = _free_patient(rng, patient_ids, patient_busy, cells)
                    if patient_id is None:
                        moment = end
                        continue
                    if pool:
                        room_id = next((r for r in pool if not (room_busy[r] & cells)), None)
                        if room_id is None:
                            moment = end
                            continue
                        room_busy[room_id] |= cells
                    patient_busy[patient_id] |= cells
                    rows.append(
                        _appointment(
                            rng,
                            kind,
                            provider_id,
                            location_id,
                            room_id,
                            moment,
                            end,
                            patient_id,
                            now,
                            desk_users,
                            ctx.today,
                            tz,
                        )
                    )
                    moment = end
        day += timedelta(days=1)
    Appointment.objects.bulk_create(rows, batch_size=BATCH)
    holding = [a for a in rows if a.status in HOLDING_STATUSES]
    Occupancy.objects.bulk_create(
        (
            Occupancy(
                appointment=a,
                provider_id=a.provider_id,
                room_id=a.room_id,
                patient_id=a.patient_id,
                cell=cell,
            )
            for a in holding
            for cell in _cells(a.start, a.end)
        ),
        batch_size=BATCH * 5,
    )
    ctx.shared["appointment_count"] = len(rows)


def _appointment(
    rng, kind, provider_id, location_id, room_id, start, end, patient_id, now, desk_users,
    today, tz,
) -> Appointment:  # fmt: skip
    status = AppointmentStatus.BOOKED
    fields: dict = {}
    local_day = start.astimezone(tz).date()
    if local_day < today:
        status = rng.choices(
            [s for s, _ in PAST_STATUS_WEIGHTS], [w for _, w in PAST_STATUS_WEIGHTS]
        )[0]
    elif local_day > today and rng.random() < 0.04:
        status = AppointmentStatus.CANCELLED
    booked_at = start - timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 8))
    if status == AppointmentStatus.COMPLETED:
        fields = {
            "checked_in_at": start - timedelta(minutes=rng.randint(0, 15)),
            "completed_at": end,
        }
    elif status == AppointmentStatus.NO_SHOW:
        fields = {"no_show_at": start + timedelta(minutes=30)}
    elif status == AppointmentStatus.CANCELLED:
        cancelled_at = min(now, start - timedelta(hours=rng.randint(2, 72)))
        fields = {
            "cancel_reason": rng.choice(CANCEL_REASONS), "cancelled_at": cancelled_at,
            "cancelled_by": rng.choice(desk_users),
        }  # fmt: skip
    appointment = Appointment(
        patient_id=patient_id, provider_id=provider_id, location_id=location_id,
        appointment_type=kind, room_id=room_id, start=start, end=end, status=status,
        booked_by=rng.choice(desk_users), **fields,
    )  # fmt: skip
    appointment.created_at = booked_at
    return appointment


def _series_and_waitlist(ctx, types, patient_ids, desk) -> None:
    """A few weekly series, a waitlist, and one cancellation whose slot is offered."""
    from medoffice.core.exceptions import MedofficeError
    from medoffice.patients.models import Patient
    from medoffice.scheduling import selectors, services

    rng = ctx.rng
    by_code = {kind.code: kind for kind in types}
    follow_up = by_code["follow-up"]
    for _ in range(3):
        slot = selectors.first_free_slot(
            follow_up, start=timezone.now() + timedelta(days=rng.randint(3, 10))
        )
        if slot is None:
            break
        patient = Patient.objects.get(pk=rng.choice(patient_ids))
        try:
            services.series_book(
                patient=patient, provider=next(p for p in ctx.providers if p.pk == slot.provider_id),
                location=next(loc for loc in ctx.locations if loc.pk == slot.location_id),
                appointment_type=follow_up, first_start=slot.start, rrule="FREQ=WEEKLY;COUNT=6",
                booked_by=desk, policy=SeriesPolicy.FREE_ONLY, notes="Weekly blood pressure check",
            )  # fmt: skip
        except MedofficeError:
            continue
    window_end = ctx.today + timedelta(days=21)
    for n in range(ctx.count(small=8, large=40)):
        services.waitlist_add(
            patient=Patient.objects.get(pk=rng.choice(patient_ids)),
            appointment_type=rng.choice([follow_up, by_code["annual-physical"], by_code["sick-visit"]]),
            earliest_date=ctx.today, latest_date=window_end, priority=rng.choice((1, 2, 3, 3, 4)),
            provider=rng.choice([None, None, *ctx.providers[:3]]), added_by=desk,
            notes="Wants an earlier time" if n % 2 else "",
        )  # fmt: skip
    soon = (
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED,
            start__gte=timezone.now() + timedelta(days=1),
            appointment_type=follow_up,
        )
        .order_by("start")
        .first()
    )
    if soon is not None:
        services.appointment_cancel(
            appointment=soon, reason="Patient called: work conflict", cancelled_by=desk
        )


def make_schedule(ctx) -> None:
    from medoffice.patients.models import Patient

    providers = list(ctx.providers)
    locations = list(ctx.locations)
    if not providers or not locations:
        return
    desk_users = ctx.users.get("front_desk") or [ctx.user("manager")]
    manager = ctx.user("manager")
    rooms = _rooms(locations)
    types = _types(providers, rooms)
    _templates(ctx, providers)
    _closures(ctx, providers, locations, manager)
    patient_ids = list(Patient.objects.filter(is_active=True).values_list("pk", flat=True))
    if not patient_ids:
        return
    _appointments(ctx, providers, types, patient_ids, desk_users)
    _series_and_waitlist(ctx, types, patient_ids, desk_users[0])


def register() -> None:
    try:
        from medoffice.core.demo import register_demo_step
    except ImportError:  # pragma: no cover
        return
    register_demo_step("scheduling", make_schedule, order=20)
