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
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from medoffice.core.models import IdempotencyKey, User

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
MAX_STORED_BODY = 64 * 1024  # characters of an answer kept for replay
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces (UUIDs, ULIDs, …)
_ROW = "_medoffice_idempotency_row"
_IN_TRANSACTION = "_medoffice_idempotency_transaction"


OPENAPI_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[!-~]+$"},
    "description": "Recommended for every money write: a retry with the same key returns the "
    "first answer and writes nothing; the same key with another body is a 422. Kept 24 hours.",
}


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


def idempotent(view: Callable[..., Any] | None = None, *, required: bool = False) -> Any:
    """Endpoint decorator (under ``@requires``): honour the Idempotency-Key header.

    The endpoint's router must carry ``honour_keys`` (``router.add_decorator(honour_keys,
    mode="view")``), which holds the one transaction around the whole request. With
    ``@idempotent(required=True)`` a request without the header is a 400 naming it (for writes
    a client must never repeat blindly, such as a manual journal entry).
    """
    if view is None:
        return lambda inner: _idempotent(inner, required=required)
    return _idempotent(view, required=required)


def _idempotent(view: Callable[..., Any], *, required: bool) -> Callable[..., Any]:
    endpoint = f"{view.__module__.removeprefix('medoffice.')}.{view.__name__}"[:120]

    @wraps(view)
    def claim_then_write(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None and required:
            return _refusal(
                400,
                "required",
                f"{HEADER}: this endpoint needs the header (a new UUID for each new request; "
                "the same one to retry it).",
            )
        if key is None:
            return view(request, *args, **kwargs)
        if not getattr(request, _IN_TRANSACTION, False):
            raise RuntimeError(f"{endpoint}: its router does not add idempotency.honour_keys")
        answer = _claim(request, endpoint, key)
        if answer is not None:
            return answer
        return view(request, *args, **kwargs)

    claim_then_write.idempotent_endpoint = endpoint  # type: ignore[attr-defined]
    claim_then_write.idempotency_required = required  # type: ignore[attr-defined]
    return claim_then_write


def honour_keys(run: Callable[..., Any]) -> Callable[..., Any]:
    """Router decorator (mode "view") around each operation's whole run: for an ``@idempotent``
    endpoint sent with the header, the claim, the write, the serialised answer and the stored
    answer are one transaction. Other endpoints pass straight through."""
    operation = getattr(run, "__self__", None)
    view = getattr(operation, "view_func", None)
    if getattr(view, "idempotent_endpoint", None) is None:
        return run
    extra = dict(operation.openapi_extra or {})  # type: ignore[union-attr]
    parameter = dict(OPENAPI_PARAMETER)
    if getattr(view, "idempotency_required", False):
        parameter["required"] = True
        parameter["description"] = (
            "Required: a retry with the same key returns the first answer and writes nothing; "
            "the same key with another body is a 422. Kept 24 hours."
        )
    extra["parameters"] = [*extra.get("parameters", []), parameter]
    operation.openapi_extra = extra  # type: ignore[union-attr]

    @wraps(run)
    def one_transaction(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return run(request, *args, **kwargs)
        if not _KEY.match(key):
            return _refusal(
                400,
                "invalid",
                f"{HEADER}: 1 to 255 printable characters without spaces, e.g. a UUID.",
            )
        with transaction.atomic():
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
