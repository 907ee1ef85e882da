"""The pages: calendars (own schedule only for clinicians), booking, actions, waitlist, setup."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.scheduling import services
from medoffice.scheduling.forms import SlotChoice
from medoffice.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Closure,
    TemplateBlock,
    WaitlistEntry,
)
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db


def booked(clinic, hhmm="10:00", **fields):
    values = {
        "patient": clinic.patient, "provider": clinic.provider, "location": clinic.location,
        "appointment_type": clinic.follow_up, "start": at(workday(), hhmm), "booked_by": None,
    }  # fmt: skip
    values.update(fields)
    return services.appointment_book(**values)


def test_day_view_shows_columns_appointments_and_free_times(clinic, client_for):
    appointment = booked(clinic)
    response = client_for("front_desk").get(
        reverse("scheduling:day"), {"date": workday().isoformat(), "location": clinic.location.pk}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ann Able" in html and "Ben Baker" in html
    assert reverse("scheduling:appointment", args=[appointment.pk]) in html
    assert 'rowspan="4"' in html  # 20 minutes = four 5-minute rows
    assert "free-link" in html
    assert "9:00 AM-12:00 PM, 1:00 PM-5:00 PM" in html


def test_clinician_sees_only_own_schedule(clinic, client_for):
    mine = booked(clinic)
    theirs = booked(clinic, provider=clinic.other_provider, patient=pf.patient())
    clinician = client_for("clinician")
    html = clinician.get(
        reverse("scheduling:day"), {"date": workday().isoformat(), "location": clinic.location.pk}
    ).content.decode()
    assert reverse("scheduling:appointment", args=[mine.pk]) in html
    assert reverse("scheduling:appointment", args=[theirs.pk]) not in html
    assert "Ben Baker" not in html
    other = clinician.get(reverse("scheduling:day"), {"provider": clinic.other_provider.pk})
    assert other.status_code == 403
    assert clinician.get(reverse("scheduling:appointment", args=[theirs.pk])).status_code == 404
    assert clinician.get(reverse("scheduling:appointment", args=[mine.pk])).status_code == 200
    week = clinician.get(reverse("scheduling:week"), {"date": workday().isoformat()})
    assert week.status_code == 200
    assert reverse("scheduling:appointment", args=[theirs.pk]) not in week.content.decode()


def test_calendar_permissions(clinic, client, client_for):
    url = reverse("scheduling:day")
    assert client.get(url).status_code == 302
    assert client_for("hr_payroll").get(url).status_code == 403
    assert client_for("auditor").get(url).status_code == 200


def test_location_week_lists_each_day(clinic, client_for):
    appointment = booked(clinic)
    response = client_for("front_desk").get(
        reverse("scheduling:week"), {"date": workday().isoformat(), "location": clinic.location.pk}
    )
    assert response.status_code == 200
    assert reverse("scheduling:appointment", args=[appointment.pk]) in response.content.decode()


def test_week_names_the_day_of_each_cancellation(clinic, client_for):
    # The week's "Cancelled and no-shows" list gave a time only, so a reader could not tell
    # Monday's 10:00 from Friday's.
    appointment = booked(clinic)
    services.appointment_cancel(appointment=appointment, reason="Sick", cancelled_by=None)
    response = client_for("front_desk").get(
        reverse("scheduling:week"), {"date": workday().isoformat(), "location": clinic.location.pk}
    )
    html = response.content.decode()
    start = timezone.localtime(appointment.start)
    assert f"{start:%a %m/%d/%Y} {start:%-I:%M %p} {appointment.patient.last_name}" in html


def test_booking_page_finds_slots_and_books(clinic, client_for):
    desk = client_for("front_desk")
    url = reverse("scheduling:book")
    page = desk.get(
        url,
        {
            "patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk,
            "provider": clinic.provider.pk, "from_date": workday().isoformat(),
        },
    )  # fmt: skip
    assert page.status_code == 200
    html = page.content.decode()
    assert clinic.patient.mrn in html
    value = SlotChoice.encode(clinic.provider.pk, clinic.location.pk, at(workday(), "09:00"), None)
    assert f'value="{value}"' in html
    partial = desk.get(
        url,
        {"appointment_type": clinic.follow_up.pk, "from_date": workday().isoformat()},
        HTTP_HX_REQUEST="true",
    )
    assert partial.content.decode().lstrip().startswith('<div id="slots"')
    response = desk.post(
        url,
        {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk, "slot": value},
    )
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:appointment", args=[appointment.pk])
    assert appointment.start == at(workday(), "09:00")
    assert appointment.booked_by.username.startswith("front_desk")


def test_booking_page_shows_the_refusal_and_writes_nothing(clinic, client_for):
    desk = client_for("front_desk")
    value = SlotChoice.encode(clinic.provider.pk, clinic.location.pk, at(workday(), "12:20"), None)
    response = desk.post(
        reverse("scheduling:book"),
        {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk, "slot": value},
    )
    assert response.status_code == 200
    assert "does not see patients" in response.content.decode()
    assert not Appointment.objects.exists()


def test_booking_a_weekly_series_from_the_page(clinic, client_for):
    value = SlotChoice.encode(clinic.provider.pk, clinic.location.pk, at(workday(), "11:00"), None)
    response = client_for("front_desk").post(
        reverse("scheduling:book"),
        {
            "patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk, "slot": value,
            "repeat": "weekly", "repeat_count": 3, "policy": "free_only",
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert Appointment.objects.filter(series__isnull=False).count() >= 2


def test_clinician_cannot_open_the_booking_page(clinic, client_for):
    assert client_for("clinician").get(reverse("scheduling:book")).status_code == 403


def test_cancel_and_reschedule_pages(clinic, client_for):
    desk = client_for("front_desk")
    appointment = booked(clinic)
    detail = desk.get(reverse("scheduling:appointment", args=[appointment.pk]))
    assert detail.status_code == 200
    assert "Cancel appointment" in detail.content.decode()
    page = desk.get(reverse("scheduling:reschedule", args=[appointment.pk]))
    assert page.status_code == 200
    value = SlotChoice.encode(clinic.provider.pk, clinic.location.pk, at(workday(), "15:00"), None)
    desk.post(reverse("scheduling:reschedule", args=[appointment.pk]), {"slot": value})
    appointment.refresh_from_db()
    assert appointment.start == at(workday(), "15:00")
    desk.post(reverse("scheduling:cancel", args=[appointment.pk]), {"reason": "Moved away"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Moved away"


def test_waitlist_page_adds_and_shows_offers(clinic, client_for):
    desk = client_for("front_desk")
    response = desk.post(
        reverse("scheduling:waitlist"),
        {
            "patient_id": clinic.patient.pk, "appointment_type": clinic.follow_up.pk,
            "earliest_date": workday().isoformat(),
            "latest_date": (workday() + timedelta(days=7)).isoformat(), "priority": 2,
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert WaitlistEntry.objects.get().patient == clinic.patient
    services.appointment_cancel(
        appointment=booked(clinic, patient=pf.patient()), reason="Sick", cancelled_by=None
    )
    html = desk.get(reverse("scheduling:waitlist")).content.decode()
    assert "Accept and book" in html
    assert client_for("hr_payroll").get(reverse("scheduling:waitlist")).status_code == 403


def test_setup_pages_need_manage_scheduling(clinic, client_for):
    for name in (
        "scheduling:setup",
        "scheduling:templates",
        "scheduling:closures",
        "scheduling:type_new",
    ):
        assert client_for("front_desk").get(reverse(name)).status_code == 403
        assert client_for("manager").get(reverse(name)).status_code == 200


def test_manager_creates_type_template_hours_and_closure(clinic, client_for):
    manager = client_for("manager")
    response = manager.post(
        reverse("scheduling:type_new"),
        {"name": "Annual physical", "code": "annual", "duration_minutes": 30, "color": "#336699",
         "providers": [clinic.provider.pk], "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    assert AppointmentType.objects.get(code="annual").providers.get() == clinic.provider
    bad = manager.post(
        reverse("scheduling:type_new"),
        {"name": "Odd", "code": "odd", "duration_minutes": 22, "color": "#336699"},
    )
    assert bad.status_code == 200
    assert "multiple of 5" in bad.content.decode()

    response = manager.post(
        reverse("scheduling:templates"),
        {"provider": clinic.other_provider.pk, "location": clinic.other_location.pk,
         "valid_from": workday().isoformat(), "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    template_url = response["Location"]
    manager.post(
        template_url,
        {
            "form": "block",
            "weekdays": [5],
            "start_time": "08:00",
            "end_time": "12:00",
            "kind": "work",
        },
    )
    assert (
        TemplateBlock.objects.filter(weekday=5, template__location=clinic.other_location).count()
        == 1
    )
    # Dr B already works 9-17 at Main St on weekdays: the same hours at North are refused.
    clash = manager.post(
        template_url,
        {
            "form": "block",
            "weekdays": [1],
            "start_time": "10:00",
            "end_time": "11:00",
            "kind": "work",
        },
    )
    assert "already works" in clash.content.decode()

    manager.post(
        reverse("scheduling:closures"),
        {"scope": "location", "location": clinic.location.pk, "start_date": workday().isoformat(),
         "reason": "Power work"},
    )  # fmt: skip
    assert Closure.objects.get().end_date == workday()
    missing = manager.post(
        reverse("scheduling:closures"),
        {"scope": "provider", "start_date": workday().isoformat(), "reason": "Away"},
    )
    assert "Choose the provider" in missing.content.decode()
    assert Closure.objects.count() == 1


def test_dashboard_tiles_count_today_and_open_offers(clinic, client_for):
    from django.utils import timezone

    from medoffice.testing import scheduling_factories as sf

    sf.appointment(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(timezone.localdate(), "08:00"),
        status=AppointmentStatus.NO_SHOW,
    )  # fmt: skip
    html = client_for("front_desk").get(reverse("dashboard:home")).content.decode()
    assert "Appointments today" in html
    assert "No-shows today" in html
    assert "Freed times to offer" in html
    assert (
        "Appointments today"
        not in client_for("hr_payroll").get(reverse("dashboard:home")).content.decode()
    )


@pytest.mark.parametrize("role", ["medical_assistant", "auditor"])
def test_the_freed_times_tile_is_for_roles_that_can_book(clinic, client_for, role):
    """Offering a freed time is booking it: a role that only reads the schedule has the day's
    tiles without a call to make."""
    html = client_for(role).get(reverse("dashboard:home")).content.decode()
    assert "Appointments today" in html
    assert "Freed times to offer" not in html


@pytest.mark.django_db
def test_check_in_from_the_appointment_goes_to_the_front_desk_while_it_is_on(clinic, client_for):
    from medoffice.core.services import module_set_enabled

    start = timezone.localtime().replace(second=0, microsecond=0)
    start = start.replace(minute=start.minute - start.minute % 5)
    appointment = sf.appointment(
        patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=start,
    )  # fmt: skip
    desk = client_for("front_desk")
    page_url = reverse("scheduling:appointment", args=[appointment.pk])
    full_check_in = reverse("reception:check_in", args=[appointment.pk])
    bare_check_in = reverse("scheduling:check_in", args=[appointment.pk])

    html = desk.get(page_url).content.decode()
    assert f'href="{full_check_in}"' in html
    assert bare_check_in not in html

    module_set_enabled(actor=None, module="reception", enabled=False)
    html = desk.get(page_url).content.decode()
    assert bare_check_in in html
    assert full_check_in not in html
