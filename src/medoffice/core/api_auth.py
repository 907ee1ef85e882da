"""How the API knows who is calling: a bearer token, or the browser session (with CSRF).

A session counts only once the sign-in is complete: roles that require two-factor must
have passed it, exactly as for the pages. `requires` is the endpoint decorator every app's
api.py uses; the project's NinjaAPI (medoffice/api.py) takes API_AUTH as its default.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.utils import timezone
from ninja.constants import NOT_SET
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import contribute_operation_callback

from medoffice.core import api_keys
from medoffice.core.access import require_perm
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


API_AUTH = [BearerToken(), SessionAuth()]
"""The API's authentication schemes, in order: a bearer token, else the signed-in session."""


def user_of(request: Any) -> Any:
    return request.auth if getattr(request, "auth", None) is not None else request.user


class _Authorised:
    """An authentication that also checks the permission, so a caller without it gets 403
    before the input is validated (never a 422 that reveals the shape of the endpoint); then,
    for an endpoint that takes an Idempotency-Key, the header (`api_keys.check_key`: 400
    when missing where required or malformed), so every such endpoint answers the same."""

    def __init__(self, inner: Any, perms: tuple[str, ...], key_required: bool | None = None):
        self.inner = inner
        self.perms = perms
        self.key_required = key_required

    def __call__(self, request: Any) -> Any:
        user = self.inner(request)
        if user:
            require_perm(user, *self.perms)
            if self.key_required is not None:
                api_keys.check_key(request, required=self.key_required)
        return user

    def __getattr__(self, name: str) -> Any:  # the OpenAPI schema reads the inner scheme's
        return getattr(self.inner, name)


class _KeyChecked:
    """An authentication that then checks the Idempotency-Key header, for an ``@idempotent``
    endpoint open to every signed-in caller (no `requires`): the same check, at the same
    point (after who is calling is known, before the body is validated)."""

    def __init__(self, inner: Any, key_required: bool):
        self.inner = inner
        self.key_required = key_required

    def __call__(self, request: Any) -> Any:
        user = self.inner(request)
        if user:
            api_keys.check_key(request, required=self.key_required)
        return user

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def check_key_after_sign_in(operation: Any) -> None:
    """Operation callback of ``@idempotent``: unless `requires` checks the key after the
    permission, check it right after authentication."""
    key_required = api_keys.key_rule(operation.view_func)
    if key_required is None or getattr(operation.view_func, "required_perms", None):
        return
    base = API_AUTH if operation.auth_param is NOT_SET else operation.auth_callbacks
    wrapped = [_KeyChecked(scheme, key_required) for scheme in base]
    operation.auth_param = wrapped
    operation._set_auth(wrapped)


def requires(*perms: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Endpoint decorator: answer 403 unless the caller holds one of the permissions."""

    def authorise_first(operation: Any) -> None:
        base = API_AUTH if operation.auth_param is NOT_SET else operation.auth_callbacks
        key_required = api_keys.key_rule(operation.view_func)
        wrapped = [_Authorised(scheme, perms, key_required) for scheme in base]
        operation.auth_param = wrapped
        operation._set_auth(wrapped)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            require_perm(user_of(request), *perms)
            return view(request, *args, **kwargs)

        wrapper.required_perms = perms  # type: ignore[attr-defined]
        contribute_operation_callback(wrapper, authorise_first)
        return wrapper

    return decorate
