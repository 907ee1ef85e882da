"""One path per action: the page and the API run the same service and leave the same rows.

Each action is done once through a page and once through the API, from the same starting
state (the first run is rolled back) at the same frozen instant; the rows written are then
compared: the appointment's status and times, the visit (the patient's way through the
office), the payment and its receipt number, the signed forms and the eligibility checks.
Audit events are left out: the pages record the PHI views they show, the API its own reads.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from medoffice.core.services import module_set_enabled
from medoffice.patients.models import EligibilityCheck
from medoffice.reception.models import Payment, SignedForm, Stage, Visit
from medoffice.scheduling.forms import SlotChoice
from medoffice.scheduling.models import Appointment, AppointmentStatus, Occupancy
from medoffice.testing import reception_factories as rf
from medoffice.testing.forms import form_token

pytestmark = pytest.mark.django_db

WRITTEN = (Appointment, Visit, Payment, SignedForm, EligibilityCheck, Occupancy)
# Rows the actions create: their ids (and the ids pointing at them) differ between two runs
# on PostgreSQL, whose sequences do not roll back, so only "set or not" is compared.
CREATED = {Visit, Payment, SignedForm, EligibilityCheck, Occupancy}


def _rows(model) -> list[tuple]:
    names = []
    for field in model._meta.concrete_fields:
        if field.primary_key and model in CREATED:
            continue
        names.append(field.attname)
    found = []
    for row in model.objects.order_by("pk").values(*names):
        for field in model._meta.concrete_fields:
            if (
                isinstance(field, models.ForeignKey)
                and field.related_model in CREATED
                and field.attname in row
            ):
                row[field.attname] = row[field.attname] is not None
        found.append(tuple(sorted(row.items())))
    return found


def written() -> dict[str, list[tuple]]:
    return {model.__name__: _rows(model) for model in WRITTEN}


@pytest.fixture
def frozen(monkeypatch):
    """Both runs happen at the same instant, so every time written can be compared."""
    instant = timezone.now().replace(microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: instant)
    return instant


def through(action) -> dict[str, list[tuple]]:
    """Run one interface's call, note what it wrote, and roll it back."""
    with transaction.atomic():
        before = written()
        response = action()
        assert response.status_code in (200, 201, 302), response.content[:500]
        after = written()
        transaction.set_rollback(True)
    assert after != before, "the action wrote nothing"
    return after


