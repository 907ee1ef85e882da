"""A schedule that shows now: the day view opens scrolled to a now-line, each visit shows its
flow stage, a provider with no hours takes no column, and the week is a time grid."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from medoffice.reception.models import Stage, Visit
from medoffice.scheduling.models import AppointmentStatus
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf


def _clinic_open_all_day():
    from medoffice.scheduling.models import SchedulingSettings

    factories.practice(time_zone="America/Chicago")
    SchedulingSettings.objects.create(observe_federal_holidays=False)
    location = factories.location(name="Main Street Office")
    able = factories.provider(first_name="Ann", last_name="Able", locations=[location])
    factories.provider(first_name="Omar", last_name="Offday", locations=[location])
    kind = sf.appointment_type(name="Follow-up", duration_minutes=20, providers=[able])
    sf.template(provider=able, location=location, weekdays=range(7), start="00:00",
                end="23:55", lunch=None)  # fmt: skip
    factories.user("front_desk", username="dana")
    return location, able, kind


def test_the_day_opens_on_a_now_line_with_stages_and_no_empty_columns(browser_page, browser_login):
    location, able, kind = _clinic_open_all_day()
    zone = timezone.get_current_timezone()
    now = timezone.localtime()
    # A visit that started a little while ago (today, whatever the hour), now in a room.
    start = max(
        datetime.combine(now.date(), time(0, 0), tzinfo=zone),
        (now - timedelta(minutes=10)).replace(second=0, microsecond=0),
    )
    start -= timedelta(minutes=start.minute % 5)
    patient = pf.patient(first_name="Maria", last_name="Lopez")
    roomed = sf.appointment(patient=patient, provider=able, location=location,
                            appointment_type=kind, start=start,
                            status=AppointmentStatus.CHECKED_IN)  # fmt: skip
    Visit.objects.create(appointment=roomed, patient=patient, stage=Stage.ROOMED,
                         arrived_at=start, roomed_at=start)  # fmt: skip

    page = browser_page
    page.set_viewport_size({"width": 1200, "height": 700})
    browser_login(page, "dana", factories.DEFAULT_PASSWORD)
    page.goto(f"/scheduling/?location={location.pk}")
    now_row = page.locator("tr.now-row")
    expect(now_row).to_have_count(1)
    expect(now_row).to_contain_text("now")
    expect(now_row).to_be_in_viewport()  # scrolled there on opening
    headers = page.locator("table.calendar-grid thead th")
    expect(headers).to_contain_text(["Time", "Ann Able"])
    expect(page.locator("table.calendar-grid thead")).not_to_contain_text("Offday")
    expect(page.get_by_role("link", name="Lopez, Maria")).to_contain_text("Roomed")


def test_the_week_of_a_location_is_a_time_grid(browser_page, browser_login):
    location, able, kind = _clinic_open_all_day()
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    zone = timezone.get_current_timezone()
    wednesday_ten = datetime.combine(monday + timedelta(days=2), time(10, 0), tzinfo=zone)
    sf.appointment(patient=pf.patient(first_name="Maria", last_name="Lopez"), provider=able,
                   location=location, appointment_type=kind, start=wednesday_ten)  # fmt: skip
    page = browser_page
    browser_login(page, "dana", factories.DEFAULT_PASSWORD)
    page.goto(f"/scheduling/week/?location={location.pk}&date={monday.isoformat()}")
    grid = page.locator("table.calendar-grid")
    expect(grid).to_be_visible()
    day_groups = grid.locator("thead th.day-group")
    expect(day_groups).to_have_count(7)
    expect(day_groups.nth(2)).to_contain_text(f"Wed {wednesday_ten:%m/%d/%Y}")
    row = grid.locator("tbody tr", has=page.get_by_role("link", name="Lopez, Maria"))
    expect(row.locator("th")).to_contain_text("10:00 AM")


def test_the_week_keeps_its_day_names_in_view_when_scrolled(browser_page, browser_login):
    # Each head cell used to stick at the top on its own, so the providers' row covered the
    # days' row once the grid scrolled (it opens scrolled to now): no day names were shown.
    location, _able, _kind = _clinic_open_all_day()
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    page = browser_page
    page.set_viewport_size({"width": 1200, "height": 700})
    browser_login(page, "dana", factories.DEFAULT_PASSWORD)
    page.goto(f"/scheduling/week/?location={location.pk}&date={monday.isoformat()}")
    page.locator(".grid-wrap").evaluate("wrap => { wrap.scrollTop = wrap.scrollHeight / 2; }")
    day = page.locator("thead th.day-group").first
    expect(day).to_contain_text(f"Mon {monday:%m/%d/%Y}")
    on_top = day.evaluate(
        """th => { const box = th.getBoundingClientRect();
                   const hit = document.elementFromPoint(box.left + box.width / 2,
                                                         box.top + box.height / 2);
                   return th.contains(hit); }"""
    )
    assert on_top, "the days' row is covered by the providers' row"


def test_the_week_draws_the_now_line_across_today_only(browser_page, browser_login):
    # The line ran across all seven days, as if it were now on Monday and Friday too.
    location, _able, _kind = _clinic_open_all_day()
    page = browser_page
    browser_login(page, "dana", factories.DEFAULT_PASSWORD)
    page.goto(f"/scheduling/week/?location={location.pk}")
    cells = page.locator("tr.now-row > td")
    expect(cells).to_have_count(7)  # one provider, seven days, nothing booked
    widths = cells.evaluate_all(
        "tds => tds.map(td => [td.classList.contains('today'), getComputedStyle(td).borderTopWidth])"
    )
    assert [today for today, _ in widths].count(True) == 1
    for today, width in widths:
        assert (width == "2px") == today, widths
