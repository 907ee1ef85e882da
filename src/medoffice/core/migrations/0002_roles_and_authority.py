"""The practice's roles, their permissions and their money limits (data only).

A later app that adds permissions grants them to these roles in a data migration of its own.
"""

from decimal import Decimal

from django.db import migrations

ALL = [
    "core.manage_practice", "core.manage_users", "core.view_audit", "core.export_audit",
    "core.review_emergency_access", "dashboard.view",
    "patients.view", "patients.edit", "patients.merge", "patients.manage_payers",
    "scheduling.view", "scheduling.view_own", "scheduling.book", "scheduling.manage",
    "reception.view_flow", "reception.check_in", "reception.collect_payment",
]

ROLES = {
    "owner": ("Owner physician", "Sees everything; approves what is over the manager's authority.", True, ALL),
    "manager": ("Office manager", "Runs the office with delegated authority up to set limits.", True, ALL),
    "front_desk": ("Front desk", "Registration, scheduling, check-in, copays, paperwork.", False, [
        "dashboard.view", "patients.view", "patients.edit", "scheduling.view", "scheduling.book",
        "reception.view_flow", "reception.check_in", "reception.collect_payment",
    ]),
    "biller": ("Biller / coder", "Coding, claims, remittances, denials, statements.", False, [
        "dashboard.view", "patients.view", "patients.edit", "patients.manage_payers", "scheduling.view",
    ]),
    "hr_payroll": ("HR / payroll", "Employees, benefits, recruiting, time, payroll.", True, ["dashboard.view"]),
    "clinician": ("Clinician", "Own schedule; signs encounters.", False, [
        "dashboard.view", "patients.view", "scheduling.view_own", "reception.view_flow",
    ]),
    "auditor": ("Auditor", "Read-only, including the audit trail.", False, [
        "dashboard.view", "patients.view", "scheduling.view", "reception.view_flow",
        "core.view_audit", "core.export_audit", "core.review_emergency_access",
    ]),
}

# None: no limit. A role without a row for a kind has no authority for it.
LIMITS = {
    "owner": {"purchase": None, "vendor_bill": None, "write_off": None, "refund": None, "payroll_approval": None},
    "manager": {"purchase": "5000.00", "vendor_bill": "10000.00", "write_off": "1000.00", "refund": "1000.00",
                "payroll_approval": "150000.00"},
    "front_desk": {"refund": "50.00", "purchase": "100.00"},
    "biller": {"write_off": "100.00", "refund": "200.00"},
    "hr_payroll": {"purchase": "250.00"},
}


def create_roles(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    RolePermission = apps.get_model("core", "RolePermission")
    AuthorityLimit = apps.get_model("core", "AuthorityLimit")
    for code, (name, description, two_factor, perms) in ROLES.items():
        role, _ = Role.objects.update_or_create(
            code=code, defaults={"name": name, "description": description, "requires_two_factor": two_factor}
        )
        for codename in perms:
            RolePermission.objects.get_or_create(role=role, codename=codename)
        for kind, amount in LIMITS.get(code, {}).items():
            AuthorityLimit.objects.update_or_create(
                role=role, kind=kind, defaults={"amount": None if amount is None else Decimal(amount)}
            )


def remove_roles(apps, schema_editor):
    apps.get_model("core", "Role").objects.filter(code__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
