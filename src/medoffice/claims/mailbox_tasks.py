"""The clearinghouse mailbox's background job (scheduled in settings.MEDOFFICE_SCHEDULE)."""

from __future__ import annotations

from django_tasks import task

from medoffice.core.jobs import runs_as_enqueuer


@task()
@runs_as_enqueuer
def collect_responses() -> dict[str, int]:
    """Collect from every active clearinghouse and file what came back. Safe on several
    workers at once: each answer's receipt is unique, so it is filed once."""
    from medoffice.claims import mailbox_services

    results = mailbox_services.collect_all(actor=None)
    return {
        "clearinghouses": len(results),
        "filed": sum(len(r.filed) for r in results),
        "failed": sum(len(r.failed) + (1 if r.error else 0) for r in results),
    }


@task()
@runs_as_enqueuer
def ask_claim_status() -> dict[str, int]:
    """Once a day: one 276 through the practice's clearinghouse about the claims without an
    answer after MEDOFFICE_CLAIM_STATUS_DAYS days. The day is the idempotency key, so several
    workers (or a rerun) send it once."""
    from django.conf import settings
    from django.utils import timezone

    from medoffice.claims import claim_status
    from medoffice.claims.eligibility_selectors import practice_clearinghouse
    from medoffice.core.exceptions import InvalidInput

    clearinghouse = practice_clearinghouse()
    if clearinghouse is None:
        return {"claims": 0, "sent": 0}
    try:
        asked = claim_status.claim_status_send(
            actor=None, clearinghouse=clearinghouse, days=settings.MEDOFFICE_CLAIM_STATUS_DAYS,
            idempotency_key=f"276-daily-{timezone.localdate().isoformat()}",
        )  # fmt: skip
    except InvalidInput:  # nothing to ask about today
        return {"claims": 0, "sent": 0}
    return {"claims": asked.claim_count, "sent": int(asked.submission.status == "sent")}
