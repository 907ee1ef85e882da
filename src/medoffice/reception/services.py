"""Every write of the front desk: check-in, the patient's way through the office, check-out,
forms signed and payments taken. Each service is one transaction: on any error nothing of it
is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from medoffice.core.access import has_any_perm, require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    NotPermitted,
)
from medoffice.core.models import Location, User
from medoffice.core.permissions import Perm
from medoffice.core.selectors import practice_time_zone
from medoffice.core.services import full_clean_or_raise
from medoffice.reception.exceptions import IllegalStageTransition
from medoffice.reception.models import (
    STAGE_TIME_FIELD,
    STAGE_TRANSITIONS,
    FormType,
    Payment,
    SignedForm,
    Stage,
    Visit,
)
from medoffice.reception.payments import (
    CleanPayment,
    PaymentInput,
    clean_payment,
    in_words,
    looks_like_card_number,
    next_receipt_number,
)
from medoffice.reception.permissions import ReceptionPerm
from medoffice.reception.selectors import local_today, practice_zone
from medoffice.scheduling.permissions import SchedulingPerm

if TYPE_CHECKING:
    from medoffice.patients.models import EligibilityCheck, Patient
    from medoffice.scheduling.models import Appointment, Room

ELIGIBILITY_STATUSES = ("active", "inactive", "unknown")

# --- Payments -----------------------------------------------------------------------------


def _refuse_merged(patient: Patient) -> None:
    if patient.merged_into is not None:
        raise InvalidInput(
            f"This record was merged into MRN {patient.merged_into.mrn}; use that record.",
            field="patient",
        )


def _write_payment(
    *,
    patient: Patient,
    clean: CleanPayment,
    received_by: User,
    visit: Visit | None,
    location: Location | None,
    now: datetime,
) -> Payment:
    payment = Payment(
        patient=patient,
        visit=visit,
        amount=clean.amount,
        method=clean.method,
        reference=clean.reference,
        note=clean.note,
        received_at=now,
        received_by=received_by,
        location=location,
        receipt_number=next_receipt_number(now, practice_time_zone()),
    )
    full_clean_or_raise(payment, exclude=["receipt_number"])
    payment.save(force_insert=True)
    return payment


@transaction.atomic
@binds_actor("received_by")
def payment_record(
    *,
    patient: Patient,
    payment: PaymentInput,
    received_by: User,
    visit: Visit | None = None,
    location: Location | None = None,
    now: datetime | None = None,
) -> Payment:
    """Take a payment at the desk; it gets the next receipt number and credits the account."""
    require_perm(received_by, ReceptionPerm.COLLECT_PAYMENTS)
    _refuse_merged(patient)
    clean = clean_payment(payment)
    if visit is not None and visit.patient_id != patient.pk:
        raise InvalidInput("That visit belongs to another patient.", field="visit")
    if location is None and visit is not None:
        location = visit.appointment.location
    return _write_payment(
        patient=patient,
        clean=clean,
        received_by=received_by,
        visit=visit,
        location=location,
        now=now or timezone.now(),
    )


# --- Forms --------------------------------------------------------------------------------


@transaction.atomic
@binds_actor("actor")
def form_type_save(
    *, actor: User | None, form_type: FormType | None = None, **fields: Any
) -> FormType:
    """Add or change a form the desk collects (manager's setting)."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    form_type = form_type or FormType()
    for name, value in fields.items():
        setattr(form_type, name, value)
    full_clean_or_raise(form_type)
    form_type.save()
    return form_type


def _sign(
    *,
    patient: Patient,
    form_type: FormType,
    recorded_by: User,
    visit: Visit | None,
    now: datetime,
) -> SignedForm:
    signed = SignedForm(
        patient=patient, form_type=form_type, signed_at=now, recorded_by=recorded_by, visit=visit
    )
    signed.save(force_insert=True)
    return signed


@transaction.atomic
@binds_actor("recorded_by")
def form_sign(
    *,
    patient: Patient,
    form_type: FormType,
    recorded_by: User,
    visit: Visit | None = None,
    signed_at: datetime | None = None,
) -> SignedForm:
    """Record that the patient signed a form (today, or at a time given, never in the future)."""
    require_perm(recorded_by, SchedulingPerm.CHECK_IN)
    _refuse_merged(patient)
    now = timezone.now()
    signed_at = signed_at or now
    if signed_at > now:
        raise InvalidInput("A form cannot be signed in the future.", field="signed_at")
    if not form_type.is_active:
        raise InvalidInput(f"{form_type.name} is no longer collected.", field="form_type")
    return _sign(
        patient=patient, form_type=form_type, recorded_by=recorded_by, visit=visit, now=signed_at
    )


# --- Check-in -----------------------------------------------------------------------------


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


def _lock_appointment(appointment_id: int) -> Appointment:
    from medoffice.scheduling.models import Appointment

    try:
        return (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("patient", "location", "appointment_type", "provider")
            .get(pk=appointment_id)
        )
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No appointment with id {appointment_id}.") from None


def _locked_visit(appointment: Appointment) -> Visit | None:
    return Visit.objects.select_for_update().filter(appointment=appointment).first()


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
    from medoffice.patients.selectors import coverages_in_force
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
    for index, entry in enumerate(eligibility):
        key = f"eligibility.{index}"
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


# --- The flow through the office ------------------------------------------------------------


def _visit_for_flow(appointment: Appointment) -> Visit:
    """The visit of an appointment; one checked in on the schedule gets its visit here."""
    visit = _locked_visit(appointment)
    if visit is not None:
        return visit
    if appointment.status == "checked_in" and appointment.checked_in_at:
        visit = Visit(
            appointment=appointment,
            patient=appointment.patient,
            stage=Stage.ARRIVED,
            arrived_at=appointment.checked_in_at,
        )
        visit.save(force_insert=True)
        return visit
    return Visit(appointment=appointment, patient=appointment.patient)  # unsaved, scheduled


def _check_may_move(actor: User | None, appointment: Appointment) -> None:
    """The desk and assistants move anyone; a clinician who sees only their own schedule
    moves only their own patients."""
    if actor is None or has_any_perm(actor, SchedulingPerm.CHECK_IN, SchedulingPerm.VIEW_SCHEDULE):
        return
    if appointment.provider.user_id != actor.pk:
        raise NotPermitted("You can move only your own patients along the board.")


@transaction.atomic
@binds_actor("actor")
def flow_advance(
    *,
    appointment_id: int,
    to_stage: str,
    actor: User,
    room_id: int | str | None = None,
    now: datetime | None = None,
) -> Visit:
    """Move a patient to the next stage (arrived -> roomed -> with provider -> checked out).

    Arriving is check-in and leaving is check-out: those stages go through their services.
    """
    require_perm(actor, SchedulingPerm.CHECK_IN, ReceptionPerm.MOVE_FLOW)
    if to_stage not in Stage.values:
        raise InvalidInput(
            f"Unknown stage {to_stage!r}; choose one of {', '.join(Stage.values)}.", field="stage"
        )
    if to_stage == Stage.CHECKED_OUT:
        return check_out(appointment_id=appointment_id, checked_out_by=actor, now=now)
    now = now or timezone.now()
    appointment = _lock_appointment(appointment_id)
    _check_may_move(actor, appointment)
    visit = _visit_for_flow(appointment)
    if to_stage == Stage.ARRIVED and visit.stage == Stage.SCHEDULED:
        raise IllegalStageTransition(
            visit.stage, to_stage, "Arrival is recorded by checking the patient in."
        )
    if to_stage not in STAGE_TRANSITIONS[visit.stage]:
        raise IllegalStageTransition(
            visit.stage,
            to_stage,
            f"A patient who is {Stage(visit.stage).label.lower()} cannot move to "
            f"{Stage(to_stage).label.lower()}.",
        )
    if to_stage == Stage.ROOMED:
        visit.room = _free_room(appointment, room_id, exclude_visit=visit)
    visit.stage = to_stage
    setattr(visit, STAGE_TIME_FIELD[to_stage], now)
    visit.save()
    return visit


def _free_room(
    appointment: Appointment, room_id: int | str | None, *, exclude_visit: Visit
) -> Room:
    from medoffice.scheduling.models import Room

    if room_id is None or room_id == "":
        raise InvalidInput("Choose the room the patient goes to.", field="room")
    room = (
        Room.objects.select_for_update()
        .filter(pk=room_id, location_id=appointment.location_id, is_active=True)
        .first()
    )
    if room is None:
        raise InvalidInput("Choose a room at this location.", field="room")
    taken = (
        Visit.objects.filter(room=room, stage__in=(Stage.ROOMED, Stage.WITH_PROVIDER))
        .exclude(pk=exclude_visit.pk)
        .exists()
    )
    if taken:
        raise Conflict(f"{room.name} has a patient in it already.", field="room")
    return room


@transaction.atomic
@binds_actor("checked_out_by")
def check_out(*, appointment_id: int, checked_out_by: User, now: datetime | None = None) -> Visit:
    """The patient leaves: the appointment is completed and the visit checked out."""
    from medoffice.scheduling.services import appointment_complete

    require_perm(checked_out_by, SchedulingPerm.CHECK_IN)
    now = now or timezone.now()
    appointment = _lock_appointment(appointment_id)
    visit = _visit_for_flow(appointment)
    if Stage.CHECKED_OUT not in STAGE_TRANSITIONS[visit.stage]:
        raise IllegalStageTransition(
            visit.stage,
            Stage.CHECKED_OUT,
            "Only a patient who has been with the provider can be checked out "
            f"(this one is {Stage(visit.stage).label.lower()}).",
        )
    visit.stage = Stage.CHECKED_OUT
    visit.checked_out_at = now
    visit.checked_out_by = checked_out_by
    visit.save()
    appointment_complete(appointment=appointment, completed_by=checked_out_by)
    return visit
