"""The batches page's background job: build the 837P file of the ready claims and send it."""

from __future__ import annotations

from django_tasks import task

from medoffice.core.jobs import runs_as_enqueuer


@task()
@runs_as_enqueuer
def build_and_send(job_id: int) -> dict[str, object]:
    """Run one BatchJob (enqueued by the page with `enqueue_as`, as the biller who asked)."""
    from medoffice.claims import batch_jobs

    job = batch_jobs.run_batch_job(job_id)
    return {"job": job.pk, "state": job.state, "batch": job.batch_id, "error": job.error}
