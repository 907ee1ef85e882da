"""Request-wide rules: session limits, the acting user for the audit trail, 2FA, module switches."""

from __future__ import annotations

import contextlib
import time
import zoneinfo

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from medoffice.core.context import acting_as, actor_for_user, client_ip
from medoffice.core.memo import request_memo

SESSION_LOGIN_AT = "medoffice_login_at"
SESSION_LAST_SEEN = "medoffice_last_seen"
BACKGROUND_HEADER = "HTTP_X_MEDOFFICE_BACKGROUND"  # set by pages that refresh by themselves
# The activity stamp is refreshed at most this often, so a page view rarely writes the session.
ACTIVITY_STAMP_SECONDS = 60


def start_session_clock(request) -> None:
    """Called at login: the 12-hour limit and the idle limit count from now."""
    if hasattr(request, "session"):
        now = time.time()
        request.session[SESSION_LOGIN_AT] = now
        request.session[SESSION_LAST_SEEN] = now


class NoStoreMiddleware:
    """No page or API answer is kept by a browser or proxy cache: most carry PHI or money.

    Static files never reach this (WhiteNoise answers them first) and keep their caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response


# Addresses whose secret token is the only key (a wall screen): registered by their apps.
_token_link_prefixes: list[str] = []


def register_token_link_prefix(prefix: str) -> None:
    """Requests under `prefix` run as nobody: no session, no CSRF cookie, no sign-out clock."""
    if prefix not in _token_link_prefixes:
        _token_link_prefixes.append(prefix)


class TokenLinkMiddleware:
    """A token link's page is no session's page: the browser's cookies are not read for it.

    Placed before the session middleware, it drops the session and CSRF cookies from such a
    request, so a screen left open is never a signed-in user (nobody is kept signed in by it,
    no session row is written, no idle sign-out or two-factor step applies), and it removes
    any cookie from the answer, so the link never starts one either.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _token_link_prefixes or not request.path.startswith(tuple(_token_link_prefixes)):
            return self.get_response(request)
        for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            request.COOKIES.pop(name, None)
        response = self.get_response(request)
        response.cookies.clear()
        return response


class SessionLimitsMiddleware:
    """Log off after inactivity, and 12 hours after login whatever the activity.

    Requests a page makes on its own (a board refreshing) do not count as activity.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            login_at = request.session.get(SESSION_LOGIN_AT)
            last_seen = request.session.get(SESSION_LAST_SEEN, login_at)
            idle_limit = settings.MEDOFFICE_IDLE_MINUTES * 60
            max_age = settings.MEDOFFICE_SESSION_MAX_HOURS * 3600
            reason = ""
            if login_at is None:
                request.session[SESSION_LOGIN_AT] = now
                request.session[SESSION_LAST_SEEN] = now
            elif now - login_at > max_age:
                reason = f"session reached {settings.MEDOFFICE_SESSION_MAX_HOURS} hours"
            elif last_seen is not None and now - last_seen > idle_limit:
                reason = f"logged off after {settings.MEDOFFICE_IDLE_MINUTES} minutes of inactivity"
            if reason:
                request._medoffice_logout_reason = reason
                logout(request)
                if request.path.startswith("/api/") or request.headers.get("HX-Request"):
                    return JsonResponse({"detail": "Your session ended: " + reason}, status=401)
                login = resolve_url(settings.LOGIN_URL)
                return HttpResponseRedirect(f"{login}?expired=1&next={request.path}")
            if (
                not request.META.get(BACKGROUND_HEADER)
                and login_at is not None
                and (last_seen is None or now - last_seen >= ACTIVITY_STAMP_SECONDS)
            ):
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class RequestContextMiddleware:
    """Make the acting user known to services and the audit trail; show times in the practice's zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from medoffice.core.selectors import practice_time_zone

        actor = actor_for_user(
            getattr(request, "user", None),
            client_ip(request),
            request.META.get("HTTP_USER_AGENT", ""),
        )
        memo = request_memo() if request.method in ("GET", "HEAD") else contextlib.nullcontext()
        try:
            zone: zoneinfo.ZoneInfo | None = zoneinfo.ZoneInfo(practice_time_zone())
        except zoneinfo.ZoneInfoNotFoundError:
            zone = None
        # The practice's zone for this request only: the thread goes back to the server's
        # zone after it, so work done later on the same thread never reads another day.
        with memo, acting_as(actor), timezone.override(zone):
            return self.get_response(request)

    def process_exception(self, request, exception):
        """A domain error escaping a page becomes a page with the right status, not a 500.

        The API answers its own errors (api.py); this covers the HTML pages.
        """
        from django.shortcuts import render
        from django.utils.http import urlencode

        from medoffice.core.exceptions import MedofficeError, RecordNotPermitted

        if request.path.startswith("/api/") or not isinstance(exception, MedofficeError):
            return None
        context = {"exception": exception.message, "status": exception.status}
        if isinstance(exception, RecordNotPermitted):
            from medoffice.core.services import emergency_access_allowed

            if emergency_access_allowed(exception.perm):
                query = urlencode(
                    {"object_type": exception.object_type, "object_id": exception.object_id,
                     "perm": exception.perm, "next": request.get_full_path()}
                )  # fmt: skip
                context["emergency_url"] = reverse("core:emergency_open") + "?" + query
        template = {403: "403.html", 404: "404.html"}.get(exception.status, "core/error.html")
        return render(request, template, context, status=exception.status)


# The sign-in pages themselves; the API checks two-factor in its session authentication.
TWO_FACTOR_EXEMPT = ("/account/login/", "/account/logout/", "/account/two-factor/", "/static/",
                     "/api/")  # fmt: skip


class TwoFactorRequiredMiddleware:
    """Owners, managers and HR/payroll must pass TOTP before any page (unless the practice switched it off)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from medoffice.core.selectors import two_factor_required_for

        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(TWO_FACTOR_EXEMPT)
            and not user.is_verified()
            and two_factor_required_for(user)
        ):
            return HttpResponseRedirect(reverse("core:two_factor") + f"?next={request.path}")
        return self.get_response(request)


class ModuleSwitchMiddleware:
    """A module the practice switched off answers 404, pages and API alike."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from medoffice.core.modules import is_enabled, module_for_path

        module = module_for_path(request.path)
        if module is not None and not is_enabled(module.code):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": f"The {module.label} module is switched off."}, status=404
                )
            raise Http404(f"The {module.label} module is switched off for this practice.")
        return self.get_response(request)
