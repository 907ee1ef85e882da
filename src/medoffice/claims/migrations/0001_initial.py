"""Claims' permissions for the built-in roles (data only; the tables come in later migrations)."""

from django.db import migrations

GRANTS = {
    "owner": [
        "claims.view", "claims.code_own", "claims.code", "claims.submit",
        "claims.override_warnings", "claims.check_eligibility", "claims.manage_clearinghouse",
    ],
    "manager": [
        "claims.view", "claims.code_own", "claims.code", "claims.submit",
        "claims.override_warnings", "claims.check_eligibility", "claims.manage_clearinghouse",
    ],
    "biller": [
        "claims.view", "claims.code", "claims.submit", "claims.override_warnings",
        "claims.check_eligibility",
    ],
    "front_desk": ["claims.check_eligibility"],
    "clinician": ["claims.code_own"],
    "auditor": ["claims.view"],
}  # fmt: skip


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    for role in Role.objects.filter(code__in=GRANTS):
        for codename in GRANTS[role.code]:
            RolePermission.objects.get_or_create(role=role, codename=codename)


def revoke(apps, schema_editor):
    apps.get_model("core", "RolePermission").objects.filter(codename__startswith="claims.").delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0012_journal_entry_decision")]
    operations = [migrations.RunPython(grant, revoke)]
