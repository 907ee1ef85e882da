"""The practice, its people and roles, delegated authority, and the audit trail."""

from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from decimal import Decimal
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from medoffice.core.capture import AuditedModel, AuditedUserManager
from medoffice.core.fields import EncryptedTextField
from medoffice.core.validators import validate_npi

ZIP_VALIDATOR = RegexValidator(r"^\d{5}(-\d{4})?$", "Enter a ZIP code as 12345 or 12345-6789.")
STATE_VALIDATOR = RegexValidator(r"^[A-Z]{2}$", "Enter the two-letter state code, e.g. NY.")
TAX_ID_VALIDATOR = RegexValidator(r"^\d{2}-?\d{7}$", "Enter the tax id (EIN) as 12-3456789.")
TAXONOMY_VALIDATOR = RegexValidator(
    r"^[0-9A-Z]{9}X$", "Enter a 10-character provider taxonomy code, e.g. 207Q00000X."
)
POS_VALIDATOR = RegexValidator(
    r"^\d{2}$", "Enter the two-digit CMS place-of-service code, e.g. 11."
)
US_TIME_ZONES = (
    "America/New_York", "America/Detroit", "America/Indiana/Indianapolis", "America/Chicago",
    "America/Denver", "America/Boise", "America/Phoenix", "America/Los_Angeles", "America/Anchorage",
    "Pacific/Honolulu", "America/Puerto_Rico", "Pacific/Guam",
)  # fmt: skip
TIME_ZONE_CHOICES = [(tz, tz.split("/")[-1].replace("_", " ") + f" ({tz})") for tz in US_TIME_ZONES]


class Address(models.Model):
    address_line1 = models.CharField("address", max_length=120)
    address_line2 = models.CharField("address line 2", max_length=120, blank=True)
    city = models.CharField(max_length=80)
    state = models.CharField(max_length=2, validators=[STATE_VALIDATOR])
    zip_code = models.CharField("ZIP code", max_length=10, validators=[ZIP_VALIDATOR])

    class Meta:
        abstract = True


class Practice(AuditedModel, Address):
    """The one practice this deployment serves."""

    legal_name = models.CharField(max_length=200)
    tax_id = EncryptedTextField("tax id (EIN)", validators=[TAX_ID_VALIDATOR])
    group_npi = models.CharField("group NPI", max_length=10, validators=[validate_npi])
    phone = models.CharField(max_length=32, blank=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", choices=TIME_ZONE_CHOICES
    )
    require_two_factor = models.BooleanField(
        default=True,
        help_text="Owners, managers and HR/payroll must use a TOTP authenticator to sign in.",
    )
    is_demo = models.BooleanField(default=False)
    # Where payers send the money when it is not the billing address (a lockbox, a PO box):
    # the 837P's pay-to provider (2010AB). Blank: payments go to the practice's address.
    pay_to_address_line1 = models.CharField("pay-to address", max_length=120, blank=True)
    pay_to_address_line2 = models.CharField("pay-to address line 2", max_length=120, blank=True)
    pay_to_city = models.CharField("pay-to city", max_length=80, blank=True)
    pay_to_state = models.CharField(
        "pay-to state", max_length=2, blank=True, validators=[STATE_VALIDATOR]
    )
    pay_to_zip_code = models.CharField(
        "pay-to ZIP code", max_length=10, blank=True, validators=[ZIP_VALIDATOR]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A pay-to address is whole (street, city, state, ZIP) or not there at all.
            models.CheckConstraint(
                condition=Q(
                    pay_to_address_line1="",
                    pay_to_address_line2="",
                    pay_to_city="",
                    pay_to_state="",
                    pay_to_zip_code="",
                )
                | (
                    ~Q(pay_to_address_line1="")
                    & ~Q(pay_to_city="")
                    & ~Q(pay_to_state="")
                    & ~Q(pay_to_zip_code="")
                ),
                name="practice_pay_to_whole_or_blank",
            )
        ]

    def __str__(self) -> str:
        return self.legal_name

    PAY_TO_FIELDS = (
        "pay_to_address_line1", "pay_to_address_line2", "pay_to_city", "pay_to_state",
        "pay_to_zip_code",
    )  # fmt: skip

    @property
    def has_pay_to(self) -> bool:
        """A pay-to address is on file and it is not the practice's own address."""
        if not self.pay_to_address_line1:
            return False
        own = (self.address_line1, self.address_line2, self.city, self.state, self.zip_code)
        pay_to = tuple(getattr(self, name) for name in self.PAY_TO_FIELDS)
        return tuple(" ".join(v.upper().split()) for v in pay_to) != tuple(
            " ".join(v.upper().split()) for v in own
        )

    @property
    def tax_id_masked(self) -> str:
        """The tax id as pages show it: only the last four digits."""
        digits = "".join(ch for ch in self.tax_id or "" if ch.isdigit())
        return f"••-•••{digits[-4:]}" if digits else ""


