"""Patients in a real browser: live search driven from the keyboard, and registration that
stops on a possible duplicate until the user confirms."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from medoffice.patients.models import Patient
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf


def test_live_search_and_keyboard(browser_page, browser_login):
    factories.practice()
    factories.user("front_desk", username="desk")
    pf.patient(first_name="Maria", last_name="Núñez", date_of_birth=date(1980, 3, 14))
    pf.patient(first_name="Mario", last_name="Nunes", date_of_birth=date(1990, 1, 2))
    page = browser_page
    browser_login(page, "desk", factories.DEFAULT_PASSWORD)
    page.goto("/patients/")
    box = page.get_by_label("Find a patient")
    expect(box).to_be_focused()
    box.press_sequentially("nun", delay=40)
    results = page.locator("#patient-results a.result-link")
    expect(results).to_have_count(2)  # live results, no page load
    expect(results.nth(1)).to_contain_text("Núñez")  # "nunes" sorts before "nunez"
    box.press("ArrowDown")
    expect(results.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(results.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(results.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Núñez, Maria")


def test_register_with_duplicate_warning(browser_page, browser_login):
    factories.practice()
    factories.user("front_desk", username="desk")
    existing = pf.patient(first_name="William", last_name="Brown", date_of_birth=date(1970, 5, 6))
    page = browser_page
    browser_login(page, "desk", factories.DEFAULT_PASSWORD)
    page.goto("/patients/register/")
    page.locator("#id_first_name").fill("Bill")
    page.locator("#id_last_name").fill("Brown")
    page.locator("#id_date_of_birth").fill("05/06/1970")
    page.locator("#id_sex").select_option("M")
    page.get_by_role("button", name="Register").click()
    warning = page.get_by_role("alert").filter(has_text="may already be registered")
    expect(warning).to_contain_text(existing.mrn)
    expect(warning).to_contain_text("nickname")
    assert Patient.objects.count() == 1
    page.get_by_label("this is a different person").check()
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    expect(page.get_by_role("status")).to_contain_text("Registered Bill Brown")
    assert Patient.objects.count() == 2
