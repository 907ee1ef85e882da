"""When and where each provider can be booked.

A `Calendar` loads, in a handful of queries, the weekly templates, closures and holidays
for a set of providers and locations over a date range; `plan()` then answers, without
touching the database, which working windows a provider has at a location on one day
(working blocks minus lunch, blocked time, partial-day closures), or why the day is
closed. Times are computed in the practice's zone and returned as aware UTC datetimes,
so 9:00 stays 9:00 local on both sides of a daylight-saving change.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holiday_calendars
from django.db.models import Q

from medoffice.core import formats
from medoffice.core.selectors import practice_time_zone
from medoffice.scheduling.models import (
    CELL_SECONDS,
    BlockKind,
    Closure,
    ClosureScope,
    SchedulingSettings,
    TemplateBlock,
)

MINUTES_PER_DAY = 24 * 60


def practice_zone() -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(practice_time_zone())
    except zoneinfo.ZoneInfoNotFoundError:  # pragma: no cover - a choice list guards it
        return zoneinfo.ZoneInfo("America/New_York")


def scheduling_settings() -> SchedulingSettings:
    return SchedulingSettings.objects.order_by("pk").first() or SchedulingSettings()


def local_date(moment: datetime, tz: zoneinfo.ZoneInfo | None = None) -> date:
    return moment.astimezone(tz or practice_zone()).date()


def local_day_bounds(day: date, tz: zoneinfo.ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """The aware start of `day` and of the next day in the practice's zone."""
    tz = tz or practice_zone()
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


