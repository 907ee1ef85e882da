from __future__ import annotations

from typing import Any

from django.conf import settings


def medoffice(request) -> dict:
    from medoffice.core.access import permissions_of
    from medoffice.core.selectors import navigation_for, practice_or_none

    user: Any = getattr(request, "user", None)  # set by the auth middleware, if it ran
    signed_in = user is not None and user.is_authenticated
    return {
        "nav_modules": navigation_for(user) if signed_in else [],
        "medoffice_perms": permissions_of(user) if signed_in else frozenset(),
        "practice": practice_or_none(),
        "idle_minutes": settings.MEDOFFICE_IDLE_MINUTES,
    }
