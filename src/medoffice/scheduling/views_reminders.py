"""Pages of reminders and calendar feeds: the public reminder link, the feed, and staff pages."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from medoffice.core.access import has_perm
from medoffice.core.context import Actor, acting_as, client_ip
from medoffice.core.exceptions import MedofficeError, NotFound, NotPermitted
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import Provider
from medoffice.core.views import permission_required
from medoffice.scheduling import ical, reminders
from medoffice.scheduling.models import ReminderStatus
from medoffice.scheduling.permissions import SchedulingPerm

PATIENT_LINK_ACTOR = "patient (reminder link)"


def _link_actor(request: HttpRequest) -> Actor:
    """Who answers a reminder: the signed-in user if any, otherwise the patient holding the link."""
    user = request.user
    agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    if user.is_authenticated:
        return Actor(
            user_id=user.pk,
            username=user.get_username(),
            ip_address=client_ip(request),
            user_agent=agent,
        )
    return Actor(
        user_id=None, username=PATIENT_LINK_ACTOR, ip_address=client_ip(request), user_agent=agent
    )


def _no_referrer(response: HttpResponse) -> HttpResponse:
    # The token is in the address: keep it out of Referer headers and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def reminder_link(request: HttpRequest, token: str) -> HttpResponse:
    """Public page (no login) where a patient confirms or cancels from a reminder."""
    with acting_as(_link_actor(request)):
        try:
            if request.method == "POST":
                answer = request.POST.get("answer", "")
                if answer == "confirm":
                    result = reminders.reminder_confirm(token=token)
                elif answer == "cancel":
                    result = reminders.reminder_cancel(token=token)
                else:
                    link = reminders.reminder_link_open(token=token)
                    return _no_referrer(
                        render(
                            request,
                            "scheduling/reminders/link.html",
                            {
                                "appointment": link.appointment,
                                "confirmed": link.confirmed,
                                "error": "Choose Confirm or Cancel.",
                            },
                            status=422,
                        )
                    )
                return _no_referrer(
                    render(
                        request,
                        "scheduling/reminders/link_done.html",
                        {"appointment": result.appointment, "outcome": result.outcome},
                    )
                )
            link = reminders.reminder_link_open(token=token)
        except reminders.InvalidReminderLink as exc:
            return _no_referrer(
                render(
                    request,
                    "scheduling/reminders/link_invalid.html",
                    {"message": exc.message},
                    status=exc.status,
                )
            )
    return _no_referrer(
        render(
            request,
            "scheduling/reminders/link.html",
            {"appointment": link.appointment, "confirmed": link.confirmed},
        )
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A provider's private calendar feed (no login; the secret token is the key)."""
    try:
        feed = ical.calendar_feed_fetch(token=token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(feed.body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="schedule.ics"'
    return _no_referrer(response)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_feeds(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A provider's own feed address, or every provider's for a scheduling manager."""
    rows = ical.feed_tokens_for(request.user)
    if not rows and not has_perm(request.user, SchedulingPerm.MANAGE_SCHEDULING):
        raise PermissionDenied("Only providers and scheduling managers have calendar feeds.")
    new_address = ""
    new_for = None
    if request.method == "POST":
        provider = Provider.objects.filter(pk=request.POST.get("provider") or 0).first()
        try:
            if provider is None:
                raise NotFound("No such provider.")
            if request.POST.get("action") == "revoke":
                ical.calendar_feed_revoke(provider=provider, actor=request.user)
            else:
                raw = ical.calendar_feed_rotate(provider=provider, actor=request.user)
                new_address = request.build_absolute_uri(
                    reverse("scheduling:ical_feed", args=[raw])
                )
                new_for = provider
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            return render(
                request,
                "scheduling/reminders/calendar_feeds.html",
                {"rows": rows, "error": exc.message},
                status=exc.status,
            )
        rows = ical.feed_tokens_for(request.user)
    return render(
        request,
        "scheduling/reminders/calendar_feeds.html",
        {"rows": rows, "new_address": new_address, "new_for": new_for},
    )


@login_required
@permission_required(SchedulingPerm.VIEW_SCHEDULE)
def reminders_overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Reminders of the past week's and upcoming appointments, failures first to hand."""
    status = request.GET.get("status", "")
    if status not in ReminderStatus.values:
        status = ""
    since = timezone.now() - timedelta(days=7)
    page = Paginator(reminders.reminders_recent(since=since, status=status), 100).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "scheduling/reminders/overview.html",
        {
            "page": page,
            "status": status,
            "statuses": ReminderStatus.choices,
            "max_attempts": reminders.max_attempts(),
        },
    )
