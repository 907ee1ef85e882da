from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from medoffice.core.access import has_perm
from medoffice.core.home_panels import home_panels_for
from medoffice.core.selectors import navigation_for
from medoffice.dashboard.permissions import DashboardPerm
from medoffice.dashboard.selectors import sections_for


@login_required
def home(request):
    """The office manager's home. Someone without the dashboard goes to their first module."""
    if not has_perm(request.user, DashboardPerm.VIEW_DASHBOARD):
        first = next((m for m in navigation_for(request.user) if m.code != "dashboard"), None)
        if first is not None:
            return redirect(first.nav_url)
        return redirect("core:approvals")
    panels = [
        (panel, render_to_string(panel.template, panel.context, request=request))
        for panel in home_panels_for(request.user)
    ]
    return render(
        request, "dashboard/home.html", {"sections": sections_for(request.user), "panels": panels}
    )
