"""Encounters, charges, claims and the clearinghouse mailbox's records.

An encounter is the coded visit; finalizing it posts its charges to the ledger. A claim is
what is billed to one coverage for one encounter; its lines and diagnoses copy the encounter's
at the moment the claim is built, so a later correction of the encounter does not rewrite a
claim already sent (it makes a replacement). Money is integer cents.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medoffice.core.capture import AuditedModel

MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
MAX_POINTERS = 4


class EncounterStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    CODED = "coded", "Coded"
    READY = "ready", "Ready"  # finalized: charges posted, claims may be built


class Encounter(AuditedModel):
    """One visit's coding: who saw the patient, where, when, why (diagnoses) and what was done."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    appointment = models.OneToOneField(
        "scheduling.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="encounter",
    )
    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    rendering_provider = models.ForeignKey(
        "core.Provider", on_delete=models.PROTECT, related_name="rendered_encounters"
    )
    referring_provider_name = models.CharField(max_length=120, blank=True)
    referring_provider_npi = models.CharField(max_length=10, blank=True)
    supervising_provider = models.ForeignKey(
        "core.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    date_of_service = models.DateField()
    place_of_service = models.CharField(max_length=2)
    prior_authorization = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        max_length=8, choices=EncounterStatus.choices, default=EncounterStatus.DRAFT
    )
    coded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coded_at = models.DateTimeField(null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finalized_at = models.DateTimeField(null=True, blank=True)
    charge_entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_of_service", "-id"]
        indexes = [
            models.Index(fields=["status", "date_of_service"], name="encounter_status_day"),
            models.Index(fields=["patient", "date_of_service"], name="encounter_patient_day"),
        ]

    def __str__(self) -> str:
        return f"Encounter {self.pk} on {self.date_of_service:%m/%d/%Y}"


class EncounterDiagnosis(AuditedModel):
    """One ICD-10-CM code of an encounter, in claim order (rank 1 is the primary)."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="diagnoses")
    rank = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=8, help_text="ICD-10-CM with its dot, e.g. E11.9")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "rank"], name="diagnosis_rank_once"),
            models.UniqueConstraint(fields=["encounter", "code"], name="diagnosis_code_once"),
            models.CheckConstraint(
                condition=Q(rank__gte=1) & Q(rank__lte=MAX_DIAGNOSES), name="diagnosis_rank_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rank}. {self.code}"


class ServiceLine(AuditedModel):
    """A billed service: code, modifiers, units, charge and the diagnoses it treats."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=5)
    modifiers = models.JSONField(default=list, help_text="up to 4 two-character modifiers")
    units = models.PositiveIntegerField(default=1)
    charge_cents = models.PositiveBigIntegerField()
    diagnosis_pointers = models.JSONField(default=list, help_text="up to 4 ranks, 1-12")
    ndc = models.CharField("NDC (11 digits)", max_length=11, blank=True)
    ndc_quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    ndc_unit = models.CharField(
        max_length=2, blank=True, help_text="F2 international unit, GR gram, ME milligram, ML, UN"
    )

    class Meta:
        ordering = ["line_number"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "line_number"], name="service_line_once"),
            models.CheckConstraint(condition=Q(units__gte=1), name="service_line_units_positive"),
        ]

    def __str__(self) -> str:
        return f"Line {self.line_number} {self.code}"


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCRUB_ERRORS = "scrub_errors", "Scrubber errors"
    READY = "ready", "Ready"
    BATCHED = "batched", "Batched"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Paid"
    DENIED = "denied", "Denied"
    VOID = "void", "Voided"


class FrequencyCode(models.TextChoices):
    ORIGINAL = "1", "Original"
    REPLACEMENT = "7", "Replacement"
    VOID = "8", "Void"


class Claim(AuditedModel):
    """What is billed to one coverage for one encounter."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="claims")
    coverage = models.ForeignKey("patients.Coverage", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey("patients.Payer", on_delete=models.PROTECT, related_name="+")
    control_number = models.CharField("patient control number (CLM01)", max_length=20, unique=True)
    frequency_code = models.CharField(
        max_length=1, choices=FrequencyCode.choices, default=FrequencyCode.ORIGINAL
    )
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    payer_claim_number = models.CharField("payer claim control number", max_length=50, blank=True)
    status = models.CharField(max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    total_charge_cents = models.PositiveBigIntegerField()
    warnings_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    override_reason = models.CharField(max_length=300, blank=True)
    scrubbed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    batch = models.ForeignKey(
        "claims.ClaimBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "payer"], name="claim_status_payer"),
        ]
        constraints = [
            # One live original claim per encounter and coverage; replacements and voids
            # point at the claim they change.
            models.UniqueConstraint(
                fields=["encounter", "coverage"],
                condition=Q(frequency_code="1"),
                name="claim_original_once",
            ),
            models.UniqueConstraint(
                fields=["replaces", "frequency_code"],
                condition=Q(replaces__isnull=False),
                name="claim_change_once",
            ),
            models.CheckConstraint(
                condition=Q(frequency_code="1", replaces__isnull=True)
                | (~Q(frequency_code="1") & Q(replaces__isnull=False)),
                name="claim_change_names_its_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"Claim {self.control_number}"


class ClaimLine(models.Model):
    """A claim's copy of a service line, as sent (with the line item control number)."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    # The encounter's line it was copied from; a recoded visit replaces its lines, and the
    # claim keeps what it billed.
    service_line = models.ForeignKey(
        ServiceLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    line_number = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=5)
    modifiers = models.JSONField(default=list)
    units = models.PositiveIntegerField()
    charge_cents = models.PositiveBigIntegerField()
    diagnosis_pointers = models.JSONField(default=list)
    ndc = models.CharField("NDC (11 digits)", max_length=11, blank=True)
    ndc_quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    ndc_unit = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=12, blank=True, help_text="the payer's answer per line")

    class Meta:
        ordering = ["line_number"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "line_number"], name="claim_line_once")
        ]

    def __str__(self) -> str:
        return f"{self.claim_id}/{self.line_number} {self.code}"


