"""Every write of the patients app: registration, MRNs, coverages, eligibility,
authorizations, documents, payers and the merge of duplicate records."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from medoffice.core import audit, money
from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, NotFound
from medoffice.core.models import AuditAction
from medoffice.patients import normalize, selectors
from medoffice.patients.exceptions import PossibleDuplicate
from medoffice.patients.models import (
    Authorization,
    AuthorizationKind,
    Coverage,
    DocumentKind,
    EligibilityCheck,
    EligibilityMethod,
    EligibilityStatus,
    MrnCounter,
    Patient,
    PatientDocument,
    Payer,
    PlanType,
    Priority,
    Relationship,
    SubscriberRelationship,
)
from medoffice.patients.permissions import PatientsPerm

MRN_WIDTH = selectors.MRN_WIDTH
OLDEST_AGE_YEARS = 130


# --- Validation helpers ---------------------------------------------------------------------


def _model_errors(instance: models.Model, *, exclude: list[str] | None = None) -> dict:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return {}


def _raise_if(errors: dict) -> None:
    if errors:
        first_field, first_messages = next(iter(errors.items()))
        message = first_messages[0] if isinstance(first_messages, list) else first_messages
        label = first_field if first_field != "__all__" else "input"
        raise InvalidInput(
            f"{label}: {message}",
            field=first_field,
            errors={k: v if isinstance(v, list) else [v] for k, v in errors.items()},
        )


def _check_known(fields: dict, allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidInput(
            f"{unknown[0]}: not a field that can be set here.",
            errors={name: ["Not a field that can be set here."] for name in unknown},
        )


def _text(value) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


def _money(value: object, field: str, errors: dict) -> Decimal | None:
    """A copay: empty is $0.00; otherwise the project's one money parser, zero allowed."""
    if value is None or value == "":
        return money.ZERO
    try:
        return money.parse_money(value, field=field, minimum=money.ZERO)
    except InvalidInput as exc:
        errors[field] = [exc.message]
        return None


def _date(value, field: str, errors: dict) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    parsed = normalize.parse_date(str(value))
    if parsed is None:
        errors[field] = ["Enter a date such as 03/14/1980 or 1980-03-14."]
    return parsed


def _phone(value, field: str, errors: dict) -> str:
    try:
        return normalize.phone_e164(str(value or ""))
    except ValueError as exc:
        errors[field] = [str(exc)]
        return ""


# --- MRN ------------------------------------------------------------------------------------


def _ensure_counter() -> None:
    """Recreate the counter row if it is missing (the data migration normally made it)."""
    highest = Patient.objects.filter(mrn__regex=rf"^[0-9]{{{MRN_WIDTH}}}$").aggregate(m=Max("mrn"))
    start = int(highest["m"]) if highest["m"] else 0
    try:
        with transaction.atomic():
            MrnCounter.objects.create(pk=1, last_value=start)
    except IntegrityError:
        pass  # someone else created it first


@transaction.atomic
def reserve_mrns(count: int = 1) -> list[str]:
    """Hand out the next `count` MRNs. The counter row is updated before it is read, so the
    row lock (PostgreSQL) or the write transaction (SQLite) makes concurrent callers queue;
    numbers already used (imported records) are skipped."""
    if count < 1:
        raise InvalidInput("count: reserve at least one MRN.", field="count")
    reserved: list[str] = []
    for _ in range(100):
        needed = count - len(reserved)
        if not MrnCounter.objects.filter(pk=1).update(last_value=F("last_value") + needed):
            _ensure_counter()
            MrnCounter.objects.filter(pk=1).update(last_value=F("last_value") + needed)
        last = MrnCounter.objects.values_list("last_value", flat=True).get(pk=1)
        batch = [f"{n:0{MRN_WIDTH}d}" for n in range(last - needed + 1, last + 1)]
        taken = set(Patient.objects.filter(mrn__in=batch).values_list("mrn", flat=True))
        reserved += [mrn for mrn in batch if mrn not in taken]
        if len(reserved) == count:
            return reserved
    raise Conflict("Could not find free MRNs; check the MRN counter.")


def next_mrn() -> str:
    return reserve_mrns(1)[0]


# --- Patients -------------------------------------------------------------------------------

