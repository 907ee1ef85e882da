"""The schedule in a real browser: keyboard navigation of the day calendar (htmx swaps the
grid and the address), booking from a free time on the grid, and a clinician who sees
only their own column.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf
from medoffice.testing.scheduling_fixtures import at


def the_clinic():
    from medoffice.scheduling.models import SchedulingSettings

    factories.practice(legal_name="Riverside Family Medicine, PLLC", time_zone="America/Chicago")
    SchedulingSettings.objects.create(observe_federal_holidays=False)
    location = factories.location(name="Main Street Office")
    clinician = factories.user("clinician", username="drable", first_name="Ann", last_name="Able")
    able = factories.provider(
        first_name="Ann", last_name="Able", locations=[location], user=clinician
    )
    baker = factories.provider(first_name="Ben", last_name="Baker", locations=[location])
    sf.appointment_type(
        name="Follow-up", code="follow-up", duration_minutes=20, providers=[able, baker]
    )
    for provider in (able, baker):
        sf.template(provider=provider, location=location, weekdays=range(7))
    pf.patient(first_name="Maria", last_name="Lopez")
    factories.user("front_desk", username="dana", first_name="Dana", last_name="Desk")
    return location, able, baker


def test_keyboard_moves_days_and_a_free_time_books(browser_page, browser_login):
    location, _able, _ = the_clinic()
    page = browser_page
    browser_login(page, "dana", factories.DEFAULT_PASSWORD)
    tomorrow = timezone.localdate() + timedelta(days=1)
    page.goto(f"/scheduling/?location={location.pk}&date={timezone.localdate().isoformat()}")
    expect(page.get_by_role("table")).to_contain_text("Ann Able")

    page.keyboard.press("n")  # next day, swapped in by htmx
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{tomorrow:%m/%d/%Y}")
    expect(page).to_have_url(re.compile(f"date={tomorrow.isoformat()}"))

    page.get_by_role("link", name=re.compile(r"^Book Ann Able, MD at 10:00 AM$")).click()
    page.get_by_label("Find the patient").fill("Lopez")
    expect(page.get_by_role("radio", name=re.compile(r"Lopez, Maria"))).to_be_checked()
    page.get_by_label("Appointment type").select_option(label="Follow-up (20 min)")
    chosen = page.locator("#slots input[name=slot]:checked")
    expect(chosen).to_have_count(1)
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Appointment booked.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("10:00 AM")

    # The booked time is on the grid now, as a link.
    page.get_by_role("link", name="Back to the day").click()
    expect(
        page.get_by_role("link", name=re.compile(r"10:00 AM.10:20 AM Lopez, Maria"))
    ).to_be_visible()


def test_clinician_sees_only_own_column(browser_page, browser_login):
    location, _able, baker = the_clinic()
    patient = pf.patient(first_name="Omar", last_name="Reyes")
    day = timezone.localdate() + timedelta(days=1)
    sf.appointment(patient=patient, provider=baker, location=location, start=at(day, "10:00"))
    page = browser_page
    browser_login(page, "drable", factories.DEFAULT_PASSWORD)
    page.goto(f"/scheduling/?location={location.pk}&date={day.isoformat()}")
    expect(page.get_by_role("table")).to_contain_text("Ann Able")
    expect(page.get_by_role("table")).not_to_contain_text("Ben Baker")
    expect(page.get_by_text("Reyes, Omar")).to_have_count(0)
