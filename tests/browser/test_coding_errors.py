"""The coding page refusing a save: the error summary takes the focus as the page loads (a
screen reader reads it first), and an error on a line typed under a blank row names the row
the coder typed it in."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from medoffice.claims import encounters as encounter_services
from medoffice.claims.selectors import practice_today
from medoffice.testing import factories, patients_factories
from medoffice.testing.coding_tables import make_code_tables


def test_a_refused_save_focuses_the_error_summary(browser_page, browser_login):
    factories.practice()
    coder = factories.user("biller", username="coder")
    make_code_tables()
    main = factories.location(name="Main St")
    encounter = encounter_services.encounter_create(
        actor=coder, patient=patients_factories.patient(date_of_birth=date(1980, 1, 2)),
        location=main, rendering_provider=factories.provider(locations=[main]),
        date_of_service=practice_today() - timedelta(days=1),
    )  # fmt: skip
    page = browser_page
    browser_login(page, "coder", factories.DEFAULT_PASSWORD)
    page.goto(f"/claims/encounters/{encounter.pk}/")
    page.get_by_label("Diagnosis 1", exact=True).fill("E11.9")
    page.get_by_label("Line 1 code").fill("99213")
    page.get_by_label("Line 1 diagnosis pointer 1").select_option("1")
    page.get_by_label("Line 2 code").fill("12345")  # line 2: unknown code
    page.get_by_label("Line 2 charge in dollars").fill("10")
    page.get_by_label("Line 2 diagnosis pointer 1").select_option("1")
    page.get_by_label("Line 1 code").fill("")  # line 1 left blank after all
    page.get_by_role("button", name="Save codes").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Line 2: 12345 is not a known code")
    expect(summary).to_be_focused()
    expect(page.locator("#line_2_code-error")).to_contain_text("Line 2:")
    expect(page.get_by_label("Line 2 code")).to_have_value("12345")
    assert not encounter.lines.exists()
