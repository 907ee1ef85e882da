"""The practice's scheduling setup: settings, rooms and equipment, appointment types,
providers' weekly templates and their blocks, and closures.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from medoffice.core import formats
from medoffice.core.capture import AuditedModel
from medoffice.core.models import Location, Provider
from medoffice.scheduling.models.constants import CELL_MINUTES, MAX_APPOINTMENT_MINUTES

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
