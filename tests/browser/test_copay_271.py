"""At check-in, putting the payer's 271 copay on the coverage happens in place: what the desk
already typed in the check-in form stays."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from medoffice.claims import eligibility, eligibility_requests
from medoffice.claims.tests.eligibility_support import answer_271
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.patients.models import Coverage
from medoffice.testing import factories


def test_taking_the_271s_copay_keeps_what_was_typed_in_check_in(
    desk_day, users, tmp_path, browser_page, browser_login
):
    folder_clearinghouse(tmp_path / "mailbox", users["manager"])
    made = eligibility_requests.request_eligibility(
        desk_day.coverage, users["front_desk"], idempotency_key="ask-1"
    )
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["biller"])
    page = browser_page
    browser_login(page, users["front_desk"].username, factories.DEFAULT_PASSWORD)
    page.goto(f"/reception/check-in/{desk_day.appointment.pk}/")
    page.get_by_label("The patient confirmed these details").check()
    page.get_by_label("Note for the visit").fill("Brought the new card")
    page.get_by_label("Amount collected ($)").fill("12.34")

    page.get_by_role("button", name="Put the 271's copay ($35.00) on the coverage").click()
    expect(page.get_by_text("copay is now $35.00, as the payer's 271 says")).to_be_visible()
    expect(page.get_by_label("Note for the visit")).to_have_value("Brought the new card")
    expect(page.get_by_label("Amount collected ($)")).to_have_value("12.34")
    expect(page.get_by_label("The patient confirmed these details")).to_be_checked()
    assert Coverage.objects.get(pk=desk_day.coverage.pk).copay == Decimal("35.00")
