"""The JSON API: /api/, its OpenAPI document at /api/openapi.json.

Authentication is the browser session (with CSRF) or a bearer token; every endpoint
checks the same named permissions as the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import wraps

from ninja import NinjaAPI
from ninja.constants import NOT_SET
from ninja.errors import AuthenticationError, ValidationError
from ninja.utils import contribute_operation_callback

from medoffice import __version__
from medoffice.core.access import require_perm
from medoffice.core.api_auth import BearerToken, SessionAuth
from medoffice.core.exceptions import InvalidInput, MedofficeError

api = NinjaAPI(
    title="medoffice API",
    version=__version__,
    description="The practice's data, with the same permissions as the pages.",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
)


def user_of(request):
    return request.auth if getattr(request, "auth", None) is not None else request.user


class _Authorised:
    """An authentication that also checks the permission, so a caller without it gets 403
    before the input is validated (never a 422 that reveals the shape of the endpoint)."""

    def __init__(self, inner, perms: tuple[str, ...]):
        self.inner = inner
        self.perms = perms

    def __call__(self, request):
        user = self.inner(request)
        if user:
            require_perm(user, *self.perms)
        return user

    def __getattr__(self, name):  # the OpenAPI schema reads the inner scheme's attributes
        return getattr(self.inner, name)


def requires(*perms: str):
    """Endpoint decorator: answer 403 unless the caller holds one of the permissions."""

    def authorise_first(operation) -> None:
        base = api.auth if operation.auth_param is NOT_SET else operation.auth_callbacks
        assert isinstance(base, Sequence)  # the API above always declares its schemes
        wrapped = [_Authorised(scheme, perms) for scheme in base]
        operation.auth_param = wrapped
        operation._set_auth(wrapped)

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            require_perm(user_of(request), *perms)
            return view(request, *args, **kwargs)

        contribute_operation_callback(wrapper, authorise_first)
        return wrapper

    return decorate


@api.exception_handler(InvalidInput)
def _invalid(request, exc: InvalidInput):
    return api.create_response(
        request, {"detail": exc.message, "code": exc.code, "errors": exc.errors}, status=422
    )


@api.exception_handler(MedofficeError)
def _domain_error(request, exc: MedofficeError):
    body = {"detail": exc.message, "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(ValidationError)
def _schema_error(request, exc: ValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [
            str(part)
            for part in error.get("loc", [])
            if part not in ("body", "query", "path", "payload")
        ]
        errors.setdefault(".".join(location) or "input", []).append(error.get("msg", "invalid"))
    fields = ", ".join(errors)
    return api.create_response(
        request,
        {"detail": f"Invalid input: {fields}.", "code": "invalid", "errors": errors},
        status=422,
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(
        request, {"detail": "Sign in or send a valid API token."}, status=401
    )


def _mount_routers() -> None:
    from django.conf import settings
    from django.utils.module_loading import import_string

    for app in settings.MEDOFFICE_APPS:
        try:
            routers = import_string(f"{app}.api.routers")
        except ImportError as exc:
            if (
                f"{app}.api" in str(exc)
                or "has no attribute" in str(exc)
                or "does not define" in str(exc)
            ):
                continue
            raise
        for prefix, router in routers:
            api.add_router(prefix, router)


_mount_routers()
