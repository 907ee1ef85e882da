"""Code sets, edit tables, the practice's charges and its payer contracts.

The reference tables (procedure codes, NCCI edits, MPFS RVUs and GPCIs) are loaded in bulk
from published files and are not patient data: each load is one `CodeSetRelease`, audited,
and its rows point back to it. ICD-10-CM is not stored: it comes from `simple-icd-10-cm`.
The practice's own decisions (its fees, its contracts) are audited records.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from medoffice.core.capture import AuditedModel


class CodeSetKind(models.TextChoices):
    HCPCS = "hcpcs", "HCPCS Level II"
    CPT = "cpt", "CPT (the practice's licensed file)"
    NCCI_PTP = "ncci_ptp", "NCCI procedure-to-procedure edits"
    NCCI_MUE = "ncci_mue", "NCCI medically unlikely edits"
    NCCI_ADD_ON = "ncci_add_on", "NCCI add-on code edits"
    MPFS_RVU = "mpfs_rvu", "Medicare physician fee schedule RVUs"
    MPFS_GPCI = "mpfs_gpci", "Medicare geographic practice cost indices"


class CodeSetRelease(AuditedModel):
    """One file loaded into a reference table: loading the same file twice is refused."""

    kind = models.CharField(max_length=16, choices=CodeSetKind.choices)
    label = models.CharField(max_length=80, help_text="e.g. '2024 Q3'")
    effective_date = models.DateField(help_text="the date the release takes effect")
    source_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-effective_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "sha256"], name="code_set_release_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label}"


class CodeSystem(models.TextChoices):
    CPT = "CPT", "CPT"
    HCPCS = "HCPCS", "HCPCS Level II"


class ProcedureCode(models.Model):
    """A CPT or HCPCS Level II code with the dates it may be billed."""

    system = models.CharField(max_length=5, choices=CodeSystem.choices)
    code = models.CharField(max_length=5)
    short_description = models.CharField(max_length=100, blank=True)
    long_description = models.TextField(blank=True)
    effective_date = models.DateField(null=True, blank=True)
    termination_date = models.DateField(null=True, blank=True)
    release = models.ForeignKey(CodeSetRelease, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="procedure_code_unique"),
            models.CheckConstraint(
                condition=Q(termination_date__isnull=True)
                | Q(effective_date__isnull=True)
                | Q(termination_date__gte=F("effective_date")),
                name="procedure_code_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.short_description}"


class ModifierKind(models.TextChoices):
    PRICING = "pricing", "Pricing"
    INFORMATIONAL = "informational", "Informational"


class Modifier(models.Model):
    """A CPT/HCPCS modifier; `ncci_bypass` marks those that may break an NCCI pair (indicator 1)."""

    code = models.CharField(max_length=2, unique=True)
    description = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=16, choices=ModifierKind.choices, default=ModifierKind.INFORMATIONAL
    )
    ncci_bypass = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class PlaceOfService(models.Model):
    """CMS place of service; `is_facility` picks the MPFS facility or non-facility rate."""

    code = models.CharField(max_length=2, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_facility = models.BooleanField(default=False)
    is_assigned = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PtpEdit(models.Model):
    """An NCCI pair: column 2 is not paid with column 1 unless the indicator allows a modifier."""

    column1 = models.CharField(max_length=5)
    column2 = models.CharField(max_length=5)
    effective_date = models.DateField(null=True, blank=True)
    deletion_date = models.DateField(null=True, blank=True)
    modifier_indicator = models.CharField(
        max_length=1, help_text="0 never allowed, 1 allowed with a modifier, 9 not applicable"
    )
    rationale = models.CharField(max_length=200, blank=True)
    release = models.ForeignKey(CodeSetRelease, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["column1", "column2"], name="ptp_pair")]

    def __str__(self) -> str:
        return f"{self.column1}/{self.column2} ({self.modifier_indicator})"


class MueEdit(models.Model):
    """The most units of a code one provider bills for one patient on one day."""

    code = models.CharField(max_length=5)
    max_units = models.PositiveIntegerField()
    adjudication_indicator = models.CharField(max_length=1, blank=True)
    rationale = models.CharField(max_length=200, blank=True)
    release = models.ForeignKey(CodeSetRelease, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["code"], name="mue_code")]

    def __str__(self) -> str:
        return f"{self.code} MUE {self.max_units}"


class AddOnEdit(models.Model):
    """An add-on code and one primary it may be billed with (type 1 lists its primaries)."""

    add_on_code = models.CharField(max_length=5)
    primary_code = models.CharField(max_length=5, help_text="'CCCCC' when any primary will do")
    edit_type = models.CharField(max_length=1)
    effective_date = models.DateField(null=True, blank=True)
    deletion_date = models.DateField(null=True, blank=True)
    release = models.ForeignKey(CodeSetRelease, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["add_on_code"], name="add_on_code")]

    def __str__(self) -> str:
        return f"{self.add_on_code} with {self.primary_code}"


class MpfsRvu(models.Model):
    """One MPFS national line: the RVUs of a code (and modifier 26/TC) and the conversion factor."""

    code = models.CharField(max_length=5)
    modifier = models.CharField(max_length=2, blank=True)
    status_code = models.CharField(max_length=1, blank=True)
    pctc_indicator = models.CharField(max_length=1, blank=True)
    global_days = models.CharField(max_length=3, blank=True)
    work_rvu = models.DecimalField(max_digits=9, decimal_places=3)
    non_facility_pe_rvu = models.DecimalField(max_digits=9, decimal_places=3)
    facility_pe_rvu = models.DecimalField(max_digits=9, decimal_places=3)
    mp_rvu = models.DecimalField(max_digits=9, decimal_places=3)
    conversion_factor = models.DecimalField(max_digits=9, decimal_places=4)
    non_facility_na = models.BooleanField(default=False)
    facility_na = models.BooleanField(default=False)
    release = models.ForeignKey(CodeSetRelease, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["code", "modifier"], name="mpfs_code_modifier")]

    def __str__(self) -> str:
        return f"{self.code}{'-' + self.modifier if self.modifier else ''} RVUs"


class MpfsGpci(models.Model):
    """The geographic indices of one Medicare locality (MAC + locality)."""

    mac = models.CharField(max_length=5)
    locality = models.CharField(max_length=2)
    state = models.CharField(max_length=2, blank=True)
    name = models.CharField(max_length=120)
    work_gpci = models.DecimalField(max_digits=6, decimal_places=3)
    pe_gpci = models.DecimalField(max_digits=6, decimal_places=3)
    mp_gpci = models.DecimalField(max_digits=6, decimal_places=3)
    release = models.ForeignKey(CodeSetRelease, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["state", "name"]
        indexes = [models.Index(fields=["mac", "locality"], name="gpci_locality")]

    def __str__(self) -> str:
        return f"{self.mac}/{self.locality} {self.name}"


class Fee(AuditedModel):
    """The practice's charge for a code (and modifier) from a date; the next row ends it."""

    code = models.CharField(max_length=5)
    modifier = models.CharField(max_length=2, blank=True)
    charge_cents = models.PositiveBigIntegerField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code", "modifier", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "modifier", "effective_from"], name="fee_once_per_start"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="fee_dates_in_order",
            ),
        ]


