"""Check-in: the patient is here; what the desk confirmed, signed and collected, in one go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import (
    InvalidInput,
    InvalidTransition,
)
from medoffice.core.models import User
from medoffice.reception.exceptions import IllegalStageTransition
from medoffice.reception.models import (
    FormType,
    Payment,
    SignedForm,
    Stage,
    Visit,
)
from medoffice.reception.payments import (
    PaymentInput,
    clean_payment,
    in_words,
    looks_like_card_number,
)
from medoffice.reception.permissions import ReceptionPerm
from medoffice.reception.selectors import local_today, practice_zone
from medoffice.scheduling.permissions import SchedulingPerm

if TYPE_CHECKING:
    from medoffice.patients.models import EligibilityCheck
from medoffice.reception.services.common import _lock_appointment, _locked_visit, _refuse_merged
from medoffice.reception.services.forms import _sign
from medoffice.reception.services.payments import _write_payment

ELIGIBILITY_STATUSES = ("active", "inactive", "unknown")


@dataclass(frozen=True)
class EligibilityInput:
    """The result of checking one coverage with the payer (phone or portal) at the desk."""

    coverage_id: int
    status: str
    reference: str = ""
    note: str = ""


@dataclass
class CheckInResult:
    visit: Visit
    payment: Payment | None = None
    signed_forms: list[SignedForm] = field(default_factory=list)
    eligibility_checks: list[EligibilityCheck] = field(default_factory=list)


@transaction.atomic
@binds_actor("checked_in_by")
def check_in(
    *,
    appointment_id: int,
    checked_in_by: User,
    demographics_confirmed: bool,
    coverage_confirmed: bool,
    eligibility: Sequence[EligibilityInput] = (),
    forms_signed: Sequence[int] = (),
    copay: PaymentInput | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> CheckInResult:
    """The patient is here: confirm who they are and their insurance, record the payer's answer,
    the forms they signed and the copay they paid, and move them to "arrived".

    All of it is written in one transaction; any error leaves nothing behind.
    """
    from medoffice.patients.selectors import coverages_in_force, latest_eligibility
    from medoffice.patients.services import eligibility_record
    from medoffice.scheduling.services import appointment_check_in

    require_perm(checked_in_by, SchedulingPerm.CHECK_IN)
    if copay is not None:
        require_perm(checked_in_by, ReceptionPerm.COLLECT_PAYMENTS)
    notes = (notes or "").strip()  # here, not in each interface, so page and API agree
    now = now or timezone.now()
    appointment = _lock_appointment(appointment_id)
    patient = appointment.patient
    visit = _locked_visit(appointment)
    current = visit.stage if visit is not None else Stage.SCHEDULED
    # Checked in on the schedule only (no visit yet): the desk completes the check-in here.
    on_schedule_only = appointment.status == "checked_in" and current == Stage.SCHEDULED
    if not (appointment.status == "booked" or on_schedule_only) or current != Stage.SCHEDULED:
        raise IllegalStageTransition(
            current if current != Stage.SCHEDULED else appointment.status,
            Stage.ARRIVED,
            f"This appointment is {appointment.get_status_display().lower()}; "
            "only a booked appointment can be checked in.",
        )
    if appointment.start.astimezone(practice_zone()).date() != local_today(now):
        raise InvalidTransition("Only today's appointments can be checked in.", field="appointment")
    _refuse_merged(patient)

    errors: dict[str, list[str]] = {}
    day = local_today(now)
    in_force = list(coverages_in_force(patient, day))
    if not demographics_confirmed:
        errors["demographics_confirmed"] = [
            "Confirm the patient's name, date of birth, address and phone with them."
        ]
    if in_force and not coverage_confirmed:
        errors["coverage_confirmed"] = ["Confirm the insurance card matches the coverage on file."]
    by_id = {c.pk: c for c in in_force}
    seen: set[int] = set()
    for number, entry in enumerate(eligibility, start=1):
        key = f"eligibility.{number}"  # counted from 1, as every input list is
        if entry.coverage_id not in by_id:
            errors[f"{key}.coverage_id"] = ["That coverage is not in force for this patient."]
        elif entry.coverage_id in seen:
            errors[f"{key}.coverage_id"] = ["Each coverage can be checked once per check-in."]
        seen.add(entry.coverage_id)
        if entry.status not in ELIGIBILITY_STATUSES:
            errors[f"{key}.status"] = ["Choose active, inactive or unknown."]
    form_types = {ft.pk: ft for ft in FormType.objects.filter(pk__in=list(forms_signed))}
    for form_id in forms_signed:
        form_type = form_types.get(form_id)
        if form_type is None or not form_type.is_active:
            errors.setdefault("forms_signed", []).append(f"Unknown form {form_id}.")
    clean = None
    if copay is not None:
        try:
            clean = clean_payment(copay)
        except InvalidInput as exc:
            for name, messages in exc.errors.items():
                errors[f"copay.{name}"] = messages
    if len(notes) > 300:
        errors["notes"] = ["Keep the note to 300 characters."]
    elif looks_like_card_number(notes):
        errors["notes"] = ["Never record a card number in the note."]
    if errors:
        raise InvalidInput(f"Check-in not saved: check the {in_words(errors)}.", errors=errors)

    # Everything is valid: write it all.
    if visit is None:
        visit = Visit(appointment=appointment, patient=patient)
    visit.stage = Stage.ARRIVED
    visit.arrived_at = (appointment.checked_in_at or now) if on_schedule_only else now
    visit.demographics_confirmed = True
    visit.coverage_confirmed = bool(in_force) and coverage_confirmed
    visit.coverage = in_force[0] if in_force else None
    visit.checked_in_by = checked_in_by
    visit.notes = notes
    visit.save()
    if not on_schedule_only:
        appointment_check_in(
            appointment=appointment, checked_in_by=checked_in_by, full_check_in=True
        )

    result = CheckInResult(visit=visit)
    for entry in eligibility:
        check = eligibility_record(
            coverage=by_id[entry.coverage_id],
            status=entry.status,
            method="manual",
            checked_by=checked_in_by,
            reference=entry.reference,
            note=entry.note,
            service_date=day,
            checked_at=now,
        )
        result.eligibility_checks.append(check)
        if visit.coverage is not None and check.coverage_id == visit.coverage.pk:
            visit.eligibility_check = check
    if visit.coverage is not None and not visit.eligibility_check_id:
        # Not checked by hand now: the payer's answer from today (a 271 to the desk's 270, or
        # a check recorded earlier today) is the visit's eligibility.
        earlier = latest_eligibility(visit.coverage)
        if earlier is not None and local_today(earlier.checked_at) == day:
            visit.eligibility_check = earlier
    if visit.eligibility_check_id:
        visit.save(update_fields=["eligibility_check", "updated_at"])
    for form_id in dict.fromkeys(forms_signed):
        result.signed_forms.append(
            _sign(
                patient=patient,
                form_type=form_types[form_id],
                recorded_by=checked_in_by,
                visit=visit,
                now=now,
            )
        )
    if clean is not None:
        result.payment = _write_payment(
            patient=patient,
            clean=clean,
            received_by=checked_in_by,
            visit=visit,
            location=appointment.location,
            now=now,
        )
    return result
