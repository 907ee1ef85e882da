"""Idempotent API writes: the Idempotency-Key header (docs/adr/0010-idempotent-money-writes.md).

An endpoint decorated with ``@idempotent`` (on a router that adds ``honour_keys``) honours the
header: the key is inserted (unique per
user, endpoint and key) in the same transaction as the write, and the answer is stored with
it. A retry with the same key replays the first answer (same status, same body) and writes
nothing; the same key with another request answers 422; a second request arriving while the
first is still running waits on the unique key (PostgreSQL) or the write lock (SQLite) and
then replays. A request that fails leaves no key behind, so it can be corrected and retried.
The header is optional (without it the endpoint behaves as before) unless the endpoint says
``@idempotent(required=True)``: then a request without it is a 400.

`api_keys.check_key` is the one check of the header for every endpoint that takes it: 1 to 255
printable ASCII characters without spaces (KEY_PATTERN); a missing key where it is required and
a malformed key anywhere are both a 400 naming the header (`KeyRefused`), checked right after
the caller's permission and before the body is read. An endpoint whose service keeps the key
itself (its own unique key, e.g. an eligibility request sent after its row is committed) says
``@idempotent(required=True, kept_by_service=True)``: the header is checked and documented the
same way, but no answer is stored and no transaction is opened around it; `api_keys.service_key`
gives the key as such a service keeps it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja.utils import contribute_operation_callback

from medoffice.core.api_auth import check_key_after_sign_in
from medoffice.core.api_keys import (
    HEADER,
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    REFUSED_STATUS,
    KeyRefused,
    check_key,
    key_rule,
    openapi_parameter,
    service_key,
)
from medoffice.core.models import IdempotencyKey, User

__all__ = [
    "HEADER", "KEY_PATTERN", "MAX_KEY_LENGTH", "REFUSED_STATUS", "KeyRefused", "check_key",
    "expire_keys", "honour_keys", "idempotent", "key_rule", "openapi_parameter", "service_key",
]  # fmt: skip

KEEP_FOR = timedelta(hours=24)
MAX_STORED_BODY = 64 * 1024  # characters of an answer kept for replay
_ROW = "_medoffice_idempotency_row"
_IN_TRANSACTION = "_medoffice_idempotency_transaction"
OPENAPI_PARAMETER = openapi_parameter(required=False)


def _refusal(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"detail": message, "code": code, "errors": {HEADER: [message]}}, status=status
    )


def _fingerprint(request: HttpRequest) -> str:
    """The request's method, path (with query) and body; JSON bodies compared by content."""
    body: bytes = request.body or b""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(canonical)
    return digest.hexdigest()


