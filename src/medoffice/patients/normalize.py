"""Pure functions that turn names, phone numbers and dates into their searchable forms."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import phonenumbers
from django.utils import timezone

from medoffice.core import formats

DEFAULT_REGION = "US"
_NOT_LETTER = re.compile(r"[^a-z]")


def fold(text: str) -> str:
    """Lower case, accents removed, Nordic/Germanic letters spelled out."""
    text = (text or "").strip().lower()
    text = text.replace("ß", "ss").replace("æ", "ae").replace("ø", "o").replace("œ", "oe")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_key(text: str) -> str:
    """The indexed form of a name: only a-z, so 'O'Brien-Núñez ' -> 'obriennunez'."""
    return _NOT_LETTER.sub("", fold(text))


def phone_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """Parse and validate a phone number; return it in E.164 or raise ValueError."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("Enter a phone number, e.g. (312) 555-0142.") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("This is not a valid phone number; check the area code and digits.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    return formats.phone(e164)


def phone_key(value: str) -> str:
    """The indexed form of a phone: its digits without the country code for US numbers."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%m.%d.%Y", "%m/%d/%y", "%m%d%Y", "%Y%m%d")


def parse_date(text: str) -> date | None:
    """A birth date typed the ways people type them: 03/14/1980, 3/14/80, 1980-03-14, 03141980."""
    text = (text or "").strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
        day = parsed.date()
        if fmt == "%m/%d/%y" and day.year > timezone.localdate().year:
            day = day.replace(year=day.year - 100)
        return day
    return None
