"""Claims' reads, by concern (each section is one part of the app; add yours under its own
header)."""

from __future__ import annotations

import zoneinfo
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from medoffice.claims.models import Encounter, EncounterStatus, ServiceLine
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.access import has_perm
from medoffice.core.exceptions import NotFound, NotPermitted
from medoffice.core.selectors import practice_time_zone
from medoffice.patients.selectors import coverages_in_force

if TYPE_CHECKING:
    from medoffice.core.models import Provider
    from medoffice.patients.models import Coverage


def practice_today() -> date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(practice_time_zone()))


# --- Encounters -------------------------------------------------------------------------------

ENCOUNTERS_SHOWN = 200


def own_provider(user: Any) -> Provider | None:
    """The provider record of a signed-in clinician, if they have one."""
    from medoffice.core.models import Provider

    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Provider.objects.filter(user_id=user.pk).first()


def sees_every_encounter(user: Any) -> bool:
    return has_perm(user, ClaimsPerm.CODE) or has_perm(user, ClaimsPerm.VIEW)


def may_code(user: Any, encounter: Encounter) -> bool:
    """A coder codes any encounter; a clinician only those they rendered."""
    if has_perm(user, ClaimsPerm.CODE):
        return True
    if not has_perm(user, ClaimsPerm.CODE_OWN):
        return False
    return encounter.rendering_provider.user_id is not None and (
        encounter.rendering_provider.user_id == getattr(user, "pk", None)
    )


def encounters_for(user: Any) -> QuerySet[Encounter]:
    """The encounters the user may see: all of them with claims.view or claims.code, their own
    visits for a clinician (claims.code_own), none otherwise."""
    queryset = Encounter.objects.select_related("patient", "rendering_provider", "location")
    if sees_every_encounter(user):
        return queryset
    if has_perm(user, ClaimsPerm.CODE_OWN) and getattr(user, "pk", None) is not None:
        return queryset.filter(rendering_provider__user_id=user.pk)
    return queryset.none()


def encounter_for_user(user: Any, encounter_id: object) -> Encounter:
    """One encounter with its diagnoses and lines, if the user may see it (NotFound, or
    NotPermitted for a clinician's look at another clinician's visit)."""
    found = (
        Encounter.objects.select_related(
            "patient",
            "rendering_provider",
            "supervising_provider",
            "location",
            "appointment",
            "coded_by",
            "finalized_by",
            "charge_entry",
        )
        .prefetch_related(
            "diagnoses", Prefetch("lines", queryset=ServiceLine.objects.order_by("line_number"))
        )
        .filter(pk=encounter_id if str(encounter_id).isdigit() else None)
        .first()
    )
    if found is None:
        raise NotFound(f"No encounter with id {encounter_id}.")
    if not (sees_every_encounter(user) or may_code(user, found)):
        raise NotPermitted(
            "This encounter is another provider's visit: clinicians code their own visits."
        )
    return found


def encounters_to_code(
    user: Any,
    *,
    statuses: tuple[str, ...] = (EncounterStatus.DRAFT, EncounterStatus.CODED),
    provider_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = ENCOUNTERS_SHOWN,
) -> list[Encounter]:
    """The worklist of coding: the encounters in `statuses` the user may see, oldest visit first,
    with how many diagnoses and lines each has (one query)."""
    queryset = encounters_for(user).filter(status__in=statuses)
    if provider_id is not None:
        queryset = queryset.filter(rendering_provider_id=provider_id)
    if since is not None:
        queryset = queryset.filter(date_of_service__gte=since)
    if until is not None:
        queryset = queryset.filter(date_of_service__lte=until)
    queryset = queryset.annotate(
        diagnosis_count=Count("diagnoses", distinct=True),
        line_count=Count("lines", distinct=True),
    ).order_by("date_of_service", "id")
    return list(queryset[:limit])


def responsible_coverage(encounter: Encounter) -> Coverage | None:
    """The coverage billed first for the visit: the patient's coverage in force on the date of
    service with the lowest priority number (the primary); None is self-pay."""
    return coverages_in_force(encounter.patient_id, encounter.date_of_service).first()


def coding_providers() -> QuerySet[Provider]:
    from medoffice.core.models import Provider

    return Provider.objects.filter(
        Q(is_active=True) | Q(rendered_encounters__isnull=False)
    ).distinct()


def diagnosis_options(text: str, limit: int = 15) -> list[tuple[str, str, bool]]:
    """(code, description, billable) of the ICD-10-CM codes matching what is typed."""
    from medoffice.coding.selectors import icd10_search

    return [(found.code, found.description, found.billable) for found in icd10_search(text, limit)]


def procedure_options(text: str, day: date | None = None, limit: int = 15) -> list[tuple[str, str]]:
    """(code, description) of the procedure codes matching what is typed (those active on
    `day` when given)."""
    from medoffice.coding.selectors import procedure_search

    found = procedure_search(text, limit * 2 if day else limit)
    rows = [
        proc
        for proc in found
        if day is None
        or (
            (proc.effective_date is None or proc.effective_date <= day)
            and (proc.termination_date is None or proc.termination_date >= day)
        )
    ]
    return [(proc.code, proc.short_description or proc.long_description[:100]) for proc in rows][
        :limit
    ]


VISITS_SHOWN = 10


def visits_to_code(patient_id: int, user: Any, *, days: int = 90) -> list[tuple[Any, Any]]:
    """The patient's recent visits (checked in or completed, the last `days` days) the user may
    code, newest first, each with its encounter or None (two queries)."""
    from datetime import timedelta

    from medoffice.scheduling.models import Appointment, AppointmentStatus

    visits = Appointment.objects.filter(
        patient_id=patient_id,
        status__in=(AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED),
        start__gte=timezone.now() - timedelta(days=days),
    ).select_related("provider", "location")
    if not has_perm(user, ClaimsPerm.CODE):
        visits = visits.filter(provider__user_id=getattr(user, "pk", None))
    rows = list(visits.order_by("-start")[:VISITS_SHOWN])
    encounters = {
        e.appointment_id: e
        for e in Encounter.objects.filter(appointment_id__in=[a.pk for a in rows])
    }
    return [(visit, encounters.get(visit.pk)) for visit in rows]
