"""What claims adds to the patient record: the recent visits to code, with "Code visit"."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from medoffice.claims.permissions import ClaimsPerm
from medoffice.claims.selectors import visits_to_code
from medoffice.core.access import has_any_perm
from medoffice.core.modules import is_enabled
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


def register() -> None:
    register_panels(_panels)
