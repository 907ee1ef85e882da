"""The calendar grid the day and week pages draw: one row per five-minute cell, one column per
provider (day view) or per day (a provider's week). Read-only; built from one query for the
appointments and one `Calendar` for the hours.

The grid is an HTML table: an appointment is one cell spanning its rows (rowspan), so no
inline style is needed (the Content-Security-Policy forbids them) and screen readers read
it as a table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from medoffice.core import formats
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
    def has_hours(self) -> bool:
        return any(plan.windows or plan.closed_reason for _, plan in self.plans)

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
    stage: str = ""  # where the visit stands (roomed, with the provider…), when known
    today: bool = False  # in a column of today (the now-line crosses only these)


@dataclass
class Row:
    start: datetime
    label: str
    is_quarter: bool
    cells: list[Cell | None]
    is_now: bool = False  # the five minutes the clock is in, on a grid showing today


@dataclass
class Grid:
    columns: list[Column]
    rows: list[Row]
    others: list[Appointment]  # cancelled and no-shows, listed under the grid
    groups: list[tuple[str, date, int]] = field(default_factory=list)  # (title, day, columns)
    stages: dict[int, str] = field(default_factory=dict)  # appointment id -> flow stage words
    shows_today: bool = False


# Other modules tell the grid where a visit stands (roomed, with the provider…): each source
# takes appointment ids and answers {id: words}. The front desk registers one.
StageSource = Callable[[list[int]], dict[int, str]]
_stage_sources: list[StageSource] = []


def register_stage_source(source: StageSource) -> None:
    if source not in _stage_sources:
        _stage_sources.append(source)


def _stages_of(appointments: list[Appointment]) -> dict[int, str]:
    ids = [a.pk for a in appointments if a.status in HOLDING_STATUSES]
    stages: dict[int, str] = {}
    if ids:
        for source in _stage_sources:
            stages.update(source(ids))
    return stages


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
            started = starts.get(index)
            if started is not None:
                span = max(1, int((started.end - moment).total_seconds()) // (CELL_MINUTES * 60))
                span = min(span, row_count - index)
                skip_until = index + span
                grid_cells[index].append(Cell("appt", span, appointment=started))
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
    today = now.astimezone(tz).date()
    shows_today = any(column.day == today for column in columns)
    now_minute = _minute_of(now, tz)
    for cells in grid_cells:
        for column, cell in zip(columns, cells, strict=True):
            if cell is not None and column.day == today:
                cell.today = True
    for index in range(row_count):
        minute = first + index * CELL_MINUTES
        rows.append(
            Row(
                start=at_local(label_day, minute, tz),
                label=formats.us_time(time(minute // 60, minute % 60)),
                is_quarter=minute % 15 == 0,
                cells=grid_cells[index],
                is_now=shows_today and minute <= now_minute < minute + CELL_MINUTES,
            )
        )
    placed = [a for column in columns for a in column.appointments]
    stages = _stages_of(placed)
    if stages:
        for cells in grid_cells:
            for cell in cells:
                if cell is not None and cell.appointment is not None:
                    cell.stage = stages.get(cell.appointment.pk, "")
    return Grid(columns=columns, rows=rows, others=others, stages=stages, shows_today=shows_today)


# What the grid shows of each appointment: itself whole, of the rest only the names printed.
_GRID_FIELDS = (
    *(f.name for f in Appointment._meta.concrete_fields),
    "patient__first_name", "patient__last_name",
    "provider__first_name", "provider__last_name", "provider__credentials",
    "location__name", "appointment_type__name", "appointment_type__color", "room__name",
)  # fmt: skip


def _appointments(start: datetime, end: datetime, providers: list[Provider], location=None):
    found = (
        Appointment.objects.select_related(
            "patient", "provider", "location", "appointment_type", "room"
        )
        .only(*_GRID_FIELDS)
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
    start, end = local_day_bounds(day, tz)
    appointments = _appointments(start, end, providers, location)
    booked = {a.provider_id for a in appointments if a.status in HOLDING_STATUSES}
    columns = []
    for provider in providers:
        column = Column(
            title=str(provider),
            provider=provider,
            day=day,
            plans=[(location, calendar.plan(provider.pk, location.pk, day))],
        )
        if column.has_hours or provider.pk in booked:  # no hours, nothing booked: no column
            columns.append(column)
    index_of = {column.provider.pk: i for i, column in enumerate(columns)}
    return build_grid(columns, appointments, column_of=lambda a: index_of.get(a.provider_id))


def location_week_grid(week_start: date, providers: list[Provider], location: Location) -> Grid:
    """A location's week: days as columns (each split by the providers working that day),
    hours as rows."""
    tz = practice_zone()
    last = week_start + timedelta(days=6)
    calendar = Calendar(
        first=week_start, last=last, provider_ids=[p.pk for p in providers],
        location_ids=[location.pk], tz=tz,
    )  # fmt: skip
    start = local_day_bounds(week_start, tz)[0]
    end = local_day_bounds(last, tz)[1]
    appointments = _appointments(start, end, providers, location)
    booked = {
        (a.start.astimezone(tz).date(), a.provider_id)
        for a in appointments
        if a.status in HOLDING_STATUSES
    }
    columns: list[Column] = []
    groups: list[tuple[str, date, int]] = []
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        of_day = []
        for provider in providers:
            column = Column(
                title=provider.short_name,
                subtitle=str(provider),
                provider=provider,
                day=day,
                plans=[(location, calendar.plan(provider.pk, location.pk, day))],
            )
            if column.has_hours or (day, provider.pk) in booked:
                of_day.append(column)
        if of_day:
            groups.append((formats.us_day(day), day, len(of_day)))
            columns.extend(of_day)
    index_of = {(c.day, c.provider.pk): i for i, c in enumerate(columns)}
    grid = build_grid(
        columns, appointments,
        column_of=lambda a: index_of.get((a.start.astimezone(tz).date(), a.provider_id)),
    )  # fmt: skip
    grid.groups = groups
    return grid


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
        columns.append(Column(title=formats.us_day(day), provider=provider, day=day, plans=plans))
    start = local_day_bounds(week_start, tz)[0]
    end = local_day_bounds(last, tz)[1]
    appointments = _appointments(start, end, [provider])
    return build_grid(
        columns, appointments,
        column_of=lambda a: (a.start.astimezone(tz).date() - week_start).days,
    )  # fmt: skip