class Location(AuditedModel, Address):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=32, blank=True)
    place_of_service = models.CharField(
        "place of service",
        max_length=2,
        default="11",
        validators=[POS_VALIDATOR],
        help_text="CMS place-of-service code, e.g. 11 (office)",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "name"], name="location_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Provider(AuditedModel):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="providers")
    user = models.OneToOneField(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="provider"
    )
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    credentials = models.CharField(max_length=20, blank=True, help_text="e.g. MD, DO, NP, PA-C")
    npi = models.CharField("individual NPI", max_length=10, unique=True, validators=[validate_npi])
    taxonomy = models.CharField(max_length=10, validators=[TAXONOMY_VALIDATOR])
    specialty = models.CharField(max_length=120)
    locations = models.ManyToManyField(Location, related_name="providers", blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.first_name} {self.last_name}{suffix}"

    @property
    def short_name(self) -> str:
        """A. Patel, MD: narrow enough for a calendar column, still telling two Patels apart."""
        suffix = f", {self.credentials}" if self.credentials else ""
        initial = f"{self.first_name[:1]}. " if self.first_name else ""
        return f"{initial}{self.last_name}{suffix}"


class Role(AuditedModel):
    """A job in the practice; its permissions are rows of RolePermission."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    requires_two_factor = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RolePermission(AuditedModel):
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    codename = models.CharField(max_length=80)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "codename"], name="role_permission_unique")
        ]

    def __str__(self) -> str:
        return f"{self.role.code}: {self.codename}"


class User(AuditedModel, AbstractUser):
    roles = models.ManyToManyField(Role, related_name="users", blank=True)
    title = models.CharField(max_length=80, blank=True)

    # django-stubs cannot type a manager that replaces an abstract base's own.
    objects = AuditedUserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class DecisionKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    VENDOR_BILL = "vendor_bill", "Vendor bill"
    WRITE_OFF = "write_off", "Write-off"
    REFUND = "refund", "Refund"
    PAYROLL_APPROVAL = "payroll_approval", "Payroll approval"
    JOURNAL_ENTRY = "journal_entry", "Manual journal entry"


class AuthorityLimit(AuditedModel):
    """How much a role may decide alone for one kind of money decision; no amount means no limit."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="limits")
    kind = models.CharField(max_length=32, choices=DecisionKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "kind"], name="authority_limit_unique"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=Decimal("0")),
                name="authority_limit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role.code} {self.kind}: {self.amount if self.amount is not None else 'no limit'}"


class ModuleSwitch(AuditedModel):
    """Which modules this practice assigns to its manager; a missing row means enabled."""

    module = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.module}: {'on' if self.enabled else 'off'}"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ApprovalRequest(AuditedModel):
    """A money decision, approved at once within the requester's authority or queued above it."""

    kind = models.CharField(max_length=32, choices=DecisionKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    description = models.CharField(max_length=300)
    subject_type = models.CharField(
        max_length=100, blank=True, help_text="app_label.model of what is decided"
    )
    subject_id = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="approval_requests"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="approval_decisions"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    within_requester_authority = models.BooleanField(default=False)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["status", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0")), name="approval_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.get_status_display()})"


