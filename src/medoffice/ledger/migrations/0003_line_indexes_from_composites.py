"""Lines lose their single-column indexes on account and patient (the composite indexes start
with them), and the guards are installed again, each check now reading an entry's lines in
one pass (the SQL frozen in `_guards_0003`).

SQLite rebuilds the line table to drop an index, and its triggers name that table, so the
guards are lifted for the rebuild and installed again after it.
"""

import django.db.models.deletion
from django.db import migrations, models

from medoffice.ledger.migrations._guards_0003 import install_guards, remove_guards


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_guards_chart_and_roles"),
        ("patients", "0002_mrn_counter_row"),
    ]

    operations = [
        migrations.RunPython(remove_guards, install_guards),
        migrations.AlterField(
            model_name="journalline",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lines",
                to="ledger.account",
            ),
        ),
        migrations.AlterField(
            model_name="journalline",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="the patient account (guarantor) the line belongs to, on patient accounts",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_lines",
                to="patients.patient",
            ),
        ),
        migrations.RunPython(install_guards, remove_guards),
    ]
