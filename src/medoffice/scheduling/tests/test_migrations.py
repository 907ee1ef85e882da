"""Migration 0005 fills the patient on existing cells and copes with overlapping pairs.

Overlaps written before the patient rule existed: the first booked keeps the patient's
cells, the later keeps its provider and room cells with no patient on the shared ones, both
appointments stay as they were, and the migration lists the later ones.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from medoffice.scheduling import selectors
from medoffice.scheduling.models import Appointment, Occupancy
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("scheduling", "0004_sched_occupancy_patient")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_fill_keeps_the_first_booking_and_reports_the_rest(clinic, capsys):
    _migrate(BEFORE)  # the patient column exists, the unique rule not yet
    try:
        start = at(workday(), "10:00")
        mine = dict(patient=clinic.patient, location=clinic.location,
                    appointment_type=clinic.follow_up)  # fmt: skip
        first = sf.appointment(provider=clinic.provider, start=start, **mine)
        # 10:10-10:30 with another provider: shares 10:10-10:20 with the first.
        later = sf.appointment(
            provider=clinic.other_provider, start=start + timedelta(minutes=10), **mine
        )
        alone = sf.appointment(provider=clinic.provider, start=start + timedelta(hours=2), **mine)
        other = sf.appointment(
            patient=pf.patient(), provider=clinic.other_provider, location=clinic.location,
            appointment_type=clinic.follow_up, start=start + timedelta(hours=1),
        )  # fmt: skip
        Occupancy.objects.update(patient=None)  # as the cells were written before 0004
        appointments_before = sorted(Appointment.objects.values_list("pk", "status", "start"))
        cells_before = Occupancy.objects.count()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    report = capsys.readouterr().out
    assert f"{later.pk} -> {first.pk}" in report
    assert "1 appointment(s) overlap" in report
    assert sorted(Appointment.objects.values_list("pk", "status", "start")) == appointments_before
    assert Occupancy.objects.count() == cells_before  # no cell lost

    def patients(appointment):
        return list(
            Occupancy.objects.filter(appointment=appointment)
            .order_by("cell")
            .values_list("patient_id", flat=True)
        )

    p = clinic.patient.pk
    assert patients(first) == [p, p, p, p]
    assert patients(later) == [None, None, p, p]  # 10:10 and 10:15 stay with the first
    assert patients(alone) == [p, p, p, p]
    assert patients(other) == [other.patient_id] * 4
    assert list(selectors.patient_double_bookings()) == [later]
