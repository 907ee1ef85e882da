"""Claims' pages: thin; the rules are in services, the reads in selectors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.views import permission_required


@permission_required(ClaimsPerm.VIEW, ClaimsPerm.CODE_OWN)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "claims/home.html", {})
