"""Build and send in the background: a job row the page polls, and the run that moves it.

`start_batch_job` records the request (one job per user and form key: a double click makes
one); the page enqueues `batch_tasks.build_and_send`, which calls `run_batch_job`. Each
stage is committed as it begins, so the page shows where the job is; the batch and the
submission keep their own at-most-once keys (the job's), so a job run twice writes one file
and sends it once.
"""

from __future__ import annotations

import io

from django.db import IntegrityError, transaction
from django.utils import timezone

from medoffice import x12
from medoffice.claims import batches
from medoffice.claims.models import (
    BatchJob,
    Claim,
    ClaimBatch,
    ClaimStatus,
    Clearinghouse,
    JobStage,
    JobState,
    MailboxSubmission,
    SubmissionStatus,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, MedofficeError
from medoffice.core.models import User
from medoffice.core.role_permissions import require_perm

# The progress bar counts steps (stages done), not claims: where each stage stands out of
# STEPS. A build-only job has no sending step, so it is done at step STEPS - 1.
STEPS = 4
STEP_OF = {
    JobStage.QUEUED: 0,
    JobStage.TAKING: 1,
    JobStage.WRITING: 2,
    JobStage.SENDING: 3,
    JobStage.DONE: 4,
}
UNEXPECTED = "The batch stopped on an unexpected error; the practice's log has the details."


def progress_steps(job: BatchJob) -> int:
    """How many steps the job has: four when it sends the file, three when it only builds it."""
    return STEPS if job.send else STEPS - 1


def progress_step(job: BatchJob) -> int:
    """The steps the job has done, out of `progress_steps(job)`."""
    step = STEP_OF.get(JobStage(job.stage), 0)
    return min(step, progress_steps(job))


@binds_actor()
def start_batch_job(
    *, actor: User, clearinghouse: Clearinghouse | None, send: bool, idempotency_key: str
) -> tuple[BatchJob, bool]:
    """Record a request to build (and send) a batch; (the job, whether it is new).

    The same key from the same user returns the first job and makes no second one.
    """
    require_perm(actor, ClaimsPerm.SUBMIT)
    key = idempotency_key.strip()
    if not key:
        raise InvalidInput("The request has no idempotency key.", field="idempotency_key")
    if len(key) > 100:
        raise InvalidInput(
            "The idempotency key is longer than 100 characters.", field="idempotency_key"
        )
    earlier = BatchJob.objects.filter(requested_by=actor, idempotency_key=key).first()
    if earlier is not None:
        return earlier, False
    if send and clearinghouse is None:
        raise InvalidInput("Choose the clearinghouse to send the batch to.", field="clearinghouse")
    if clearinghouse is not None and not clearinghouse.is_active:
        raise InvalidInput(
            f"{clearinghouse.name} is switched off: choose an active clearinghouse.",
            field="clearinghouse",
        )
    try:
        with transaction.atomic():
            job = BatchJob.objects.create(
                requested_by=actor, clearinghouse=clearinghouse, send=send, idempotency_key=key
            )
    except IntegrityError:
        return BatchJob.objects.get(requested_by=actor, idempotency_key=key), False
    return job, True


def _move(job: BatchJob, stage: str, **fields: object) -> None:
    job.stage = stage
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["stage", *fields])


def run_batch_job(job_id: int) -> BatchJob:
    """Take the ready claims, write the 837P file and (when asked) send it, stage by stage.

    A refusal (no claim ready, the send failed…) ends the job as failed with its words; a job
    already finished is left as it is.
    """
    job = BatchJob.objects.select_related("requested_by", "clearinghouse").get(pk=job_id)
    if job.finished:
        return job
    actor = job.requested_by
    key = f"batch-job-{job.pk}"
    try:
        _move(job, JobStage.TAKING, state=JobState.RUNNING)
        require_perm(actor, ClaimsPerm.SUBMIT)  # the role may have changed since it was queued
        ready = Claim.objects.filter(status=ClaimStatus.READY, batch__isnull=True).count()
        built = ClaimBatch.objects.filter(created_by=actor, idempotency_key=key).exists()
        if not ready and not built:  # (a job run again finds the batch it built)
            raise InvalidInput("No claim is ready to batch: scrub the claims first.")
        clearinghouse = job.clearinghouse
        exchange = (
            batches.clearinghouse_exchange(clearinghouse)
            if clearinghouse is not None
            else batches.practice_exchange()
        )
        _move(job, JobStage.WRITING, claim_count=ready)
        batch = batches.batch_build(actor=actor, exchange=exchange, idempotency_key=key)
        job.batch = batch
        if job.send and clearinghouse is not None:
            _move(job, JobStage.SENDING, batch=batch, claim_count=batch.claim_count)
            submission = batches.batch_submit(
                actor=actor, batch=batch, clearinghouse=clearinghouse, idempotency_key=key
            )
            job.submission = submission
            if submission.status != SubmissionStatus.SENT:
                raise InvalidInput(
                    f"{batch.file_name} was written but not sent to {clearinghouse.name}: "
                    f"{submission.error or 'the send did not finish'}. Its claims stay "
                    "batched; send it again from the batch's page."
                )
        _move(
            job, JobStage.DONE, state=JobState.DONE, batch=batch, submission=job.submission,
            claim_count=batch.claim_count, finished_at=timezone.now(),
        )  # fmt: skip
    except MedofficeError as exc:
        _fail(job, exc.message)
    except Exception:
        _fail(job, UNEXPECTED)
        raise
    return job


