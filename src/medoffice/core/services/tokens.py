"""API tokens: created with a raw value shown once (only its digest is kept), and revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.models import ApiToken, AuditAction, User


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
@binds_actor("user")
def api_token_create(*, user: User, name: str, days: int | None = 90) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and never stored."""
    if not name.strip():
        raise InvalidInput("name: give the token a name.", field="name")
    raw = "mo_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:80],
        prefix=raw[3:11],
        digest=token_digest(raw),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    audit.record(AuditAction.SECURITY, obj=token, changes={"api_token": "created"})
    return token, raw


@transaction.atomic
@binds_actor("user")
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(f"No API token #{token_id}.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(AuditAction.SECURITY, obj=token, changes={"api_token": "revoked"})
    return token
