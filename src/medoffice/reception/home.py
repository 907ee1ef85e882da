"""The front desk's home opens on today: the day's arrivals, per location, in time order."""

from __future__ import annotations

from typing import Any

from medoffice.core.access import has_perm
from medoffice.core.home_panels import HomePanel, register_home_panels
from medoffice.core.modules import is_enabled
from medoffice.core.permissions import Perm
from medoffice.patients.permissions import PatientsPerm
from medoffice.reception import selectors
from medoffice.scheduling.permissions import SchedulingPerm


def _arrivals(user: Any) -> list[HomePanel]:
    # For the people who check patients in; the office manager's home stays the overview.
    if (
        not is_enabled("reception")
        or not has_perm(user, SchedulingPerm.CHECK_IN)
        or has_perm(user, Perm.MANAGE_PRACTICE)
    ):
        return []
    # The home page draws at once; the table comes from its own address and keeps itself
    # current (every 30 seconds, as the board does).
    return [
        HomePanel(
            key="arrivals",
            title="Today's arrivals",
            template="reception/_home_arrivals_loader.html",
            order=10,
        )
    ]


def arrivals_context(user: Any) -> dict[str, Any]:
    """The day's arrivals; copays and balances only for those who may see a patient's money."""
    return {
        "groups": selectors.todays_arrivals(),
        "day": selectors.local_today(),
        "can_see_money": has_perm(user, PatientsPerm.VIEW_MONEY),
    }


def register() -> None:
    register_home_panels(_arrivals)
