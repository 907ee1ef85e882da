"""The front desk's records: visits and their flow, forms signed, and payments received."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core.capture import AuditedModel


class Stage(models.TextChoices):
    """Where a patient is in the office today, in order."""

    SCHEDULED = "scheduled", "Scheduled"
    ARRIVED = "arrived", "Arrived"
    ROOMED = "roomed", "Roomed"
    WITH_PROVIDER = "with_provider", "With provider"
    CHECKED_OUT = "checked_out", "Checked out"


STAGE_ORDER = [
    Stage.SCHEDULED,
    Stage.ARRIVED,
    Stage.ROOMED,
    Stage.WITH_PROVIDER,
    Stage.CHECKED_OUT,
]

# The only moves a visit may make; anything else raises IllegalStageTransition.
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.SCHEDULED: frozenset({Stage.ARRIVED}),
    Stage.ARRIVED: frozenset({Stage.ROOMED}),
    Stage.ROOMED: frozenset({Stage.WITH_PROVIDER}),
    Stage.WITH_PROVIDER: frozenset({Stage.CHECKED_OUT}),
    Stage.CHECKED_OUT: frozenset(),
}

# The time field that records when a visit entered each stage.
STAGE_TIME_FIELD: dict[str, str] = {
    Stage.ARRIVED: "arrived_at",
    Stage.ROOMED: "roomed_at",
    Stage.WITH_PROVIDER: "with_provider_at",
    Stage.CHECKED_OUT: "checked_out_at",
}


class Visit(AuditedModel):
    """One appointment kept: the patient's way through the office, and what check-in confirmed."""

    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="visit"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="visits")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.SCHEDULED)
    arrived_at = models.DateTimeField(null=True, blank=True)
    roomed_at = models.DateTimeField(null=True, blank=True)
    with_provider_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    room = models.ForeignKey(
        "scheduling.Room",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    demographics_confirmed = models.BooleanField(default=False)
    coverage_confirmed = models.BooleanField(default=False)
    coverage = models.ForeignKey(
        "patients.Coverage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        help_text="the primary coverage confirmed at check-in",
    )
    eligibility_check = models.ForeignKey(
        "patients.EligibilityCheck",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    notes = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["arrived_at", "pk"]
        indexes = [models.Index(fields=["stage", "arrived_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage="scheduled") | Q(arrived_at__isnull=False),
                name="visit_arrival_time_recorded",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=["scheduled", "arrived"]) | Q(roomed_at__isnull=False),
                name="visit_rooming_time_recorded",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=["scheduled", "arrived", "roomed"])
                | Q(with_provider_at__isnull=False),
                name="visit_provider_time_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(stage="checked_out") | Q(checked_out_at__isnull=False),
                name="visit_checkout_time_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"Visit {self.pk} ({self.get_stage_display()})"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id

    def stage_started_at(self):
        """When the visit entered its current stage (None while only scheduled)."""
        field = STAGE_TIME_FIELD.get(self.stage)
        return getattr(self, field) if field else None


class FormType(AuditedModel):
    """A paper the patient signs: once (financial policy) or again every so many days."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    renew_every_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="sign again after this many days (e.g. 365 for the privacy notice); empty: once",
    )
    is_active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(renew_every_days__isnull=True) | Q(renew_every_days__gt=0),
                name="form_type_renewal_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SignedForm(AuditedModel):
    """A patient's signature on one form, as the front desk recorded it."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="signed_forms"
    )
    form_type = models.ForeignKey(FormType, on_delete=models.PROTECT, related_name="signatures")
    signed_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="signed_forms"
    )

    class Meta:
        ordering = ["-signed_at"]
        indexes = [models.Index(fields=["patient", "form_type", "signed_at"])]

    def __str__(self) -> str:
        return f"{self.form_type} signed {self.signed_at:%Y-%m-%d}"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHECK = "check", "Check"
    CARD = "card", "Card"


class Payment(AuditedModel):
    """Money the patient paid at the desk; a credit on the patient's account. Final once written."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="payments"
    )
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    reference = models.CharField(
        max_length=40,
        blank=True,
        help_text="check number, or the card authorization code (never the card number)",
    )
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    receipt_number = models.CharField(max_length=20, unique=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["patient", "received_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=Decimal("0")), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(method__in=["cash", "check", "card"]), name="payment_method_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Receipt {self.receipt_number}: ${self.amount}"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id


class ReceiptSequence(models.Model):
    """The last receipt number given out in a year; its row is locked while the next is taken."""

    audit_exclude = True  # a counter, not a record; the payment it numbers is audited

    year = models.PositiveIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class WallDisplayLink(AuditedModel):
    """A secret address showing one location's flow board on a screen, without signing in.

    Only the token's SHA-256 digest is kept; the address is shown once, when it is made. A
    revoked link stays listed (who made it, when it was revoked) and answers 404.
    """

    location = models.ForeignKey(
        "core.Location", on_delete=models.CASCADE, related_name="wall_displays"
    )
    name = models.CharField(max_length=80, help_text='Where the screen is, e.g. "Back office".')
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The token's first characters, to tell it.")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the link's use was last written to the audit trail (at most once an hour).
    last_used_at = models.DateTimeField(null=True, blank=True)

    audit_ignore_fields = ("last_used_at",)  # the use is its own event, once an hour

    class Meta:
        ordering = ["location__name", "name", "pk"]

    def __str__(self) -> str:
        return f"Wall display {self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
