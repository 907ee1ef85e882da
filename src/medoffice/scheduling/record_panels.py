"""What scheduling adds to the patient record: appointments, the waitlist, and Book."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from medoffice.core.access import has_any_perm, has_perm
from medoffice.core.modules import is_enabled
from medoffice.patients.record import (
    RecordAction,
    RecordPanel,
    register_actions,
    register_panels,
)
from medoffice.scheduling import selectors
from medoffice.scheduling.models import AppointmentStatus, WaitlistEntry, WaitlistStatus
from medoffice.scheduling.permissions import SchedulingPerm

PAST_SHOWN = 15


def _panels(patient: Any, user: Any) -> list[RecordPanel]:
    if not is_enabled("scheduling") or not has_any_perm(
        user, SchedulingPerm.VIEW_SCHEDULE, SchedulingPerm.VIEW_OWN_SCHEDULE
    ):
        return []
    now = timezone.now()
    visible = selectors.restrict_to_visible(selectors.patient_appointments(patient), user)
    upcoming = list(
        visible.filter(
            start__gte=now - timedelta(hours=12),
            status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
        ).order_by("start")[:20]
    )
    upcoming_ids = {a.pk for a in upcoming}
    past = [a for a in visible.filter(start__lt=now)[: PAST_SHOWN + 20] if a.pk not in upcoming_ids]
    panels = [
        RecordPanel(
            key="appointments",
            title="Appointments",
            template="scheduling/_record_appointments.html",
            context={
                "upcoming": upcoming,
                "past": past[:PAST_SHOWN],
                "no_shows": selectors.no_show_count(patient),
            },
            order=20,
        )
    ]
    waiting = list(
        WaitlistEntry.objects.filter(patient=patient, status=WaitlistStatus.WAITING)
        .select_related("appointment_type", "provider", "location")
        .order_by("created_at")
    )
    if waiting:
        panels.append(
            RecordPanel(
                key="waitlist",
                title="Waitlist",
                template="scheduling/_record_waitlist.html",
                context={"entries": waiting},
                order=25,
                link=("The waitlist", reverse("scheduling:waitlist")),
            )
        )
    return panels


def _actions(patient: Any, user: Any) -> list[RecordAction]:
    if not is_enabled("scheduling") or not patient.is_active or patient.merged_into_id:
        return []
    actions = []
    if has_perm(user, SchedulingPerm.BOOK_APPOINTMENTS):
        url = reverse("scheduling:book") + "?" + urlencode({"patient": patient.pk})
        actions.append(RecordAction("Book", url, order=10, primary=True))
    return actions


def register() -> None:
    register_panels(_panels)
    register_actions(_actions)
