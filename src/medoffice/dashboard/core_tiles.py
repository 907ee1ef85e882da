"""Tiles the foundation fills: approvals waiting, emergency access to review, sign-in trouble."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from medoffice.core.access import has_any_perm
from medoffice.core.permissions import Perm
from medoffice.core.tile_registry import Tile, TileProvider, register
from medoffice.dashboard.permissions import DashboardPerm


def _approvals(user) -> list[Tile]:
    from medoffice.core.services import pending_for

    waiting = pending_for(user).count()
    if not waiting and not has_any_perm(user, Perm.MANAGE_PRACTICE, Perm.MANAGE_USERS):
        return []  # a role that rarely decides money sees the tile only when something waits
    return [
        Tile(
            "Approvals waiting for you",
            str(waiting),
            "money decisions over someone's authority",
            reverse("core:approvals"),
            "warn" if waiting else "good",
            section="money",
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
            section="risk",
        )
    ]


def _failed_sign_ins(user) -> list[Tile]:
    from medoffice.core.selectors import failed_sign_ins_since

    since = timezone.now() - timedelta(hours=24)
    count = failed_sign_ins_since(since)
    query = urlencode({"action": "login_failed", "from": timezone.localdate(since).isoformat()})
    return [
        Tile(
            "Failed sign-ins, last 24 hours",
            str(count),
            "wrong passwords and two-factor codes",
            reverse("core:audit") + "?" + query,
            "warn" if count else "good",
            section="risk",
        )
    ]


def _staff(user) -> list[Tile]:
    from medoffice.core.selectors import staff_summary

    summary = staff_summary()
    detail = f"{summary['locked']} locked after failed sign-ins" if summary["locked"] else ""
    return [
        Tile(
            "Active staff accounts",
            str(summary["active"]),
            detail,
            reverse("core:staff"),
            "warn" if summary["locked"] else "",
            section="people",
        )
    ]


register(TileProvider("dashboard", (DashboardPerm.VIEW_DASHBOARD,), _approvals, order=1))
register(TileProvider("dashboard", (Perm.REVIEW_EMERGENCY_ACCESS,), _emergency, order=2))
register(TileProvider("dashboard", (Perm.VIEW_AUDIT,), _failed_sign_ins, order=3))
register(TileProvider("dashboard", (Perm.MANAGE_USERS,), _staff, order=4))
