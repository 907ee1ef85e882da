"""Registration reports every error at once (a bad date, phone and ZIP together with a missing
field), with required fields marked, keeping what was typed; nothing is registered."""

from __future__ import annotations

from playwright.sync_api import expect

from medoffice.patients.models import Patient
from medoffice.testing import factories


def test_every_error_at_once(browser_page, browser_login):
    factories.practice()
    factories.user("front_desk", username="desk")
    page = browser_page
    browser_login(page, "desk", factories.DEFAULT_PASSWORD)
    page.goto("/patients/register/")
    required = page.locator("label.required")
    expect(required.filter(has_text="First name")).to_have_count(1)
    expect(page.get_by_text("are required")).to_be_visible()

    page.locator("#id_last_name").fill("Zamora")
    page.locator("#id_date_of_birth").fill("13/45/2020")
    page.locator("#id_sex").select_option("F")
    page.locator("#id_phone").fill("12")
    page.locator("#id_zip_code").fill("ABCDE")
    page.get_by_role("button", name="Register").click()

    summary = page.get_by_role("alert").filter(has_text="Please correct")
    for label in ("First name", "Date of birth", "Phone", "ZIP code"):
        expect(summary.get_by_role("link", name=label)).to_be_visible()
    expect(summary).not_to_contain_text("date_of_birth")  # labels, never internal names
    summary.get_by_role("link", name="ZIP code").click()
    expect(page.locator("#id_zip_code")).to_be_focused()
    expect(page.locator("#id_last_name")).to_have_value("Zamora")  # nothing typed is lost
    assert Patient.objects.count() == 0