class ClaimDiagnosis(models.Model):
    """A claim's copy of one diagnosis, as billed (rank 1 is the primary; the lines' pointers
    are these ranks). Copied with the lines, so a recoded visit does not change a claim built
    before it: a void carries the diagnoses of the claim it voids."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="diagnoses")
    rank = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=8, help_text="ICD-10-CM with its dot, e.g. E11.9")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "rank"], name="claim_diagnosis_rank_once"),
            models.UniqueConstraint(fields=["claim", "code"], name="claim_diagnosis_code_once"),
            models.CheckConstraint(
                condition=Q(rank__gte=1) & Q(rank__lte=MAX_DIAGNOSES),
                name="claim_diagnosis_rank_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.rank}. {self.code}"


class ClaimEvent(models.Model):
    """The claim's history: every status change, who made it and why (append-only)."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.from_status or '-'} -> {self.to_status}"


class Severity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"


class ScrubFinding(models.Model):
    """One problem the scrubber found on a claim's latest run."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="findings")
    code = models.CharField(max_length=40, help_text="e.g. pointer_out_of_range")
    severity = models.CharField(max_length=7, choices=Severity.choices)
    message = models.CharField(max_length=400)
    line_number = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["severity", "line_number", "id"]

    def __str__(self) -> str:
        return f"{self.severity} {self.code}"


class ControlCounter(models.Model):
    """The last control number used per submitter and kind (ISA13, GS06, ST02): never reused."""

    submitter_id = models.CharField(max_length=15)
    kind = models.CharField(max_length=8)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submitter_id", "kind"], name="control_counter_once")
        ]

    def __str__(self) -> str:
        return f"{self.submitter_id} {self.kind} {self.last_value}"


class ClaimBatch(AuditedModel):
    """One 837P file: the claims in it, its interchange control number and where it went."""

    interchange_control_number = models.PositiveIntegerField()
    group_control_number = models.PositiveIntegerField(
        default=0, help_text="GS06: what a 999's AK1 names"
    )
    submitter_id = models.CharField(max_length=15)
    file_name = models.CharField(max_length=120, unique=True)
    sha256 = models.CharField(max_length=64)
    claim_count = models.PositiveIntegerField()
    total_charge_cents = models.PositiveBigIntegerField()
    content = models.BinaryField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submitter_id", "interchange_control_number"], name="batch_isa13_once"
            ),
            models.UniqueConstraint(
                fields=["submitter_id", "group_control_number"],
                condition=Q(group_control_number__gt=0),
                name="batch_gs06_once",
            ),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="batch_idempotency_once",
            ),
        ]

    def __str__(self) -> str:
        return self.file_name


class AppliedFile(models.Model):
    """A response file (999, 277CA, 271, 277) applied to the records: at most once per content.

    The row is inserted before anything is changed, in the same transaction, so the same file
    applied twice (or by two people at once) changes the records only the first time.
    """

    kind = models.CharField(max_length=6, help_text="999, 277CA, 271 or 277")
    sha256 = models.CharField(max_length=64)
    file_name = models.CharField(max_length=200, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict, blank=True, help_text="what matched and what did not")

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "sha256"], name="applied_file_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.sha256[:12]}"


# The clearinghouse mailbox's tables (claims/models/mailbox.py) and the background "build and
# send" jobs (claims/models/batch_jobs.py), by name.
from medoffice.claims.models.batch_jobs import BatchJob, JobStage, JobState  # noqa: E402
from medoffice.claims.models.eligibility import (  # noqa: E402
    OPEN_STATUSES,
    EligibilityRequest,
    RequestStatus,
)
from medoffice.claims.models.mailbox import (  # noqa: E402
    AfterCollect,
    Clearinghouse,
    MailboxReceipt,
    MailboxSubmission,
    ReceiptKind,
    SecretKind,
    SubmissionStatus,
    TransportKind,
    receipt_path,
)

__all__ = [
    "OPEN_STATUSES",
    "AfterCollect",
    "BatchJob",
    "Clearinghouse",
    "EligibilityRequest",
    "JobStage",
    "JobState",
    "MailboxReceipt",
    "MailboxSubmission",
    "ReceiptKind",
    "RequestStatus",
    "SecretKind",
    "SubmissionStatus",
    "TransportKind",
    "receipt_path",
]
