"""The Idempotency-Key header's one check, for every API endpoint that takes it
(docs/adr/0010-idempotent-money-writes.md): 1 to 255 printable ASCII characters without
spaces; a key missing where the endpoint requires it, or malformed, is a 400 naming the header.

`core.api_auth` runs `check_key` right after the caller's permission (or sign-in), before the
body is validated; `core.idempotency` (``@idempotent``, ``honour_keys``) marks the endpoints,
documents the header with `openapi_parameter` and keeps the answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from medoffice.core.exceptions import InvalidInput

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[!-~]+$"  # printable ASCII, no spaces (UUIDs, ULIDs, …), 1 to MAX_KEY_LENGTH
REFUSED_STATUS = 400  # a missing (where required) or malformed key, on every endpoint
SERVICE_KEY_LENGTH = 100  # what a service that keeps the key itself stores
_KEY = re.compile(KEY_PATTERN)
_SHAPE = f"1 to {MAX_KEY_LENGTH} printable characters without spaces, e.g. a UUID"
_RULES = (
    f"The key: {_SHAPE} (pattern {KEY_PATTERN}). A missing key where it is required, or a "
    f"malformed key, is a {REFUSED_STATUS} naming the header, before the body is read."
)


class KeyRefused(InvalidInput):
    """The Idempotency-Key header is missing where required, or malformed (400, naming it)."""

    status = REFUSED_STATUS


def check_key(request: HttpRequest, *, required: bool) -> str | None:
    """The one check of the Idempotency-Key header, for every endpoint that takes it: the key,
    or None when it was not sent and is optional; KeyRefused (400) when it is missing but
    required, or not 1 to 255 printable ASCII characters without spaces."""
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise KeyRefused(
                f"This endpoint needs the {HEADER} header (a new UUID for each new request; "
                "the same one to retry it).",
                field=HEADER,
                code="required",
            )
        return None
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
        raise KeyRefused(f"The {HEADER} header takes {_SHAPE}.", field=HEADER, code="invalid")
    return key


def service_key(request: HttpRequest) -> str:
    """The checked key as a service that keeps it itself stores it (SERVICE_KEY_LENGTH
    characters): a longer key by its SHA-256, so two long keys never collide on a prefix."""
    key = request.headers.get(HEADER, "")
    if len(key) <= SERVICE_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def openapi_parameter(*, required: bool, kept_by_service: bool = False) -> dict[str, Any]:
    """The header as every endpoint that takes it documents it: one schema, one rule."""
    if kept_by_service:
        use = (
            "Required: the same key again returns what the first request made (200) and does "
            "nothing more; a new key (a new UUID) asks again."
        )
    else:
        use = ("Required: " if required else "Recommended for every money write: ") + (
            "a retry with the same key returns the first answer and writes nothing; the same "
            "key with another body is a 422. Kept 24 hours."
        )
    return {
        "in": "header",
        "name": HEADER,
        "required": required,
        "schema": {
            "type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
            "pattern": KEY_PATTERN,
        },
        "description": f"{use} {_RULES}",
    }  # fmt: skip


def key_rule(view: Callable[..., Any]) -> bool | None:
    """For an endpoint's view: whether it requires the key (True), takes it optionally
    (False), or does not take it (None), as ``@idempotent`` marked it."""
    if getattr(view, "idempotent_endpoint", None) is None:
        return None
    return bool(getattr(view, "idempotency_required", False))
