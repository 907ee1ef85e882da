"""Find next available over 200,000 existing appointments on SQLite.

    python bench/bench_find_next_available.py          # prints `name: value unit` lines
    BENCH_APPOINTMENTS=50000 python bench/bench_find_next_available.py

`run()` returns [(name, value, unit), ...]; bench/run.py calls it in its own process on a
throwaway, migrated SQLite database, so it never touches a real installation. It builds
20 providers at 3 locations with weekly templates, 200,000 appointments (with their
occupancy cells) over the past ~2 years and the next 90 days (the next two weeks ~90%
booked, later ~80%). It then times `scheduling.selectors.free_slots` (the first 10 free slots within 90
days) for every provider, for each location and for the whole practice, for a type that
needs no room and one that needs a procedure room; and `appointment_book` for comparison.
The target is a median under 50 ms. `baseline.trivial_query` (one primary-key read) is
printed too: on a busy shared machine every figure scales with it.
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPOINTMENTS = int(os.environ.get("BENCH_APPOINTMENTS", "200000"))
PROVIDERS = 20
SEARCH_DAYS = 90
QUERIES = int(os.environ.get("BENCH_QUERIES", "60"))
SEED = 2026


def _setup(rng: random.Random):
    from datetime import time as clock

    from medoffice.core.models import Location, Practice, Provider
    from medoffice.patients.models import Patient
    from medoffice.scheduling.models import (
        AppointmentType,
        BlockKind,
        Room,
        ScheduleTemplate,
        TemplateBlock,
    )
    from medoffice.testing.factories import make_npi

    practice = Practice.objects.create(
        legal_name="Bench Family Medicine", tax_id="12-3456789", group_npi=make_npi(9000001),
        address_line1="1 Main St", city="Springfield", state="IL", zip_code="62701",
        time_zone="America/Chicago", require_two_factor=False,
    )  # fmt: skip
    locations = [
        Location.objects.create(
            practice=practice,
            name=f"Clinic {n}",
            address_line1=f"{n} Oak Ave",
            city="Springfield",
            state="IL",
            zip_code="62701",
        )
        for n in range(1, 4)
    ]
    providers = []
    for n in range(PROVIDERS):
        provider = Provider.objects.create(
            practice=practice, first_name="Pat", last_name=f"Doctor{n:02d}", credentials="MD",
            npi=make_npi(1000000 + n), taxonomy="207Q00000X", specialty="Family Medicine",
        )  # fmt: skip
        location = locations[n % 3]
        provider.locations.set([location])
        template = ScheduleTemplate.objects.create(
            provider=provider, location=location, valid_from=datetime(2020, 1, 1).date()
        )
        for weekday in range(5):
            TemplateBlock.objects.create(
                template=template, weekday=weekday, start_time=clock(8), end_time=clock(17)
            )
            TemplateBlock.objects.create(
                template=template, weekday=weekday, start_time=clock(12), end_time=clock(13),
                kind=BlockKind.LUNCH,
            )  # fmt: skip
        providers.append(provider)
    procedure_rooms = [
        Room.objects.create(location=loc, name="Procedure room") for loc in locations
    ]
    follow_up = AppointmentType.objects.create(
        name="Follow-up", code="follow-up", duration_minutes=20
    )
    follow_up.providers.set(providers)
    procedure = AppointmentType.objects.create(
        name="Procedure", code="procedure", duration_minutes=30
    )
    procedure.providers.set(providers)
    procedure.rooms.set(procedure_rooms)
    patients = Patient.objects.bulk_create(
        Patient(
            mrn=f"{n:08d}",
            first_name="Alex",
            last_name=f"Patient{n}",
            date_of_birth=datetime(1980, 1, 1).date(),
            sex="F",
        )
        for n in range(1, 3001)
    )
    return locations, providers, follow_up, procedure, procedure_rooms, patients


def _load(rng, locations, providers, follow_up, procedure, rooms, patients) -> int:
    """Appointments walking backwards from 90 days ahead until the count is reached: the
    next two weeks ~90% booked, later weeks ~80%, past days ~85%. Cells are written with
    one executemany."""
    from django.db import connection
    from django.utils import timezone

    from medoffice.scheduling.availability import Calendar, practice_zone
    from medoffice.scheduling.models import Appointment

    tz = practice_zone()
    today = timezone.localdate()
    last = today + timedelta(days=SEARCH_DAYS)
    first = last - timedelta(days=int(APPOINTMENTS / (PROVIDERS * 19) * 7 / 5) + 10)
    calendar = Calendar(first=first, last=last, provider_ids=[p.pk for p in providers], tz=tz)
    room_of = {room.location_id: room.pk for room in rooms}
    room_busy: dict[int, set[int]] = {room.location_id: set() for room in rooms}
    rows: list[Appointment] = []
    day = last
    now = timezone.now()
    while day >= first and len(rows) < APPOINTMENTS:
        ahead = (day - today).days
        fill = 0.85 if ahead < 0 else 0.90 if ahead <= 14 else 0.80
        for provider_id, location_id in calendar.pairs:
            for window in calendar.plan(provider_id, location_id, day).windows:
                moment = window.start
                while moment + timedelta(minutes=20) <= window.end:
                    kind = procedure if rng.random() < 0.05 else follow_up
                    end = moment + timedelta(minutes=kind.duration_minutes)
                    if kind is procedure:
                        cells = set(
                            range(int(moment.timestamp()) // 300, int(end.timestamp()) // 300)
                        )
                        if room_busy[location_id] & cells:
                            kind = follow_up
                            end = moment + timedelta(minutes=kind.duration_minutes)
                        else:
                            room_busy[location_id] |= cells
                    if end > window.end or rng.random() > fill:
                        moment += timedelta(minutes=20)
                        continue
                    rows.append(
                        Appointment(
                            patient_id=rng.choice(patients).pk,
                            provider_id=provider_id,
                            location_id=location_id,
                            appointment_type=kind,
                            room_id=room_of[location_id] if kind is procedure else None,
                            start=moment,
                            end=end,
                            status="booked" if moment >= now else "completed",
                        )
                    )
                    moment = end
        day -= timedelta(days=1)
    rows = rows[:APPOINTMENTS]
    for start in range(0, len(rows), 5000):
        Appointment.objects.bulk_create(rows[start : start + 5000])
    cells = []
    for appointment in rows:
        first_cell = int(appointment.start.timestamp()) // 300
        for cell in range(first_cell, int(appointment.end.timestamp()) // 300):
            cells.append((appointment.pk, appointment.provider_id, appointment.room_id, cell))
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO scheduling_occupancy (appointment_id, provider_id, room_id, cell) "
            "VALUES (%s, %s, %s, %s)",
            cells,
        )
    return len(rows)


def _p95(timings: list[float]) -> float:
    return round(statistics.quantiles(timings, n=20)[-1], 2)


def run() -> list[tuple[str, float, str]]:
    """Called by bench/run.py inside a migrated throwaway installation."""
    from django.db import connection, transaction
    from django.utils import timezone

    from medoffice.core.exceptions import Conflict, InvalidInput
    from medoffice.scheduling import services
    from medoffice.scheduling.selectors import free_slots

    rng = random.Random(SEED)
    started = time.perf_counter()
    with transaction.atomic():
        locations, providers, follow_up, procedure, rooms, patients = _setup(rng)
        count = _load(rng, locations, providers, follow_up, procedure, rooms, patients)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    load_seconds = time.perf_counter() - started
    results: list[tuple[str, float, str]] = [
        ("find_next_available.appointments", float(count), "appointments"),
        ("find_next_available.providers", float(len(providers)), "providers"),
        ("find_next_available.load", round(load_seconds, 1), "s"),
    ]
    from medoffice.core.models import Provider

    baseline = []
    for provider in providers * 5:
        begin = time.perf_counter()
        Provider.objects.filter(pk=provider.pk).values_list("pk", flat=True).first()
        baseline.append((time.perf_counter() - begin) * 1000)
    results.append(("baseline.trivial_query.median", round(statistics.median(baseline), 3), "ms"))
    now = timezone.now()
    end = now + timedelta(days=SEARCH_DAYS)
    searches = {
        "one_provider": [{"providers": [rng.choice(providers)]} for _ in range(QUERIES)],
        "one_location": [{"locations": [rng.choice(locations)]} for _ in range(QUERIES)],
        "whole_practice": [{} for _ in range(QUERIES // 2)],
    }
    everything: list[float] = []
    first_found: list[float] = []
    for kind in (follow_up, procedure):
        for name, variants in searches.items():
            for variant in variants[:3]:  # warm the page cache
                free_slots(kind, start=now, end=end, limit=10, **variant)
            timings = []
            for variant in variants:
                begin = time.perf_counter()
                slots = free_slots(kind, start=now, end=end, limit=10, **variant)
                timings.append((time.perf_counter() - begin) * 1000)
                assert slots, f"no free slot for {kind.code} {name}"
                first_found.append((slots[0].start - now).total_seconds() / 86400)
            everything += timings
            label = f"find_next_available.{kind.code}.{name}"
            results.append((f"{label}.median", round(statistics.median(timings), 2), "ms"))
            results.append((f"{label}.p95", _p95(timings), "ms"))
    results.append(
        ("find_next_available.all.median", round(statistics.median(everything), 2), "ms")
    )
    results.append(("find_next_available.all.p95", _p95(everything), "ms"))
    results.append(
        (
            "find_next_available.days_to_first_slot.median",
            round(statistics.median(first_found), 1),
            "days",
        )
    )
    # Booking the slot that was found: validation, overlap checks, appointment + cells.
    book_timings = []
    for _ in range(20):
        kind = rng.choice((follow_up, procedure))
        slot = free_slots(kind, providers=[rng.choice(providers)], start=now, end=end, limit=1)[0]
        provider = next(p for p in providers if p.pk == slot.provider_id)
        location = next(loc for loc in locations if loc.pk == slot.location_id)
        begin = time.perf_counter()
        # A patient already booked at that time is refused: it counts all the same.
        with contextlib.suppress(Conflict, InvalidInput):
            services.appointment_book(
                patient=rng.choice(patients), provider=provider, location=location,
                appointment_type=kind, start=slot.start.astimezone(UTC), booked_by=None,
            )  # fmt: skip
        book_timings.append((time.perf_counter() - begin) * 1000)
    results.append(("appointment_book.median", round(statistics.median(book_timings), 2), "ms"))
    assert connection.vendor == "sqlite"
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import main as run_benchmarks

    sys.exit(run_benchmarks([Path(__file__).stem.removeprefix("bench_")]))
