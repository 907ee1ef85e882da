"""270 eligibility requests sent for a coverage, and whether the payer's 271 has answered.

One request per user and idempotency key (a unique constraint): a double click, a retried API
call or two desks at once make one request and send one file. The 270 is kept with the
request (what was sent is what is on record); the 271 echoes its trace number (TRN02, the
coverage id and the ISA13, which is unique per submitter id), which is how the answer finds
its request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core.capture import AuditedModel


class RequestStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    PENDING = "pending", "Sent, waiting for the payer's answer"
    FAILED = "failed", "Not sent"
    FILE = "file", "Written for upload (no clearinghouse)"
    ANSWERED = "answered", "Answered"


OPEN_STATUSES = (RequestStatus.SENDING, RequestStatus.PENDING)


class EligibilityRequest(AuditedModel):
    coverage = models.ForeignKey(
        "patients.Coverage", on_delete=models.PROTECT, related_name="eligibility_requests"
    )
    status = models.CharField(
        max_length=8, choices=RequestStatus.choices, default=RequestStatus.SENDING
    )
    trace_number = models.CharField(max_length=50, db_index=True, help_text="TRN02 of the 270")
    submitter_id = models.CharField(max_length=15)
    interchange_control_number = models.PositiveIntegerField()
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    service_date = models.DateField()
    clearinghouse = models.ForeignKey(
        "claims.Clearinghouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.ForeignKey(
        "patients.EligibilityCheck",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the check the 271 made",
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["coverage", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                name="eligibility_request_once_per_key",
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="eligibility_request_has_key"
            ),
            models.UniqueConstraint(
                fields=["submitter_id", "interchange_control_number"],
                name="eligibility_request_isa13_once",
            ),
        ]

    def __str__(self) -> str:
        return f"270 {self.trace_number} ({self.get_status_display()})"

    @property
    def audit_patient_id(self) -> int:
        return self.coverage.patient_id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
