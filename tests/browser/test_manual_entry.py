"""The accountant writes a manual journal entry: running totals while typing, a line added and
one removed, a bad line named where it was typed, then the entry posts within the manager's
authority and shows in the list."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from medoffice.ledger.models import Account, JournalEntry, ManualEntry, ManualEntryStatus
from medoffice.testing import factories


def test_a_manual_entry_from_the_page(browser_page, browser_login):
    factories.practice()
    factories.user("manager", username="mgr")
    supplies = Account.objects.get(key="supplies_expense").code
    other = Account.objects.get(key="other_expense").code
    page = browser_page
    browser_login(page, "mgr", factories.DEFAULT_PASSWORD)
    page.goto("/ledger/manual/new/")
    page.get_by_label("Memo", exact=True).fill("Recode gloves")
    page.get_by_label("Account, line 1").fill(supplies)
    page.get_by_label("Debit, line 1").fill("1,250.00")
    page.get_by_label("Account, line 2").fill(other)
    page.get_by_label("Credit, line 2").fill("1,000.00")
    expect(page.locator("#total-debit")).to_have_text("1,250.00")
    expect(page.locator("#total-difference")).to_have_text("Off by 250.00")
    page.get_by_role("button", name="Add a line").click()
    expect(page.get_by_label("Account, line 5")).to_be_visible()
    page.get_by_label("Account, line 5").fill("nope")
    page.get_by_label("Credit, line 5").fill("250.00")
    expect(page.locator("#total-difference")).to_have_text("Balanced")
    page.get_by_role("button", name="Save the entry").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("no account 'nope'")
    expect(page.get_by_label("Account, line 5")).to_have_value("nope")  # kept where typed
    assert ManualEntry.objects.count() == 0
    page.get_by_label("Account, line 5").fill(other)
    page.locator("[data-line]").nth(2).get_by_role("button", name="Remove").click()
    expect(page.get_by_label("Account, line 4")).to_have_value(other)  # renumbered
    page.get_by_role("button", name="Save the entry").click()

    expect(page.get_by_text(re.compile(r"Manual entry \d+ posted\."))).to_be_visible()
    row = page.locator("#manual-table tbody tr").first
    expect(row).to_contain_text("Recode gloves")
    expect(row).to_contain_text("$1,250.00")
    draft = ManualEntry.objects.get()
    assert draft.status == ManualEntryStatus.POSTED
    assert sorted(JournalEntry.objects.get().lines.values_list("amount_cents", flat=True)) == [
        -100000, -25000, 125000,
    ]  # fmt: skip
