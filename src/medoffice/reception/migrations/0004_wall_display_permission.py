"""Making and revoking wall-display links is granted to the owner and the office manager.

Data only.
"""

from django.db import migrations

MANAGE_WALL = "reception.manage_wall_display"
HOLDERS = ("owner", "manager")


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    for role in Role.objects.filter(code__in=HOLDERS):
        RolePermission.objects.get_or_create(role=role, codename=MANAGE_WALL)


def revoke(apps, schema_editor):
    apps.get_model("core", "RolePermission").objects.filter(codename=MANAGE_WALL).delete()


class Migration(migrations.Migration):
    dependencies = [("reception", "0003_wall_display_link"), ("core", "0002_roles_and_authority")]
    operations = [migrations.RunPython(grant, revoke)]
