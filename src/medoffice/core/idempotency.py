"""Idempotent API writes: the Idempotency-Key header (docs/adr/0010-idempotent-money-writes.md).

An endpoint decorated with ``@idempotent`` honours the header: the key is inserted (unique per
user, endpoint and key) in the same transaction as the write, and the answer is stored with
it. A retry with the same key replays the first answer (same status, same body) and writes
nothing; the same key with another request answers 422; a second request arriving while the
first is still running waits on the unique key (PostgreSQL) or the write lock (SQLite) and
then replays. A request that fails leaves no key behind, so it can be corrected and retried.
The header is optional: without it the endpoint behaves as before.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja.utils import contribute_operation_callback

from medoffice.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
MAX_STORED_BODY = 64 * 1024  # characters of an answer kept for replay
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces (UUIDs, ULIDs, …)
_ROW = "_medoffice_idempotency_row"


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
    user = request.auth if getattr(request, "auth", None) is not None else request.user
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


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Endpoint decorator (under ``@requires``): honour the Idempotency-Key header."""
    endpoint = f"{view.__module__.removeprefix('medoffice.')}.{view.__name__}"[:120]

    @wraps(view)
    def claim_then_write(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(request, *args, **kwargs)
        answer = _claim(request, endpoint, key)
        if answer is not None:
            return answer
        return view(request, *args, **kwargs)

    def one_transaction(operation: Any) -> None:
        """The whole operation (claim, write, serialised answer, stored answer) is atomic."""
        inner_run = operation.run

        def run(request: HttpRequest, **kw: Any) -> Any:
            key = request.headers.get(HEADER)
            if key is None:
                return inner_run(request, **kw)
            if not _KEY.match(key):
                return _refusal(
                    400,
                    "invalid",
                    f"{HEADER}: 1 to 255 printable characters without spaces, e.g. a UUID.",
                )
            with transaction.atomic():
                response = inner_run(request, **kw)
                _store(request, response)
            return response

        operation.run = run

    contribute_operation_callback(claim_then_write, one_transaction)
    return claim_then_write


def expire_keys(*, now: Any = None) -> int:
    """Forget answers older than KEEP_FOR; returns how many were deleted."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