class AuditAction(models.TextChoices):
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOGOUT = "logout", "Logout"
    SESSION_EXPIRED = "session_expired", "Session ended"
    VIEW = "view", "View"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    EXPORT = "export", "Export"
    DOWNLOAD = "download", "Download"
    EMERGENCY_ACCESS = "emergency_access", "Emergency access"
    APPROVAL = "approval", "Approval decision"
    SECURITY = "security", "Security change"


class AuditEventQuerySet(models.QuerySet):
    """Reads only: bulk writes would bypass the chain, and changes or deletions are refused."""

    def _refuse(self, *args, **kwargs):
        from medoffice.core.exceptions import AuditImmutable

        raise AuditImmutable()

    update = delete = bulk_update = bulk_create = update_or_create = _refuse
    _raw_delete = _update = _refuse


class AuditEvent(models.Model):
    """One append-only line of the audit trail.

    An event is written with no lock, in the caller's transaction, carrying a keyed digest
    (HMAC with the audit key named by `key_id`) of its own content. The sealer
    (`audit.seal()`) later gives committed events, in the order it finds them, their place
    in the chain: `seq` (gapless), `prev_hash` and `hash` (HMAC of the position, the previous
    hash and the digest). Those start empty and are filled exactly once.

    The actor is kept by id and name (no foreign key), so nothing done to users later
    can rewrite or cascade into the trail. The app refuses changes (save, delete, queryset
    update/delete, admin, API) and database triggers refuse UPDATE and DELETE underneath,
    except the one update that seals an unsealed event.
    """

    seq = models.BigIntegerField(
        unique=True, null=True, blank=True, help_text="position in the chain, without gaps"
    )
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=24, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    patient_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip_address = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    flagged = models.BooleanField(default=False)
    key_id = models.CharField(max_length=16, blank=True, help_text="the audit key of `digest`")
    nonce = models.CharField(max_length=32, blank=True)
    digest = models.CharField(
        max_length=64, blank=True, help_text="keyed digest of the content (empty: legacy)"
    )
    # NULL until sealed: the triggers allow filling them once, from NULL.
    prev_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    seal_key = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["id"], name="core_audit_unsealed", condition=Q(seq__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["digest"], condition=~Q(digest=""), name="core_audit_digest_once"
            )
        ]
        base_manager_name = "objects"

    def __str__(self) -> str:
        where = f"#{self.seq}" if self.seq is not None else f"(unsealed {self.pk})"
        return f"{where} {self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            from medoffice.core.exceptions import AuditImmutable

            raise AuditImmutable()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from medoffice.core.exceptions import AuditImmutable

        raise AuditImmutable()


class AuditSecret(models.Model):
    """The protected values (PHI) of one event's `changes`, encrypted with the field keys.

    The event itself holds a keyed digest of each value in their place, so its hash does not
    depend on this ciphertext and key rotation can re-encrypt it (it is an encrypted field
    like any other). Inserted with its event; the triggers refuse DELETE.
    """

    audit_exclude = True  # part of the trail itself

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="secret")
    values = EncryptedTextField()

    def __str__(self) -> str:
        return f"protected values of audit event {self.event_id}"


class AuditChainHead(models.Model):
    """Where the sealed chain ends; locked only while sealing, signed with the audit key.

    `legacy_seq`: events up to it were chained before the audit key existed (unkeyed
    SHA-256); the head's signature covers it, so it cannot be moved.
    """

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    legacy_seq = models.BigIntegerField(default=0)
    key_id = models.CharField(max_length=16, blank=True)
    mac = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit chain at #{self.last_seq}"


class EmergencyAccessGrant(AuditedModel):
    """Access outside a user's role, opened by stating a reason; it expires and is reviewed."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="emergency_grants")
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    permission = models.CharField(max_length=80)
    reason = models.TextField()
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_emergency_grants",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "object_type", "object_id", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.user} -> {self.object_type} {self.object_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class ApiToken(AuditedModel):
    """A bearer token for the API; only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    audit_ignore_fields = ("last_used_at",)  # bumped on every API call; not a change of record

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class PeriodicRun(models.Model):
    """When each scheduled job last ran, so a restarted or second worker does not repeat it."""

    task_path = models.CharField(max_length=200, unique=True)
    last_enqueued_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.task_path


# --- Two-factor authenticators ---------------------------------------------------------------


