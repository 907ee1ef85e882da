"""The desk's drawer as the other services see it: which location's drawer takes the money,
the lock that keeps a day's close and that day's money apart, and the closed day's refusal."""

from __future__ import annotations

from datetime import date

from medoffice.core.exceptions import InvalidInput, InvalidTransition
from medoffice.core.models import Location
from medoffice.reception.models import DrawerClose, PaymentMethod


def desk_location(location: Location | None, method: str) -> Location | None:
    """The location whose desk takes the money: the one given, else the practice's only
    active location. Card money needs one too: it is in that desk's terminal batch, which the
    drawer's close counts and the processor's settlement clears."""
    if location is not None:
        return location
    active = list(Location.objects.filter(is_active=True).order_by("pk")[:2])
    if len(active) == 1:
        return active[0]
    where = "drawer" if method in (PaymentMethod.CASH, PaymentMethod.CHECK) else "card terminal"
    raise InvalidInput(f"location: say which location's {where} takes the money.", field="location")


def lock_drawer(location: Location | None) -> None:
    """Hold the location's row until this transaction ends: a drawer's close and the money
    taken, voided or refunded at that desk wait for each other, so a close never misses a
    payment committed beside it. Taken after the receipt counter (the fixed order)."""
    if location is not None:
        Location.objects.select_for_update(no_key=True).filter(pk=location.pk).values_list(
            "pk"
        ).first()


def refuse_closed_day(location: Location | None, day: date, what: str) -> None:
    if location is None:
        return
    close = DrawerClose.objects.filter(location=location, date=day).first()
    if close is not None:
        raise InvalidTransition(
            f"The drawer at {location.name} for {day:%m/%d/%Y} is closed "
            f"(by {close.closed_by}); {what} dated that day cannot be recorded there.",
            field="date",
        )


# How a drawer day's money of each method is said: "holds $5.00 in card payments".
HELD_WORDS = {"cash": "in cash", "check": "in checks", "card": "in card payments"}
