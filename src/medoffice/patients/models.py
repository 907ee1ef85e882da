"""Patients, their guarantors and insurance, payers, authorizations and scanned documents."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from medoffice.core.capture import AuditedModel
from medoffice.core.models import STATE_VALIDATOR, ZIP_VALIDATOR
from medoffice.patients import normalize

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}


class OptionalAddress(models.Model):
    address_line1 = models.CharField("address", max_length=120, blank=True)
    address_line2 = models.CharField("address line 2", max_length=120, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=2, blank=True, validators=[STATE_VALIDATOR])
    zip_code = models.CharField("ZIP code", max_length=10, blank=True, validators=[ZIP_VALIDATOR])

    class Meta:
        abstract = True

    @property
    def address_text(self) -> str:
        city_line = " ".join(
            part
            for part in (f"{self.city}," if self.city else "", self.state, self.zip_code)
            if part
        )
        return ", ".join(p for p in (self.address_line1, self.address_line2, city_line) if p)


# --- Payers ---------------------------------------------------------------------------------


class PlanType(models.TextChoices):
    COMMERCIAL = "commercial", "Commercial"
    MEDICARE = "medicare", "Medicare"
    MEDICAID = "medicaid", "Medicaid"
    HMO = "hmo", "HMO"
    PPO = "ppo", "PPO"
    TRICARE = "tricare", "TRICARE"
    WORKERS_COMP = "workers_comp", "Workers' compensation"
    SELF_PAY = "self_pay", "Self-pay"
    OTHER = "other", "Other"


class Payer(AuditedModel, OptionalAddress):
    """An insurance company or program the practice bills."""

    name = models.CharField(max_length=120, unique=True)
    payer_id = models.CharField(
        "electronic payer id", max_length=20, blank=True, help_text="the id clearinghouses use"
    )
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    timely_filing_days = models.PositiveIntegerField(
        default=365, help_text="days after the date of service a claim must be filed within"
    )
    plan_type = models.CharField(max_length=16, choices=PlanType.choices)
    requires_referral = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["payer_id"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(timely_filing_days__gte=1) & Q(timely_filing_days__lte=3650),
                name="payer_timely_filing_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- Patients -------------------------------------------------------------------------------


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "X", "Other / non-binary"
    UNKNOWN = "U", "Unknown"


class PhoneType(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    HOME = "home", "Home"
    WORK = "work", "Work"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    CHINESE = "zh", "Chinese"
    VIETNAMESE = "vi", "Vietnamese"
    TAGALOG = "tl", "Tagalog"
    ARABIC = "ar", "Arabic"
    FRENCH = "fr", "French"
    HAITIAN_CREOLE = "ht", "Haitian Creole"
    KOREAN = "ko", "Korean"
    RUSSIAN = "ru", "Russian"
    PORTUGUESE = "pt", "Portuguese"
    POLISH = "pl", "Polish"
    HINDI = "hi", "Hindi"
    ASL = "sgn", "American Sign Language"
    OTHER = "other", "Other"


class Relationship(models.TextChoices):
    """A person's relationship to the patient (guarantor, subscriber)."""

    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    PARENT = "parent", "Parent"
    LEGAL_GUARDIAN = "guardian", "Legal guardian"
    OTHER = "other", "Other"