class ContractBasis(models.TextChoices):
    RATES = "rates", "Contracted rate per code"
    MEDICARE_PERCENT = "medicare_percent", "Percentage of the Medicare fee schedule"


class PayerContract(AuditedModel):
    """What a payer agreed to pay, for a span of dates."""

    payer = models.ForeignKey("patients.Payer", on_delete=models.PROTECT, related_name="contracts")
    name = models.CharField(max_length=120)
    basis = models.CharField(max_length=20, choices=ContractBasis.choices)
    medicare_percent = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True, help_text="e.g. 110.00"
    )
    mac = models.CharField("Medicare contractor (MAC)", max_length=5, blank=True)
    locality = models.CharField("Medicare locality", max_length=2, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["payer__name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "effective_from"], name="contract_once_per_payer_start"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="contract_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(basis="rates")
                | (Q(medicare_percent__gt=0) & ~Q(mac="") & ~Q(locality="")),
                name="contract_medicare_percent_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer} — {self.name}"


class ContractRate(AuditedModel):
    """A contracted rate for one code (and modifier); in a Medicare-percent contract, an override."""

    contract = models.ForeignKey(PayerContract, on_delete=models.PROTECT, related_name="rates")
    code = models.CharField(max_length=5)
    modifier = models.CharField(max_length=2, blank=True)
    rate_cents = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["code", "modifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "code", "modifier"], name="contract_rate_once"
            )
        ]


class PriorAuthRule(AuditedModel):
    """A code this payer pays only with a prior authorization on file (the scrubber checks it)."""

    payer = models.ForeignKey("patients.Payer", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=5)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "code"], name="prior_auth_rule_once")
        ]


class FeeImportKind(models.TextChoices):
    FEES = "fees", "The practice's fee schedule"
    RATES = "rates", "A contract's rates"


class FeeImport(AuditedModel):
    """One fee-schedule or contract-rate file applied: a retry with the same key (per user)
    returns this record and writes nothing again."""

    kind = models.CharField(max_length=8, choices=FeeImportKind.choices)
    contract = models.ForeignKey(
        PayerContract, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["imported_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="fee_import_once_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.row_count} rows)"
