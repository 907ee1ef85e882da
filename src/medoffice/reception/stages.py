"""The schedule shows where each visit stands, as the flow board does."""

from __future__ import annotations

from medoffice.reception.models import Stage, Visit
from medoffice.scheduling.grid import register_stage_source

SHOWN = {Stage.ARRIVED, Stage.ROOMED, Stage.WITH_PROVIDER, Stage.CHECKED_OUT}


def visit_stages(appointment_ids: list[int]) -> dict[int, str]:
    """{appointment id: "Roomed (Room 2)" …} for the visits of these appointments, one query."""
    rows = Visit.objects.filter(appointment_id__in=appointment_ids).values_list(
        "appointment_id", "stage", "room__name"
    )
    labels = dict(Stage.choices)
    words = {}
    for appointment_id, stage, room in rows:
        if stage in SHOWN:
            text = str(labels.get(stage, stage))
            words[appointment_id] = (
                f"{text} ({room})" if room and stage != Stage.CHECKED_OUT else text
            )
    return words


def register() -> None:
    register_stage_source(visit_stages)
