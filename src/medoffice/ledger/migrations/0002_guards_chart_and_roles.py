"""The books' database guards, the starting chart of accounts, and who may do what.

The guard SQL comes from `medoffice.ledger.guards` (a change there comes with a migration
that installs it again); the chart from `medoffice.ledger.chart`, created by key, so a
practice's own edits are never overwritten.
"""

from django.db import migrations

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


def install_guards(apps, schema_editor):
    from medoffice.ledger import guards

    guards.install(schema_editor.connection)


def remove_guards(apps, schema_editor):
    from medoffice.ledger import guards

    guards.remove(schema_editor.connection)


def add_chart(apps, schema_editor):
    from medoffice.ledger.chart import CHART

    Account = apps.get_model("ledger", "Account")
    by_key = {}
    for template in CHART:
        side = "debit" if template.type in ("asset", "expense") else "credit"
        if template.contra:
            side = "credit" if side == "debit" else "debit"
        account, _ = Account.objects.get_or_create(
            key=template.key,
            defaults={
                "code": template.code,
                "name": template.name,
                "type": template.type,
                "normal_side": side,
                "parent": by_key.get(template.parent),
                "description": template.description,
                "is_postable": template.postable and not template.per_location,
            },
        )
        by_key[template.key] = account


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
