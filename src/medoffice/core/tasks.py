"""Background jobs of the foundation, written once against Django's Tasks API."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task

from medoffice.core.jobs import runs_as_enqueuer

logger = logging.getLogger(__name__)

_nightly_checks: list = []


def register_nightly_check(check) -> None:
    """Later modules add checks (expiring licences, unsigned forms…); each returns a list of alerts."""
    _nightly_checks.append(check)


@task()
@runs_as_enqueuer
def nightly_alerts() -> list[str]:
    """Run every registered nightly check and log what needs the manager's attention."""
    alerts: list[str] = []
    for check in _nightly_checks:
        alerts.extend(check())
    for alert in alerts:
        logger.warning("nightly alert: %s", alert)
    return alerts


@task()
@runs_as_enqueuer
def expire_emergency_access() -> int:
    """Count grants that lapsed unreviewed, so auditors see them; expiry itself is by timestamp."""
    from medoffice.core.models import EmergencyAccessGrant

    return EmergencyAccessGrant.objects.filter(
        expires_at__lte=timezone.now(), reviewed_at__isnull=True
    ).count()


@task()
def expire_idempotency_keys() -> int:
    """Forget the stored answers of idempotent API writes and spent form tokens after a day."""
    from medoffice.core import idempotency, once

    return idempotency.expire_keys() + once.expire_tokens()


def _unreviewed_emergency_access() -> list[str]:
    from medoffice.core.selectors import emergency_grants_to_review

    count = emergency_grants_to_review().count()
    return [f"{count} emergency access grant(s) await the auditors' review"] if count else []


register_nightly_check(_unreviewed_emergency_access)


@task()
def seal_audit_trail() -> int:
    """Chain the audit events committed since the last seal (see core/audit.py); how many."""
    from medoffice.core import audit

    return audit.seal()
