"""How the API knows who is calling: a bearer token, or the browser session (with CSRF).

A session counts only once the sign-in is complete: roles that require two-factor must
have passed it, exactly as for the pages.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer

from medoffice.core.context import act_as_for_request


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        from medoffice.core.models import ApiToken
        from medoffice.core.services import token_digest

        found = ApiToken.objects.select_related("user").filter(digest=token_digest(token)).first()
        now = timezone.now()
        if found is None or found.revoked_at or (found.expires_at and found.expires_at <= now):
            return None
        if not found.user.is_active:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        act_as_for_request(found.user, request)
        return found.user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session. Anonymous callers get 401 (not a CSRF error); signed-in
    callers must send the CSRF token on unsafe methods and have passed two-factor if required."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        from medoffice.core.selectors import two_factor_required_for

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        is_verified = getattr(user, "is_verified", None)
        if two_factor_required_for(user) and not (is_verified and is_verified()):
            raise HttpError(403, "Pass the two-factor check first (sign in on the web page).")
        return user
