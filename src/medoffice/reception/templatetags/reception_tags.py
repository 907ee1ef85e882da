"""Small display helpers for the front desk's pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

from medoffice.core import formats

register = template.Library()


@register.filter
def minutes(value) -> str:
    """42 -> "42 min", 75 -> "1 h 15 min"; nothing for an unknown time."""
    if value is None or value == "":
        return "—"
    value = int(value)
    if value < 60:
        return f"{value} min"
    return f"{value // 60} h {value % 60:02d} min"


register.filter("money", formats.money, is_safe=True)


@register.filter
def balance_text(value) -> str:
    """What the patient owes, has paid, or holds as a credit (see reception.selectors)."""
    from medoffice.reception.selectors import balance_text as text

    return text(Decimal(value or 0))


@register.filter
def wait_tone(value, limits: str = "15,30") -> str:
    """ "" under the first limit (minutes), "warn" under the second, "bad" past it."""
    if value is None:
        return ""
    warn, bad = (int(part) for part in limits.split(","))
    if value >= bad:
        return "bad"
    if value >= warn:
        return "warn"
    return ""


@register.filter
def can(user, perm: str) -> bool:
    """{% if request.user|can:"reception.check_in" %}: the user's role holds the permission."""
    from medoffice.core.access import has_perm

    return has_perm(user, perm)
