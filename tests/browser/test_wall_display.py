"""The flow board on a wall screen, in a real browser: the manager makes the link, a screen
with no one signed in opens it, sees initials and rooms only, and follows the board as it
reloads itself."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from medoffice.reception import services
from medoffice.reception.models import Stage
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf

WAIT = 15_000  # ms; the machine running the tests may be busy


def test_a_wall_screen_shows_the_board_by_initials_and_follows_it(
    browser_page, browser_login, settings
):
    settings.MEDOFFICE_WALL_REFRESH_SECONDS = 2
    practice = factories.practice(legal_name="Lakeside Internal Medicine, PC")
    practice.require_two_factor = False
    practice.save(update_fields=["require_two_factor"])
    location = factories.location(name="Main Street Office")
    provider = factories.provider(first_name="Ann", last_name="Able", locations=[location])
    kind = sf.appointment_type(name="Follow-up", code="follow-up", providers=[provider])
    room = sf.room(location=location, name="Exam 1")
    patient = pf.patient(first_name="Maria", last_name="Lopez")
    appointment = sf.appointment(
        patient=patient, provider=provider, location=location, appointment_type=kind
    )
    desk = factories.user("front_desk", username="dana")
    factories.user("manager", username="mia", first_name="Mia", last_name="Manager")
    services.check_in(
        appointment_id=appointment.pk, checked_in_by=desk,
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip

    page = browser_page
    browser_login(page, "mia", factories.DEFAULT_PASSWORD)
    page.goto("/reception/")
    page.get_by_role("link", name="Wall displays").click()
    page.get_by_label("Name").fill("Back office screen")
    page.get_by_label("Location").select_option(label="Main Street Office")
    page.get_by_role("button", name="Make wall display").click()
    address = page.get_by_label("Wall display address").input_value()
    assert "/reception/wall/" in address

    # A screen where no one is signed in.
    screen_context = page.context.browser.new_context(locale="en-US")
    screen = screen_context.new_page()
    try:
        screen.goto(address)
        expect(screen.get_by_role("heading", level=1)).to_have_text(
            "Patient flow · Main Street Office", timeout=WAIT
        )
        arrived = screen.get_by_role("region", name="Arrived")
        expect(arrived.get_by_test_id("wall-initials")).to_have_text("M. L.", timeout=WAIT)
        expect(arrived).to_contain_text("A. Able", timeout=WAIT)
        body = screen.content()
        assert "Lopez" not in body and "Maria" not in body
        assert screen.locator("form, button, input, a").count() == 0
        assert screen_context.cookies() == []

        # She is roomed at the desk; the screen shows it by itself.
        services.flow_advance(
            appointment_id=appointment.pk, to_stage=Stage.ROOMED, actor=desk, room_id=room.pk
        )
        roomed = screen.get_by_role("region", name="Roomed")
        expect(roomed.get_by_test_id("wall-initials")).to_have_text("M. L.", timeout=WAIT)
        expect(roomed).to_contain_text("Exam 1", timeout=WAIT)
        expect(screen.get_by_role("region", name="Arrived")).to_contain_text(
            re.compile("No one"), timeout=WAIT
        )
        assert screen_context.cookies() == []
    finally:
        screen_context.close()
