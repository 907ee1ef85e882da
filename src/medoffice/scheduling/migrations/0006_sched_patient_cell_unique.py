# One patient, one appointment per five-minute cell, enforced by the database.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0005_sched_fill_patient_cells")]

    operations = [
        migrations.AddConstraint(
            model_name="occupancy",
            constraint=models.UniqueConstraint(
                fields=("patient", "cell"), name="occupancy_patient_cell"
            ),
        ),
    ]
