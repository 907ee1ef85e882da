"""Coding's permissions for the built-in roles (data only)."""

from django.db import migrations

GRANTS = {
    "owner": ["coding.view", "coding.import_code_sets", "coding.manage_fees"],
    "manager": ["coding.view", "coding.import_code_sets", "coding.manage_fees"],
    "biller": ["coding.view", "coding.import_code_sets"],
    "clinician": ["coding.view"],
    "auditor": ["coding.view"],
}


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    for role in Role.objects.filter(code__in=GRANTS):
        for codename in GRANTS[role.code]:
            RolePermission.objects.get_or_create(role=role, codename=codename)


def revoke(apps, schema_editor):
    apps.get_model("core", "RolePermission").objects.filter(codename__startswith="coding.").delete()


class Migration(migrations.Migration):
    dependencies = [("coding", "0001_initial"), ("core", "0012_journal_entry_decision")]
    operations = [migrations.RunPython(grant, revoke)]
