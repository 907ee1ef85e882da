"""Element values: amounts (Decimal), numbers, dates and times, with the X12 rules.

Each parser raises `BadValue` with words for people; the reader adds the segment. Amounts
and dates repeat a lot in real files, so parsed values are kept in small caches.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from medoffice.x12.errors import BadValue

CACHE_LIMIT = 50_000
# Parsed values by their text, for the hot loops that look them up before parsing.
AMOUNTS: dict[str, Decimal] = {}
DATES: dict[str, dt.date] = {}
_CACHE_LIMIT, _AMOUNTS, _DATES = CACHE_LIMIT, AMOUNTS, DATES
_DIGITS = frozenset("0123456789")
_DECIMAL_CHARS = frozenset("0123456789.")


def amount(text: str, name: str) -> Decimal:
    """An X12 decimal (R): optional minus, digits with at most one point; e.g. `-12.5`."""
    value = _AMOUNTS.get(text)
    if value is not None:
        return value
    body = text[1:] if text[:1] == "-" else text
    if (
        not body
        or not _DECIMAL_CHARS.issuperset(body)
        or body.count(".") > 1
        or body == "."
        or len(body) > 18
    ):
        if not text:
            raise BadValue(f"{name} is required (an amount)")
        raise BadValue(f"{name} {text!r} is not an amount")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover (the checks above rule it out)
        raise BadValue(f"{name} {text!r} is not an amount") from exc
    if len(_AMOUNTS) < _CACHE_LIMIT:
        _AMOUNTS[text] = value
    return value


def optional_amount(text: str, name: str) -> Decimal | None:
    return amount(text, name) if text else None


def number(text: str, name: str) -> int:
    """An X12 integer (N0): digits only."""
    if not text:
        raise BadValue(f"{name} is required (a number)")
    if not _DIGITS.issuperset(text) or len(text) > 18:
        raise BadValue(f"{name} {text!r} is not a whole number")
    return int(text)


def date8(text: str, name: str) -> dt.date:
    """A CCYYMMDD date."""
    value = _DATES.get(text)
    if value is not None:
        return value
    if len(text) != 8 or not _DIGITS.issuperset(text):
        if not text:
            raise BadValue(f"{name} is required (a date, CCYYMMDD)")
        raise BadValue(f"{name} {text!r} is not a date (CCYYMMDD)")
    try:
        value = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise BadValue(f"{name} {text!r} is not a real date (CCYYMMDD)") from exc
    if len(_DATES) < _CACHE_LIMIT:
        _DATES[text] = value
    return value


def date6(text: str, name: str) -> dt.date:
    """A YYMMDD date (the ISA's): 00-49 are read as 20xx, 50-99 as 19xx."""
    if len(text) != 6 or not _DIGITS.issuperset(text):
        raise BadValue(f"{name} {text!r} is not a date (YYMMDD)")
    year = int(text[:2])
    try:
        return dt.date(2000 + year if year < 50 else 1900 + year, int(text[2:4]), int(text[4:]))
    except ValueError as exc:
        raise BadValue(f"{name} {text!r} is not a real date (YYMMDD)") from exc


def time_of_day(text: str, name: str) -> dt.time:
    """HHMM, HHMMSS or HHMMSSD..: a real time of day."""
    if len(text) not in (4, 6, 7, 8) or not _DIGITS.issuperset(text):
        if not text:
            raise BadValue(f"{name} is required (a time, HHMM)")
        raise BadValue(f"{name} {text!r} is not a time (HHMM)")
    hour, minute = int(text[:2]), int(text[2:4])
    second = int(text[4:6]) if len(text) >= 6 else 0
    if hour > 23 or minute > 59 or second > 59:
        raise BadValue(f"{name} {text!r} is not a real time of day")
    return dt.time(hour, minute, second)


def date_or_period(qualifier: str, text: str, name: str) -> tuple[dt.date, dt.date]:
    """A date (D8) or a period (RD8 `CCYYMMDD-CCYYMMDD`), as (start, end)."""
    if qualifier == "D8":
        day = date8(text, name)
        return day, day
    if qualifier == "RD8":
        start, sep, end = text.partition("-")
        if not sep:
            raise BadValue(f"{name} {text!r} is not a period (CCYYMMDD-CCYYMMDD)")
        first, last = date8(start, name), date8(end, name)
        if last < first:
            raise BadValue(f"{name} {text!r} ends before it starts")
        return first, last
    if qualifier in ("DT", "DTS"):
        day = date8(text[:8], name)  # a date and a time: the date is what is kept
        return day, day
    raise BadValue(f"{name}: date format qualifier {qualifier!r} is not D8, RD8 or DT")
