"""Coding's pages: thin; the rules are in services, the reads in selectors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from medoffice.coding import selectors
from medoffice.coding.permissions import CodingPerm
from medoffice.core.views import permission_required


@permission_required(CodingPerm.VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "coding/home.html", {"releases": selectors.latest_releases()})
