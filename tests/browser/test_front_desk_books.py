"""The desk's day in the books, in a real browser: a copay at check-in, a mistaken payment
voided, the drawer closed $2.00 short, the deposit made and its slip printed; then the manager
finds the shortage on the trial balance and, as the day's only expense, on the income
statement (P&L)."""

from __future__ import annotations

import io
import re
import zoneinfo
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from medoffice.reception.models import DrawerClose
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf

WAIT = 15_000


def a_daytime_zone() -> str:
    """A US zone where it is daytime now, so the appointment and the day's close are today."""
    from medoffice.core.models import US_TIME_ZONES

    now = timezone.now()
    for name in US_TIME_ZONES:
        if 7 <= now.astimezone(zoneinfo.ZoneInfo(name)).hour <= 19:
            return name
    raise AssertionError("unreachable: some US zone always has daytime")


def the_day():
    zone = a_daytime_zone()
    factories.practice(legal_name="Lakeside Internal Medicine, PC", time_zone=zone)
    location = factories.location(name="Main Street Office")
    provider = factories.provider(first_name="Ann", last_name="Able", locations=[location])
    visit_type = sf.appointment_type(name="Follow-up", code="follow-up", providers=[provider])
    patient = pf.patient(first_name="Maria", last_name="Lopez", date_of_birth=date(1975, 6, 2))
    pf.coverage(patient=patient, copay=Decimal("30.00"))
    rf.form_type(name="Notice of privacy practices", renew_every_days=365)
    now = timezone.now().astimezone(zoneinfo.ZoneInfo(zone))
    start = now.replace(minute=(now.minute // 5) * 5, second=0, microsecond=0)
    if start.date() != now.date():  # pragma: no cover (a_daytime_zone keeps it daytime)
        start += timedelta(minutes=5)
    sf.appointment(
        patient=patient, provider=provider, location=location, appointment_type=visit_type,
        start=start,
    )  # fmt: skip
    factories.user("front_desk", username="dana", first_name="Dana", last_name="Desk")
    factories.user("manager", username="morgan", first_name="Morgan", last_name="Manager")
    return patient, location


def test_copay_void_close_short_deposit_the_trial_balance_and_the_pl(browser_page, browser_login):
    patient, location = the_day()
    page = browser_page
    browser_login(page, "dana", factories.DEFAULT_PASSWORD)

    # The copay at check-in, in cash.
    page.goto(f"/reception/?location={location.pk}")
    page.get_by_role("link", name="Check in Maria Lopez").click()
    page.get_by_label("The patient confirmed these details").check()
    page.get_by_label("The insurance card matches the coverage on file").check()
    expect(page.get_by_label("Amount collected ($)")).to_have_value("30.00", timeout=WAIT)
    page.get_by_label("Method").select_option("cash")
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_test_id("receipt-amount")).to_have_text("$30.00", timeout=WAIT)

    # A second $30.00 taken by mistake, then voided on its receipt.
    page.goto(f"/reception/accounts/{patient.pk}/payment/")
    page.get_by_label("Amount ($)").fill("30.00")
    page.get_by_label("Method").select_option("cash")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_test_id("receipt-amount")).to_have_text("$30.00", timeout=WAIT)
    page.get_by_text("Void this payment").click()
    page.get_by_label("Reason").fill("copay taken twice")
    page.get_by_role("button", name=re.compile("^Void receipt")).click()
    expect(page.get_by_test_id("void")).to_have_text("VOID", timeout=WAIT)

    # End of day: $30.00 expected, $28.00 counted.
    page.get_by_role("link", name="Patient's account").click()
    page.get_by_role("navigation", name="Front desk").get_by_role("link", name="Drawer").click()
    expect(page.get_by_test_id("expected-cash")).to_have_text("$30.00", timeout=WAIT)
    page.get_by_label("Cash counted ($)").fill("28.00")
    page.get_by_label("Checks counted ($)").fill("0")
    page.get_by_label("Card batch total ($)").fill("0")
    page.get_by_role("button", name="Close the drawer").click()
    expect(page.get_by_test_id("drawer-closed")).to_contain_text("short $2.00", timeout=WAIT)

    # The deposit and its slip.
    page.get_by_role("link", name="Make the deposit").click()
    page.get_by_role("button", name="Make the deposit").click()
    expect(page.get_by_test_id("deposit-total")).to_have_text("$28.00", timeout=WAIT)
    href = page.get_by_role("link", name="Print the deposit slip (PDF)").get_attribute("href")
    slip = page.request.get(href)
    assert slip.ok and slip.headers["content-type"] == "application/pdf"
    assert slip.body().startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(slip.body())).pages[0].extract_text()
    assert "Total deposit" in text and "$28.00" in text

    # The manager sees the shortage in the books.
    page.context.clear_cookies()
    browser_login(page, "morgan", factories.DEFAULT_PASSWORD)
    page.goto("/ledger/trial-balance/")
    row = page.get_by_role("row").filter(has_text="Cash over and short")
    expect(row).to_contain_text("$2.00", timeout=WAIT)
    expect(page.get_by_text("debits equal credits")).to_be_visible(timeout=WAIT)

    # And on the income statement for the drawer's day: the shortage is the only expense,
    # so the day's net income is minus $2.00 (the copay is a credit on the account, not
    # revenue, until a charge is posted).
    day = DrawerClose.objects.get(location=location).date.isoformat()
    books_nav = page.get_by_role("navigation", name="Books")
    books_nav.get_by_role("link", name="Income statement").click()
    expect(page.get_by_role("heading", name="Income statement")).to_be_visible(timeout=WAIT)
    page.get_by_label("From").fill(day)
    page.get_by_label("To").fill(day)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(rf"since={day}&until={day}"), timeout=WAIT)
    shortage = page.get_by_role("row").filter(has_text="Cash over and short")
    expect(shortage).to_contain_text("$2.00", timeout=WAIT)
    expect(page.get_by_role("row").filter(has_text="Total expenses")).to_contain_text("$2.00")
    net = page.locator("#pl-table tfoot tr")
    expect(net).to_contain_text("Net income")
    expect(net.locator("td").last).to_have_text("-$2.00")
