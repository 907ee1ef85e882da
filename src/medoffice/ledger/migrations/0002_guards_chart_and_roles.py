"""The books' database guards, the starting chart of accounts, and who may do what.

The guard SQL and the chart are frozen copies beside the migrations (`_guards_0003`,
`_chart_0002`): a migration runs no app code, so a later change to the app cannot change what
an old migration does. The chart is created by key, so a practice's own edits are never
overwritten.
"""

from django.db import migrations

from medoffice.ledger.migrations._chart_0002 import CHART
from medoffice.ledger.migrations._guards_0003 import install_guards, remove_guards

ROLE_PERMISSIONS = {
    "owner": [
        "ledger.view", "ledger.post_manual", "ledger.close_period", "ledger.reopen_period",
        "ledger.manage_accounts", "ledger.close_drawer",
    ],
    "manager": [
        "ledger.view", "ledger.post_manual", "ledger.close_period", "ledger.manage_accounts",
        "ledger.close_drawer",
    ],
    "biller": ["ledger.view"],
    "front_desk": ["ledger.close_drawer"],
    "auditor": ["ledger.view"],
}  # fmt: skip


def add_chart(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    by_key = {}
    for row in CHART:
        account, _ = Account.objects.get_or_create(
            key=row["key"],
            defaults={
                "code": row["code"],
                "name": row["name"],
                "type": row["type"],
                "normal_side": row["normal_side"],
                "parent": by_key.get(row["parent"]),
                "description": row["description"],
                "is_postable": row["is_postable"],
            },
        )
        by_key[row["key"]] = account


def add_permissions(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    for role in Role.objects.filter(code__in=ROLE_PERMISSIONS):
        for codename in ROLE_PERMISSIONS[role.code]:
            RolePermission.objects.get_or_create(role=role, codename=codename)


def remove_permissions(apps, schema_editor):
    apps.get_model("core", "RolePermission").objects.filter(codename__startswith="ledger.").delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial"), ("core", "0002_roles_and_authority")]
    operations = [
        migrations.RunPython(install_guards, remove_guards),
        migrations.RunPython(add_chart, migrations.RunPython.noop),
        migrations.RunPython(add_permissions, remove_permissions),
    ]