def api(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_check_in_page_and_api_leave_the_same_rows(desk_day, client_for, frozen):
    desk = client_for("front_desk")
    a, cov = desk_day.appointment.pk, desk_day.coverage.pk
    url = reverse("reception:check_in", args=[a])
    page = through(
        lambda: desk.post(
            url,
            {
                "form_token": form_token(desk, url),
                "demographics_confirmed": "on",
                "coverage_confirmed": "on",
                f"elig_{cov}": "active",
                f"eligref_{cov}": " R1 ",
                f"form_{desk_day.privacy.pk}": "on",
                "copay_amount": "25.00",
                "copay_method": "card",
                "copay_reference": "AUTH9",
                "notes": "  came early  ",
            },
        )
    )
    by_api = through(
        lambda: api(
            desk,
            f"/api/reception/appointments/{a}/check-in",
            {
                "demographics_confirmed": True,
                "coverage_confirmed": True,
                "eligibility": [{"coverage_id": cov, "status": "active", "reference": " R1 "}],
                "forms_signed": [desk_day.privacy.pk],
                "copay": {"amount": "25.00", "method": "card", "reference": "AUTH9"},
                "notes": "  came early  ",
            },
        )
    )
    assert page == by_api
    # And it is the full check-in: visit, payment with a receipt, form, eligibility.
    assert len(page["Visit"]) == len(page["Payment"]) == len(page["SignedForm"]) == 1
    assert len(page["EligibilityCheck"]) == 1
    assert dict(page["Visit"][0])["notes"] == "came early"


def test_the_schedules_check_in_is_refused_while_the_front_desk_is_on(desk_day, client_for):
    desk = client_for("front_desk")
    a = desk_day.appointment.pk
    before = written()
    page = desk.post(reverse("scheduling:check_in", args=[a]), follow=True)
    assert "Check-in is done at the front desk" in page.content.decode()
    response = api(desk, f"/api/appointments/{a}/check-in", {})
    assert response.status_code == 409
    assert written() == before


def test_without_the_front_desk_the_schedules_page_and_api_leave_the_same_rows(
    desk_day, client_for, frozen
):
    module_set_enabled(actor=None, module="reception", enabled=False)
    desk = client_for("front_desk")
    a = desk_day.appointment.pk
    page = through(lambda: desk.post(reverse("scheduling:check_in", args=[a])))
    by_api = through(lambda: api(desk, f"/api/appointments/{a}/check-in", {}))
    assert page == by_api
    assert dict(page["Appointment"][0])["status"] == AppointmentStatus.CHECKED_IN


@pytest.fixture
def with_provider(desk_day, frozen):
    Appointment.objects.filter(pk=desk_day.appointment.pk).update(
        status=AppointmentStatus.CHECKED_IN, checked_in_at=frozen - timedelta(minutes=30)
    )
    rf.visit(appointment=desk_day.appointment, stage=Stage.WITH_PROVIDER)
    return desk_day


def test_check_out_by_page_board_and_api_leave_the_same_rows(with_provider, client_for):
    desk = client_for("front_desk")
    a = with_provider.appointment.pk
    runs = [
        through(lambda: desk.post(reverse("reception:check_out", args=[a]))),
        through(
            lambda: desk.post(
                reverse("reception:flow_advance", args=[a]), {"stage": Stage.CHECKED_OUT}
            )
        ),
        through(lambda: api(desk, f"/api/reception/appointments/{a}/check-out", {})),
        through(
            lambda: api(
                desk, f"/api/reception/appointments/{a}/advance", {"stage": Stage.CHECKED_OUT}
            )
        ),
    ]
    assert all(run == runs[0] for run in runs[1:])
    assert dict(runs[0]["Appointment"][0])["status"] == AppointmentStatus.COMPLETED


def test_desk_payment_page_and_api_leave_the_same_rows(desk_day, client_for, frozen):
    desk = client_for("front_desk")
    p, loc = desk_day.patient.pk, desk_day.location.pk
    body = {"amount": "40.00", "method": "check", "reference": "1042", "note": "balance"}
    url = reverse("reception:payment_new", args=[p]) + f"?location={loc}"
    page = through(
        lambda: desk.post(url, {**body, "location": loc, "form_token": form_token(desk, url)})
    )
    by_api = through(
        lambda: api(desk, "/api/reception/payments", {**body, "patient_id": p, "location_id": loc})
    )
    assert page == by_api
    assert len(page["Payment"]) == 1


def _booked_later(desk_day):
    """A booked appointment next week at 10:00, on a weekday the provider works."""
    from medoffice.testing import scheduling_factories as sf
    from medoffice.testing.scheduling_fixtures import at, workday

    sf.template(provider=desk_day.provider, location=desk_day.location)
    return sf.appointment(
        patient=desk_day.patient, provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type, start=at(workday(), "10:00"),
    )  # fmt: skip


def test_cancel_page_and_api_leave_the_same_rows(desk_day, client_for, frozen):
    desk = client_for("front_desk")
    a = _booked_later(desk_day).pk
    page = through(
        lambda: desk.post(reverse("scheduling:cancel", args=[a]), {"reason": "Feeling better"})
    )
    by_api = through(
        lambda: api(desk, f"/api/appointments/{a}/cancel", {"reason": "Feeling better"})
    )
    assert page == by_api
    assert dict(page["Appointment"][-1])["status"] == AppointmentStatus.CANCELLED


def test_reschedule_page_and_api_leave_the_same_rows(desk_day, client_for, frozen):
    desk = client_for("front_desk")
    appointment = _booked_later(desk_day)
    new_start = appointment.start + timedelta(hours=4)
    choice = SlotChoice.encode(desk_day.provider.pk, desk_day.location.pk, new_start, None)
    a = appointment.pk
    page = through(lambda: desk.post(reverse("scheduling:reschedule", args=[a]), {"slot": choice}))
    by_api = through(
        lambda: api(desk, f"/api/appointments/{a}/reschedule", {"start": new_start.isoformat()})
    )
    assert page == by_api
    assert dict(page["Appointment"][-1])["start"] == new_start


def test_no_show_page_and_api_leave_the_same_rows(desk_day, client_for, frozen):
    desk = client_for("front_desk")
    Appointment.objects.filter(pk=desk_day.appointment.pk).update(
        start=frozen - timedelta(hours=2), end=frozen - timedelta(hours=1, minutes=40)
    )
    a = desk_day.appointment.pk
    page = through(lambda: desk.post(reverse("scheduling:no_show", args=[a])))
    by_api = through(lambda: api(desk, f"/api/appointments/{a}/no-show", {}))
    assert page == by_api
    assert dict(page["Appointment"][0])["status"] == AppointmentStatus.NO_SHOW


def test_cancel_following_page_and_api_leave_the_same_rows(desk_day, client_for, users, frozen):
    from medoffice.scheduling.services import series_book

    first = _booked_later(desk_day)
    _series, booked, _ = series_book(
        patient=desk_day.patient, provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type, first_start=first.start + timedelta(hours=3),
        rrule="FREQ=WEEKLY;COUNT=3", booked_by=users["front_desk"],
    )  # fmt: skip
    desk = client_for("front_desk")
    a = booked[1].pk
    body = {"reason": "Moving away", "scope": "following"}
    page = through(lambda: desk.post(reverse("scheduling:cancel", args=[a]), body))
    by_api = through(lambda: api(desk, f"/api/appointments/{a}/cancel", body))
    assert page == by_api
    statuses = {
        pk: status for pk, status in Appointment.objects.values_list("pk", "status")
    }  # rolled back: still booked
    assert statuses[booked[2].pk] == AppointmentStatus.BOOKED
    cancelled = [dict(row)["status"] for row in page["Appointment"]]
    assert cancelled.count(AppointmentStatus.CANCELLED) == 2  # the second and the third
