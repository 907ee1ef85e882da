"""The waitlist: patients waiting for a time, and the freed times offered to them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from medoffice.core import formats
from medoffice.core.capture import AuditedModel
from medoffice.core.models import Location, Provider
from medoffice.scheduling.models.appointments import Appointment
from medoffice.scheduling.models.setup import AppointmentType, Room


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Slot offered"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"


class WaitlistEntry(AuditedModel):
    """A patient waiting for an earlier or any slot; freed slots are offered in priority order."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty: any provider.",
    )  # fmt: skip
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty: any location.",
    )  # fmt: skip
    earliest_date = models.DateField()
    latest_date = models.DateField()
    priority = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 is the most urgent; equal priorities go in the order they were added.",
    )
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=16, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["priority", "created_at", "pk"]
        indexes = [models.Index(fields=["status", "appointment_type", "priority", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_date__gte=models.F("earliest_date")), name="waitlist_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.appointment_type.name}"

    @property
    def audit_patient_id(self):
        return self.patient_id


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    TAKEN = "taken", "Slot taken meanwhile"


class WaitlistOffer(AuditedModel):
    """A freed slot offered to one waiting patient; the front desk accepts or declines it."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    freed_by = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The cancelled or moved appointment that freed the slot.",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    offered_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-offered_at", "-pk"]
        indexes = [models.Index(fields=["status", "start"])]

    def __str__(self) -> str:
        return f"Offer {formats.us_day_time(self.start)} to {self.entry.patient}"

    @property
    def audit_patient_id(self):
        return self.entry.patient_id
