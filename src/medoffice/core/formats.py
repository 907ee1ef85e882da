"""One way to write dates, times, phone numbers and money for people, everywhere (pages, PDFs,
messages): 12/01/2026, 1:20 PM, (555) 010-0185, $1,234.56. Files for machines (CSV, X12,
iCalendar) keep ISO forms.

Aware datetimes are shown in the zone Django has active (the practice's, on a page).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

MISSING = ""


def _blank_is_empty(fn: Callable[[Any], str]) -> Callable[[Any], str]:
    """None or "" shows as nothing, for every rule below (the rules see real values only)."""

    @functools.wraps(fn)
    def wrapper(value: Any) -> str:
        if value is None or value == "":
            return MISSING
        return fn(value)

    return wrapper


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


@_blank_is_empty
def us_date(value: date | datetime) -> str:
    """12/01/2026."""
    if isinstance(value, datetime):
        value = _local(value)
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


@_blank_is_empty
def us_time(value: time | datetime) -> str:
    """1:20 PM; 12:00 PM is noon, 12:00 AM midnight."""
    if isinstance(value, datetime):
        value = _local(value)
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


@_blank_is_empty
def us_datetime(value: datetime) -> str:
    """12/01/2026 1:20 PM."""
    return f"{us_date(value)} {us_time(value)}"


@_blank_is_empty
def us_day(value: date | datetime) -> str:
    """Tue 12/01/2026: a day as a heading or a column."""
    if isinstance(value, datetime):
        value = _local(value)
    return f"{value:%a} {us_date(value)}"


@_blank_is_empty
def us_day_time(value: datetime) -> str:
    """Tue 12/01/2026 1:20 PM."""
    return f"{us_day(value)} {us_time(value)}"


@_blank_is_empty
def phone(value: str) -> str:
    """+15550100185 -> (555) 010-0185; other countries in international form; what cannot be
    read as a number stays as it was typed."""
    import phonenumbers

    try:
        number = phonenumbers.parse(str(value), "US")
    except phonenumbers.NumberParseException:
        return str(value)
    if number.country_code == 1:
        digits = str(number.national_number)
        if len(digits) == 10:
            extension = f" ext. {number.extension}" if number.extension else ""
            return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}{extension}"
        return str(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@_blank_is_empty
def money(value: Decimal | int | str) -> str:
    """$1,234.56 and -$5.00; an empty value is empty (never through float)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    try:
        amount = amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to show to the cent
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
