"""Appointment reminders, the patient's answer to them, and providers' calendar feed tokens.

A reminder is sent at most once per (appointment, channel, offset): the unique constraint
on `Reminder` is the guarantee, and the row is written (claimed) in its own transaction
before anything is sent, so two workers running at once cannot both send it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core.capture import AuditedModel


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class ReminderStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


# sending -> sent | failed; failed -> sending (a retry, while attempts remain).
REMINDER_TRANSITIONS: dict[str, frozenset[str]] = {
    ReminderStatus.SENDING: frozenset({ReminderStatus.SENT, ReminderStatus.FAILED}),
    ReminderStatus.FAILED: frozenset({ReminderStatus.SENDING}),
    ReminderStatus.SENT: frozenset(),
}


class Reminder(AuditedModel):
    """One reminder of one appointment, by one channel, at one offset before the visit."""

    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.CASCADE, related_name="reminders"
    )
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    offset_hours = models.PositiveSmallIntegerField(
        help_text="Sent this many hours before the appointment starts."
    )
    status = models.CharField(
        max_length=8, choices=ReminderStatus.choices, default=ReminderStatus.SENDING
    )
    recipient = models.CharField(max_length=254, help_text="The address or number used.")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(help_text="When the latest attempt began.")
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="A failed reminder is retried from this time on."
    )
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-claimed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "channel", "offset_hours"], name="reminder_once_per_offset"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ReminderStatus]),
                name="reminder_status_known",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[c.value for c in ReminderChannel]),
                name="reminder_channel_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="reminder_sent_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="reminder_retry_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} reminder {self.offset_hours} h before appointment {self.appointment_id}: {self.get_status_display()}"

    @property
    def audit_patient_id(self):
        return self.appointment.patient_id


class AppointmentConfirmation(AuditedModel):
    """The patient confirmed they will come (from the link in a reminder)."""

    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.CASCADE, related_name="confirmation"
    )
    reminder = models.ForeignKey(
        Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Appointment {self.appointment_id} confirmed {self.confirmed_at:%Y-%m-%d %H:%M}"

    @property
    def audit_patient_id(self):
        return self.appointment.patient_id


class CalendarFeedToken(AuditedModel):
    """A provider's secret calendar feed address; only the token's SHA-256 digest is kept."""

    provider = models.OneToOneField(
        "core.Provider", on_delete=models.CASCADE, related_name="calendar_feed"
    )
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The token's first characters, to tell it.")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    audit_ignore_fields = ("last_used_at",)  # bumped on every fetch; the fetch is its own event

    def __str__(self) -> str:
        return f"Calendar feed of provider {self.provider_id} ({self.prefix}…)"
