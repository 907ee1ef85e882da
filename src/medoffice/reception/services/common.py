"""What several desk services share: refusing a merged record, locking an appointment or a
patient's account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medoffice.core.exceptions import (
    InvalidInput,
    NotFound,
)
from medoffice.reception.models import (
    Visit,
)
from medoffice.reception.payments import looks_like_card_number

if TYPE_CHECKING:
    from medoffice.patients.models import Patient
    from medoffice.scheduling.models import Appointment


def _refuse_merged(patient: Patient) -> None:
    if patient.merged_into is not None:
        raise InvalidInput(
            f"This record was merged into MRN {patient.merged_into.mrn}; use that record.",
            field="patient",
        )


def _lock_patient(patient: Patient) -> None:
    """A patient's refunds and voids wait for each other, so two never give back, or take
    away, the same credit."""
    from medoffice.patients.models import Patient

    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).values_list("pk").first()


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


def _clean_reason(text: str, *, what: str) -> str:
    """The reason a money action is taken, for the record: required, at most 200 characters,
    never a card number. `what` names the action ("the payment is voided")."""
    reason = (text or "").strip()
    if not reason:
        raise InvalidInput(f"reason: say why {what}.", field="reason")
    if len(reason) > 200:
        raise InvalidInput("reason: keep the reason to 200 characters.", field="reason")
    if looks_like_card_number(reason):
        raise InvalidInput("reason: never record a card number.", field="reason")
    return reason