PATIENT_FIELDS = frozenset(
    [
        "first_name",
        "middle_name",
        "last_name",
        "suffix",
        "preferred_name",
        "date_of_birth",
        "sex",
        "phone",
        "phone_type",
        "email",
        "contact_by_sms",
        "contact_by_email",
        "preferred_language",
        "interpreter_needed",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "zip_code",
        "emergency_contact_name",
        "emergency_contact_relationship",
        "emergency_contact_phone",
        "guarantor_relationship",
        "guarantor_patient",
        "guarantor_first_name",
        "guarantor_last_name",
        "guarantor_date_of_birth",
        "guarantor_phone",
        "guarantor_address",
        "notes",
    ]
)
_PHONE_FIELDS = ("phone", "emergency_contact_phone", "guarantor_phone")
_DATE_FIELDS = ("date_of_birth", "guarantor_date_of_birth")
_BOOL_FIELDS = ("contact_by_sms", "contact_by_email", "interpreter_needed")


def _clean_patient_fields(fields: dict, *, patient_pk: int | None = None) -> tuple[dict, dict]:
    """Normalise what a person typed; return (values, errors by field)."""
    _check_known(fields, PATIENT_FIELDS)
    values: dict = {}
    errors: dict = {}
    for name, value in fields.items():
        if name in _PHONE_FIELDS:
            values[name] = _phone(value, name, errors)
        elif name in _DATE_FIELDS:
            values[name] = _date(value, name, errors)
        elif name in _BOOL_FIELDS:
            values[name] = bool(value)
        elif name == "guarantor_patient":
            values[name] = _guarantor_patient(value, errors, patient_pk)
        elif name == "notes":
            values[name] = str(value or "").strip()
        elif name == "state":
            values[name] = _text(value).upper()
        elif name == "email":
            values[name] = _text(value).lower()
        else:
            values[name] = _text(value)
    today = timezone.localdate()
    born = values.get("date_of_birth")
    if born and born > today:
        errors["date_of_birth"] = ["The date of birth cannot be in the future."]
    elif born and born.year < today.year - OLDEST_AGE_YEARS:
        errors["date_of_birth"] = [f"More than {OLDEST_AGE_YEARS} years ago; check the year."]
    return values, errors


def _guarantor_patient(value, errors: dict, patient_pk: int | None) -> Patient | None:
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, Patient) else value
    found = Patient.objects.filter(pk=pk, is_active=True).first() if str(pk).isdigit() else None
    if found is None:
        errors["guarantor_patient"] = ["No active patient with that id."]
    elif patient_pk is not None and found.pk == patient_pk:
        errors["guarantor_patient"] = ["A patient cannot be their own guarantor this way."]
    return found


def _contact_errors(patient: Patient) -> dict:
    errors = {}
    if patient.contact_by_sms and not patient.phone:
        errors["contact_by_sms"] = ["Text reminders need a phone number."]
    if patient.contact_by_email and not patient.email:
        errors["contact_by_email"] = ["Email reminders need an email address."]
    if patient.guarantor_relationship == Relationship.SELF:
        patient.guarantor_patient = None
        patient.guarantor_first_name = patient.guarantor_last_name = ""
        patient.guarantor_date_of_birth = None
        patient.guarantor_phone = patient.guarantor_address = ""
    elif patient.guarantor_patient_id:
        patient.guarantor_first_name = patient.guarantor_last_name = ""
    return errors


def patient_field_errors(*, skip: set[str] | frozenset[str] = frozenset(), **fields) -> dict:
    """Every problem with what was typed, writing nothing: a form that already found some
    errors shows these beside them, so the desk corrects everything in one go. `skip`: the
    fields the form already refused (not checked again)."""
    given = {k: v for k, v in fields.items() if k in PATIENT_FIELDS and k not in skip}
    values, errors = _clean_patient_fields(given)
    patient = Patient(**{k: v for k, v in values.items() if k not in errors})
    unchecked = [
        "mrn",
        *skip,
        *errors,
        *(f.name for f in Patient._meta.fields if f.name not in given),
    ]
    found = {**_contact_errors(patient), **_model_errors(patient, exclude=unchecked), **errors}
    return {field: messages for field, messages in found.items() if field not in skip}