def new_totp_seed() -> str:
    """20 random bytes, hex-encoded (the size authenticator apps expect for SHA-1 TOTP)."""
    return random_hex(20)


class TOTPAuthenticator(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator (RFC 6238) whose seed is encrypted at rest with the field keys.

    django-otp's own TOTP device keeps the seed in clear in the database (and so in every
    backup); this device keeps it in an encrypted field, so the column and the backups hold a
    Fernet token and key rotation re-encrypts it with every other encrypted value.
    """

    audit_exclude = True  # each sign-in updates it; enrolment and failures are audited explicitly

    key = EncryptedTextField(default=new_totp_seed, help_text="The seed, hex-encoded (encrypted).")
    step = models.PositiveSmallIntegerField(default=30, help_text="Seconds per code.")
    t0 = models.BigIntegerField(default=0, help_text="Unix time at which counting starts.")
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="Time steps either side of now that are accepted."
    )
    drift = models.SmallIntegerField(default=0, help_text="Known clock offset, in time steps.")
    last_t = models.BigIntegerField(
        default=-1, help_text="Time step of the last accepted code; a code is accepted once."
    )

    class Meta(Device.Meta):
        verbose_name = "TOTP authenticator"

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token: object) -> bool:
        allowed, _reason = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            code = int(str(token))
        except ValueError:
            code = None
        matched = False
        if code is not None:
            otp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            otp.time = time.time()
            matched = otp.verify(code, self.tolerance, self.last_t + 1)
            if matched:
                self.last_t = otp.t()  # the same code cannot be used twice
                self.drift = otp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not matched:
            self.throttle_increment(commit=True)
        return matched

    @property
    def config_url(self) -> str:
        """The otpauth:// address an authenticator app reads from the QR code."""
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        label = self.user.get_username()
        if issuer:
            label = f"{issuer}:{label}"
        params = {
            "secret": b32encode(self.bin_key).decode(),
            "algorithm": "SHA1",
            "digits": self.digits,
            "period": self.step,
        }
        if issuer:
            params["issuer"] = issuer
        return f"otpauth://totp/{quote(label)}?{urlencode(params, quote_via=quote)}"


# --- Field key epochs (safe key rotation while the practice works) ---------------------------


class FieldKeyEpoch(models.Model):
    """One row (pk 1): the number of the current set of field keys, bumped by each change of
    the key file. Every process compares it with the set it loaded (see core/keyring.py)."""

    audit_exclude = True  # key rotation records its own security event

    epoch = models.PositiveIntegerField(default=0)
    key_ids = models.CharField(
        max_length=200, blank=True, help_text="Short fingerprints of the keys, newest first."
    )
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"field keys epoch {self.epoch}"


class FieldKeyHolder(models.Model):
    """A running process that uses the field keys: which epoch it loaded, when it last checked.

    Written at most once per check interval, and only by processes that encrypt or decrypt;
    times are the database's clock, so app machines with skewed clocks compare fairly."""

    audit_exclude = True

    process = models.CharField(max_length=160, unique=True, help_text="host:pid:nonce")
    epoch = models.PositiveIntegerField()
    key_ids = models.CharField(
        max_length=200, help_text="Fingerprints of the keys it holds, newest (encrypting) first."
    )
    loaded_at = models.DateTimeField(help_text="When it loaded the keys of this epoch.")
    seen_at = models.DateTimeField(help_text="When it last checked the epoch.")

    def __str__(self) -> str:
        return f"{self.process} on epoch {self.epoch}"


class IdempotencyKey(models.Model):
    """The first answer to an API write sent with an Idempotency-Key header (docs/adr/0010).

    The row is inserted in the same transaction as the write it guards; the unique key makes a
    second request with the same key wait for the first and then replay its answer.
    """

    audit_exclude = True  # plumbing: the write it guards is audited itself

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=120)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    response_body = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "endpoint", "key"], name="idempotency_key_once_per_user_endpoint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"


class FormSubmission(models.Model):
    """A one-time form token spent by the write it came with, and where that write led."""

    audit_exclude = True

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=80)
    result_url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.purpose} {self.token[:8]}…"
