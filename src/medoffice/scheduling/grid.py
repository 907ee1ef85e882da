"""The calendar grid the day and week pages draw: one row per five-minute cell, one column per
provider (day view) or per day (a provider's week). Read-only; built from one query for the
appointments and one `Calendar` for the hours.

The grid is an HTML table: an appointment is one cell spanning its rows (rowspan), so no
inline style is needed (the Content-Security-Policy forbids them) and screen readers read
it as a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from medoffice.core.models import Location, Provider
from medoffice.scheduling.availability import (
    Calendar,
    DayPlan,
    at_local,
    local_day_bounds,
    practice_zone,
    scheduling_settings,
)
from medoffice.scheduling.models import CELL_MINUTES, HOLDING_STATUSES, Appointment

DEFAULT_FIRST_MINUTE = 8 * 60
DEFAULT_LAST_MINUTE = 17 * 60


@dataclass
class Column:
    title: str
    provider: Provider
    day: date
    plans: list[tuple[Location, DayPlan]]
    appointments: list[Appointment] = field(default_factory=list)
    subtitle: str = ""

    @property
    def closed_reason(self) -> str:
        reasons = {plan.closed_reason for _, plan in self.plans if plan.closed_reason}
        return "; ".join(sorted(reasons))

    @property
    def hours_text(self) -> str:
        texts = [
            f"{loc.name}: {plan.hours_text}" if len(self.plans) > 1 else plan.hours_text
            for loc, plan in self.plans
            if plan.windows or plan.closed_reason
        ]
        return "; ".join(texts) or "no hours"

    def location_at(self, moment: datetime) -> Location | None:
        for location, plan in self.plans:
            if any(w.start <= moment < w.end for w in plan.windows):
                return location
        return None


@dataclass
class Cell:
    kind: str  # "appt", "free", "off"
    rowspan: int = 1
    appointment: Appointment | None = None
    location: Location | None = None
    provider: Provider | None = None
    start: datetime | None = None
    bookable: bool = False


@dataclass
class Row:
    start: datetime
    label: str
    is_quarter: bool
    cells: list[Cell | None]


@dataclass
class Grid:
    columns: list[Column]
    rows: list[Row]
    others: list[Appointment]  # cancelled and no-shows, listed under the grid


def _minute_of(moment: datetime, tz) -> int:
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute


def build_grid(columns: list[Column], appointments: list[Appointment], *, column_of) -> Grid:
    """Place appointments (those holding time) in their column; `column_of(appt)` -> index."""
    tz = practice_zone()
    step = scheduling_settings().slot_step_minutes
    now = timezone.now()
    others = []
    for appointment in appointments:
        if appointment.status not in HOLDING_STATUSES:
            others.append(appointment)
            continue
        index = column_of(appointment)
        if index is not None:
            columns[index].appointments.append(appointment)
    first, last = DEFAULT_FIRST_MINUTE, DEFAULT_LAST_MINUTE
    for column in columns:
        for _, plan in column.plans:
            for start, end in plan.local_ranges:
                first, last = min(first, start), max(last, end)
        for appointment in column.appointments:
            first = min(first, _minute_of(appointment.start, tz))
            end_minute = _minute_of(appointment.end, tz) or 24 * 60
            last = max(last, end_minute)
    first -= first % 60
    last = min(24 * 60, last + (-last % 60))
    row_count = (last - first) // CELL_MINUTES
    rows: list[Row] = []
    grid_cells: list[list[Cell | None]] = [[] for _ in range(row_count)]
    for column in columns:
        starts: dict[int, Appointment] = {}
        for appointment in sorted(column.appointments, key=lambda a: a.start):
            offset = (_minute_of(appointment.start, tz) - first) // CELL_MINUTES
            starts.setdefault(max(0, offset), appointment)
        skip_until = -1
        for index in range(row_count):
            if index < skip_until:
                grid_cells[index].append(None)
                continue
            moment = at_local(column.day, first + index * CELL_MINUTES, tz)
            appointment = starts.get(index)
            if appointment is not None:
                span = max(
                    1, int((appointment.end - moment).total_seconds()) // (CELL_MINUTES * 60)
                )
                span = min(span, row_count - index)
                skip_until = index + span
                grid_cells[index].append(Cell("appt", span, appointment=appointment))
                continue
            location = column.location_at(moment)
            if location is not None:
                minute = first + index * CELL_MINUTES
                grid_cells[index].append(
                    Cell(
                        "free", location=location, provider=column.provider, start=moment,
                        bookable=moment >= now and minute % step == 0,
                    )
                )  # fmt: skip
            else:
                grid_cells[index].append(Cell("off"))
    label_day = columns[0].day if columns else timezone.localdate()
    for index in range(row_count):
        minute = first + index * CELL_MINUTES
        rows.append(
            Row(
                start=at_local(label_day, minute, tz),
                label=f"{minute // 60:02d}:{minute % 60:02d}",
                is_quarter=minute % 15 == 0,
                cells=grid_cells[index],
            )
        )
    return Grid(columns=columns, rows=rows, others=others)


def _appointments(start: datetime, end: datetime, providers: list[Provider], location=None):
    found = (
        Appointment.objects.select_related(
            "patient", "provider", "location", "appointment_type", "room"
        )
        .overlapping(start, end)
        .filter(provider__in=providers)
    )
    if location is not None:
        found = found.filter(location=location)
    return list(found.order_by("start", "pk"))


def day_grid(day: date, providers: list[Provider], location: Location) -> Grid:
    """A location's day: one column per provider."""
    tz = practice_zone()
    calendar = Calendar(
        first=day, last=day, provider_ids=[p.pk for p in providers], location_ids=[location.pk],
        tz=tz,
    )  # fmt: skip
    columns = [
        Column(
            title=str(provider),
            provider=provider,
            day=day,
            plans=[(location, calendar.plan(provider.pk, location.pk, day))],
        )
        for provider in providers
    ]
    start, end = local_day_bounds(day, tz)
    appointments = _appointments(start, end, providers, location)
    index_of = {provider.pk: i for i, provider in enumerate(providers)}
    return build_grid(columns, appointments, column_of=lambda a: index_of.get(a.provider_id))


def provider_week_grid(week_start: date, provider: Provider, *, days: int = 7) -> Grid:
    """A provider's week at every location: one column per day."""
    tz = practice_zone()
    last = week_start + timedelta(days=days - 1)
    calendar = Calendar(first=week_start, last=last, provider_ids=[provider.pk], tz=tz)
    location_ids = sorted({loc for prov, loc in calendar.pairs if prov == provider.pk})
    locations = {loc.pk: loc for loc in Location.objects.filter(pk__in=location_ids)}
    columns = []
    for offset in range(days):
        day = week_start + timedelta(days=offset)
        plans = [
            (locations[loc_id], calendar.plan(provider.pk, loc_id, day)) for loc_id in location_ids
        ]
        columns.append(
            Column(title=f"{day:%a} {day:%b} {day.day}", provider=provider, day=day, plans=plans)
        )
    start = local_day_bounds(week_start, tz)[0]
    end = local_day_bounds(last, tz)[1]
    appointments = _appointments(start, end, [provider])
    return build_grid(
        columns, appointments,
        column_of=lambda a: (a.start.astimezone(tz).date() - week_start).days,
    )  # fmt: skip
