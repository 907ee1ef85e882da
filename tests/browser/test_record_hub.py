"""The patient record as the hub: from one record the desk reaches the patient's appointments,
coverages, documents, forms and account, and the buttons it uses most."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from medoffice.scheduling.models import AppointmentStatus
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf


def test_the_record_reaches_everything_about_the_patient(browser_page, browser_login):
    factories.practice()
    desk = factories.user("front_desk", username="desk")
    patient = pf.patient(first_name="Rosa", last_name="Delgado")
    pf.coverage(patient=patient)
    location = factories.location()
    provider = factories.provider(locations=[location], first_name="Ana", last_name="Patel")
    kind = sf.appointment_type(providers=[provider], name="Follow-up")
    zone = timezone.get_current_timezone()
    today_early = datetime.combine(timezone.localdate(), time(0, 5), tzinfo=zone)
    sf.appointment(patient=patient, provider=provider, location=location,
                   appointment_type=kind, start=today_early)  # fmt: skip
    sf.appointment(
        patient=patient, provider=provider, location=location, appointment_type=kind,
        start=today_early - timedelta(days=10), status=AppointmentStatus.NO_SHOW,
    )  # fmt: skip
    form = rf.form_type(name="Privacy notice")
    rf.payment(patient=patient, received_by=desk, amount="20.00")

    page = browser_page
    browser_login(page, "desk", factories.DEFAULT_PASSWORD)
    page.goto(f"/patients/{patient.pk}/")
    actions = page.get_by_role("navigation", name="Record actions")
    for label in ("Book", "Check in", "Take payment", "Upload document", "Edit"):
        expect(actions.get_by_role("link", name=label, exact=True)).to_be_visible()

    appointments = page.locator("section", has=page.get_by_role("heading", name="Appointments"))
    expect(appointments).to_contain_text("1 no-show")
    expect(appointments).to_contain_text("Follow-up")
    expect(appointments.get_by_text("no-show", exact=True)).to_be_visible()
    account = page.locator("section", has=page.get_by_role("heading", name="Account"))
    expect(account).to_contain_text("$20.00 paid (no charges posted yet)")
    forms = page.locator("section", has=page.get_by_role("heading", name="Forms"))
    expect(forms).to_contain_text(f"{form.name} (never signed)")
    expect(page.locator("section", has=page.get_by_role("heading", name="Insurance coverages")))
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()

    # The page's own table of contents jumps to each part.
    page.get_by_role("navigation", name="On this page").get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"#record-account$"))

    actions.get_by_role("link", name="Check in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/reception/check-in/\d+/$"))
    page.go_back()
    actions.get_by_role("link", name="Book", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/scheduling/book/\?patient={patient.pk}$"))
    expect(page.get_by_text("Delgado, Rosa").first).to_be_visible()

    # The account page and the record link to each other.
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="The account page").click()
    expect(page).to_have_url(re.compile(rf"/reception/accounts/{patient.pk}/$"))
    page.get_by_role("link", name="Patient record").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))


def test_a_role_without_money_sees_no_account_and_no_payment_button(browser_page, browser_login):
    factories.practice()
    factories.user("clinician", username="doc")
    patient = pf.patient(first_name="Rosa", last_name="Delgado")
    page = browser_page
    browser_login(page, "doc", factories.DEFAULT_PASSWORD)
    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delgado, Rosa")
    expect(page.get_by_role("heading", name="Account")).to_have_count(0)
    expect(page.get_by_role("link", name="Take payment")).to_have_count(0)
