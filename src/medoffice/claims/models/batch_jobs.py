"""A "build and send" request run in the background, and how far it has got (the batch page
polls it for its progress bar). One job per user and form key: a double click makes one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core.capture import AuditedModel


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class JobStage(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    TAKING = "taking", "Taking the ready claims"
    WRITING = "writing", "Writing the 837P file"
    SENDING = "sending", "Sending the file to the clearinghouse"
    DONE = "done", "Done"


DOING: dict[str, str] = {
    JobStage.QUEUED: "waiting for a worker",
    JobStage.TAKING: "taking the ready claims",
    JobStage.WRITING: "writing the 837P file",
    JobStage.SENDING: "sending the file to the clearinghouse",
}


class BatchJob(AuditedModel):
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    clearinghouse = models.ForeignKey(
        "claims.Clearinghouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    send = models.BooleanField(default=True, help_text="build and send, or build only")
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    stage = models.CharField(max_length=8, choices=JobStage.choices, default=JobStage.QUEUED)
    claim_count = models.PositiveIntegerField(default=0, help_text="claims ready when it began")
    batch = models.ForeignKey(
        "claims.ClaimBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    submission = models.ForeignKey(
        "claims.MailboxSubmission",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"], name="batch_job_once_per_key"
            ),
            models.CheckConstraint(condition=~Q(idempotency_key=""), name="batch_job_has_key"),
        ]

    def __str__(self) -> str:
        return f"Batch job {self.pk} ({self.get_state_display()})"

    @property
    def doing(self) -> str:
        """What the job is doing (or was doing when it failed), mid-sentence."""
        return DOING.get(self.stage, "")

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)
