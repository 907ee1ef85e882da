"""The medical assistant role, and moving patients along the flow board as its own permission.

A medical assistant rooms patients and moves them along the board, sees the day's schedule
and demographics, and nothing financial. Clinicians may move their own patients; the desk and
the practice's leaders keep moving anyone. Data only.
"""

from django.db import migrations

MOVE_FLOW = "reception.move_flow"
ASSISTANT = (
    "medical_assistant",
    "Medical assistant",
    "Rooms patients and moves them along the flow board; sees the day's schedule and "
    "demographics; nothing financial.",
    ["dashboard.view", "patients.view", "scheduling.view", "reception.view_flow", MOVE_FLOW],
)
MOVERS = ("owner", "manager", "front_desk", "clinician")


def add_role(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    code, name, description, perms = ASSISTANT
    role, _ = Role.objects.update_or_create(
        code=code, defaults={"name": name, "description": description, "requires_two_factor": False}
    )
    for codename in perms:
        RolePermission.objects.get_or_create(role=role, codename=codename)
    for mover in Role.objects.filter(code__in=MOVERS):
        RolePermission.objects.get_or_create(role=mover, codename=MOVE_FLOW)


def remove_role(apps, schema_editor):
    apps.get_model("core", "RolePermission").objects.filter(codename=MOVE_FLOW).delete()
    apps.get_model("core", "Role").objects.filter(code=ASSISTANT[0]).delete()


class Migration(migrations.Migration):
    dependencies = [("reception", "0001_initial"), ("core", "0002_roles_and_authority")]
    operations = [migrations.RunPython(add_role, remove_role)]
