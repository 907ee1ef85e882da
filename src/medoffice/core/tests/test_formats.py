"""One way to write dates, times, phone numbers and money, in Python and in templates."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from medoffice.core import formats

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(date(2026, 3, 4), "03/04/2026"), (date(999, 12, 31), "12/31/0999"), (None, ""), ("", "")],
)
def test_us_date(value, expected):
    assert formats.us_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(time(0, 0), "12:00 AM"), (time(0, 5), "12:05 AM"), (time(9, 30), "9:30 AM"),
     (time(12, 0), "12:00 PM"), (time(13, 20), "1:20 PM"), (time(23, 59), "11:59 PM"), (None, "")],
)  # fmt: skip
def test_us_time_is_twelve_hour(value, expected):
    assert formats.us_time(value) == expected


def test_aware_datetimes_are_shown_in_the_active_zone():
    moment = datetime(2026, 12, 1, 19, 20, tzinfo=zoneinfo.ZoneInfo("UTC"))
    with timezone.override(CHICAGO):
        assert formats.us_datetime(moment) == "12/01/2026 1:20 PM"
        assert formats.us_day(moment) == "Tue 12/01/2026"
        assert formats.us_day_time(moment) == "Tue 12/01/2026 1:20 PM"
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        assert formats.us_date(moment) == "12/02/2026"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("+15550100185", "(555) 010-0185"), ("555-010-0185", "(555) 010-0185"),
     ("+15550100185;ext=12", "(555) 010-0185 ext. 12"), ("+442079460958", "+44 20 7946 0958"),
     ("call the daughter", "call the daughter"), ("", ""), (None, "")],
)  # fmt: skip
def test_phone(value, expected):
    assert formats.phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("1234.5"), "$1,234.50"), (Decimal("-5"), "-$5.00"), (Decimal("0"), "$0.00"),
     ("25.00", "$25.00"), (7, "$7.00"), (Decimal("1234567.891"), "$1,234,567.89"), (None, ""),
     (Decimal("NaN"), "NaN"), ("not money", "not money"), ("1e400", "1e400")],
)  # fmt: skip
def test_money(value, expected):
    assert formats.money(value) == expected


def test_filters_are_built_into_every_template_and_escape_what_people_typed():
    rendered = Template(
        "{{ d|us_date }} {{ t|us_time }} {{ p|phone }} {{ m|money }} {{ bad|phone }}"
    ).render(
        Context({"d": date(2026, 1, 2), "t": time(15, 5), "p": "+15550100185",
                 "m": Decimal("12.3"), "bad": "<b>x</b>"})
    )  # fmt: skip
    assert rendered == "01/02/2026 3:05 PM (555) 010-0185 $12.30 &lt;b&gt;x&lt;/b&gt;"


def test_an_unfiltered_date_in_a_template_is_mm_dd_yyyy():
    with timezone.override(CHICAGO):
        rendered = Template("{{ d }} · {{ moment }}").render(
            Context({"d": date(2026, 7, 4),
                     "moment": datetime(2026, 7, 4, 14, 5, tzinfo=CHICAGO)})
        )  # fmt: skip
    assert rendered == "07/04/2026 · 07/04/2026 2:05 PM"
