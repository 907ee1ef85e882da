"""The front desk's records: visits and their flow, forms signed, and payments received."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

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
    # A void (the same day, before the drawer is closed) reverses the payment's journal entry;
    # the payment keeps its receipt number, marked void.
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "received_at"]),
            models.Index(fields=["location", "received_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=Decimal("0")), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(method__in=["cash", "check", "card"]), name="payment_method_known"
            ),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True, voided_by__isnull=True, void_reason="")
                | (Q(voided_at__isnull=False, voided_by__isnull=False) & ~Q(void_reason="")),
                name="payment_void_complete",
            ),
        ]

    def __str__(self) -> str:
        void = " (void)" if self.is_void else ""
        return f"Receipt {self.receipt_number}: ${self.amount}{void}"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

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


class DrawerClose(AuditedModel):
    """The end of one day at one location's desk: what the day's payments say the drawer
    holds, what was counted, and who signed it. One per location and day; once written, the
    day takes no more payments, voids or cash refunds at that desk."""

    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    date = models.DateField(help_text="the day closed, in the practice's time zone")
    expected_cash = models.DecimalField(max_digits=12, decimal_places=2)
    expected_checks = models.DecimalField(max_digits=12, decimal_places=2)
    expected_card = models.DecimalField(max_digits=12, decimal_places=2)
    counted_cash = models.DecimalField(max_digits=12, decimal_places=2)
    counted_checks = models.DecimalField(max_digits=12, decimal_places=2)
    counted_card = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="the card terminal's batch total"
    )
    check_count = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-date", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "date"], name="drawer_close_once_a_day"),
            models.CheckConstraint(
                condition=Q(counted_cash__gte=0, counted_checks__gte=0, counted_card__gte=0),
                name="drawer_close_counts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Drawer {self.location_id} {self.date:%Y-%m-%d}"

    @property
    def over_short(self) -> Decimal:
        """Counted less expected in the drawer (cash and checks): negative is a shortage."""
        return (self.counted_cash + self.counted_checks) - (
            self.expected_cash + self.expected_checks
        )

    @property
    def card_difference(self) -> Decimal:
        return self.counted_card - self.expected_card

    @property
    def drawer_total(self) -> Decimal:
        return self.counted_cash + self.counted_checks

    @property
    def outcome(self) -> str:
        """The close in words: "even" only when the drawer and the card batch both matched;
        "short $2.00", "cash and checks even; the card batch is over $5.00", or both."""

        def off(difference: Decimal) -> str:
            return f"{'over' if difference > 0 else 'short'} ${abs(difference):,.2f}"

        if not self.card_difference:
            return off(self.over_short) if self.over_short else "even"
        drawer = off(self.over_short) if self.over_short else "cash and checks even"
        return f"{drawer}; the card batch is {off(self.card_difference)}"


class Deposit(AuditedModel):
    """Cash and checks of closed days carried to the bank, with its printable slip."""

    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    date = models.DateField(help_text="the day the deposit goes to the bank")
    cash = models.DecimalField(max_digits=12, decimal_places=2)
    checks = models.DecimalField(max_digits=12, decimal_places=2)
    check_count = models.PositiveIntegerField(default=0)
    made_at = models.DateTimeField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cash__gte=0, checks__gte=0), name="deposit_amounts_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.pk} {self.date:%Y-%m-%d}"

    @property
    def total(self) -> Decimal:
        return self.cash + self.checks


class DepositDay(models.Model):
    """A closed day in a deposit: the unique key makes each close go to the bank once."""

    audit_exclude = True  # written with its deposit, which is audited

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="days")
    drawer_close = models.OneToOneField(
        DrawerClose, on_delete=models.PROTECT, related_name="deposit_day"
    )

    def __str__(self) -> str:
        return f"{self.deposit_id}: {self.drawer_close_id}"


class CardSettlement(AuditedModel):
    """The card processor's payment into the bank for closed days' card batches: the batches'
    total, less the processor's fees, is what reached the bank."""

    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    date = models.DateField(help_text="the day the processor's payment reached the bank")
    gross = models.DecimalField(max_digits=12, decimal_places=2, help_text="the batches' total")
    fees = models.DecimalField(max_digits=12, decimal_places=2)
    net = models.DecimalField(max_digits=12, decimal_places=2, help_text="paid into the bank")
    reference = models.CharField(max_length=40, blank=True)
    made_at = models.DateTimeField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(gross__gt=0, fees__gte=0, net__gte=0),
                name="card_settlement_amounts",
            ),
            # Rounded to the cent: SQLite adds decimals as binary floats (0.93 + 0.02 is not
            # 0.95 there), PostgreSQL exactly.
            models.CheckConstraint(
                condition=Q(gross=Round(F("net") + F("fees"), 2)), name="card_settlement_adds_up"
            ),
        ]

    def __str__(self) -> str:
        return f"Card settlement {self.pk} {self.date:%Y-%m-%d}"


class CardSettlementDay(models.Model):
    """A closed day's card batch in a settlement: the unique key settles each batch once."""

    audit_exclude = True  # written with its settlement, which is audited

    settlement = models.ForeignKey(CardSettlement, on_delete=models.PROTECT, related_name="days")
    drawer_close = models.OneToOneField(
        DrawerClose, on_delete=models.PROTECT, related_name="card_settlement_day"
    )

    def __str__(self) -> str:
        return f"{self.settlement_id}: {self.drawer_close_id}"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Waiting for approval"
    APPROVED = "approved", "Approved, to pay out"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Paid out"
    CANCELLED = "cancelled", "Cancelled by the asker"
    WITHDRAWN = "withdrawn", "Withdrawn before it was paid out"


# The only moves a refund makes.
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RefundStatus.REQUESTED: frozenset(
        {RefundStatus.APPROVED, RefundStatus.REJECTED, RefundStatus.CANCELLED}
    ),
    RefundStatus.APPROVED: frozenset({RefundStatus.PAID, RefundStatus.WITHDRAWN}),
    RefundStatus.REJECTED: frozenset(),
    RefundStatus.PAID: frozenset(),
    RefundStatus.CANCELLED: frozenset(),
    RefundStatus.WITHDRAWN: frozenset(),
}


class Refund(AuditedModel):
    """Money given back from a patient's credit: asked for at the desk, approved within the
    asker's refund authority or by someone whose authority covers it, then paid out."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approval = models.OneToOneField(
        "core.ApprovalRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(
        max_length=40, blank=True, help_text="the check number, or the card refund's reference"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=Decimal("0")), name="refund_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(method__in=["cash", "check", "card"]), name="refund_method_known"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "requested",
                        "approved",
                        "rejected",
                        "paid",
                        "cancelled",
                        "withdrawn",
                    ]
                ),
                name="refund_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn")
                | Q(withdrawn_at__isnull=False, withdrawn_by__isnull=False),
                name="refund_withdrawn_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False, paid_by__isnull=False),
                name="refund_paid_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund R-{self.pk}: ${self.amount} ({self.get_status_display()})"

    @property
    def number(self) -> str:
        return f"R-{self.pk:06d}"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id


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
