"""The calendar grid's body rows, written in Python: a day holds hundreds of five-minute cells,
and the template language costs microseconds per tag in each of them.

`{% grid_rows grid can_book view %}` writes the same HTML `_grid.html` would for each row;
every value shown is escaped here.
"""

from __future__ import annotations

from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from medoffice.core import formats
from medoffice.scheduling.grid import Cell, Grid

register = template.Library()
EN_DASH = "\u2013"  # between an appointment's start and end


_PK = 987654321  # stands for the appointment's id in its address, reversed once per grid


def _appointment_cell(cell: Cell, address: str) -> str:
    a = cell.appointment
    assert a is not None
    room = f" · {escape(a.room.name)}" if a.room_id and a.room is not None else ""
    status = f" · {escape(a.get_status_display())}" if a.status != "booked" else ""
    stage = f'<span class="badge stage">{escape(cell.stage)}</span>\n' if cell.stage else ""
    today = " today" if cell.today else ""
    # The spans are separated by white space, as the template wrote them: the link's text
    # (what a screen reader says) reads "9:00 AM to 9:20 AM Lopez, Maria Follow-up".
    return (
        f'<td rowspan="{cell.rowspan}" class="appt status-{escape(a.status)}{today}">\n'
        f'<a href="{address.replace(str(_PK), str(a.pk))}">\n'
        f'<span class="appt-time">{formats.us_time(a.start)}{EN_DASH}'
        f"{formats.us_time(a.end)}</span>\n"
        f'<span class="appt-patient">{escape(a.patient.last_name)}, '
        f"{escape(a.patient.first_name)}</span>\n"
        f'<span class="appt-type"><span class="swatch" data-color="'
        f'{escape(a.appointment_type.color)}" aria-hidden="true"></span>'
        f"{escape(a.appointment_type.name)}{room}{status}</span>\n"
        f"{stage}</a>\n</td>"
    )


@register.simple_tag
def grid_rows(grid: Grid, can_book: bool, view: str) -> SafeString:
    book = reverse("scheduling:book")
    address = reverse("scheduling:appointment", args=[_PK])
    providers: dict[int, str] = {}
    out: list[str] = []
    for row in grid.rows:
        css = ("quarter" if row.is_quarter else "") + (" now-row" if row.is_now else "")
        label = escape(row.label)
        head = label if row.is_quarter else f'<span class="visually-hidden">{label}</span>'
        if row.is_now:
            head += '<span class="now-label">now</span>'
        now_id = ' id="now"' if row.is_now else ""
        out.append(f'<tr class="{css}"{now_id}>\n<th scope="row" class="time-col">{head}</th>')
        for cell in row.cells:
            if cell is None:
                continue
            today = " today" if cell.today else ""
            if cell.kind == "appt":
                out.append(_appointment_cell(cell, address))
            elif cell.kind == "free":
                link = ""
                if cell.bookable and can_book and cell.start is not None:
                    provider = cell.provider
                    assert provider is not None and cell.location is not None
                    name = providers.get(provider.pk)
                    if name is None:
                        name = providers[provider.pk] = escape(str(provider))
                    start = quote(timezone.localtime(cell.start).isoformat(), safe="/")
                    when = formats.us_time(cell.start)
                    if view == "week":
                        when += f" on {formats.us_day(cell.start)}"
                    link = (
                        f'<a class="free-link" href="{book}?provider={provider.pk}&amp;'
                        f'location={cell.location.pk}&amp;start={start}" '
                        f'aria-label="Book {name} at {when}"></a>'
                    )
                out.append(f'<td class="free{today}">{link}</td>')
            else:
                out.append(f'<td class="off{today}"></td>')
        out.append("</tr>")
    return mark_safe("\n".join(out))  # every value above is escaped
