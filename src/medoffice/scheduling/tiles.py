"""Scheduling's dashboard tiles: today's appointments, no-shows, and freed times to offer."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from medoffice.core.access import has_perm
from medoffice.core.tile_registry import Tile, TileProvider, register
from medoffice.scheduling.permissions import SchedulingPerm


def _schedule(user) -> list[Tile]:
    from medoffice.scheduling.selectors import day_summary, open_offer_count

    counts = day_summary(timezone.localdate())
    booked = sum(counts.get(s, 0) for s in ("booked", "checked_in", "completed", "no_show"))
    no_shows = counts.get("no_show", 0)
    day_url = reverse("scheduling:day")
    tiles = [
        Tile(
            "Appointments today",
            str(booked),
            f"{counts.get('completed', 0)} seen, {counts.get('cancelled', 0)} cancelled",
            day_url,
            section="today",
        ),
        Tile(
            "No-shows today",
            str(no_shows),
            f"{round(100 * no_shows / booked)}% of today's appointments" if booked else "none yet",
            day_url,
            "warn" if no_shows else "good",
            section="today",
        ),
    ]
    # Offering a freed time is booking it: readers of the schedule (an assistant, an auditor)
    # have no call to make.
    if has_perm(user, SchedulingPerm.BOOK_APPOINTMENTS):
        offers = open_offer_count()
        tiles.append(
            Tile(
                "Freed times to offer",
                str(offers),
                "waitlist patients to call" if offers else "no open waitlist offers",
                reverse("scheduling:waitlist"),
                "warn" if offers else "",
                section="today",
            )
        )
    return tiles


register(
    TileProvider(
        "scheduling",
        (SchedulingPerm.VIEW_SCHEDULE, SchedulingPerm.BOOK_APPOINTMENTS),
        _schedule,
        order=20,
    )
)
