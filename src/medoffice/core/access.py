"""Permission checks, and fetching one object while checking the user may see it."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.exceptions import NotFound, RecordNotPermitted
from medoffice.core.models import EmergencyAccessGrant
from medoffice.core.role_permissions import (  # noqa: F401  (part of the access API)
    forget_permissions,
    has_any_perm,
    has_perm,
    permissions_of,
    require_perm,
)

M = TypeVar("M", bound=models.Model)


def active_emergency_grant(user, obj: models.Model, perm: str) -> EmergencyAccessGrant | None:
    if user is None or not user.is_authenticated:
        return None
    return (
        EmergencyAccessGrant.objects.filter(
            user=user,
            object_type=audit.object_label(obj),
            object_id=str(obj.pk),
            permission=str(perm),
            expires_at__gt=timezone.now(),
        )
        .order_by("-expires_at")
        .first()
    )


def can_access(user, obj: models.Model, perm: str) -> bool:
    return has_perm(user, perm) or active_emergency_grant(user, obj, perm) is not None


def get_for_user(
    queryset: models.QuerySet[M] | type[M],
    user,
    perm: str,
    *,
    pk,
    record_view: bool = False,
) -> M:
    """Fetch one object the user may see, by role or by an open emergency grant.

    With record_view the read is written to the audit trail (patient records, personnel files).
    """
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    try:
        obj = queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No {queryset.model._meta.verbose_name} with id {pk}.") from None
    grant = None
    if not has_perm(user, perm):
        grant = active_emergency_grant(user, obj, perm)
        if grant is None:
            raise RecordNotPermitted(
                "Your role does not cover this record. If this is an emergency, open it with "
                "emergency access and state your reason.",
                object_type=audit.object_label(obj),
                object_id=str(obj.pk),
                perm=str(perm),
            )
    if record_view:
        audit.record_view(obj, reason=f"emergency access: {grant.reason}" if grant else "")
    return obj