class Patient(AuditedModel, OptionalAddress):
    """A person the practice sees; the MRN is assigned by `services.next_mrn`."""

    mrn = models.CharField("MRN", max_length=20, unique=True, help_text="medical record number")
    first_name = models.CharField(max_length=60)
    middle_name = models.CharField(max_length=60, blank=True)
    last_name = models.CharField(max_length=60)
    suffix = models.CharField(max_length=10, blank=True, help_text="Jr, Sr, III")
    preferred_name = models.CharField(max_length=60, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +13125550142")
    phone_type = models.CharField(max_length=8, choices=PhoneType.choices, default=PhoneType.MOBILE)
    email = models.EmailField(blank=True)
    contact_by_sms = models.BooleanField("text message reminders", default=False)
    contact_by_email = models.BooleanField("email reminders", default=False)
    preferred_language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    interpreter_needed = models.BooleanField(default=False)

    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_relationship = models.CharField(max_length=40, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True, help_text="E.164")

    # The guarantor is responsible for the bill: the patient, another patient, or someone else.
    guarantor_relationship = models.CharField(
        max_length=10, choices=Relationship.choices, default=Relationship.SELF
    )
    guarantor_patient = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guaranteed_patients",
        help_text="when the guarantor is also a patient of the practice",
    )
    guarantor_first_name = models.CharField(max_length=60, blank=True)
    guarantor_last_name = models.CharField(max_length=60, blank=True)
    guarantor_date_of_birth = models.DateField(null=True, blank=True)
    guarantor_phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    guarantor_address = models.CharField(max_length=250, blank=True)

    is_active = models.BooleanField(default=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Normalised copies for fast, index-backed search (kept in step by save()).
    last_name_key = models.CharField(max_length=60, editable=False, default="")
    first_name_key = models.CharField(max_length=60, editable=False, default="")
    phone_key = models.CharField(max_length=20, editable=False, default="", blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "date_of_birth"]
        indexes = [
            models.Index(fields=["last_name_key", "first_name_key"], name="patient_name_idx"),
            models.Index(fields=["first_name_key"], name="patient_first_idx"),
            models.Index(fields=["date_of_birth"], name="patient_dob_idx"),
            models.Index(fields=["phone_key"], name="patient_phone_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")), name="patient_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(is_active=False),
                name="patient_merged_is_inactive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    def save(self, *args, **kwargs):
        self.refresh_search_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = set(update_fields) | {
                "last_name_key", "first_name_key", "phone_key",
            }  # fmt: skip
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.guarantor_relationship == Relationship.SELF:
            if self.guarantor_patient_id:
                errors["guarantor_patient"] = "Leave empty when the patient is their own guarantor."
        elif not self.guarantor_patient_id and not (
            self.guarantor_first_name.strip() and self.guarantor_last_name.strip()
        ):
            errors["guarantor_last_name"] = (
                "Name the guarantor (first and last name) or choose a patient as guarantor."
            )
        if self.guarantor_patient_id and self.pk and self.guarantor_patient_id == self.pk:
            errors["guarantor_patient"] = "A patient cannot be their own guarantor this way."
        if errors:
            raise ValidationError(errors)

    def refresh_search_keys(self) -> None:
        self.last_name_key = normalize.name_key(self.last_name)[:60]
        self.first_name_key = normalize.name_key(self.first_name)[:60]
        self.phone_key = normalize.phone_key(self.phone)[:20]

    @property
    def audit_patient_id(self):
        return self.pk

    @property
    def audit_label(self) -> str:
        """In words for the audit trail: "Maria Lopez (MRN T0000025)"."""
        return f"{self.full_name} (MRN {self.mrn})"

    @property
    def full_name(self) -> str:
        parts = (self.first_name, self.middle_name, self.last_name, self.suffix)
        return " ".join(p for p in parts if p)

    @property
    def phone_display(self) -> str:
        return normalize.phone_display(self.phone)

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    def age_on(self, day) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def guarantor_name(self) -> str:
        if self.guarantor_relationship == Relationship.SELF:
            return self.full_name
        if self.guarantor_patient is not None:
            return self.guarantor_patient.full_name
        return f"{self.guarantor_first_name} {self.guarantor_last_name}".strip()


class MrnCounter(models.Model):
    """One row holding the last MRN number handed out; incremented under a row lock."""

    last_value = models.PositiveBigIntegerField(default=0)
    audit_exclude = True

    def __str__(self) -> str:
        return f"last MRN number {self.last_value}"


# --- Coverages ------------------------------------------------------------------------------


class Priority(models.IntegerChoices):
    PRIMARY = 1, "Primary"
    SECONDARY = 2, "Secondary"
    TERTIARY = 3, "Tertiary"


class SubscriberRelationship(models.TextChoices):
    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    OTHER = "other", "Other"


class Coverage(AuditedModel):
    """A patient's insurance with one payer, in force from effective_date to end_date (inclusive).

    is_active False means the record was withdrawn (entered in error, replaced); an ended
    coverage keeps is_active True and its end_date. The database holds at most one
    open-ended active coverage per priority per patient; overlapping dated ranges are
    refused by the service, which locks the patient row.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coverages")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="coverages")
    plan_name = models.CharField(max_length=120, blank=True)
    member_id = models.CharField(max_length=40)
    group_number = models.CharField(max_length=40, blank=True)
    subscriber_relationship = models.CharField(
        max_length=8, choices=SubscriberRelationship.choices, default=SubscriberRelationship.SELF
    )
    subscriber_first_name = models.CharField(max_length=60, blank=True)
    subscriber_last_name = models.CharField(max_length=60, blank=True)
    subscriber_date_of_birth = models.DateField(null=True, blank=True)
    subscriber_sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    effective_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.PRIMARY)
    copay = models.DecimalField(
        "office visit copay", **MONEY, default=Decimal("0.00"), help_text="primary care visit"
    )
    specialist_copay = models.DecimalField(**MONEY, default=Decimal("0.00"))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["patient", "priority", "-effective_date"]
        indexes = [models.Index(fields=["patient", "is_active", "priority"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("effective_date")),
                name="coverage_end_not_before_effective",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1) & Q(priority__lte=3), name="coverage_priority_range"
            ),
            models.CheckConstraint(
                condition=Q(copay__gte=Decimal("0")) & Q(specialist_copay__gte=Decimal("0")),
                name="coverage_copay_not_negative",
            ),
            models.UniqueConstraint(
                fields=["patient", "priority"],
                condition=Q(is_active=True, end_date__isnull=True),
                name="coverage_one_open_per_priority",
                violation_error_message=(
                    "The patient already has an open coverage at this priority; end it first."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer} {self.member_id} ({self.get_priority_display().lower()})"

    @property
    def audit_patient_id(self):
        return self.patient_id

    def in_force_on(self, day) -> bool:
        return (
            self.is_active
            and self.effective_date <= day
            and (self.end_date is None or self.end_date >= day)
        )

    @property
    def subscriber_name(self) -> str:
        if self.subscriber_relationship == SubscriberRelationship.SELF:
            return self.patient.full_name
        return f"{self.subscriber_first_name} {self.subscriber_last_name}".strip()

    def clean(self):
        errors = {}
        if self.end_date and self.effective_date and self.end_date < self.effective_date:
            errors["end_date"] = "The end date cannot be before the effective date."
        if self.subscriber_relationship != SubscriberRelationship.SELF:
            if not self.subscriber_first_name.strip():
                errors["subscriber_first_name"] = "Give the subscriber's first name."
            if not self.subscriber_last_name.strip():
                errors["subscriber_last_name"] = "Give the subscriber's last name."
            if not self.subscriber_date_of_birth:
                errors["subscriber_date_of_birth"] = "Give the subscriber's date of birth."
        if errors:
            raise ValidationError(errors)


class EligibilityMethod(models.TextChoices):
    MANUAL = "manual", "Manual (phone or portal)"
    X12_271 = "x12_271", "Electronic (270/271)"


class EligibilityStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    UNKNOWN = "unknown", "Unknown"


class EligibilityCheck(AuditedModel):
    """One verification of a coverage with the payer: by phone/portal now, by 271 later."""

    coverage = models.ForeignKey(Coverage, on_delete=models.CASCADE, related_name="eligibility")
    checked_at = models.DateTimeField()
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service_date = models.DateField(help_text="the date of service eligibility was asked for")
    method = models.CharField(max_length=8, choices=EligibilityMethod.choices)
    status = models.CharField(max_length=8, choices=EligibilityStatus.choices)
    reference = models.CharField(
        max_length=60, blank=True, help_text="call reference or 271 trace number"
    )
    copay_reported = models.DecimalField(**MONEY, null=True, blank=True)
    note = models.TextField(blank=True)
    benefits = models.JSONField(
        default=dict,
        blank=True,
        help_text="from a 271: plan, deductible and remaining, coinsurance, out-of-pocket",
    )

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [models.Index(fields=["coverage", "-checked_at"])]

    def __str__(self) -> str:
        return f"{self.coverage}: {self.get_status_display()} on {self.checked_at:%Y-%m-%d}"

    @property
    def audit_patient_id(self):
        return self.coverage.patient_id


# --- Referrals and prior authorizations --------------------------------------------------


class AuthorizationKind(models.TextChoices):
    REFERRAL = "referral", "Referral"
    PRIOR_AUTH = "prior_auth", "Prior authorization"


class Authorization(AuditedModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="authorizations")
    coverage = models.ForeignKey(
        Coverage, null=True, blank=True, on_delete=models.PROTECT, related_name="authorizations"
    )
    kind = models.CharField(max_length=12, choices=AuthorizationKind.choices)
    number = models.CharField(max_length=40, blank=True, help_text="the payer's reference")
    referring_provider_name = models.CharField(max_length=120, blank=True)
    referring_provider_npi = models.CharField(max_length=10, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField()
    visits_allowed = models.PositiveIntegerField(null=True, blank=True, help_text="empty: no limit")
    visits_used = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-valid_to", "-pk"]
        indexes = [models.Index(fields=["patient", "kind", "valid_to"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")), name="authorization_dates_in_order"
            ),
            models.CheckConstraint(
                condition=Q(visits_allowed__isnull=True) | Q(visits_used__lte=F("visits_allowed")),
                name="authorization_visits_within_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number or '(no number)'}"

    @property
    def audit_patient_id(self):
        return self.patient_id

    @property
    def visits_remaining(self) -> int | None:
        if self.visits_allowed is None:
            return None
        return max(self.visits_allowed - self.visits_used, 0)

    def clean(self):
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "The end of validity cannot be before its start."})
        if self.visits_allowed is not None and self.visits_used > self.visits_allowed:
            raise ValidationError({"visits_used": "More visits used than allowed."})


# --- Documents ------------------------------------------------------------------------------


class DocumentKind(models.TextChoices):
    INSURANCE_CARD_FRONT = "insurance_card_front", "Insurance card (front)"
    INSURANCE_CARD_BACK = "insurance_card_back", "Insurance card (back)"
    PHOTO_ID = "photo_id", "Photo ID"
    CONSENT = "consent", "Signed consent"
    REFERRAL = "referral", "Referral"
    OTHER = "other", "Other"


def document_path(instance: PatientDocument, filename: str) -> str:
    """patients/<patient id>/<random>.<ext>: the stored name reveals nothing about the patient."""
    suffix = PurePosixPath(filename).suffix.lower()[:8]
    return f"patients/{instance.patient_id}/{uuid.uuid4().hex}{suffix}"


class PatientDocument(AuditedModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=24, choices=DocumentKind.choices)
    file = models.FileField(upload_to=document_path, max_length=200)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=60)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    document_date = models.DateField()
    description = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-document_date", "-uploaded_at"]
        indexes = [models.Index(fields=["patient", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.document_date:%Y-%m-%d}"

    @property
    def audit_patient_id(self):
        return self.patient_id
