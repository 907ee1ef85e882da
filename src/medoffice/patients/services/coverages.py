"""Payers, a patient's insurance coverages (one in force per priority), and the
eligibility checks recorded against them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition
from medoffice.core.models import AuditAction, User
from medoffice.core.selectors import practice_time_zone
from medoffice.patients.models import (
    Coverage,
    EligibilityCheck,
    EligibilityMethod,
    EligibilityStatus,
    Patient,
    Payer,
    PlanType,
    Priority,
    SubscriberRelationship,
)
from medoffice.patients.permissions import PatientsPerm
from medoffice.patients.services._common import (
    Errors,
    _check_known,
    _date,
    _locked_patient,
    _model_errors,
    _money,
    _phone,
    _raise_if,
    _text,
)

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
def payer_save(*, actor: User | None, payer: Payer | None = None, **fields: Any) -> Payer:
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


def _apply_coverage_fields(coverage: Coverage, fields: dict[str, Any]) -> Errors:
    _check_known(fields, COVERAGE_FIELDS)
    errors: Errors = {}
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


def _overlapping(coverage: Coverage) -> QuerySet[Coverage]:
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


@transaction.atomic
@binds_actor("actor")
def coverage_add(
    *, actor: User | None, patient: Patient, replace_existing: bool = False, **fields: Any
) -> Coverage:
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
def coverage_update(*, actor: User | None, coverage: Coverage, **fields: Any) -> Coverage:
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
def coverage_end(*, actor: User | None, coverage: Coverage, end_date: date | str) -> Coverage:
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
    assert end is not None  # _raise_if refused a missing day
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
def coverage_withdraw(*, actor: User | None, coverage: Coverage, reason: str) -> Coverage:
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
@binds_actor("actor")
def coverage_copay_from_271(*, actor: User, coverage: Coverage, check_id: int) -> Coverage:
    """Take the office-visit copay the payer's 271 reported onto the coverage: the check must
    be this coverage's latest, and a 271 that gave a copay. Audited with the old and new
    amounts and the 271 named; the same copay already on file changes nothing."""
    require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    _locked_patient(coverage.patient)
    coverage = Coverage.objects.select_for_update().get(pk=coverage.pk)
    if not coverage.is_active:
        raise InvalidTransition("This coverage was withdrawn and cannot be changed.")
    check = EligibilityCheck.objects.filter(pk=check_id, coverage=coverage).first()
    if check is None:
        raise InvalidInput(f"No eligibility check {check_id} of this coverage.", field="check_id")
    if check.method != EligibilityMethod.X12_271 or check.copay_reported is None:
        raise InvalidInput(
            "This eligibility check is not a payer's 271 that gave a copay.", field="check_id"
        )
    latest = EligibilityCheck.objects.filter(coverage=coverage).order_by("-checked_at", "-pk")
    if latest.values_list("pk", flat=True).first() != check.pk:
        raise Conflict(
            "A newer eligibility check is on file for this coverage: look at it first.",
            field="check_id",
        )
    before, after = coverage.copay, check.copay_reported
    if before == after:
        return coverage
    coverage.copay = after
    coverage.save(update_fields=["copay"])
    day = check.checked_at.astimezone(ZoneInfo(practice_time_zone())).date()
    audit.record(
        AuditAction.UPDATE, obj=coverage,
        reason=f"Copay taken from the payer's 271 of {day:%m/%d/%Y}"
        + (f" (trace {check.reference})" if check.reference else ""),
        changes={"copay": [str(before), str(after)]},
    )  # fmt: skip
    return coverage


@transaction.atomic
@binds_actor("checked_by")
def eligibility_record(
    *,
    coverage: Coverage,
    status: str,
    checked_by: User | None = None,
    method: str = EligibilityMethod.MANUAL,
    service_date: date | str | None = None,
    reference: str = "",
    copay_reported: Decimal | None = None,
    note: str = "",
    checked_at: datetime | None = None,
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