def at_local(day: date, minute_of_day: int, tz: zoneinfo.ZoneInfo) -> datetime:
    """The aware UTC moment of a wall-clock minute on a local day."""
    if minute_of_day >= MINUTES_PER_DAY:
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    wall = time(minute_of_day // 60, minute_of_day % 60)
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _subtract(
    intervals: list[tuple[int, int]], cuts: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    result = intervals
    for cut_start, cut_end in cuts:
        next_result = []
        for start, end in result:
            if cut_end <= start or cut_start >= end:
                next_result.append((start, end))
                continue
            if start < cut_start:
                next_result.append((start, cut_start))
            if cut_end < end:
                next_result.append((cut_end, end))
        result = next_result
    return result


def _hhmm(minute_of_day: int) -> str:
    """A minute of the day as people read it: 540 -> 9:00 AM (1440, the day's end, is midnight)."""
    minute_of_day %= 24 * 60
    return formats.us_time(time(minute_of_day // 60, minute_of_day % 60))


@dataclass(frozen=True)
class Window:
    """A stretch of bookable time (aware, UTC) and the appointment types it accepts."""

    start: datetime
    end: datetime
    type_ids: frozenset[int] | None = None  # None: every type the provider offers

    def allows(self, type_id: int) -> bool:
        return self.type_ids is None or type_id in self.type_ids


@dataclass
class DayPlan:
    windows: list[Window] = field(default_factory=list)
    closed_reason: str = ""  # set when the whole day is closed (holiday, closure)
    local_ranges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def hours_text(self) -> str:
        if self.closed_reason:
            return f"closed: {self.closed_reason}"
        if not self.local_ranges:
            return "no hours"
        return ", ".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in self.local_ranges)

    def windows_for(self, type_id: int) -> list[Window]:
        return [window for window in self.windows if window.allows(type_id)]

    def covers(self, start: datetime, end: datetime, type_id: int | None = None) -> bool:
        """True when [start, end) lies inside the (merged) windows accepting the type."""
        windows = self.windows if type_id is None else self.windows_for(type_id)
        cursor = start
        for window in sorted(windows, key=lambda w: w.start):
            if window.start <= cursor < window.end:
                cursor = window.end
                if cursor >= end:
                    return True
        return False


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    kind: str
    type_ids: frozenset[int] | None


class Calendar:
    """Templates, closures and holidays for some providers and locations over a date range."""

    def __init__(
        self,
        *,
        first: date,
        last: date,
        provider_ids: list[int] | None = None,
        location_ids: list[int] | None = None,
        tz: zoneinfo.ZoneInfo | None = None,
        rules: SchedulingSettings | None = None,
    ):
        self.first, self.last = first, last
        self.tz = tz or practice_zone()
        self._load_templates(provider_ids, location_ids)
        self._closures = list(
            Closure.objects.filter(start_date__lte=last, end_date__gte=first).values(
                "scope",
                "location_id",
                "provider_id",
                "start_date",
                "end_date",
                "start_time",
                "end_time",
                "reason",
            )
        )
        self._holidays = _holidays_between(first, last, rules)
        self._ranges_cache: dict[tuple, list[tuple[int, int]]] = {}

    def _load_templates(self, provider_ids, location_ids) -> None:
        # One query for the blocks of the templates in force, with their template and the
        # appointment types each block is limited to (one row per type; None when unlimited).
        # Inactive providers and locations have no hours.
        blocks = TemplateBlock.objects.filter(
            template__is_active=True,
            template__valid_from__lte=self.last,
            template__provider__is_active=True,
            template__location__is_active=True,
        ).filter(Q(template__valid_to__isnull=True) | Q(template__valid_to__gte=self.first))
        if provider_ids is not None:
            blocks = blocks.filter(template__provider_id__in=provider_ids)
        if location_ids is not None:
            blocks = blocks.filter(template__location_id__in=location_ids)
        found: dict[int, tuple] = {}
        allowed: dict[int, set[int]] = defaultdict(set)
        for row in blocks.values_list(
            "pk", "template_id", "template__provider_id", "template__location_id",
            "template__valid_from", "template__valid_to", "weekday", "start_time", "end_time",
            "kind", "appointment_types",
        ):  # fmt: skip
            found[row[0]] = row[:10]
            if row[10] is not None:
                allowed[row[0]].add(row[10])
        rows = list(found.values())
        # The newest template valid on a day wins for its provider and location.
        templates: dict[tuple[int, int], set[tuple[date, date | None, int]]] = defaultdict(set)
        self._blocks: dict[tuple[int, int], list[_Block]] = defaultdict(list)
        for (
            pk,
            template_id,
            provider_id,
            location_id,
            valid_from,
            valid_to,
            weekday,
            start,
            end,
            kind,
        ) in rows:
            templates[(provider_id, location_id)].add((valid_from, valid_to, template_id))
            types = frozenset(allowed[pk]) if pk in allowed else None
            self._blocks[(template_id, weekday)].append(
                _Block(_minutes(start), _minutes(end), kind, types)
            )
        self._templates = {
            pair: sorted(entries, key=lambda entry: (entry[0], entry[2]), reverse=True)
            for pair, entries in templates.items()
        }

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Every (provider_id, location_id) that has a template in the range."""
        return sorted(self._templates)

    def holiday_on(self, day: date) -> str:
        return self._holidays.get(day, "")

    def template_on(self, provider_id: int, location_id: int, day: date) -> int | None:
        for valid_from, valid_to, pk in self._templates.get((provider_id, location_id), ()):
            if valid_from <= day and (valid_to is None or valid_to >= day):
                return pk
        return None

    def closures_on(self, provider_id: int, location_id: int, day: date) -> list[dict]:
        found = []
        for closure in self._closures:
            if not closure["start_date"] <= day <= closure["end_date"]:
                continue
            scope = closure["scope"]
            if (
                scope == ClosureScope.PRACTICE
                or (scope == ClosureScope.LOCATION and closure["location_id"] == location_id)
                or (
                    scope == ClosureScope.PROVIDER
                    and closure["provider_id"] == provider_id
                    and closure["location_id"] in (None, location_id)
                )
            ):
                found.append(closure)
        return found

    def cell_windows(
        self, provider_id: int, location_id: int, day: date, type_id: int
    ) -> list[tuple[int, int]]:
        """The day's working windows accepting a type, as five-minute cell numbers [a, b).

        The same answer as `plan()`, memoised per template, weekday and closures, for the
        slot search that asks it for every provider and day.
        """
        if day in self._holidays:
            return []
        template_id = self.template_on(provider_id, location_id, day)
        if template_id is None:
            return []
        closures = tuple(id(c) for c in self.closures_on(provider_id, location_id, day))
        key = (template_id, day.weekday(), closures, type_id)
        ranges = self._ranges_cache.get(key)
        if ranges is None:
            plan = self.plan(provider_id, location_id, day)
            ranges = [
                (start, end)
                for (start, end), window in zip(plan.local_ranges, plan.windows, strict=True)
                if window.allows(type_id)
            ]
            self._ranges_cache[key] = ranges
        return [
            (
                int(at_local(day, start, self.tz).timestamp()) // CELL_SECONDS,
                int(at_local(day, end, self.tz).timestamp()) // CELL_SECONDS,
            )
            for start, end in ranges
        ]

    def plan(self, provider_id: int, location_id: int, day: date) -> DayPlan:
        holiday = self.holiday_on(day)
        if holiday:
            return DayPlan(closed_reason=f"{holiday} (holiday)")
        template_id = self.template_on(provider_id, location_id, day)
        if template_id is None:
            return DayPlan()
        blocks = self._blocks.get((template_id, day.weekday()), [])
        cuts = [(b.start, b.end) for b in blocks if b.kind != BlockKind.WORK]
        for closure in self.closures_on(provider_id, location_id, day):
            if closure["start_time"] is None:
                return DayPlan(closed_reason=closure["reason"])
            cuts.append((_minutes(closure["start_time"]), _minutes(closure["end_time"])))
        windows: list[Window] = []
        ranges: list[tuple[int, int]] = []
        for block in sorted(blocks, key=lambda b: b.start):
            if block.kind != BlockKind.WORK:
                continue
            for start, end in _subtract([(block.start, block.end)], cuts):
                ranges.append((start, end))
                windows.append(
                    Window(
                        at_local(day, start, self.tz), at_local(day, end, self.tz), block.type_ids
                    )
                )
        return DayPlan(windows=windows, local_ranges=ranges)


def _holidays_between(
    first: date, last: date, rules: SchedulingSettings | None = None
) -> dict[date, str]:
    rules = rules or scheduling_settings()
    if not rules.observe_federal_holidays:
        return {}
    found = _us_holidays(tuple(range(first.year, last.year + 1)), rules.open_on_holidays)
    return {day: name for day, name in found.items() if first <= day <= last}


@lru_cache(maxsize=32)
def _us_holidays(years: tuple[int, ...], open_on_text: str) -> dict[date, str]:
    """US federal holidays (observed dates), less those the practice stays open on. Cached:
    the calendar of a year never changes, and the key carries the practice's exceptions."""
    open_on = {name.strip().lower() for name in open_on_text.split(",") if name.strip()}
    found = holiday_calendars.country_holidays("US", years=years, observed=True)
    result = {}
    for day, name in found.items():
        kept = [
            n
            for n in (part.strip() for part in str(name).split(";"))
            if _holiday_base(n) not in open_on
        ]
        if kept:
            result[day] = "; ".join(kept)
    return result


def _holiday_base(name: str) -> str:
    return name.replace("(observed)", "").replace("(Observed)", "").strip().lower()


def federal_holidays(year: int) -> list[tuple[date, str]]:
    """The US federal holidays of a year, observed dates included, for display."""
    found = holiday_calendars.country_holidays("US", years=year, observed=True)
    return sorted(found.items())