def _replay(row: IdempotencyKey, fingerprint: str) -> HttpResponse:
    if row.fingerprint != fingerprint:
        return _refusal(
            422,
            "idempotency_key_reused",
            f"{HEADER}: this key was already used for a different request; "
            "send a new key for a new request.",
        )
    response = HttpResponse(
        row.response_body,
        status=row.status_code or 200,
        content_type=row.content_type or "application/json",
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(request: HttpRequest, endpoint: str, key: str) -> HttpResponse | None:
    """Insert the key (or find the first answer): None means go ahead and write."""
    auth = getattr(request, "auth", None)  # set by the API's authentication
    # Only signed-in callers reach a money write (the endpoint's auth runs first).
    user = cast(User, auth if auth is not None else request.user)
    fingerprint = _fingerprint(request)
    found = IdempotencyKey.objects.filter(user=user, endpoint=endpoint, key=key).first()
    if found is not None:
        return _replay(found, fingerprint)
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(
                user=user,
                endpoint=endpoint,
                key=key,
                fingerprint=fingerprint,
                created_at=timezone.now(),
            )
    except IntegrityError:
        # Another request with this key committed while we waited on the unique index.
        return _replay(
            IdempotencyKey.objects.get(user=user, endpoint=endpoint, key=key), fingerprint
        )
    setattr(request, _ROW, row)
    return None


def _store(request: HttpRequest, response: Any) -> None:
    row: IdempotencyKey | None = getattr(request, _ROW, None)
    if row is None:
        return
    delattr(request, _ROW)
    status = getattr(response, "status_code", 500)
    if not 200 <= status < 300:
        row.delete()  # a refused request leaves no key: it may be corrected and sent again
        return
    body = response.content.decode("utf-8", errors="replace")
    if len(body) > MAX_STORED_BODY:
        body = json.dumps(
            {"detail": "Already done; the first answer was too large to keep.", "code": "done"}
        )
    row.status_code = status
    row.content_type = response.get("Content-Type", "application/json")[:100]
    row.response_body = body
    row.save(update_fields=["status_code", "content_type", "response_body"])


def idempotent(
    view: Callable[..., Any] | None = None, *, required: bool = False, kept_by_service: bool = False
) -> Any:
    """Endpoint decorator (under ``@requires``): honour the Idempotency-Key header.

    The endpoint's router must carry ``honour_keys`` (``router.add_decorator(honour_keys,
    mode="view")``), which holds the one transaction around the whole request and documents
    the header. With ``@idempotent(required=True)`` a request without the header is a 400
    naming it (for writes a client must never repeat blindly, such as a manual journal entry).
    With ``kept_by_service=True`` the endpoint's service keeps one write per key itself: the
    header is checked and documented, nothing is stored here. `check_key` runs in the
    authentication (`core.api_auth`): right after the permission under ``@requires``, right
    after sign-in otherwise, so before the body is validated; the wrapper's own call is then
    a formality that keeps the rule where the key is used.
    """

    def decorate(inner: Callable[..., Any]) -> Callable[..., Any]:
        return _idempotent(inner, required=required or kept_by_service,
                           kept_by_service=kept_by_service)  # fmt: skip

    if view is None:
        return decorate
    return decorate(view)


def _idempotent(
    view: Callable[..., Any], *, required: bool, kept_by_service: bool
) -> Callable[..., Any]:
    endpoint = f"{view.__module__.removeprefix('medoffice.')}.{view.__name__}"[:120]

    @wraps(view)
    def claim_then_write(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = check_key(request, required=required)
        if key is None or kept_by_service:
            return view(request, *args, **kwargs)
        if not getattr(request, _IN_TRANSACTION, False):
            raise RuntimeError(f"{endpoint}: its router does not add idempotency.honour_keys")
        answer = _claim(request, endpoint, key)
        if answer is not None:
            return answer
        return view(request, *args, **kwargs)

    claim_then_write.idempotent_endpoint = endpoint  # type: ignore[attr-defined]
    claim_then_write.idempotency_required = required  # type: ignore[attr-defined]
    claim_then_write.idempotency_kept_by_service = kept_by_service  # type: ignore[attr-defined]
    contribute_operation_callback(claim_then_write, check_key_after_sign_in)
    return claim_then_write


def honour_keys(run: Callable[..., Any]) -> Callable[..., Any]:
    """Router decorator (mode "view") around each operation's whole run: for an ``@idempotent``
    endpoint sent with the header, the claim, the write, the serialised answer and the stored
    answer are one transaction. Other endpoints, and those whose service keeps the key, pass
    straight through; each ``@idempotent`` one gets the header in its OpenAPI parameters."""
    operation = getattr(run, "__self__", None)
    view = getattr(operation, "view_func", None)
    required = key_rule(view) if view is not None else None
    if required is None:
        return run
    kept_by_service = bool(getattr(view, "idempotency_kept_by_service", False))
    extra = dict(operation.openapi_extra or {})  # type: ignore[union-attr]
    parameters = [p for p in extra.get("parameters", []) if p.get("name") != HEADER]
    parameter = openapi_parameter(required=required, kept_by_service=kept_by_service)
    extra["parameters"] = [*parameters, parameter]
    operation.openapi_extra = extra  # type: ignore[union-attr]
    if kept_by_service:
        return run

    @wraps(run)
    def one_transaction(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.headers.get(HEADER) is None:
            return run(request, *args, **kwargs)
        with transaction.atomic():  # a malformed key is refused inside, writing nothing
            setattr(request, _IN_TRANSACTION, True)
            response = run(request, *args, **kwargs)
            _store(request, response)
        return response

    return one_transaction


def expire_keys(*, now: datetime | None = None) -> int:
    """Forget answers older than KEEP_FOR; returns how many were deleted."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
