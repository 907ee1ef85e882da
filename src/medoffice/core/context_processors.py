from __future__ import annotations

from django.conf import settings


def medoffice(request) -> dict:
    from medoffice.core.selectors import navigation_for, practice_or_none

    user = getattr(request, "user", None)
    nav = navigation_for(user) if user is not None and user.is_authenticated else []
    return {
        "nav_modules": nav,
        "practice": practice_or_none(),
        "idle_minutes": settings.MEDOFFICE_IDLE_MINUTES,
    }
