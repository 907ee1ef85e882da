"""The patient's way through the office: roomed, with the provider, checked out."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from medoffice.core.access import has_any_perm, require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import (
    Conflict,
    InvalidInput,
    NotPermitted,
)
from medoffice.core.models import User
from medoffice.reception.exceptions import IllegalStageTransition
from medoffice.reception.models import (
    STAGE_TIME_FIELD,
    STAGE_TRANSITIONS,
    Stage,
    Visit,
)
from medoffice.reception.permissions import ReceptionPerm
from medoffice.scheduling.permissions import SchedulingPerm

if TYPE_CHECKING:
    from medoffice.scheduling.models import Appointment, Room
from medoffice.reception.services.common import _lock_appointment, _locked_visit


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
