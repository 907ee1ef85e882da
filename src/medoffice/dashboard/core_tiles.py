"""Tiles the foundation fills: approvals waiting for this user, and emergency access to review."""

from __future__ import annotations

from django.urls import reverse

from medoffice.core.permissions import Perm
from medoffice.dashboard.tiles import Tile, TileProvider, register


def _approvals(user) -> list[Tile]:
    from medoffice.core.services import pending_for

    waiting = pending_for(user).count()
    return [
        Tile(
            "Approvals waiting for you",
            str(waiting),
            "money decisions over someone's authority",
            reverse("core:approvals"),
            "warn" if waiting else "good",
        )
    ]


def _emergency(user) -> list[Tile]:
    from medoffice.core.selectors import emergency_grants_to_review

    count = emergency_grants_to_review().count()
    return [
        Tile(
            "Emergency access to review",
            str(count),
            "records opened outside a role",
            reverse("core:emergency_review"),
            "bad" if count else "good",
        )
    ]


register(TileProvider("dashboard", (Perm.VIEW_DASHBOARD,), _approvals, order=1))
register(TileProvider("dashboard", (Perm.REVIEW_EMERGENCY_ACCESS,), _emergency, order=2))