def _fail(job: BatchJob, error: str) -> None:
    job.state = JobState.FAILED
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "finished_at", "batch", "submission"])


def _receiver_of(content: bytes) -> str | None:
    """The receiver id (ISA08) the batch file was written for; None when it cannot be read."""
    try:
        first = next(x12.iter_interchanges(io.BytesIO(content)), None)
    except x12.X12Error:
        return None
    return first.receiver_id.strip() if first is not None else None


@binds_actor()
def resend_batch(*, actor: User, batch_id: int, clearinghouse: Clearinghouse) -> str:
    """Send a batch whose send failed again (to the same or another clearinghouse); what
    happened, in words."""
    require_perm(actor, ClaimsPerm.SUBMIT)
    batch = ClaimBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise InvalidInput(f"There is no batch {batch_id}.", field="batch")
    if batch.submitted_at is not None:
        raise InvalidInput(f"{batch.file_name} was sent already.", field="batch")
    if not Claim.objects.filter(batch=batch, status=ClaimStatus.BATCHED).exists():
        raise InvalidInput(
            f"{batch.file_name} holds no claim waiting to go (they were taken out, or answered): "
            "it is not sent.",
            field="batch",
        )
    built_for = _receiver_of(bytes(batch.content))
    expected = batches.clearinghouse_exchange(clearinghouse).receiver_id
    if built_for is None:
        raise InvalidInput(
            f"{batch.file_name} cannot be read as an interchange: it is not sent.", field="batch"
        )
    if built_for != expected.strip():
        raise InvalidInput(
            f"{batch.file_name} was built for receiver {built_for} (ISA08), but "
            f"{clearinghouse.name}'s receiver id is {expected}: it is not sent. Build a new "
            f"batch for {clearinghouse.name} instead.",
            field="clearinghouse",
        )
    submission = batches.batch_submit(actor=actor, batch=batch, clearinghouse=clearinghouse)
    if submission.status != SubmissionStatus.SENT:
        raise InvalidInput(f"{batch.file_name} was not sent: {submission.error}")
    return f"{batch.file_name} sent to {clearinghouse.name}."


@binds_actor()
def release_batch(*, actor: User, batch_id: int) -> str:
    """Take the claims out of a batch that was never sent (built for a receiver no
    clearinghouse has, or before one was set up): they are ready again, for the next batch.
    The batch stays on record, holding none; it cannot be sent after."""
    from medoffice.claims.claims_services import move_rows

    require_perm(actor, ClaimsPerm.SUBMIT)
    with transaction.atomic():
        batch = ClaimBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise InvalidInput(f"There is no batch {batch_id}.", field="batch")
        sent = (
            batch.submitted_at is not None
            or MailboxSubmission.objects.filter(
                name=batch.file_name, status__in=(SubmissionStatus.SENT, SubmissionStatus.SENDING)
            ).exists()
        )
        if sent:
            raise InvalidInput(
                f"{batch.file_name} was sent: its claims are answered by the payer, not taken out.",
                field="batch",
            )
        waiting = list(
            Claim.objects.filter(batch=batch, status=ClaimStatus.BATCHED)
            .order_by("pk")
            .values_list("pk", "status", "control_number")
        )
        if not waiting:
            raise InvalidInput(f"{batch.file_name} holds no claim to take out.", field="batch")
        move_rows(waiting, to=ClaimStatus.READY, actor=actor,
                  note=f"Taken out of {batch.file_name}, which was never sent: ready for the "
                  "next batch.", fields={"batch": None})  # fmt: skip
    return f"{len(waiting)} claim(s) taken out of {batch.file_name}: they are ready again."
