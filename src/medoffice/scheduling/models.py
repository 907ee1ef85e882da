"""Scheduling: rooms and equipment, appointment types, providers' weekly templates,
closures, appointments (single and recurring), the occupancy cells that make double
booking impossible, and the waitlist.

How double booking is prevented: every live appointment writes one `Occupancy` row per
five-minute cell it covers, carrying its provider and its room. Unique constraints on
(provider, cell) and (room, cell) mean two appointments can never share a cell, whatever
the timing of two transactions (see docs/adr/0004-no-double-booking.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from medoffice.core import formats
from medoffice.core.capture import AuditedModel, AuditedQuerySet
from medoffice.core.models import Location, Provider

CELL_MINUTES = 5
CELL_SECONDS = CELL_MINUTES * 60
# The longest an appointment can be: booking refuses more, and appointment types are capped
# at it. Overlap queries use it as their lower bound on `start` (AppointmentQuerySet).
MAX_APPOINTMENT_MINUTES = 8 * 60
LONGEST_APPOINTMENT = timedelta(minutes=MAX_APPOINTMENT_MINUTES)

COLOR_VALIDATOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #RRGGBB.")


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class SchedulingSettings(AuditedModel):
    """Practice-wide scheduling rules (one row; missing means the defaults)."""

    observe_federal_holidays = models.BooleanField(
        default=True, help_text="Closed on US federal holidays (observed dates)."
    )
    open_on_holidays = models.CharField(
        max_length=500,
        blank=True,
        help_text="Federal holidays the practice stays open on, comma separated "
        "(e.g. Columbus Day, Veterans Day).",
    )
    slot_step_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(5), MaxValueValidator(60)],
        help_text="Free slots are offered at this step (a multiple of 5).",
    )

    class Meta:
        verbose_name = "scheduling settings"
        verbose_name_plural = "scheduling settings"

    def __str__(self) -> str:
        return "Scheduling settings"


class RoomKind(models.TextChoices):
    ROOM = "room", "Room"
    EQUIPMENT = "equipment", "Equipment"


class Room(AuditedModel):
    """A bookable resource at a location: an exam or procedure room, or a piece of equipment."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=RoomKind.choices, default=RoomKind.ROOM)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="room_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class AppointmentType(AuditedModel):
    """What is booked: its length, who offers it, and which room or equipment it needs.

    `rooms` empty: no room is reserved. Otherwise the appointment holds ONE of these
    rooms (or pieces of equipment) at the booking's location for its whole length.
    """

    name = models.CharField(max_length=80, unique=True)
    code = models.SlugField(max_length=40, unique=True)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(MAX_APPOINTMENT_MINUTES)],
        help_text="A multiple of 5 minutes.",
    )
    color = models.CharField(max_length=7, default="#0b5cad", validators=[COLOR_VALIDATOR])
    providers = models.ManyToManyField(Provider, related_name="appointment_types", blank=True)
    rooms = models.ManyToManyField(
        Room,
        related_name="appointment_types",
        blank=True,
        help_text="Rooms or equipment this type needs (one of them); empty for none.",
    )
    requires_referral = models.BooleanField(default=False)
    requires_prior_auth = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=CELL_MINUTES),
                name="appointment_type_duration_positive",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    @property
    def needs_room(self) -> bool:
        return self.rooms.exists()


class ScheduleTemplate(AuditedModel):
    """A provider's regular week at one location, valid for a date range."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="templates")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="templates")
    name = models.CharField(max_length=80, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Empty: open-ended.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider__last_name", "location__name", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="template_valid_range",
            )
        ]
        indexes = [models.Index(fields=["provider", "location", "is_active"])]

    def __str__(self) -> str:
        label = self.name or "Weekly template"
        return f"{label}: {self.provider} at {self.location}"


class BlockKind(models.TextChoices):
    WORK = "work", "Working hours"
    LUNCH = "lunch", "Lunch"
    BLOCKED = "blocked", "Blocked"


class TemplateBlock(AuditedModel):
    """One stretch of a weekday in a template: working hours, lunch, or blocked time.

    Lunch and blocked stretches are taken out of the working hours. A working block may
    limit which appointment types it accepts (empty: every type the provider offers).
    """

    template = models.ForeignKey(ScheduleTemplate, on_delete=models.CASCADE, related_name="blocks")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    kind = models.CharField(max_length=16, choices=BlockKind.choices, default=BlockKind.WORK)
    appointment_types = models.ManyToManyField(
        AppointmentType, related_name="template_blocks", blank=True
    )
    note = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="block_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_weekday_display()} {formats.us_time(self.start_time)}-"
            f"{formats.us_time(self.end_time)} {self.get_kind_display()}"
        )


class ClosureScope(models.TextChoices):
    PRACTICE = "practice", "Whole practice"
    LOCATION = "location", "One location"
    PROVIDER = "provider", "One provider"


class Closure(AuditedModel):
    """Time when nobody (or one location, or one provider) can be booked.

    Dates are inclusive. With start_time/end_time the closure covers that part of each
    day in the range (e.g. a staff meeting 12:00-14:00); without them, whole days.
    """

    scope = models.CharField(max_length=16, choices=ClosureScope.choices)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="closures"
    )
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="closures"
    )
    start_date = models.DateField()
    end_date = models.DateField()
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_date", "start_time"]
        indexes = [models.Index(fields=["start_date", "end_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="closure_date_range"
            ),
            models.CheckConstraint(
                condition=(Q(start_time__isnull=True) & Q(end_time__isnull=True))
                | (
                    Q(start_time__isnull=False)
                    & Q(end_time__isnull=False)
                    & Q(end_time__gt=models.F("start_time"))
                ),
                name="closure_time_range",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope="practice") & Q(location__isnull=True) & Q(provider__isnull=True)
                )
                | (Q(scope="location") & Q(location__isnull=False) & Q(provider__isnull=True))
                | (Q(scope="provider") & Q(provider__isnull=False)),
                name="closure_scope_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Closed {self.start_date} to {self.end_date}: {self.reason}"

    @property
    def is_partial_day(self) -> bool:
        return self.start_time is not None


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

    objects = AppointmentQuerySet.as_manager()

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


from medoffice.scheduling.models_reminders import *  # noqa: E402, F403
