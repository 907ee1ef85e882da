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
