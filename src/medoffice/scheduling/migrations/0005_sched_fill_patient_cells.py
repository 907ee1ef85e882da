# Data only: every existing cell gets its appointment's patient, except where that patient
# already holds the same cell through an earlier booking. Of two appointments of one patient
# that overlap, the first booked (lower id) keeps the cells it shares with the later one; the
# later one keeps its provider and room cells, and its shared cells hold no patient. Nothing is
# cancelled: the overlapping appointments are listed here for the front desk to resolve (and
# afterwards by scheduling.selectors.patient_double_bookings()).

import sys

from django.db import migrations
from django.db.models import Count, Min, OuterRef, Subquery


def fill(apps, schema_editor):
    Occupancy = apps.get_model("scheduling", "Occupancy")
    Appointment = apps.get_model("scheduling", "Appointment")
    db = schema_editor.connection.alias
    cells = Occupancy.objects.using(db)
    cells.update(
        patient_id=Subquery(
            Appointment.objects.using(db).filter(pk=OuterRef("appointment_id")).values("patient_id")[:1]
        )
    )
    clashes = (
        cells.values("patient_id", "cell")
        .annotate(n=Count("pk"), first=Min("appointment_id"))
        .filter(n__gt=1)
        .order_by("patient_id", "cell")
    )
    later: dict[int, int] = {}  # later appointment -> the first one it overlaps
    for clash in clashes.iterator():
        shared = cells.filter(patient_id=clash["patient_id"], cell=clash["cell"]).exclude(
            appointment_id=clash["first"]
        )
        for appointment_id in shared.values_list("appointment_id", flat=True):
            later.setdefault(appointment_id, clash["first"])
        shared.update(patient_id=None)
    if later:
        sys.stdout.write(
            f"\n  {len(later)} appointment(s) overlap an earlier appointment of the same patient. "
            "Both are kept; the earlier holds the patient's time. Resolve them at the front desk "
            "(later appointment id -> earlier appointment id):\n"
        )
        for appointment_id, first in sorted(later.items()):
            sys.stdout.write(f"    {appointment_id} -> {first}\n")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0004_sched_occupancy_patient")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
