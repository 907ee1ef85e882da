"""How much of a manual journal entry a role posts alone (data only): the owner without limit,
the office manager up to $10,000.00; above it the entry waits for approval."""

from decimal import Decimal

from django.db import migrations

LIMITS = {"owner": None, "manager": Decimal("10000.00")}


def add_limits(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    AuthorityLimit = apps.get_model("core", "AuthorityLimit")
    for role in Role.objects.filter(code__in=LIMITS):
        AuthorityLimit.objects.get_or_create(
            role=role, kind="journal_entry", defaults={"amount": LIMITS[role.code]}
        )


def remove_limits(apps, schema_editor):
    apps.get_model("core", "AuthorityLimit").objects.filter(kind="journal_entry").delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_manual_entry"), ("core", "0012_journal_entry_decision")]
    operations = [migrations.RunPython(add_limits, remove_limits)]
