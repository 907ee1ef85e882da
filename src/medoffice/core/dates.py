"""The one parser for a day or a moment typed into a page or sent to the API.

A calendar, a booking or a search adds days and hours to what it is given; near the ends of
Python's calendar (year 1 or 9999) that overflows. No practice books, browses or searches
outside EARLIEST..LATEST, so input beyond it is refused with the field named.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django import forms
from pydantic import AfterValidator

from medoffice.core.exceptions import InvalidInput
from medoffice.core.formats import us_date

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
RANGE_TEXT = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"  # the API's words
# What a page says: its dates are written MM/DD/YYYY, and the field is named by the page.
PAGE_RANGE_TEXT = f"between {us_date(EARLIEST)} and {us_date(LATEST)}"


def day_in_range(value: date) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= day <= LATEST


def check_day(value: date, *, field: str) -> date:
    if not day_in_range(value):
        raise InvalidInput(f"Check the date: it must be {PAGE_RANGE_TEXT}.", field=field)
    return value


def parse_day(value: str | None, *, field: str = "date", default: date) -> date:
    """A day from a page's query (YYYY-MM-DD): the default when empty; refused (InvalidInput
    naming the field and what was given) when unreadable or outside the supported range, so a
    page never shows another day than the one asked for without saying so."""
    if not value or not value.strip():
        return default
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"Check the date: “{value.strip()[:40]}” cannot be read as a date "
            "(choose one with the page's date box).",
            field=field,
        ) from None
    return check_day(day, field=field)


def check_span(since: date | None, until: date | None, *, field: str = "until") -> None:
    """A report's "from" and "to" in order: an end before the start is refused, never shown
    as an empty report (which would read as "nothing happened")."""
    if since is not None and until is not None and until < since:
        raise InvalidInput(
            f"{field}: the end ({us_date(until)}) comes before the start ({us_date(since)}).",
            field=field,
        )


def _pydantic_range(value: date) -> date:
    if not day_in_range(value):
        raise ValueError(f"the date must be {RANGE_TEXT}")
    return value


# For API schemas: a date / datetime within the supported range (else 422 naming the field).
Day = Annotated[date, AfterValidator(_pydantic_range)]
Moment = Annotated[datetime, AfterValidator(_pydantic_range)]


def validate_form_day(value: date | None) -> None:
    if value is not None and not day_in_range(value):
        raise forms.ValidationError(f"The date must be {PAGE_RANGE_TEXT}.", code="date_range")


class DayField(forms.DateField):
    """A form's date field within the supported range."""

    default_validators = [validate_form_day]
