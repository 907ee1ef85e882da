"""The books: accounts, fiscal periods, and journal entries with their lines.

Amounts on lines are whole cents in one signed integer column (a debit is positive, a credit
negative), so an entry balances when its lines sum to zero, and every sum the database takes
is exact on both engines (SQLite would add decimal columns as binary floats).

Entries and lines are written once and never changed: database triggers (see `guards`)
refuse an unbalanced entry, a line added to a posted entry, any UPDATE or DELETE, and an
entry dated in a closed period. A correction is a reversing entry linked to the original.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core.capture import AuditedModel

CENT = Decimal("0.01")


def to_dollars(cents: int | None) -> Decimal:
    return (Decimal(cents or 0) * CENT).quantize(CENT)


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"


class Side(models.TextChoices):
    DEBIT = "debit", "Debit"
    CREDIT = "credit", "Credit"


NORMAL_SIDE: dict[str, str] = {
    AccountType.ASSET: Side.DEBIT,
    AccountType.EXPENSE: Side.DEBIT,
    AccountType.LIABILITY: Side.CREDIT,
    AccountType.EQUITY: Side.CREDIT,
    AccountType.REVENUE: Side.CREDIT,
}


class Account(AuditedModel):
    """One account of the chart. `key` names the account's job for the code that posts to it
    ("cash_drawer:3", "patient_ar"); the practice may rename and renumber freely."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    normal_side = models.CharField(
        max_length=6,
        choices=Side.choices,
        help_text="the side its balance normally sits on; a contra account takes the other",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=300, blank=True)
    is_postable = models.BooleanField(default=True, help_text="false for heading accounts")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=AccountType.values), name="ledger_account_type_known"
            ),
            models.CheckConstraint(
                condition=Q(normal_side__in=Side.values), name="ledger_account_side_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_debit_normal(self) -> bool:
        return self.normal_side == Side.DEBIT


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class FiscalPeriod(models.Model):
    """A calendar month of the books. No row means open; a closed one refuses postings
    dated inside it (checked by the posting service and by a database trigger)."""

    audit_exclude = True  # closing and reopening record their own events, with the actor

    start = models.DateField(unique=True)
    end = models.DateField()
    status = models.CharField(max_length=8, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the books held at close, so `ledger verify` can tell if anything changed since.
    closed_line_count = models.PositiveBigIntegerField(null=True, blank=True)
    closed_net_cents = models.BigIntegerField(null=True, blank=True)
    closed_debit_cents = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="ledger_period_order"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PeriodStatus.values), name="ledger_period_status_known"
            ),
        ]

    def __str__(self) -> str:
        return self.start.strftime("%B %Y")

    @property
    def label(self) -> str:
        return self.start.strftime("%B %Y")


class EntryKind(models.TextChoices):
    EVENT = "event", "Money event"  # posted by the app where the money moved
    MANUAL = "manual", "Manual entry"
    REVERSAL = "reversal", "Reversal"
    CLOSING = "closing", "Year-end close"
    OPENING = "opening", "Opening balances"


class JournalEntry(AuditedModel):
    """One balanced entry. `source_key` is unique: posting the same event twice posts once."""

    date = models.DateField()
    kind = models.CharField(max_length=10, choices=EntryKind.choices, default=EntryKind.EVENT)
    memo = models.CharField(max_length=200, blank=True)
    source_type = models.CharField(max_length=60, help_text="app_label.model that moved the money")
    source_id = models.CharField(max_length=64)
    source_key = models.CharField(max_length=160, unique=True)
    total_cents = models.BigIntegerField(help_text="the sum of the debits, in cents")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField()
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "journal entries"
        indexes = [
            models.Index(fields=["date", "id"]),
            models.Index(fields=["source_type", "source_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_cents__gt=0), name="ledger_entry_total_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="ledger_entry_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Journal entry {self.pk} of {self.date:%m/%d/%Y}"

    @property
    def total(self) -> Decimal:
        return to_dollars(self.total_cents)


class JournalLine(models.Model):
    """A debit (positive cents) or credit (negative) to one account, with its dimensions.

    The entry's date is repeated on each line (the trigger checks they agree) so balances
    and reports read lines alone.
    """

    audit_exclude = True  # the lines of an audited entry, written with it, never changed

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    # No single-column indexes on account and patient: the composite indexes below start
    # with them (one index fewer to write per line each).
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    date = models.DateField()
    amount_cents = models.BigIntegerField(help_text="debit positive, credit negative")
    location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider = models.ForeignKey(
        "core.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="ledger_lines",
        help_text="the patient account (guarantor) the line belongs to, on patient accounts",
    )
    memo = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["entry_id", "id"]
        indexes = [
            models.Index(fields=["account", "date", "amount_cents"], name="ledger_line_acct_date"),
            models.Index(fields=["date", "account", "amount_cents"], name="ledger_line_date_acct"),
            models.Index(fields=["patient", "account"], name="ledger_line_patient"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_cents=0), name="ledger_line_not_zero"),
        ]

    def __str__(self) -> str:
        side = "Dr" if self.amount_cents > 0 else "Cr"
        return f"{side} {self.account_id} {to_dollars(abs(self.amount_cents))}"

    @property
    def debit(self) -> Decimal:
        return to_dollars(self.amount_cents) if self.amount_cents > 0 else Decimal("0.00")

    @property
    def credit(self) -> Decimal:
        return to_dollars(-self.amount_cents) if self.amount_cents < 0 else Decimal("0.00")


class ManualEntryStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    POSTED = "posted", "Posted"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled by the preparer"


class ManualEntry(AuditedModel):
    """The accountant's adjustment as it was written: posted at once within the preparer's
    authority, otherwise waiting in the approvals queue. Its lines wait here (never as journal
    lines); the entry posts, from these, when it is approved (source `ledger.manual_entry`)."""

    date = models.DateField()
    memo = models.CharField(max_length=200)
    lines = models.JSONField(
        help_text="[{account, debit_cents, credit_cents, memo, location}] as checked on submit"
    )
    total_cents = models.BigIntegerField()
    status = models.CharField(
        max_length=10, choices=ManualEntryStatus.choices, default=ManualEntryStatus.PENDING
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=100, blank=True)
    approval = models.OneToOneField(
        "core.ApprovalRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="manual"
    )
    note = models.CharField(max_length=300, blank=True, help_text="why it was rejected")

    class Meta:
        ordering = ["-prepared_at", "-id"]
        verbose_name_plural = "manual entries"
        constraints = [
            models.UniqueConstraint(
                fields=["prepared_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="ledger_manual_entry_once",
            ),
            models.CheckConstraint(
                condition=Q(total_cents__gt=0), name="ledger_manual_entry_total_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ManualEntryStatus.values),
                name="ledger_manual_entry_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Manual entry {self.pk} {self.date:%Y-%m-%d} {self.get_status_display()}"

    @property
    def total(self) -> Decimal:
        return to_dollars(self.total_cents)
