"""Emergency access: opening a record outside one's role for a while, on a stated reason,
flagged to auditors and reviewed afterwards.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import has_perm, require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotFound, NotPermitted
from medoffice.core.models import AuditAction, EmergencyAccessGrant, User
from medoffice.core.permissions import Perm

EMERGENCY_ACCESS_MINUTES = 60
MIN_REASON_LENGTH = 10


def emergency_access_allowed(perm: str) -> bool:
    """Only a module's permission to view records can be opened in an emergency, never to
    manage, change or export, nor the foundation's own (the audit trail, users)."""
    app, _, action = str(perm).partition(".")
    return bool(app) and app != "core" and action.startswith("view")


@transaction.atomic
@binds_actor("user")
def emergency_access_open(
    *, user: User, obj: Model, perm: str, reason: str, minutes: int = EMERGENCY_ACCESS_MINUTES
) -> EmergencyAccessGrant:
    """Open a record outside the user's role for a while, on a stated reason, flagged to auditors."""
    reason = (reason or "").strip()
    from medoffice.core.permissions import is_registered

    if not is_registered(str(perm)):
        raise InvalidInput(f"perm: there is no permission {str(perm)!r}.", field="perm")
    if not emergency_access_allowed(perm):
        raise NotPermitted(
            "Emergency access opens records for reading only; it cannot grant this permission."
        )
    app = str(perm).partition(".")[0]
    if obj is None or getattr(obj, "_meta", None) is None or obj._meta.app_label != app:
        raise InvalidInput(
            f"object_type: {str(perm)!r} opens {app} records only, not "
            f"{audit.object_label(obj) if obj is not None else 'nothing'}.",
            field="object_type",
        )
    if len(reason) < MIN_REASON_LENGTH:
        raise InvalidInput(
            f"reason: state why you need this record (at least {MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    if has_perm(user, perm):
        raise InvalidInput("Your role already covers this record; emergency access is not needed.")
    now = timezone.now()
    grant = EmergencyAccessGrant.objects.create(
        user=user,
        object_type=audit.object_label(obj),
        object_id=str(obj.pk),
        permission=str(perm),
        reason=reason,
        granted_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    audit.record(
        AuditAction.EMERGENCY_ACCESS,
        obj=obj,
        reason=reason,
        flagged=True,
        changes={
            "grant": grant.pk,
            "permission": str(perm),
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return grant


@transaction.atomic
@binds_actor("reviewer")
def emergency_access_review(
    *, grant_id: int, reviewer: User, note: str = ""
) -> EmergencyAccessGrant:
    require_perm(reviewer, Perm.REVIEW_EMERGENCY_ACCESS)
    grant = EmergencyAccessGrant.objects.select_for_update().filter(pk=grant_id).first()
    if grant is None:
        raise NotFound(f"No emergency access grant #{grant_id}.")
    if grant.reviewed_at is not None:
        raise InvalidTransition("This grant has already been reviewed.")
    grant.reviewed_by = reviewer
    grant.reviewed_at = timezone.now()
    grant.review_note = note.strip()[:300]
    grant.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    audit.record(
        AuditAction.SECURITY, obj=grant, changes={"reviewed": True, "note": grant.review_note}
    )
    return grant
