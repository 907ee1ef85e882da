"""The clearinghouse mailbox's records: where batches go and answers come from, what was
sent (once per name) and what was received (filed once per name and content).

See docs/adr/0019-clearinghouse-mailbox.md: the transports move bytes; these tables decide
what counts as sent and filed, each "at most once" held by a unique constraint.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core.capture import AuditedModel
from medoffice.core.fields import EncryptedTextField


class TransportKind(models.TextChoices):
    SFTP = "sftp", "SFTP server"
    FOLDER = "folder", "Folder (portal uploads)"


class SecretKind(models.TextChoices):
    PASSWORD = "password", "Password"
    PRIVATE_KEY = "private_key", "Private key"


class AfterCollect(models.TextChoices):
    KEEP = "keep", "Keep it in the inbound folder"
    ARCHIVE = "archive", "Move it to the archive folder"
    DELETE = "delete", "Delete it from the mailbox"


class Clearinghouse(AuditedModel):
    """One clearinghouse's mailbox and the ids the practice's interchanges carry (ISA)."""

    name = models.CharField(max_length=100, unique=True)
    transport = models.CharField(max_length=10, choices=TransportKind.choices)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(default=22)
    username = models.CharField(max_length=100, blank=True)
    # The password or private key: encrypted at rest, never shown back on a page.
    secret = EncryptedTextField(blank=True)
    secret_kind = models.CharField(
        max_length=12, choices=SecretKind.choices, default=SecretKind.PASSWORD
    )
    host_key = models.TextField(blank=True, help_text="The server's public key, ssh-ed25519 AAAA…")
    outbound_path = models.CharField(max_length=500)
    inbound_path = models.CharField(max_length=500)
    archive_path = models.CharField(max_length=500, blank=True)
    after_collect = models.CharField(
        max_length=10, choices=AfterCollect.choices, default=AfterCollect.KEEP
    )
    submitter_qualifier = models.CharField("ISA05", max_length=2, default="ZZ")
    submitter_id = models.CharField("ISA06 submitter id", max_length=15, blank=True)
    receiver_qualifier = models.CharField("ISA07", max_length=2, default="ZZ")
    receiver_id = models.CharField("ISA08 receiver id", max_length=15, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the secret
        return f"<Clearinghouse {self.pk}: {self.name} ({self.transport})>"


class SubmissionStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class MailboxSubmission(AuditedModel):
    """A file sent to a clearinghouse. The row is inserted before the file goes out: its
    unique name is the at-most-once key, so a second submission of the name sends nothing."""

    clearinghouse = models.ForeignKey(
        Clearinghouse, on_delete=models.PROTECT, related_name="submissions"
    )
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    idempotency_key = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.SENDING
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["clearinghouse", "name"], name="claims_submission_once_per_name"
            ),
            models.UniqueConstraint(
                fields=["clearinghouse", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="claims_submission_once_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class ReceiptKind(models.TextChoices):
    ACK_999 = "999", "999 acknowledgement"
    CLAIM_ACK_277CA = "277CA", "277CA claim acknowledgement"
    STATUS_277 = "277", "277 claim status"
    REMITTANCE_835 = "835", "835 remittance"
    ELIGIBILITY_271 = "271", "271 eligibility"
    OTHER = "other", "Other"


def receipt_path(clearinghouse: Clearinghouse, filename: str) -> str:
    """claims/mailbox/<clearinghouse id>/<random>: the stored name says nothing of the content."""
    return f"claims/mailbox/{clearinghouse.pk}/{uuid.uuid4().hex}"


class MailboxReceipt(AuditedModel):
    """A file collected from a clearinghouse's inbound folder, filed once per name and content."""

    clearinghouse = models.ForeignKey(
        Clearinghouse, on_delete=models.PROTECT, related_name="receipts"
    )
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    # Written by the services under receipt_path() (never uploaded through a form).
    file = models.FileField(upload_to="claims/mailbox/", max_length=200, blank=True)
    kind = models.CharField(max_length=6, choices=ReceiptKind.choices, default=ReceiptKind.OTHER)
    detail = models.TextField(blank=True)  # what the X12 reader said, when it is not X12
    received_at = models.DateTimeField(auto_now_add=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    processed = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    handler_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["clearinghouse", "name", "sha256"], name="claims_receipt_filed_once"
            ),
        ]
        indexes = [models.Index(fields=["kind", "processed"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"
