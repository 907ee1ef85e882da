"""The coding page refusing a save: the error summary takes the focus as the page loads (a
screen reader reads it first), and an error on a line typed under a blank row names the row
the coder typed it in. And saving from the keyboard: Ctrl+Enter, or the Save at the top."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from medoffice.claims import encounters as encounter_services
from medoffice.claims.selectors import practice_today
from medoffice.testing import factories, patients_factories
from medoffice.testing.coding_tables import make_code_tables


def _coding_page(page, browser_login):
    """A coder signed in on the coding page of yesterday's draft visit."""
    factories.practice()
    coder = factories.user("biller", username="coder")
    make_code_tables()
    main = factories.location(name="Main St")
    encounter = encounter_services.encounter_create(
        actor=coder, patient=patients_factories.patient(date_of_birth=date(1980, 1, 2)),
        location=main, rendering_provider=factories.provider(locations=[main]),
        date_of_service=practice_today() - timedelta(days=1),
    )  # fmt: skip
    browser_login(page, "coder", factories.DEFAULT_PASSWORD)
    page.goto(f"/claims/encounters/{encounter.pk}/")
    return page, encounter


def test_a_refused_save_focuses_the_error_summary(browser_page, browser_login):
    page, encounter = _coding_page(browser_page, browser_login)
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


def test_the_codes_save_from_the_keyboard(browser_page, browser_login):
    """Ctrl+Enter in any field saves; and a keyboard user reaches the Save button at the top
    of the form two Tab presses after the skip link, announced with its shortcut."""
    page, encounter = _coding_page(browser_page, browser_login)
    page.get_by_label("Diagnosis 1", exact=True).fill("E11.9")
    page.get_by_label("Line 1 code").fill("99213")
    pointer = page.get_by_label("Line 1 diagnosis pointer 1")
    pointer.select_option("1")
    pointer.focus()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text("The codes are saved.")
    assert list(encounter.lines.values_list("code", "diagnosis_pointers")) == [("99213", [1])]
    assert list(encounter.diagnoses.values_list("code", flat=True)) == ["E11.9"]

    # From the top of the page: the skip link, then two Tabs to Save.
    page.goto(f"/claims/encounters/{encounter.pk}/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    save = page.get_by_role("button", name="Save", exact=True)
    presses = 0
    while presses < 5 and not save.evaluate("b => b === document.activeElement"):
        page.keyboard.press("Tab")
        presses += 1
    assert presses == 2, presses  # the "Encounters to code" link, then Save
    expect(save).to_have_attribute("aria-keyshortcuts", "Control+Enter")
    expect(save).to_have_accessible_description(re.compile("Ctrl\\+Enter"))
    page.get_by_label("Line 1 units").fill("2")  # a change, then Save with the keyboard
    save.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("The codes are saved.")
    assert list(encounter.lines.values_list("units", flat=True)) == [2]
