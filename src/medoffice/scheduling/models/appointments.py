"""Appointments (single and recurring), their statuses, and the occupancy cells that make
double booking impossible (docs/adr/0004-no-double-booking.md).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core import formats
from medoffice.core.capture import AuditedModel, AuditedQuerySet
from medoffice.core.models import Location, Provider
from medoffice.scheduling.models.constants import LONGEST_APPOINTMENT
from medoffice.scheduling.models.setup import AppointmentType, Room


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Explicit status transitions; anything else raises InvalidTransition.
APPOINTMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    AppointmentStatus.BOOKED: frozenset(
        {AppointmentStatus.CHECKED_IN, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}
    ),
    AppointmentStatus.CHECKED_IN: frozenset(
        {AppointmentStatus.COMPLETED, AppointmentStatus.BOOKED}  # booked again: undo check-in
    ),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
}
# Statuses that hold the provider's and room's time (their occupancy cells exist).
HOLDING_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.COMPLETED,
)


class SeriesPolicy(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "Book all or none"
    FREE_ONLY = "free_only", "Book the free occurrences, skip the conflicts"


class RecurringSeries(AuditedModel):
    """A recurring appointment: an RFC 5545 rule expanded in the practice's time zone."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointment_series"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="series"
    )
    rrule = models.CharField(max_length=300, help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;COUNT=10")
    first_start = models.DateTimeField()
    time_zone = models.CharField(max_length=64)
    policy = models.CharField(
        max_length=20, choices=SeriesPolicy.choices, default=SeriesPolicy.ALL_OR_NOTHING
    )
    skipped = models.JSONField(
        default=list, blank=True, help_text="Occurrences not booked, with the reason."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "recurring series"

    def __str__(self) -> str:
        return f"{self.appointment_type.name} {self.rrule}"

    @property
    def audit_patient_id(self):
        return self.patient_id


class AppointmentQuerySet(AuditedQuerySet):
    def overlapping(self, start: datetime, end: datetime) -> AppointmentQuerySet:
        """Appointments sharing time with [start, end).

        `start > start - longest` is implied by `end > start` (no appointment is longer than
        LONGEST_APPOINTMENT) but stated, so the (provider|patient|room|location, start)
        indexes are read over the hours before `end`, never over the whole history.
        """
        return self.filter(start__lt=end, start__gt=start - LONGEST_APPOINTMENT, end__gt=start)


class Appointment(AuditedModel):
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    no_show_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments_booked",
    )
    series = models.ForeignKey(
        RecurringSeries,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # django-stubs cannot type a manager that replaces an abstract base's own.
    objects = AppointmentQuerySet.as_manager()  # type: ignore[misc,assignment]

    class Meta:
        ordering = ["start", "provider_id"]
        indexes = [
            models.Index(fields=["provider", "start"], name="appt_provider_start"),
            models.Index(fields=["location", "start"], name="appt_location_start"),
            models.Index(fields=["room", "start"], name="appt_room_start"),
            models.Index(fields=["patient", "start"], name="appt_patient_start"),
            models.Index(fields=["status", "start"], name="appt_status_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="appt_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AppointmentStatus]),
                name="appt_status_known",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.appointment_type.name} {formats.us_day_time(self.start)} with {self.provider}"
        )

    @property
    def audit_patient_id(self):
        return self.patient_id

    audit_label_related = ("patient", "provider")  # what audit_label reads, fetched with it

    @property
    def audit_label(self) -> str:
        """In words for the audit trail: "Jane Roe, Tue Dec 1 1:20 PM, Ana Patel, MD"."""
        from medoffice.core.audit_display import clock

        return f"{self.patient.full_name}, {clock(self.start)}, {self.provider}"

    @property
    def holds_time(self) -> bool:
        return self.status in HOLDING_STATUSES

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class Occupancy(models.Model):
    """One five-minute cell of a provider's, a room's and a patient's time, held by one
    appointment.

    `cell` is the cell's number since the Unix epoch (start in seconds // 300). The unique
    constraints are what make a double booking impossible: a second appointment that
    would share a cell with the first cannot be written, on SQLite and PostgreSQL alike:
    not for the same provider, not for the same room, not for the same patient.
    Rows exist only while the appointment holds its time (deleted on cancel / no-show).

    `patient` is empty only on cells of appointments that already overlapped another
    appointment of the same patient when the patient rule came to the database (the
    earlier booking kept the cells; see docs/adr/0013-patient-cells-and-one-path.md).
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="cells")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # A named reverse relation (not "+"), so merging two patient records moves the cells
    # with the appointments, and the unique rule refuses a merge that would double-book.
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="occupancy_cells",
    )
    cell = models.BigIntegerField()

    audit_exclude = True  # bookkeeping of the appointment, which is itself audited

    class Meta:
        verbose_name_plural = "occupancy"
        constraints = [
            models.UniqueConstraint(fields=["provider", "cell"], name="occupancy_provider_cell"),
            models.UniqueConstraint(fields=["room", "cell"], name="occupancy_room_cell"),
            models.UniqueConstraint(fields=["patient", "cell"], name="occupancy_patient_cell"),
        ]

    def __str__(self) -> str:
        return (
            f"cell {self.cell} provider {self.provider_id} room {self.room_id} "
            f"patient {self.patient_id}"
        )
