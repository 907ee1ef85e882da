"""/api/appointments and /api/slots: 201, 409, 422, 403, 401, and clinicians see only their own."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from medoffice.scheduling import services
from medoffice.scheduling.models import Appointment, AppointmentStatus, Occupancy
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db


def payload(clinic, start, **overrides):
    body = {
        "patient": clinic.patient.pk,
        "provider": clinic.provider.pk,
        "location": clinic.location.pk,
        "appointment_type": clinic.follow_up.pk,
        "start": start.isoformat(),
    }
    body.update(overrides)
    return body


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_book_201_then_409_for_the_same_time(clinic, client_for):
    desk = client_for("front_desk")
    start = at(workday(), "10:00")
    response = post(desk, "/api/appointments", payload(clinic, start))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "booked"
    assert body["provider_name"].startswith("Ann Able")
    assert Appointment.objects.filter(pk=body["id"]).exists()

    other = pf.patient()
    response = post(desk, "/api/appointments", payload(clinic, start, patient=other.pk))
    assert response.status_code == 409
    assert response.json()["code"] == "provider_busy"
    assert "already has Follow-up at 10:00 AM-10:20 AM" in response.json()["detail"]
    assert Appointment.objects.count() == 1


def test_422_names_the_field(clinic, client_for):
    desk = client_for("front_desk")
    response = post(desk, "/api/appointments", payload(clinic, at(workday(), "07:00")))
    assert response.status_code == 422
    assert "start" in response.json()["errors"]
    assert "does not see patients" in response.json()["detail"]

    start = at(workday(), "10:00")
    response = post(
        desk,
        "/api/appointments",
        payload(clinic, start, end=(start - timedelta(hours=1)).isoformat()),
    )
    assert response.status_code == 422
    assert "end" in response.json()["errors"]

    response = post(desk, "/api/appointments", payload(clinic, start, provider=999999))
    assert response.status_code == 422
    assert "provider" in response.json()["errors"]

    body = payload(clinic, start)
    del body["appointment_type"]
    body["start"] = "not a time"
    response = post(desk, "/api/appointments", body)
    assert response.status_code == 422
    assert {"appointment_type", "start"} <= set(response.json()["errors"])
    assert not Appointment.objects.exists()
    assert not Occupancy.objects.exists()


def test_401_anonymous_and_403_without_permission(clinic, client, client_for):
    start = at(workday(), "10:00")
    assert post(client, "/api/appointments", payload(clinic, start)).status_code == 401
    assert client.get(f"/api/slots?appointment_type={clinic.follow_up.pk}").status_code == 401
    assert client.get(f"/api/appointments?day={workday()}").status_code == 401
    clinician = client_for("clinician")
    assert post(clinician, "/api/appointments", payload(clinic, start)).status_code == 403
    hr = client_for("hr_payroll")
    assert hr.get(f"/api/appointments?day={workday()}").status_code == 403
    assert hr.get(f"/api/slots?appointment_type={clinic.follow_up.pk}").status_code == 403
    assert not Appointment.objects.exists()


def test_list_by_day_and_clinician_sees_only_own(clinic, users, client_for):
    day = workday()
    mine = services.appointment_book(
        patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(day, "10:00"), booked_by=None,
    )  # fmt: skip
    theirs = services.appointment_book(
        patient=pf.patient(), provider=clinic.other_provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(day, "10:00"), booked_by=None,
    )  # fmt: skip
    auditor = client_for("auditor").get(f"/api/appointments?day={day}")
    assert auditor.status_code == 200
    assert {row["id"] for row in auditor.json()} == {mine.pk, theirs.pk}
    clinician = client_for("clinician")
    own = clinician.get(f"/api/appointments?day={day}")
    assert [row["id"] for row in own.json()] == [mine.pk]
    assert clinician.get(f"/api/appointments/{mine.pk}").status_code == 200
    assert clinician.get(f"/api/appointments/{theirs.pk}").status_code == 404
    by_patient = client_for("front_desk").get(f"/api/appointments?patient={clinic.patient.pk}")
    assert [row["id"] for row in by_patient.json()] == [mine.pk]
    assert client_for("front_desk").get("/api/appointments").status_code == 422


def test_cancel_reschedule_check_in_and_no_show(clinic, users, client_for):
    desk = client_for("front_desk")
    created = post(desk, "/api/appointments", payload(clinic, at(workday(), "10:00"))).json()
    url = f"/api/appointments/{created['id']}"

    moved = post(desk, f"{url}/reschedule", {"start": at(workday(), "14:00").isoformat()})
    assert moved.status_code == 200, moved.content
    assert moved.json()[0]["start"].startswith(str(workday()))
    bad = post(desk, f"{url}/reschedule", {"start": at(workday(), "12:30").isoformat()})
    assert bad.status_code == 422

    assert post(desk, f"{url}/cancel", {"reason": ""}).status_code == 422
    cancelled = post(desk, f"{url}/cancel", {"reason": "Feeling better"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert post(desk, f"{url}/cancel", {"reason": "again"}).status_code == 409

    today = sf.appointment(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up,
        start=at(timezone.localdate(), "07:00"),
    )  # fmt: skip
    assert (
        post(client_for("clinician"), f"/api/appointments/{today.pk}/check-in", {}).status_code
        == 403
    )
    # With the front desk module on, check-in is the front desk's: refused here, unchanged.
    refused = post(desk, f"/api/appointments/{today.pk}/check-in", {})
    assert refused.status_code == 409
    assert f"/api/reception/appointments/{today.pk}/check-in" in refused.json()["detail"]
    today.refresh_from_db()
    assert (today.status, today.checked_in_at) == (AppointmentStatus.BOOKED, None)
    # Without it, the schedule's check-in is the only one.
    from medoffice.core.services import module_set_enabled

    module_set_enabled(actor=None, module="reception", enabled=False)
    checked = post(desk, f"/api/appointments/{today.pk}/check-in", {})
    assert checked.status_code == 200
    assert checked.json()["status"] == AppointmentStatus.CHECKED_IN

    past = services.appointment_book(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(workday(1, weeks_ahead=-2), "10:00"),
        booked_by=None, allow_past=True,
    )  # fmt: skip
    no_show = post(desk, f"/api/appointments/{past.pk}/no-show", {})
    assert no_show.status_code == 200
    assert no_show.json()["status"] == "no_show"


def test_slots_endpoint(clinic, client_for):
    day = workday()
    response = client_for("front_desk").get(
        "/api/slots",
        {
            "appointment_type": clinic.procedure.pk,
            "provider": [clinic.provider.pk],
            "start": at(day, "00:00").isoformat(),
            "limit": 2,
        },
    )
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [r["room_name"] for r in rows] == ["Procedure room", "Procedure room"]
    assert datetime.fromisoformat(rows[0]["start"]) == at(day, "09:00")
    bad = client_for("front_desk").get("/api/slots", {"appointment_type": "x"})
    assert bad.status_code == 422
    assert "appointment_type" in bad.json()["errors"]


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("value", ["2030-01-07", "2030-01-07T10:00"])
def test_slots_without_a_time_zone_are_422_naming_the_field(clinic, client_for, field, value):
    # A date or a time without its offset used to reach a comparison with now: a 500.
    response = client_for("front_desk").get(
        "/api/slots", {"appointment_type": clinic.follow_up.pk, field: value}
    )
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
