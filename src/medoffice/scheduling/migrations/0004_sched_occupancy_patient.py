# The patient's column on the occupancy cells (schema only; filled by 0005, made unique by 0006).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_mrn_counter_row"),
        ("scheduling", "0003_drop_rescheduled_from"),
    ]

    operations = [
        migrations.AddField(
            model_name="occupancy",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="occupancy_cells",
                to="patients.patient",
            ),
        ),
    ]