@transaction.atomic
@binds_actor("actor")
def patient_register(*, actor, confirm_not_duplicate: bool = False, **fields) -> Patient:
    """Register a new patient and give them the next MRN.

    Possible duplicates (similar name and same birth date, or same phone) stop the
    registration with PossibleDuplicate unless the user confirmed they are a different person.
    """
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    values, errors = _clean_patient_fields(fields)
    patient = Patient(**values)
    errors = {**_contact_errors(patient), **_model_errors(patient, exclude=["mrn"]), **errors}
    _raise_if(errors)
    candidates = selectors.find_duplicates(
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        phone=patient.phone,
    )
    if candidates and not confirm_not_duplicate:
        raise PossibleDuplicate(candidates)
    for attempt in range(5):
        patient.mrn = next_mrn()
        try:
            with transaction.atomic():
                patient.save(force_insert=True)
            break
        except IntegrityError:
            if attempt == 4 or Patient.objects.filter(mrn=patient.mrn).exists() is False:
                raise
            patient.pk = None
            patient._state.adding = True
    if candidates:
        audit.record(
            AuditAction.CREATE,
            obj=patient,
            reason="registered after confirming this is not an existing patient",
            changes={
                "possible_duplicates": [
                    {"id": c.patient.pk, "mrn": c.patient.mrn, "why": list(c.reasons)}
                    for c in candidates
                ]
            },
        )
    return patient


@transaction.atomic
@binds_actor("actor")
def patient_update(*, actor, patient: Patient, **fields) -> Patient:
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.merged_into_id:
        raise InvalidTransition(
            f"This record was merged into MRN {patient.merged_into.mrn}; edit that record."
        )
    values, errors = _clean_patient_fields(fields, patient_pk=patient.pk)
    for name, value in values.items():
        setattr(patient, name, value)
    errors = {**_contact_errors(patient), **_model_errors(patient), **errors}
    _raise_if(errors)
    patient.save()
    return patient


@transaction.atomic
@binds_actor("actor")
def patient_set_active(*, actor, patient: Patient, active: bool, reason: str = "") -> Patient:
    """Deactivate (moved away, deceased, discharged) or reactivate a patient."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.merged_into_id and active:
        raise InvalidTransition("A merged record cannot be reactivated.")
    if not active and not reason.strip():
        raise InvalidInput("reason: say why the patient is made inactive.", field="reason")
    patient.is_active = active
    patient.save(update_fields=["is_active", "updated_at"])
    if reason.strip():
        audit.record(AuditAction.UPDATE, obj=patient, reason=reason.strip(),
                     changes={"is_active": active})  # fmt: skip
    return patient


# --- Payers -------------------------------------------------------------------------------

PAYER_FIELDS = frozenset(
    [
        "name",
        "payer_id",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "zip_code",
        "phone",
        "timely_filing_days",
        "plan_type",
        "requires_referral",
        "is_active",
    ]
)


@transaction.atomic
@binds_actor("actor")
def payer_save(*, actor, payer: Payer | None = None, **fields) -> Payer:
    """Create or change a payer; an HMO requires referrals unless told otherwise."""
    if actor is not None:
        require_perm(actor, PatientsPerm.MANAGE_PAYERS)
    _check_known(fields, PAYER_FIELDS)
    errors: dict = {}
    creating = payer is None
    payer = payer or Payer()
    for name, value in fields.items():
        if name == "phone":
            value = _phone(value, name, errors)
        elif name in ("requires_referral", "is_active"):
            value = bool(value)
        elif name == "timely_filing_days":
            try:
                value = int(value)
            except (TypeError, ValueError):
                errors[name] = ["Enter a number of days."]
                continue
        elif name in ("state", "payer_id"):
            value = _text(value).upper()
        else:
            value = _text(value)
        setattr(payer, name, value)
    if creating and "requires_referral" not in fields:
        payer.requires_referral = payer.plan_type == PlanType.HMO
    if payer.timely_filing_days is not None and not 1 <= payer.timely_filing_days <= 3650:
        errors["timely_filing_days"] = ["Between 1 and 3650 days."]
    _raise_if({**_model_errors(payer), **errors})
    payer.save()
    return payer


# --- Coverages ------------------------------------------------------------------------------

COVERAGE_FIELDS = frozenset(
    [
        "payer",
        "plan_name",
        "member_id",
        "group_number",
        "subscriber_relationship",
        "subscriber_first_name",
        "subscriber_last_name",
        "subscriber_date_of_birth",
        "subscriber_sex",
        "effective_date",
        "end_date",
        "priority",
        "copay",
        "specialist_copay",
    ]
)


def _apply_coverage_fields(coverage: Coverage, fields: dict) -> dict:
    _check_known(fields, COVERAGE_FIELDS)
    errors: dict = {}
    for name, value in fields.items():
        if name == "payer":
            pk = value.pk if isinstance(value, Payer) else value
            found = Payer.objects.filter(pk=pk).first() if str(pk or "").isdigit() else None
            if found is None:
                errors["payer"] = ["Choose a payer from the directory."]
            elif not found.is_active and found.pk != coverage.payer_id:
                errors["payer"] = ["This payer is no longer active."]
            else:
                coverage.payer = found
        elif name in ("copay", "specialist_copay"):
            amount = _money(value, name, errors)
            if amount is not None:
                setattr(coverage, name, amount)
        elif name in ("effective_date", "end_date", "subscriber_date_of_birth"):
            setattr(coverage, name, _date(value, name, errors))
        elif name == "priority":
            try:
                coverage.priority = int(value)
            except (TypeError, ValueError):
                errors["priority"] = ["Choose primary, secondary or tertiary."]
            else:
                if coverage.priority not in Priority.values:
                    errors["priority"] = ["Choose primary, secondary or tertiary."]
        elif name in ("member_id", "group_number"):
            setattr(coverage, name, _text(value).upper())
        else:
            setattr(coverage, name, _text(value))
    if coverage.subscriber_relationship == SubscriberRelationship.SELF:
        coverage.subscriber_first_name = coverage.subscriber_last_name = ""
        coverage.subscriber_date_of_birth = None
        coverage.subscriber_sex = ""
    return errors


def _overlapping(coverage: Coverage):
    """Active coverages of the same patient and priority whose dates overlap this one's."""
    others = Coverage.objects.filter(
        patient_id=coverage.patient_id, priority=coverage.priority, is_active=True
    ).exclude(pk=coverage.pk)
    others = others.filter(Q(end_date__isnull=True) | Q(end_date__gte=coverage.effective_date))
    if coverage.end_date:
        others = others.filter(effective_date__lte=coverage.end_date)
    return others.select_related("payer")


