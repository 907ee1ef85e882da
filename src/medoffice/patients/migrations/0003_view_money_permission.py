"""Seeing copays, balances and payments becomes a permission of its own (data only).

Granted to the roles that handle money or read everything: owner, manager, front desk,
biller and auditor. The medical assistant (nothing financial) and the clinician do not get it.
"""

from django.db import migrations

VIEW_MONEY = "patients.view_money"
HOLDERS = ("owner", "manager", "front_desk", "biller", "auditor")


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    for role in Role.objects.filter(code__in=HOLDERS):
        RolePermission.objects.get_or_create(role=role, codename=VIEW_MONEY)


def revoke(apps, schema_editor):
    apps.get_model("core", "RolePermission").objects.filter(codename=VIEW_MONEY).delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_mrn_counter_row"), ("core", "0002_roles_and_authority")]
    operations = [migrations.RunPython(grant, revoke)]
