"""The practice's clock for the desk: today, a day's bounds, minutes between two times."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from medoffice.core.selectors import practice_time_zone

if TYPE_CHECKING:
    pass


ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ELIGIBILITY_STALE_DAYS = 30

# --- Time in the practice's zone ----------------------------------------------------------


def practice_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(practice_time_zone())


def local_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(practice_zone()).date()


def day_bounds(day: date, zone: zoneinfo.ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """The first instant of the day and of the next, in the practice's zone."""
    zone = zone or practice_zone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def minutes_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(int((end - start).total_seconds() // 60), 0)
