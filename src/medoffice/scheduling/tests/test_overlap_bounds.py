"""Overlap queries are bounded in time: with years of history they read a few hours of it.

"Does anything overlap [start, end)?" is `start < end AND end > start`; on the
(provider|patient|room|location, start) indexes only `start < end` narrows the read, which
is everything before `end`: the whole history. Every overlap query also states
`start > start_of_window - longest appointment` (no appointment is longer), so the index is
read over a few hours. The tests check the SQL of booking and of the calendars, the query
plan on SQLite, and the rows PostgreSQL actually reads.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medoffice.scheduling import grid, selectors, services
from medoffice.scheduling.models import LONGEST_APPOINTMENT, Appointment, AppointmentStatus
from medoffice.scheduling.services import booking
from medoffice.testing import patients_factories as pf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db

YEARS = 3
PER_DAY = 8
ENGINE = settings.DATABASES["default"]["ENGINE"]


@pytest.fixture
def history(clinic):
    """Three years of completed visits of one provider, one patient and one room."""
    same = {
        "patient": clinic.patient, "provider": clinic.provider, "location": clinic.location,
        "appointment_type": clinic.procedure, "room": clinic.procedure_room,
        "status": AppointmentStatus.COMPLETED,
    }  # fmt: skip
    rows = []
    day = datetime(2020, 1, 6, 15, 0, tzinfo=UTC)  # a Monday, 9:00 in Chicago
    last = day + timedelta(days=365 * YEARS)
    while day < last:
        if day.weekday() < 5:
            for n in range(PER_DAY):
                start = day + timedelta(minutes=30 * n)
                rows.append(Appointment(start=start, end=start + timedelta(minutes=30), **same))
        day += timedelta(days=1)
    Appointment.objects.bulk_create(rows, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scheduling_appointment")
    return len(rows)


OVERLAP = re.compile(r'"scheduling_appointment"\."end" > ')
LOWER_BOUND = re.compile(r'"scheduling_appointment"\."start" > ')


def _overlap_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if OVERLAP.search(q["sql"])]


def test_booking_and_calendars_state_the_lower_bound(clinic, users, history, client_for):
    day = workday()
    start = at(day, "10:00")
    with CaptureQueriesContext(connection) as captured:
        services.appointment_book(
            patient=clinic.patient, provider=clinic.provider, location=clinic.location,
            appointment_type=clinic.procedure, start=start, booked_by=users["front_desk"],
        )  # fmt: skip
        grid.day_grid(day, [clinic.provider, clinic.other_provider], clinic.location)
        grid.provider_week_grid(day - timedelta(days=day.weekday()), clinic.provider)
        list(selectors.appointments_on(day, provider=clinic.provider))
        client_for("front_desk").get(
            "/api/appointments", {"day": day.isoformat(), "provider": clinic.provider.pk}
        )
    queries = _overlap_queries(captured)
    # provider, patient and room checks; day grid; week grid; day list; API list
    assert len(queries) >= 7, queries
    unbounded = [sql for sql in queries if not LOWER_BOUND.search(sql)]
    assert unbounded == []


def _checks(clinic):
    """The overlap querysets booking runs, and the calendars', for a window today + 2 weeks."""
    start = at(workday(), "10:00")
    end = start + timedelta(minutes=30)
    everyone = Appointment.objects
    return {
        "provider": booking._overlapping(everyone.filter(provider=clinic.provider), start, end),
        "patient": booking._overlapping(everyone.filter(patient=clinic.patient), start, end),
        "room": booking._overlapping(everyone.filter(room=clinic.procedure_room), start, end),
        "day list": selectors.appointments_between(
            start - timedelta(hours=10), end + timedelta(hours=10), provider=clinic.provider
        ),
    }


@pytest.mark.skipif(not ENGINE.endswith("sqlite3"), reason="SQLite's query plan")
@pytest.mark.parametrize("which", ["provider", "patient", "room", "day list"])
def test_sqlite_plan_reads_a_range_of_start(clinic, history, which):
    plan = _checks(clinic)[which].explain()
    assert re.search(r"USING INDEX appt_\w+_start \(\w+=\? AND start>\? AND start<\?\)", plan), plan


def _rows_read(node: dict) -> int:
    """Rows a plan node and its children took from the table or index before filtering."""
    own = 0
    if "Relation Name" in node or "Index Name" in node:
        own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        own += node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    return own + sum(_rows_read(child) for child in node.get("Plans", []))


@pytest.mark.postgres
@pytest.mark.skipif("postgresql" not in ENGINE, reason="PostgreSQL's EXPLAIN ANALYZE")
@pytest.mark.parametrize("which", ["provider", "patient", "room", "day list"])
def test_postgresql_reads_a_few_rows_of_years_of_history(clinic, history, which):
    plan = json.loads(_checks(clinic)[which].explain(analyze=True, format="json"))[0]["Plan"]
    read = _rows_read(plan)
    # The window plus the longest appointment before it: at most a day's visits, never the
    # 6,000 of the history.
    assert history > 6_000
    assert read <= 2 * PER_DAY + 5, (read, json.dumps(plan, indent=1))


def test_the_bound_is_exact_at_the_edge(clinic, users):
    """An appointment as long as the longest allowed, ending exactly at the start, does not
    overlap; one a cell longer would (and booking refuses such a length)."""
    start = at(workday(), "10:00")
    edge = Appointment.objects.create(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=start - LONGEST_APPOINTMENT, end=start,
    )  # fmt: skip
    window = Appointment.objects.overlapping(start, start + timedelta(minutes=5))
    assert not window.filter(pk=edge.pk).exists()
    edge.end = start + timedelta(minutes=5)
    edge.save()
    # Longer than the longest: outside the bound, which is why booking refuses the length.
    assert not window.filter(pk=edge.pk).exists()
    inside = Appointment.objects.create(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=start - LONGEST_APPOINTMENT + timedelta(minutes=5),
        end=start + timedelta(minutes=5),
    )  # fmt: skip
    assert window.filter(pk=inside.pk).exists()
