"""The manager opens the books from the dashboard: the cash tile's chart, the trial balance
(filtered and sorted in the page), and the income statement."""

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import expect

from medoffice.ledger import services
from medoffice.ledger.services import Line, Posting
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf


def test_the_manager_reads_the_books(browser_page, browser_login, tmp_path):
    factories.practice(legal_name="Lakeside Internal Medicine, PC")
    manager = factories.user("manager", username="olivia", first_name="Olivia")
    north = factories.location(name="North")
    patient = pf.patient()
    today = timezone.localdate()
    for n, (amount, day) in enumerate([("40.00", today), ("65.00", today - dt.timedelta(days=40))]):
        services.post(
            Posting(
                source_type="reception.payment", source_id=str(n), date=day, location=north,
                lines=[Line("cash_drawer", debit=amount),
                       Line("unapplied_patient", credit=amount, patient=patient)],
            ),
            actor=manager,
        )  # fmt: skip
    services.post(
        Posting(
            source_type="tests.visit", source_id="1", date=today,
            lines=[Line("patient_ar", debit="180.00", patient=patient),
                   Line("revenue:office_visits", credit="180.00", location=north)],
        ),
        actor=manager,
    )  # fmt: skip

    browser_login(browser_page, "olivia", factories.DEFAULT_PASSWORD)
    tile = browser_page.locator("article.tile", has_text="Cash collected this month")
    expect(tile.locator("p.figure")).to_have_text("$40.00")
    chart = tile.get_by_role("img")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute(
        "aria-label", re.compile(r"Cash collected, last six months: .*\$40\.00")
    )
    browser_page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    browser_page.get_by_role("navigation", name="Modules").get_by_role("link", name="Books").click()
    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Books")
    browser_page.get_by_role("link", name="Trial balance").first.click()
    table = browser_page.locator("#tb-table")
    expect(table.locator("tbody tr")).to_have_count(4)
    browser_page.get_by_label("Filter").fill("revenue")
    expect(table.locator("tbody tr:visible")).to_have_count(1)
    browser_page.get_by_label("Filter").fill("")
    table.get_by_role("button", name=re.compile("Debit")).click()
    table.get_by_role("button", name=re.compile("Debit")).click()
    expect(table.locator("tbody tr").first).to_contain_text("Patient accounts receivable")
    expect(table.locator("tfoot")).to_contain_text("$285.00")

    browser_page.get_by_role("navigation", name="Books").get_by_role(
        "link", name="Income statement"
    ).click()
    expect(browser_page.locator("main p", has_text="net income")).to_contain_text("$180.00")
    expect(browser_page.locator("#pl-table")).to_contain_text("Revenue: office visits")
