"""The JSON API: /api/, its OpenAPI document at /api/openapi.json.

Authentication is the browser session (with CSRF) or a bearer token; every endpoint
checks the same named permissions as the pages (`medoffice.core.api_auth.requires`). This
module only assembles the apps' routers: no app imports it.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from medoffice import __version__
from medoffice.core.api_auth import API_AUTH
from medoffice.core.exceptions import InvalidInput, MedofficeError
from medoffice.core.input_words import schema_problems, sentence

api = NinjaAPI(
    title="medoffice API",
    version=__version__,
    description="The practice's data, with the same permissions as the pages.",
    auth=API_AUTH,
    urls_namespace="api",
)


@api.exception_handler(InvalidInput)
def _invalid(request, exc: InvalidInput):
    return api.create_response(
        request,
        {"detail": exc.message, "code": exc.code, "errors": exc.errors},
        status=exc.status,  # 422; 400 for an Idempotency-Key refused (idempotency.KeyRefused)
    )


@api.exception_handler(MedofficeError)
def _domain_error(request, exc: MedofficeError):
    body = {"detail": exc.message, "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(ValidationError)
def _schema_error(request, exc: ValidationError):
    errors = schema_problems(exc.errors)
    return api.create_response(
        request, {"detail": sentence(errors), "code": "invalid", "errors": errors}, status=422
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if str(exc.message).startswith("Cannot parse request body"):
        body = {"detail": "The request body is not valid JSON.", "code": "invalid"}
    else:
        body = {"detail": str(exc.message), "code": "refused"}
    return api.create_response(request, body, status=exc.status_code)


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
