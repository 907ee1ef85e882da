"""The front desk's morning, end to end in a real browser: sign in, find the patient, book the
next free time, check the patient in with a copay (receipt), and follow them on the flow board,
which refreshes by itself.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from medoffice.core.models import US_TIME_ZONES
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf

WAIT = 15_000  # ms; the machine running the tests may be busy


def a_daytime_zone() -> str:
    """A US time zone where it is daytime now, so "the next free time" is today whatever
    hour the test runs (the zones span UTC-10 to UTC+10)."""
    now = timezone.now()
    for name in US_TIME_ZONES:
        if 7 <= now.astimezone(zoneinfo.ZoneInfo(name)).hour <= 19:
            return name
    raise AssertionError("unreachable: some US zone always has daytime")


def the_clinic():
    from medoffice.scheduling.models import SchedulingSettings

    factories.practice(legal_name="Lakeside Internal Medicine, PC", time_zone=a_daytime_zone())
    SchedulingSettings.objects.create(observe_federal_holidays=False)
    location = factories.location(name="Main Street Office")
    provider = factories.provider(first_name="Ann", last_name="Able", locations=[location])
    sf.appointment_type(
        name="Follow-up", code="follow-up", duration_minutes=20, providers=[provider]
    )
    sf.template(
        provider=provider, location=location, weekdays=range(7), start="06:00", end="21:00",
        lunch=None,
    )  # fmt: skip
    sf.room(location=location, name="Exam 1")
    patient = pf.patient(first_name="Maria", last_name="Lopez", date_of_birth=date(1975, 6, 2))
    pf.coverage(patient=patient, copay=Decimal("30.00"))
    rf.form_type(name="Notice of privacy practices", renew_every_days=365)
    factories.user("front_desk", username="dana", first_name="Dana", last_name="Desk")
    return patient


def test_front_desk_books_checks_in_and_follows_the_patient(browser_page, browser_login):
    patient = the_clinic()
    page = browser_page

    browser_login(page, "dana", factories.DEFAULT_PASSWORD)

    # Find the patient.
    page.get_by_role("navigation", name="Modules").get_by_role("link", name="Patients").click()
    page.get_by_role("searchbox", name="Find a patient").fill("lopez")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Lopez, Maria").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maria", timeout=WAIT)

    # Book the next free time for her.
    page.get_by_role("navigation", name="Modules").get_by_role("link", name="Schedule").click()
    page.get_by_role("navigation", name="Schedule").get_by_role("link", name="Book").click()
    page.get_by_label("Find the patient").fill("Lopez")
    match = page.get_by_role("radio", name=re.compile(r"Lopez, Maria"))
    expect(match).to_be_checked(timeout=WAIT)
    page.get_by_label("Appointment type").select_option(label="Follow-up (20 min)")
    page.get_by_role("button", name="Find free times").click()
    first_free = page.locator("#slots input[name=slot]").first
    expect(first_free).to_be_checked(timeout=WAIT)
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Appointment booked.")).to_be_visible(timeout=WAIT)

    # Check her in at the front desk, with the copay.
    page.get_by_role("navigation", name="Modules").get_by_role("link", name="Front desk").click()
    scheduled = page.get_by_role("region", name=re.compile(r"^Scheduled"))
    expect(scheduled).to_contain_text("Lopez, Maria", timeout=WAIT)
    scheduled.get_by_role("link", name="Check in Maria Lopez").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Check in {patient.full_name}", timeout=WAIT
    )
    page.get_by_label("The patient confirmed these details").check()
    page.get_by_label("The insurance card matches the coverage on file").check()
    page.get_by_label(re.compile("Eligibility today for")).select_option("active")
    page.get_by_label(re.compile("Notice of privacy practices signed today")).check()
    expect(page.get_by_label("Amount collected ($)")).to_have_value("30.00", timeout=WAIT)
    page.get_by_label("Method").select_option("card")
    page.get_by_label("Check number or card authorization").fill("AUTH55")
    page.get_by_role("button", name="Check in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Receipt \d{4}-000001$"), timeout=WAIT
    )
    expect(page.get_by_test_id("receipt-amount")).to_have_text("$30.00", timeout=WAIT)
    pdf = page.request.get(
        page.get_by_role("link", name="Print receipt (PDF)").get_attribute("href")
    )
    assert pdf.ok and pdf.body().startswith(b"%PDF-")

    # She is on the board, waiting.
    page.get_by_role("link", name="Flow board").click()
    arrived = page.get_by_role("region", name=re.compile(r"^Arrived"))
    expect(arrived).to_contain_text("Lopez, Maria", timeout=WAIT)
    expect(arrived.get_by_test_id("since-arrival")).to_have_text(
        re.compile(r"^\d+ min$"), timeout=WAIT
    )

    # Room her with the keyboard: choose the room, then the button.
    arrived.get_by_label("Room").select_option(label="Exam 1")
    arrived.get_by_role("button", name="Room Maria Lopez").focus()
    page.keyboard.press("Enter")
    roomed = page.get_by_role("region", name=re.compile(r"^Roomed"))
    expect(roomed).to_contain_text("Lopez, Maria", timeout=WAIT)
    expect(roomed).to_contain_text("Exam 1", timeout=WAIT)
    expect(page.get_by_role("status").filter(has_text="roomed in Exam 1")).to_be_visible(
        timeout=WAIT
    )

    # Someone else moves her on; the board shows it without a reload (it polls every 15 s).
    from medoffice.reception import services
    from medoffice.scheduling.models import Appointment

    page.evaluate("window.__same_page = true")
    services.flow_advance(
        appointment_id=Appointment.objects.get(patient=patient).pk,
        to_stage="with_provider",
        actor=factories.user("manager"),
    )
    with_provider = page.get_by_role("region", name=re.compile(r"^With provider"))
    expect(with_provider).to_contain_text("Lopez, Maria", timeout=25_000)
    assert page.evaluate("window.__same_page === true")
