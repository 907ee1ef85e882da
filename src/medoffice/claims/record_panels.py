"""What claims adds to the patient record: the recent visits to code, with "Code visit", and
each coverage's eligibility with "Check eligibility" (a 270)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from medoffice.claims.eligibility_selectors import coverage_eligibility
from medoffice.claims.permissions import ClaimsPerm
from medoffice.claims.selectors import visits_to_code
from medoffice.core.access import has_any_perm, has_perm
from medoffice.core.modules import is_enabled
from medoffice.patients.models import Coverage
from medoffice.patients.record import RecordPanel, register_panels


def _panels(patient: Any, user: Any) -> list[RecordPanel]:
    if not is_enabled("claims") or not has_any_perm(user, ClaimsPerm.CODE, ClaimsPerm.CODE_OWN):
        return []
    visits = visits_to_code(patient.pk, user)
    if not visits:
        return []
    return [
        RecordPanel(
            key="coding",
            title="Visits to code",
            template="claims/_record_visits.html",
            context={"visits": visits},
            order=35,
            link=("Encounters to code", reverse("claims:encounters")),
        )
    ]


def _eligibility_panels(patient: Any, user: Any) -> list[RecordPanel]:
    """Each active coverage's latest answer (a 271's benefits) and "Check eligibility"."""
    if not is_enabled("claims") or not has_perm(user, ClaimsPerm.CHECK_ELIGIBILITY):
        return []
    coverages = Coverage.objects.filter(patient_id=patient.pk, is_active=True).select_related(
        "payer"
    )
    rows = coverage_eligibility(coverages.order_by("priority", "-effective_date"), user)
    if not rows:
        return []
    return [
        RecordPanel(
            key="eligibility",
            title="Eligibility",
            template="claims/_record_eligibility.html",
            context={"rows": rows, "next": reverse("patients:detail", args=[patient.pk])},
            order=12,
        )
    ]


def register() -> None:
    register_panels(_panels)
    register_panels(_eligibility_panels)
