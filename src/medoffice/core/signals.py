"""Audit events of sign-in and sign-out, and of deletes (the collector's per-row signal).

Creates and updates are captured by `core.capture.AuditedModel` and its queryset.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, pre_delete
from django.dispatch import receiver

from medoffice.core import audit, capture
from medoffice.core.context import actor_for_user, client_ip, current_actor
from medoffice.core.models import AuditAction


@receiver(post_delete)
def _record_delete(sender, instance, **kwargs):
    """Single and queryset deletes alike (the delete collector sends this for every row)."""
    capture.record_deleted(instance)


@receiver(pre_delete)
def _refuse_unnamed_delete(sender, instance, **kwargs):
    if capture.is_audited(sender):
        capture.refuse_without_actor(sender)


@receiver(m2m_changed)
def _record_links(sender, instance, action, reverse, model, pk_set, **kwargs):
    capture.record_m2m(
        instance, action=action, through=sender, related=model, reverse=reverse, pk_set=pk_set
    )


@receiver(user_logged_in)
def _record_login(sender, request, user, **kwargs):
    from medoffice.core.middleware import start_session_clock

    if request is not None:
        start_session_clock(request)
    actor = actor_for_user(user, client_ip(request) if request else "", _agent(request))
    audit.record(AuditAction.LOGIN, obj=user, actor=actor)


@receiver(user_logged_out)
def _record_logout(sender, request, user, **kwargs):
    if user is None:
        return
    actor = actor_for_user(user, client_ip(request) if request else "", _agent(request))
    reason = getattr(request, "_medoffice_logout_reason", "") if request else ""
    action = AuditAction.SESSION_EXPIRED if reason else AuditAction.LOGOUT
    audit.record(action, obj=user, actor=actor, reason=reason)


@receiver(user_login_failed)
def _record_failed_login(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    base = current_actor()
    actor = actor_for_user(
        None, client_ip(request) if request else base.ip_address, _agent(request)
    )
    audit.record(
        AuditAction.LOGIN_FAILED, object_type="core.user", object_repr=username, actor=actor,
        changes={"username": username},
    )  # fmt: skip


def _agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
