"""The front desk's dashboard tiles: who is waiting now, and how many came in today."""

from __future__ import annotations

from django.urls import reverse

from medoffice.core.tile_registry import Tile, TileProvider, register
from medoffice.reception.permissions import ReceptionPerm


def _front_desk(user) -> list[Tile]:
    from medoffice.reception.selectors import front_desk_counts

    counts = front_desk_counts()
    waiting, longest = counts["waiting"], counts["longest_wait"]
    tone = ""
    if longest is not None:
        tone = "bad" if longest >= 30 else "warn" if longest >= 15 else "good"
    board = reverse("reception:flow_board")
    return [
        Tile(
            "Patients waiting now",
            str(waiting),
            f"longest wait {longest} min" if longest is not None else "no one is waiting",
            board,
            tone,
            section="today",
        ),
        Tile(
            "Checked in today",
            str(counts["checked_in"]),
            "patients who arrived today",
            board,
            section="today",
        ),
    ]


register(TileProvider("reception", (ReceptionPerm.VIEW_FLOW_BOARD,), _front_desk, order=30))
