"""The flow board's wall display: the public screen behind a secret link, and its links page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medoffice.core.exceptions import MedofficeError, NotFound, NotPermitted
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required
from medoffice.reception import selectors, wall
from medoffice.reception.permissions import ReceptionPerm


@require_http_methods(["GET", "HEAD"])
def wall_display(request: HttpRequest, token: str) -> HttpResponse:
    """One location's board today, initials only (no sign-in: the secret token is the key)."""
    try:
        board = wall.wall_board(token=token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = render(
        request,
        "reception/wall.html",
        {"board": board, "refresh_seconds": wall.refresh_seconds()},
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_required
@permission_required(ReceptionPerm.MANAGE_WALL_DISPLAYS)
@require_http_methods(["GET", "POST"])
def wall_links(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Make, list and revoke the wall-display links of each location."""
    context: dict = {
        "locations": selectors.active_locations(),
        "error": "",
        "errors": {},
        "refresh_seconds": wall.refresh_seconds(),
    }
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                link_id = request.POST.get("link", "")
                if not link_id.isdigit():
                    raise NotFound("No such wall-display link.")
                revoked = wall.wall_link_revoke(link_id=int(link_id), actor=request.user)
                context["notice"] = f"{revoked.name} is switched off: its address no longer works."
            else:
                chosen = request.POST.get("location", "")
                location = (
                    selectors.active_locations().filter(pk=int(chosen)).first()
                    if chosen.isdigit()
                    else None
                )
                link, raw = wall.wall_link_create(
                    location=location, name=request.POST.get("name", ""), actor=request.user
                )
                context["new_link"] = link
                context["new_address"] = request.build_absolute_uri(
                    reverse("reception:wall_display", args=[raw])
                )
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            context["error"] = exc.message
            context["errors"] = getattr(exc, "errors", {})
            context["posted"] = request.POST
            status = exc.status
    context["links"] = list(wall.wall_links())
    return render(request, "reception/wall_links.html", context, status=status)
