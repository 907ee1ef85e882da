from __future__ import annotations

from django.conf import settings


def medoffice(request) -> dict:
    from medoffice.core.access import permissions_of
    from medoffice.core.selectors import navigation_for, practice_or_none

    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "nav_modules": navigation_for(user) if signed_in else [],
        "medoffice_perms": permissions_of(user) if signed_in else frozenset(),
        "practice": practice_or_none(),
        "idle_minutes": settings.MEDOFFICE_IDLE_MINUTES,
    }
