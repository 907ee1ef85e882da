"""The office manager signs in through the real login form and lands on the dashboard."""

import re

from playwright.sync_api import expect

from medoffice.testing import factories


def test_manager_signs_in_and_sees_the_dashboard(browser_page, browser_login):
    factories.practice(legal_name="Lakeside Internal Medicine, PC")
    factories.user("manager", username="olivia", first_name="Olivia", last_name="Reyes")

    browser_page.goto("/")
    expect(browser_page).to_have_url(re.compile(r"/account/login/"))

    browser_login(browser_page, "olivia", factories.DEFAULT_PASSWORD)

    expect(browser_page).to_have_url(re.compile(r"/dashboard/"))
    expect(browser_page.get_by_role("heading", level=1)).to_have_text(
        "Today at Lakeside Internal Medicine, PC"
    )
    expect(browser_page.get_by_text("Approvals waiting for you")).to_be_visible()


def test_wrong_password_stays_on_the_login_page(browser_page, browser_login):
    factories.practice()
    factories.user("manager", username="olivia")

    browser_login(browser_page, "olivia", "not-the-password")

    expect(browser_page).to_have_url(re.compile(r"/account/login/"))
    expect(browser_page.get_by_role("alert")).to_be_visible()