def _resolve_overlaps(coverage: Coverage, *, replace_existing: bool) -> None:
    for other in _overlapping(coverage):
        label = Priority(coverage.priority).label.lower()
        if replace_existing and other.effective_date < coverage.effective_date:
            other.end_date = coverage.effective_date - timedelta(days=1)
            other.save(update_fields=["end_date"])
            continue
        raise Conflict(
            f"priority: the patient already has a {label} coverage in force on these dates "
            f"({other.payer.name}, member {other.member_id}, from {other.effective_date:%m/%d/%Y}"
            f"{' to ' + format(other.end_date, '%m/%d/%Y') if other.end_date else ''}). "
            "End it first, or replace it.",
            field="priority",
        )


def _locked_patient(patient: Patient) -> Patient:
    locked = Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if locked is None:
        raise NotFound("No such patient.")
    if locked.merged_into_id:
        raise InvalidTransition("This record was merged; add coverage to the surviving record.")
    return locked


@transaction.atomic
@binds_actor("actor")
def coverage_add(*, actor, patient: Patient, replace_existing: bool = False, **fields) -> Coverage:
    """Add a coverage. With replace_existing an older coverage at the same priority is ended
    the day before this one starts; otherwise an overlap is refused."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    patient = _locked_patient(patient)
    coverage = Coverage(patient=patient, created_by=actor)
    errors = _apply_coverage_fields(coverage, fields)
    if "payer" not in fields:
        errors.setdefault("payer", ["Choose a payer from the directory."])
    _raise_if({**_model_errors(coverage, exclude=["patient", "created_by"]), **errors})
    _resolve_overlaps(coverage, replace_existing=replace_existing)
    _raise_if(_model_errors(coverage, exclude=["created_by"]))
    coverage.save()
    return coverage


@transaction.atomic
@binds_actor("actor")
def coverage_update(*, actor, coverage: Coverage, **fields) -> Coverage:
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    _locked_patient(coverage.patient)
    coverage = Coverage.objects.select_for_update().get(pk=coverage.pk)
    if not coverage.is_active:
        raise InvalidTransition("This coverage was withdrawn and cannot be changed.")
    errors = _apply_coverage_fields(coverage, fields)
    _raise_if({**_model_errors(coverage, exclude=["created_by"]), **errors})
    _resolve_overlaps(coverage, replace_existing=False)
    coverage.save()
    return coverage


@transaction.atomic
@binds_actor("actor")
def coverage_end(*, actor, coverage: Coverage, end_date: date) -> Coverage:
    """End a coverage on a day (inclusive); it is not offered for visits after that day."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    coverage = Coverage.objects.select_for_update().get(pk=coverage.pk)
    if not coverage.is_active:
        raise InvalidTransition("This coverage was withdrawn.")
    errors: dict = {}
    end = _date(end_date, "end_date", errors)
    if end is None and not errors:
        errors["end_date"] = ["Give the last day of coverage."]
    _raise_if(errors)
    if end < coverage.effective_date:
        raise InvalidInput(
            f"end_date: cannot be before the effective date {coverage.effective_date:%m/%d/%Y}.",
            field="end_date",
        )
    coverage.end_date = end
    coverage.save(update_fields=["end_date"])
    return coverage


