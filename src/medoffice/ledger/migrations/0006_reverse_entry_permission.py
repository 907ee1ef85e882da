"""Reversing a posted manual entry becomes a permission of its own (data only): the owner and
the office manager hold it; the biller and the auditor read the books but do not correct them."""

from django.db import migrations

REVERSE_ENTRY = "ledger.reverse_entry"
HOLDERS = ("owner", "manager")


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    for role in Role.objects.filter(code__in=HOLDERS):
        RolePermission.objects.get_or_create(role=role, codename=REVERSE_ENTRY)


def revoke(apps, schema_editor):
    apps.get_model("core", "RolePermission").objects.filter(codename=REVERSE_ENTRY).delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_journal_entry_limits"), ("core", "0002_roles_and_authority")]
    operations = [migrations.RunPython(grant, revoke)]
