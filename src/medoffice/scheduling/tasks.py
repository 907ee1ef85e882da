"""Background jobs of the scheduling app, written once against Django's Tasks API."""

from __future__ import annotations

from django_tasks import task

from medoffice.core.jobs import runs_as_enqueuer


@task()
@runs_as_enqueuer
def send_due_reminders() -> dict[str, int]:
    """Send the appointment reminders due now and retry failed ones (scheduled every few minutes).

    Safe to run on several workers at once: each reminder is claimed in the database first.
    """
    from medoffice.scheduling import reminders

    return reminders.send_due_reminders().as_dict()