@transaction.atomic
@binds_actor("actor")
def coverage_withdraw(*, actor, coverage: Coverage, reason: str) -> Coverage:
    """Withdraw a coverage entered in error; it stays on record, inactive."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    if not (reason or "").strip():
        raise InvalidInput("reason: say why the coverage is withdrawn.", field="reason")
    coverage = Coverage.objects.select_for_update().get(pk=coverage.pk)
    coverage.is_active = False
    coverage.save(update_fields=["is_active"])
    audit.record(AuditAction.UPDATE, obj=coverage, reason=reason.strip(),
                 changes={"withdrawn": True})  # fmt: skip
    return coverage


@transaction.atomic
@binds_actor("checked_by")
def eligibility_record(
    *,
    coverage: Coverage,
    status: str,
    checked_by=None,
    method: str = EligibilityMethod.MANUAL,
    service_date: date | str | None = None,
    reference: str = "",
    copay_reported: Decimal | None = None,
    note: str = "",
    checked_at=None,
) -> EligibilityCheck:
    """Record one eligibility check: by a person (manual) or from a 271 response (no person)."""
    if checked_by is not None:
        require_perm(checked_by, PatientsPerm.EDIT_PATIENTS)
    errors: dict = {}
    if status not in EligibilityStatus.values:
        errors["status"] = ["Choose active, inactive or unknown."]
    if method not in EligibilityMethod.values:
        errors["method"] = ["Choose manual or x12_271."]
    if method == EligibilityMethod.MANUAL and checked_by is None:
        errors["checked_by"] = ["A manual check names who made it."]
    service_day = _date(service_date, "service_date", errors)
    amount = None
    if copay_reported not in (None, ""):
        amount = _money(copay_reported, "copay_reported", errors)
    _raise_if(errors)
    check = EligibilityCheck(
        coverage=coverage,
        checked_at=checked_at or timezone.now(),
        checked_by=checked_by,
        service_date=service_day or timezone.localdate(),
        method=method,
        status=status,
        reference=_text(reference)[:60],
        copay_reported=amount,
        note=str(note or "").strip(),
    )
    _raise_if(_model_errors(check))
    check.save()
    return check


# --- Authorizations --------------------------------------------------------------------------

AUTHORIZATION_FIELDS = frozenset(
    [
        "coverage",
        "kind",
        "number",
        "referring_provider_name",
        "referring_provider_npi",
        "valid_from",
        "valid_to",
        "visits_allowed",
        "visits_used",
        "notes",
        "is_active",
    ]
)


@transaction.atomic
@binds_actor("actor")
def authorization_save(
    *, actor, patient: Patient, authorization: Authorization | None = None, **fields
) -> Authorization:
    """Record or change a referral or prior authorization."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    _check_known(fields, AUTHORIZATION_FIELDS)
    patient = _locked_patient(patient)
    if authorization is not None:
        authorization = Authorization.objects.select_for_update().get(pk=authorization.pk)
        if authorization.patient_id != patient.pk:
            raise InvalidInput("This authorization belongs to another patient.", field="patient")
    authorization = authorization or Authorization(patient=patient)
    errors: dict = {}
    for name, value in fields.items():
        if name == "coverage":
            pk = value.pk if isinstance(value, Coverage) else value
            if pk in (None, ""):
                authorization.coverage = None
                continue
            found = (
                Coverage.objects.filter(pk=pk, patient=patient).first()
                if str(pk).isdigit()
                else None
            )
            if found is None:
                errors["coverage"] = ["Choose one of this patient's coverages."]
            authorization.coverage = found
        elif name in ("valid_from", "valid_to"):
            setattr(authorization, name, _date(value, name, errors))
        elif name in ("visits_allowed", "visits_used"):
            if value in (None, ""):
                value = None if name == "visits_allowed" else 0
            else:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    errors[name] = ["Enter a whole number."]
                    continue
                if value < 0:
                    errors[name] = ["Must not be negative."]
                    continue
            setattr(authorization, name, value)
        elif name == "is_active":
            authorization.is_active = bool(value)
        elif name == "notes":
            authorization.notes = str(value or "").strip()
        else:
            setattr(authorization, name, _text(value))
    if authorization.kind and authorization.kind not in AuthorizationKind.values:
        errors["kind"] = ["Choose referral or prior authorization."]
    npi = authorization.referring_provider_npi
    if npi:
        from medoffice.core.validators import npi_is_valid

        if not npi_is_valid(npi):
            errors["referring_provider_npi"] = ["Not a valid NPI (10 digits, check digit)."]
    _raise_if({**_model_errors(authorization), **errors})
    authorization.save()
    return authorization


