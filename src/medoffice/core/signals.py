"""Audit capture: logins, and every create/update/delete of the practice's records.

Capturing changes here (rather than in each service) means nothing escapes the trail,
including the admin; the event is written in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from medoffice.core import audit
from medoffice.core.context import actor_for_user, client_ip, current_actor
from medoffice.core.fields import EncryptedTextField
from medoffice.core.models import AuditAction

NOT_AUDITED = {
    "core.auditevent", "core.auditchainhead", "core.periodicrun",
}  # fmt: skip
IGNORED_FIELDS = {"last_login", "updated_at", "password"}
MASKED = "(encrypted value)"


def _is_audited(sender) -> bool:
    meta = sender._meta
    if sender.__module__ == "__fake__":  # historical models in migrations
        return False
    return (
        meta.app_label in _medoffice_labels()
        and f"{meta.app_label}.{meta.model_name}" not in NOT_AUDITED
        and not getattr(sender, "audit_exclude", False)
    )


_labels_cache: set[str] | None = None


def _medoffice_labels() -> set[str]:
    global _labels_cache
    if _labels_cache is None:
        from django.apps import apps

        _labels_cache = {c.label for c in apps.get_app_configs() if c.name.startswith("medoffice.")}
    return _labels_cache


def _masked(value) -> str:
    """A keyed fingerprint: shows that an encrypted value changed without revealing it."""
    if not value:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), str(value).encode(), hashlib.sha256).hexdigest()
    return f"{MASKED} #{digest[:8]}"


def snapshot(instance) -> dict:
    values = {}
    for field in instance._meta.concrete_fields:
        if field.name in IGNORED_FIELDS:
            continue
        value = getattr(instance, field.attname)
        if isinstance(field, EncryptedTextField):
            value = _masked(value)
        elif hasattr(value, "read"):  # files: keep the name only
            value = getattr(value, "name", "")
        values[field.name] = value if value is None or isinstance(value, bool | int) else str(value)
    return values


@receiver(pre_save)
def _remember_before(sender, instance, raw=False, **kwargs):
    if raw or not _is_audited(sender) or instance._state.adding or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = snapshot(old) if old is not None else None


@receiver(post_save)
def _record_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or not _is_audited(sender):
        return
    after = snapshot(instance)
    if created:
        audit.record(AuditAction.CREATE, obj=instance, changes={"after": after})
        return
    before = getattr(instance, "_audit_before", None) or {}
    changed = {name for name in after if before.get(name) != after[name]}
    if not changed:
        return
    audit.record(
        AuditAction.UPDATE,
        obj=instance,
        changes={
            "before": {k: before.get(k) for k in sorted(changed)},
            "after": {k: after[k] for k in sorted(changed)},
        },
    )
    instance._audit_before = after


@receiver(post_delete)
def _record_delete(sender, instance, **kwargs):
    if not _is_audited(sender):
        return
    audit.record(AuditAction.DELETE, obj=instance, changes={"before": snapshot(instance)})


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
