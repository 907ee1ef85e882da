"""The front desk's home opens on today: arrivals per location in time order, with status,
what is due, and one-click check-in; every role sees only tiles it can act on."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from medoffice.reception.models import Stage, Visit
from medoffice.scheduling.models import AppointmentStatus
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf


def test_the_desk_home_lists_todays_arrivals_and_checks_in_with_one_click(
    browser_page, browser_login
):
    factories.practice()
    factories.user("front_desk", username="desk")
    north = factories.location(name="North Clinic")
    south = factories.location(name="South Clinic")
    able = factories.provider(first_name="Ann", last_name="Able", locations=[north, south])
    kind = sf.appointment_type(providers=[able], name="Follow-up")
    zone = timezone.get_current_timezone()
    day = timezone.localdate()
    first = datetime.combine(day, time(0, 10), tzinfo=zone)
    waiting = pf.patient(first_name="Wanda", last_name="Waits")
    arrived = sf.appointment(patient=waiting, provider=able, location=north, appointment_type=kind,
                             start=first, status=AppointmentStatus.CHECKED_IN)  # fmt: skip
    Visit.objects.create(appointment=arrived, patient=waiting, stage=Stage.ARRIVED,
                         arrived_at=first)  # fmt: skip
    coming = pf.patient(first_name="Carl", last_name="Comes")
    pf.coverage(patient=coming, copay=Decimal("35.00"))
    rf.form_type(name="Privacy notice")
    later = sf.appointment(patient=coming, provider=able, location=north, appointment_type=kind,
                           start=first + timedelta(minutes=40))  # fmt: skip
    other = sf.appointment(provider=able, location=south, appointment_type=kind,
                           start=first + timedelta(minutes=20))  # fmt: skip

    page = browser_page
    browser_login(page, "desk", factories.DEFAULT_PASSWORD)
    page.goto("/dashboard/")
    panel = page.locator(
        "section.home-panel", has=page.get_by_role("heading", name="Today's arrivals")
    )
    expect(panel.get_by_role("heading", name=re.compile("North Clinic"))).to_be_visible()
    expect(panel.get_by_role("heading", name=re.compile("South Clinic"))).to_be_visible()
    north_rows = panel.locator(
        "section", has=page.get_by_role("heading", name=re.compile("North"))
    ).locator("tbody tr")
    expect(north_rows).to_have_count(2)
    expect(north_rows.nth(0)).to_contain_text("Waits, Wanda")  # time order
    expect(north_rows.nth(0)).to_contain_text("Arrived")
    expect(north_rows.nth(1)).to_contain_text("Comes, Carl")
    expect(north_rows.nth(1)).to_contain_text("Not arrived")
    expect(north_rows.nth(1)).to_contain_text("$35.00")  # copay due
    expect(north_rows.nth(1).get_by_text("Eligibility")).to_be_visible()
    expect(north_rows.nth(1).get_by_text("Form")).to_be_visible()
    expect(north_rows.nth(0).get_by_role("link", name="Check in")).to_have_count(0)
    south_rows = panel.locator(
        "section", has=page.get_by_role("heading", name=re.compile("South"))
    ).locator("tbody tr")
    expect(south_rows).to_contain_text([other.patient.last_name])

    north_rows.nth(1).get_by_role("link", name="Check in").click()
    expect(page).to_have_url(re.compile(rf"/reception/check-in/{later.pk}/$"))


def test_hr_sees_no_lone_money_tile(browser_page, browser_login):
    factories.practice()
    factories.user("hr_payroll", username="hr")
    page = browser_page
    browser_login(page, "hr", factories.DEFAULT_PASSWORD)
    page.goto("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Money")).to_have_count(0)
    expect(page.get_by_text("Approvals waiting for you")).to_have_count(0)
    expect(page.get_by_role("heading", name="Today's arrivals")).to_have_count(0)
