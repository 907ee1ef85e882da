"""Registering and changing patients, and the MRN counter that numbers them."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition
from medoffice.core.models import AuditAction, User
from medoffice.patients import selectors
from medoffice.patients.exceptions import PossibleDuplicate
from medoffice.patients.models import MrnCounter, Patient, Relationship
from medoffice.patients.permissions import PatientsPerm
from medoffice.patients.services._common import (
    Errors,
    _check_known,
    _date,
    _model_errors,
    _phone,
    _raise_if,
    _text,
)

MRN_WIDTH = selectors.MRN_WIDTH
OLDEST_AGE_YEARS = 130


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


def _clean_patient_fields(
    fields: dict[str, Any], *, patient_pk: int | None = None
) -> tuple[dict[str, Any], Errors]:
    """Normalise what a person typed; return (values, errors by field)."""
    _check_known(fields, PATIENT_FIELDS)
    values: dict[str, Any] = {}
    errors: Errors = {}
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


def _guarantor_patient(value: object, errors: Errors, patient_pk: int | None) -> Patient | None:
    if value in (None, ""):
        return None
    pk = str(value.pk if isinstance(value, Patient) else value)
    found = Patient.objects.filter(pk=pk, is_active=True).first() if pk.isdigit() else None
    if found is None:
        errors["guarantor_patient"] = ["No active patient with that id."]
    elif patient_pk is not None and found.pk == patient_pk:
        errors["guarantor_patient"] = ["A patient cannot be their own guarantor this way."]
    return found


def _contact_errors(patient: Patient) -> Errors:
    errors: Errors = {}
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


def patient_field_errors(*, skip: set[str] | frozenset[str] = frozenset(), **fields: Any) -> Errors:
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
def patient_register(
    *, actor: User | None, confirm_not_duplicate: bool = False, **fields: Any
) -> Patient:
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
def patient_update(*, actor: User | None, patient: Patient, **fields: Any) -> Patient:
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.merged_into is not None:
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
def patient_set_active(
    *, actor: User | None, patient: Patient, active: bool, reason: str = ""
) -> Patient:
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
