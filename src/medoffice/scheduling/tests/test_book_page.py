"""The booking page as the desk meets it: free times from today with more past the first page,
full provider names, and a time that has passed refused in words, keeping what was chosen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.core.models import Provider
from medoffice.scheduling.forms import SlotChoice
from medoffice.scheduling.models import Appointment
from medoffice.testing import scheduling_factories as sf
from medoffice.testing.scheduling_fixtures import at

pytestmark = pytest.mark.django_db
BOOK = reverse("scheduling:book")


def _slot_starts(html: str) -> list[str]:
    return re.findall(r'name="slot" value="\d+\|\d+\|([^|"]+)\|', html)


def test_free_times_start_today_and_page_on(clinic, client_for):
    desk = client_for("front_desk")
    page = desk.get(BOOK, {"patient": clinic.patient.pk})
    assert f'name="from_date" value="{timezone.localdate().isoformat()}"' in page.content.decode()

    query = {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk,
             "provider": clinic.provider.pk}  # fmt: skip
    first = desk.get(BOOK, query).content.decode()
    starts = _slot_starts(first)
    assert len(starts) == 24
    more = re.search(r'href="([^"]*after=[^"]+)"', first)
    assert more, "no link to later free times"
    later = desk.get(more.group(1).replace("&amp;", "&")).content.decode()
    later_starts = _slot_starts(later)
    assert later_starts and min(later_starts) > max(starts)
    assert "Back to the first ones" in later


def test_free_times_name_providers_in_full(clinic, client_for):
    twin = Provider.objects.create(
        practice=clinic.provider.practice, first_name="Amir", last_name="Able",
        credentials="DO", npi="1245319599",
    )  # fmt: skip
    twin.locations.set([clinic.location])
    clinic.follow_up.providers.add(twin)
    sf.template(provider=twin, location=clinic.location)
    query = {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk,
             "location": clinic.location.pk}  # fmt: skip
    html = client_for("front_desk").get(BOOK, query).content.decode()
    assert "Ann Able" in html and "Amir Able, DO" in html


def _past_workday():
    """The last weekday before today that is not a federal holiday (the clinic's hours)."""
    import holidays

    day = timezone.localdate() - timedelta(days=1)
    us = holidays.country_holidays("US", years=range(day.year - 1, day.year + 1), observed=True)
    while day.weekday() >= 5 or day in us:
        day -= timedelta(days=1)
    return day


def _past_choice(clinic) -> str:
    past = at(_past_workday(), "10:00")
    return SlotChoice.encode(clinic.provider.pk, clinic.location.pk, past, None)


def test_a_past_time_is_refused_in_words_and_stays_chosen(clinic, client_for):
    slot = _past_choice(clinic)
    response = client_for("front_desk").post(
        BOOK, {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk, "slot": slot},
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert "That time has passed. To record a visit that already happened" in html
    assert "allow_past" not in html  # the API's field name is no help at the desk
    assert f'value="{slot}" checked' in html  # the chosen time is still chosen
    assert 'name="record_past"' not in html  # the desk cannot record past visits
    assert not Appointment.objects.exists()


def test_the_manager_records_a_visit_that_already_happened(clinic, client_for):
    slot = _past_choice(clinic)
    response = client_for("manager").post(
        BOOK, {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk,
               "slot": slot, "record_past": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Appointment.objects.get().start == at(_past_workday(), "10:00")


def test_the_desk_ticking_record_past_still_cannot(clinic, client_for):
    client_for("front_desk").post(
        BOOK, {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk,
               "slot": _past_choice(clinic), "record_past": "on"},
    )  # fmt: skip
    assert not Appointment.objects.exists()
