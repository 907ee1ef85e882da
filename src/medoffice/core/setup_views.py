"""Practice setup pages."""

from __future__ import annotations

from django.shortcuts import render

from medoffice.core.models import Location, Provider, User


def practice_overview(request):
    return render(
        request,
        "core/practice.html",
        {
            "locations": Location.objects.all(),
            "providers": Provider.objects.prefetch_related("locations"),
            "users": User.objects.prefetch_related("roles"),
        },
    )
