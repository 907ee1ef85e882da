"""The books are closed through the latest closed month: the guard now refuses an entry dated
on or before the end of any closed month, not only inside one, so a day before the first
closed month (which held no postings when the months closed) cannot be written afterwards.
The guards are taken off as 0003 installed them and installed again from `_guards_0008`.
"""

from django.db import migrations

from medoffice.ledger.migrations import _guards_0003 as before
from medoffice.ledger.migrations import _guards_0008 as after


def forwards(apps, schema_editor):
    before.remove_guards(apps, schema_editor)
    after.install_guards(apps, schema_editor)


def backwards(apps, schema_editor):
    after.remove_guards(apps, schema_editor)
    before.install_guards(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_manual_entry_cancelled")]
    operations = [migrations.RunPython(forwards, backwards)]
