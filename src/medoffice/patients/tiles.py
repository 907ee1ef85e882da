"""The patients module's dashboard tiles."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from medoffice.core.tile_registry import Tile, TileProvider, register
from medoffice.patients.permissions import PatientsPerm


def _patients(user) -> list[Tile]:
    from medoffice.patients.selectors import dashboard_counts

    counts = dashboard_counts(timezone.localdate())
    search = reverse("patients:search")
    return [
        Tile("New patients, last 30 days", str(counts["new_patients"]), "registered", search,
             section="today"),
        Tile("Coverages ending within 30 days", str(counts["coverages_ending"]),
             "ask for the new card at the next visit", search,
             "warn" if counts["coverages_ending"] else "good", section="today"),
    ]  # fmt: skip


register(TileProvider("patients", (PatientsPerm.VIEW_PATIENTS,), _patients, order=20))