@transaction.atomic
def authorization_use_visit(*, authorization: Authorization) -> Authorization:
    """Count one visit against an authorization; refused when none are left."""
    authorization = Authorization.objects.select_for_update().get(pk=authorization.pk)
    if (
        authorization.visits_allowed is not None
        and authorization.visits_used >= authorization.visits_allowed
    ):
        raise Conflict(
            f"Authorization {authorization.number or authorization.pk} has no visits left.",
            field="authorization",
        )
    authorization.visits_used += 1
    authorization.save(update_fields=["visits_used"])
    return authorization


@transaction.atomic
def authorization_release_visit(*, authorization: Authorization) -> Authorization:
    """Give back a visit counted for an appointment that did not happen."""
    authorization = Authorization.objects.select_for_update().get(pk=authorization.pk)
    if authorization.visits_used > 0:
        authorization.visits_used -= 1
        authorization.save(update_fields=["visits_used"])
    return authorization


# --- Documents ----------------------------------------------------------------------------------

DOCUMENT_TYPES = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "image/tiff": ("tif", "tiff"),
}


def max_document_bytes() -> int:
    return int(getattr(settings, "MEDOFFICE_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024))


def sniff_content_type(head: bytes) -> str | None:
    """The type of a file from its first bytes (its signature), whatever its name says."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    return None


def _content_errors(upload, content_type: str) -> str | None:
    """Look past the signature: images must open, a PDF must end like one."""
    upload.seek(0)
    if content_type == "application/pdf":
        size = upload.size
        upload.seek(max(size - 2048, 0))
        tail = upload.read()
        upload.seek(0)
        return None if b"%%EOF" in tail else "The PDF is incomplete or damaged."
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(upload) as image:
            image.verify()
            fmt = (image.format or "").upper()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return "The image cannot be read; it may be damaged or not an image."
    finally:
        upload.seek(0)
    expected = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF"}[content_type]
    return None if fmt == expected else "The image content does not match its type."


@transaction.atomic
@binds_actor("actor")
def document_upload(
    *,
    actor,
    patient: Patient,
    kind: str,
    upload,
    document_date: date | None = None,
    description: str = "",
) -> PatientDocument:
    """Store a scan through the storage API; PDF, JPEG, PNG or TIFF by content, size-limited."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    patient = _locked_patient(patient)
    errors: dict = {}
    if kind not in DocumentKind.values:
        errors["kind"] = ["Choose the kind of document."]
    limit = max_document_bytes()
    content_type = None
    if upload is None or not getattr(upload, "size", 0):
        errors["file"] = ["Choose a file to upload; it is empty or missing."]
    elif upload.size > limit:
        errors["file"] = [
            f"The file is {upload.size / 1048576:.1f} MB; the limit is {limit / 1048576:.0f} MB."
        ]
    else:
        upload.seek(0)
        content_type = sniff_content_type(upload.read(16))
        upload.seek(0)
        suffix = PurePosixPath(upload.name or "").suffix.lower().lstrip(".")
        if content_type is None:
            errors["file"] = [
                "Only PDF, JPEG, PNG or TIFF files; this file's content is none of them."
            ]
        elif suffix and suffix not in DOCUMENT_TYPES[content_type]:
            errors["file"] = [
                f"The file is named .{suffix} but its content is {content_type}; "
                "rename it or upload the right file."
            ]
        else:
            problem = _content_errors(upload, content_type)
            if problem:
                errors["file"] = [problem]
    document_date = _date(document_date, "document_date", errors) or timezone.localdate()
    _raise_if(errors)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    document = PatientDocument(
        patient=patient,
        kind=kind,
        original_name=PurePosixPath(upload.name or "scan").name[:200],
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        document_date=document_date,
        description=_text(description)[:200],
        uploaded_by=actor,
    )
    extension = DOCUMENT_TYPES[content_type][0]
    document.file.save(f"scan.{extension}", upload, save=False)
    try:
        _raise_if(_model_errors(document, exclude=["uploaded_by"]))
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@binds_actor("user")
def document_download(*, user, document: PatientDocument) -> PatientDocument:
    """Record that a user is opening a stored document (the caller streams it)."""
    audit.record(
        AuditAction.DOWNLOAD,
        obj=document,
        changes={"file": document.file.name, "sha256": document.sha256},
    )
    return document


@transaction.atomic
@binds_actor("actor")
def document_delete(*, actor, document: PatientDocument, reason: str) -> None:
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    if not (reason or "").strip():
        raise InvalidInput("reason: say why the document is removed.", field="reason")
    name = document.file.name
    audit.record(AuditAction.DELETE, obj=document, reason=reason.strip(),
                 changes={"file": name})  # fmt: skip
    document.delete()
    transaction.on_commit(lambda: document.file.storage.delete(name))


# --- Merging duplicate records -------------------------------------------------------------------


def _references_to_patient():
    """Every (model, fk field) that points at Patient, found from Patient._meta.related_objects:
    foreign keys and one-to-ones of any app, and the through tables of many-to-manys."""
    found = []
    for relation in Patient._meta.related_objects:
        if relation.many_to_many:
            through = relation.through
            for field in through._meta.fields:
                if field.is_relation and field.related_model is Patient:
                    found.append((through, field, True))
        else:
            found.append((relation.related_model, relation.field, False))
    return found


def _unique_sets(model, field) -> list[tuple[tuple[str, ...], Q | None]]:
    """The unique column sets of a model that include the given foreign key."""
    sets: list[tuple[tuple[str, ...], Q | None]] = []
    if field.unique:
        sets.append(((field.name,), None))
    for together in model._meta.unique_together:
        if field.name in together:
            sets.append((tuple(together), None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and field.name in constraint.fields:
            sets.append((tuple(constraint.fields), constraint.condition))
    return sets


def _collisions(model, field, survivor: Patient, duplicate: Patient) -> list:
    """Rows of the duplicate that would break a unique rule once moved to the survivor."""
    clashing = []
    for names, condition in _unique_sets(model, field):
        others = [n for n in names if n != field.name]
        mine = model._default_manager.filter(**{field.name: duplicate})
        theirs = model._default_manager.filter(**{field.name: survivor})
        if condition is not None:
            mine, theirs = mine.filter(condition), theirs.filter(condition)
        attnames = [model._meta.get_field(n).attname for n in others]
        existing = set(theirs.values_list(*attnames)) if attnames else (
            {()} if theirs.exists() else set()
        )  # fmt: skip
        if not existing:
            continue
        for row in mine.values("pk", *attnames):
            if tuple(row[a] for a in attnames) in existing:
                clashing.append((row["pk"], names))
    return clashing


@transaction.atomic
@binds_actor("actor")
def patient_merge(*, actor, survivor: Patient, duplicate: Patient, reason: str = "") -> dict:
    """Move every record of the duplicate to the survivor and retire the duplicate.

    Works over Patient._meta.related_objects, so appointments, payments and the records of
    apps added later move too. Where a unique rule would break: a many-to-many link the
    survivor already has is dropped, an open coverage at a priority the survivor already
    holds is withdrawn; any other clash stops the merge with a Conflict naming the record.
    Returns what moved ({"app.model.field": [ids]}), which is also written to the audit trail.
    """
    if actor is not None:
        require_perm(actor, PatientsPerm.MERGE_PATIENTS)
    if survivor.pk == duplicate.pk:
        raise InvalidInput("duplicate: choose two different records.", field="duplicate")
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update()
        .filter(pk__in=[survivor.pk, duplicate.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise NotFound("One of the records no longer exists.")
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if duplicate.merged_into_id:
        raise InvalidTransition(f"MRN {duplicate.mrn} was already merged.")
    if survivor.merged_into_id:
        raise InvalidTransition(f"MRN {survivor.mrn} was merged itself; merge into its survivor.")

    moved: dict[str, list] = {}
    dropped: dict[str, list] = {}
    withdrawn = []
    # Our own rule: one open coverage per priority. Withdraw the duplicate's clashing ones.
    held = set(
        Coverage.objects.filter(
            patient=survivor, is_active=True, end_date__isnull=True
        ).values_list("priority", flat=True)
    )
    for coverage in Coverage.objects.filter(
        patient=duplicate, is_active=True, end_date__isnull=True, priority__in=held
    ):
        coverage.is_active = False
        coverage.save(update_fields=["is_active"])
        withdrawn.append(coverage.pk)

    for model, field, is_through in _references_to_patient():
        label = f"{model._meta.label_lower}.{field.name}"
        rows = model._default_manager.filter(**{field.name: duplicate})
        if model is Patient:
            rows = rows.exclude(pk__in=[survivor.pk, duplicate.pk])
        clashes = _collisions(model, field, survivor, duplicate)
        if clashes:
            if is_through:
                ids = [pk for pk, _ in clashes]
                model._default_manager.filter(pk__in=ids).delete()
                dropped[label] = ids
            else:
                pk, names = clashes[0]
                raise Conflict(
                    f"Cannot merge: {model._meta.verbose_name} #{pk} of MRN {duplicate.mrn} "
                    f"clashes with the survivor's on {', '.join(names)}. Resolve it first.",
                    field="duplicate",
                )
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        try:
            with transaction.atomic():
                model._default_manager.filter(pk__in=ids).update(**{field.name: survivor})
        except IntegrityError as exc:
            raise Conflict(
                f"Cannot merge: moving {model._meta.verbose_name_plural} breaks a rule ({exc}).",
                field="duplicate",
            ) from exc
        moved[label] = ids

    # The survivor's own pointers at the duplicate (e.g. the duplicate was its guarantor).
    if survivor.guarantor_patient_id == duplicate.pk:
        survivor.guarantor_patient = None
        survivor.guarantor_relationship = Relationship.SELF
        survivor.save(update_fields=["guarantor_patient", "guarantor_relationship", "updated_at"])
        moved.setdefault("patients.patient.guarantor_patient", []).append(survivor.pk)
    # Fill the survivor's empty contact fields from the duplicate.
    filled = {}
    for name in ("phone", "email", "address_line1", "address_line2", "city", "state", "zip_code",
                 "emergency_contact_name", "emergency_contact_relationship",
                 "emergency_contact_phone", "middle_name"):  # fmt: skip
        if not getattr(survivor, name) and getattr(duplicate, name):
            setattr(survivor, name, getattr(duplicate, name))
            filled[name] = getattr(duplicate, name)
    if filled:
        survivor.save()

    duplicate.merged_into = survivor
    duplicate.merged_at = timezone.now()
    duplicate.is_active = False
    if duplicate.guarantor_patient_id == survivor.pk:
        duplicate.guarantor_patient = None
        duplicate.guarantor_relationship = Relationship.SELF
    duplicate.save()

    summary = {
        "survivor": {"id": survivor.pk, "mrn": survivor.mrn},
        "duplicate": {"id": duplicate.pk, "mrn": duplicate.mrn},
        "moved": moved,
        "dropped_duplicate_links": dropped,
        "withdrawn_coverages": withdrawn,
        "filled_fields": sorted(filled),
    }
    note = (reason or "").strip() or "duplicate record merged"
    audit.record(AuditAction.UPDATE, obj=survivor, reason=note, changes={"merge": summary})
    audit.record(AuditAction.UPDATE, obj=duplicate, reason=note, changes={"merge": summary})
    return summary
