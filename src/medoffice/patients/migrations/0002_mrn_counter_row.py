"""Data: the single MRN counter row, so concurrent registrations never race to create it."""

from django.db import migrations


def create_counter(apps, schema_editor):
    counter = apps.get_model("patients", "MrnCounter")
    counter.objects.using(schema_editor.connection.alias).get_or_create(
        pk=1, defaults={"last_value": 0}
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
