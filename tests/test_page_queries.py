"""The day schedule and the flow board cost a fixed number of queries, however full the day:
no query per appointment, visit, room or cell, and one audit event per page naming every
patient it showed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medoffice.core.models import AuditEvent
from medoffice.reception.models import Stage
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf

pytestmark = pytest.mark.django_db

STAGES = [Stage.ARRIVED, Stage.ROOMED, Stage.WITH_PROVIDER, Stage.CHECKED_OUT, None]
BUDGET = 25  # session, user, practice, permissions, modules, the page's reads, one audit insert


def add_visits(day, count: int, *, first: int) -> list[int]:
    """`count` more appointments today at Main St, with a second provider, visits at every
    stage, rooms, and a cancellation; returns the patients booked."""
    second = getattr(day, "second", None)
    if second is None:
        second = day.second = factories.provider(
            first_name="Bea", last_name="Bright", locations=[day.location]
        )
        day.visit_type.providers.add(second)
    patients = []
    for n in range(first, first + count):
        patient = pf.patient(first_name=f"Pat{n}", last_name=f"Many{n}")
        appointment = sf.appointment(
            patient=patient, provider=second if n % 2 else day.provider, location=day.location,
            appointment_type=day.visit_type,
            start=day.appointment.start + timedelta(minutes=20 * (n // 2 + 1)),
        )  # fmt: skip
        stage = STAGES[n % len(STAGES)]
        if stage is not None:
            room = day.rooms[n % 2] if stage in (Stage.ROOMED, Stage.WITH_PROVIDER) else None
            rf.visit(appointment=appointment, stage=stage, room=room)
        patients.append(patient.pk)
    extra = pf.patient(first_name="Cal", last_name=f"Cancelled{first}")
    sf.appointment(
        patient=extra, provider=day.provider, location=day.location,
        appointment_type=day.visit_type, status="cancelled",
        start=day.appointment.start + timedelta(hours=9, minutes=first),
    )  # fmt: skip
    return patients


def measure(client, url: str) -> tuple[int, str]:
    client.get(url)  # warm the per-process caches (permissions, templates)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("page", ["scheduling:day", "reception:flow_board"])
def test_the_query_count_does_not_grow_with_the_day(desk_day, client_for, page):
    client = client_for("front_desk")
    url = reverse(page) + f"?location={desk_day.location.pk}"
    small = add_visits(desk_day, 4, first=0)
    few, html = measure(client, url)
    assert "Many3" in html
    large = add_visits(desk_day, 16, first=4)
    many, html = measure(client, url)
    assert "Many19" in html and "Many3" in html
    assert many == few, f"{page}: {few} queries for 5 visits, {many} for 21"
    assert many <= BUDGET

    # One audit event for the page, naming every patient it showed (no event per row).
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    client.get(url)
    events = list(AuditEvent.objects.filter(pk__gt=before))
    assert [e.action for e in events] == ["view"]
    shown = set(events[0].changes["patients"])
    assert {desk_day.patient.pk, *small, *large} <= shown
