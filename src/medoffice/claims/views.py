"""Claims' pages: thin; the rules are in services, the reads in selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.access import has_perm
from medoffice.core.views import permission_required


@login_required
@permission_required(ClaimsPerm.VIEW, ClaimsPerm.CODE_OWN)
def home(request: HttpRequest) -> HttpResponse:
    """Only the pages the user's role opens are linked (a clinician codes their own visits)."""
    user = request.user
    context = {
        "can_view": has_perm(user, ClaimsPerm.VIEW),
        "can_submit": has_perm(user, ClaimsPerm.SUBMIT),
        "can_manage_clearinghouse": has_perm(user, ClaimsPerm.MANAGE_CLEARINGHOUSE),
    }
    return render(request, "claims/home.html", context)
