"""Recurring appointments: RRULE expansion in the practice's zone, conflicts, moving a series."""

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from django.utils import timezone

from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.scheduling import services
from medoffice.scheduling.availability import practice_zone
from medoffice.scheduling.models import Appointment, RecurringSeries, SeriesPolicy
from medoffice.testing import patients_factories as pf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db


def next_dst_change(after: date) -> date:
    """The first local date after `after` whose UTC offset differs from the day before."""
    tz = practice_zone()
    day = after
    previous = datetime.combine(day, datetime.min.time(), tzinfo=tz).utcoffset()
    while True:
        day += timedelta(days=1)
        offset = datetime.combine(day, datetime.min.time(), tzinfo=tz).utcoffset()
        if offset != previous:
            return day
        previous = offset


def weekly_dates_around(change: date) -> tuple[date, int]:
    """A first date two weeks before the change, on a weekday whose 6 weekly dates avoid holidays."""
    us = holidays.country_holidays("US", years=[change.year - 1, change.year], observed=True)
    for weekday in (1, 2, 3, 0, 4):
        first = change - timedelta(days=14)
        first += timedelta(days=(weekday - first.weekday()) % 7)
        if first <= timezone.localdate() + timedelta(days=1):
            first += timedelta(days=7)
        if not any(first + timedelta(weeks=n) in us for n in range(6)):
            return first, weekday
    raise AssertionError("no holiday-free weekday found")


def series(clinic, users, first_start, rule, **overrides):
    values = {
        "patient": clinic.patient, "provider": clinic.provider, "location": clinic.location,
        "appointment_type": clinic.follow_up, "first_start": first_start, "rrule": rule,
        "booked_by": users["front_desk"],
    }  # fmt: skip
    values.update(overrides)
    return services.series_book(**values)


def test_weekly_series_keeps_local_time_across_dst(clinic, users):
    change = next_dst_change(timezone.localdate() + timedelta(days=2))
    first, _ = weekly_dates_around(change)
    made, booked, skipped = series(clinic, users, at(first, "09:00"), "FREQ=WEEKLY;COUNT=6")
    assert skipped == []
    assert len(booked) == 6
    tz = practice_zone()
    local = [a.start.astimezone(tz) for a in booked]
    assert [t.strftime("%H:%M") for t in local] == ["09:00"] * 6
    assert [t.date() for t in local] == [first + timedelta(weeks=n) for n in range(6)]
    # The UTC hour moves by one across the change: proof the rule ran in local time.
    utc_hours = {a.start.astimezone(UTC).hour for a in booked}
    assert len(utc_hours) == 2
    assert all(a.series_id == made.pk for a in booked)


def test_every_two_weeks_until_a_date(clinic, users):
    first = workday(1, weeks_ahead=1)
    us = holidays.country_holidays("US", years=[first.year, first.year + 1], observed=True)
    until = first + timedelta(weeks=8)
    rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL={until:%Y%m%d}T235959"
    _made, booked, skipped = series(
        clinic, users, at(first, "10:00"), rule, policy=SeriesPolicy.FREE_ONLY
    )
    expected = [first + timedelta(weeks=2 * n) for n in range(5)]
    assert [a.start.astimezone(practice_zone()).date() for a in booked] == [
        d for d in expected if d not in us
    ]
    assert len(booked) + len(skipped) == 5


def test_all_or_nothing_books_none_when_one_date_conflicts(clinic, users):
    first = workday(1, weeks_ahead=1)
    blocker = services.appointment_book(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(first + timedelta(weeks=2), "10:00"),
        booked_by=users["front_desk"],
    )  # fmt: skip
    before = (Appointment.objects.count(), RecurringSeries.objects.count())
    with pytest.raises(Conflict) as caught:
        series(clinic, users, at(first, "10:00"), "FREQ=WEEKLY;COUNT=4")
    assert caught.value.code == "series_conflicts"
    assert "cannot be booked, so none were" in caught.value.message
    assert "already has Follow-up at 10:00 AM-10:20 AM" in caught.value.message
    assert (Appointment.objects.count(), RecurringSeries.objects.count()) == before
    assert Appointment.objects.get() == blocker


def test_free_only_books_the_rest_and_reports_the_conflicts(clinic, users):
    first = workday(1, weeks_ahead=1)
    conflict_day = first + timedelta(weeks=2)
    services.appointment_book(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(conflict_day, "10:00"),
        booked_by=users["front_desk"],
    )  # fmt: skip
    made, booked, skipped = series(
        clinic, users, at(first, "10:00"), "FREQ=WEEKLY;COUNT=4", policy=SeriesPolicy.FREE_ONLY
    )
    us = holidays.country_holidays("US", years=[first.year, first.year + 1], observed=True)
    assert conflict_day in [o.start.astimezone(practice_zone()).date() for o in skipped]
    assert len(booked) == 4 - len(skipped)
    assert len(skipped) == 1 + sum(1 for n in range(4) if first + timedelta(weeks=n) in us)
    made.refresh_from_db()
    assert made.skipped[0]["code"] in ("provider_busy", "closed")


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("FREQ=WEEKLY", "needs an end"),
        ("FREQ=SOMETIMES;COUNT=3", "not valid"),
        ("", "Give the repeat rule"),
    ],
)
def test_bad_rules_are_refused_with_the_field(clinic, users, rule, text):
    with pytest.raises(InvalidInput, match=text) as caught:
        series(clinic, users, at(workday(), "10:00"), rule)
    assert caught.value.field == "rrule"
    assert not Appointment.objects.exists()
    assert not RecurringSeries.objects.exists()


def test_reschedule_this_and_following_moves_later_occurrences_by_the_same_local_shift(
    clinic, users
):
    change = next_dst_change(timezone.localdate() + timedelta(days=2))
    first, _ = weekly_dates_around(change)
    made, booked, _ = series(clinic, users, at(first, "09:00"), "FREQ=WEEKLY;COUNT=6")
    second = booked[1]
    new_start = at(first + timedelta(weeks=1), "14:00")
    moved = services.appointment_reschedule(
        appointment=second, start=new_start, rescheduled_by=users["front_desk"],
        scope=services.RescheduleScope.FOLLOWING,
    )  # fmt: skip
    assert len(moved) == 5
    tz = practice_zone()
    starts = [a.start.astimezone(tz) for a in Appointment.objects.filter(series=made)]
    assert starts[0].strftime("%H:%M") == "09:00"
    assert [s.strftime("%H:%M") for s in starts[1:]] == ["14:00"] * 5


def test_reschedule_following_is_all_or_nothing(clinic, users):
    first = workday(1, weeks_ahead=1)
    _made, booked, _ = series(
        clinic, users, at(first, "09:00"), "FREQ=WEEKLY;COUNT=3", policy=SeriesPolicy.FREE_ONLY
    )
    last_day = booked[-1].start.astimezone(practice_zone()).date()
    services.appointment_book(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(last_day, "15:00"),
        booked_by=users["front_desk"],
    )  # fmt: skip
    before = sorted(Appointment.objects.values_list("pk", "start"))
    with pytest.raises(Conflict, match="Nothing was moved"):
        services.appointment_reschedule(
            appointment=booked[0], start=at(first, "15:00"), rescheduled_by=None,
            scope=services.RescheduleScope.FOLLOWING,
        )  # fmt: skip
    assert sorted(Appointment.objects.values_list("pk", "start")) == before
