"""Named permissions. Roles hold them (RolePermission rows); code checks them by these names.

`core` owns the registry, not the names: each app declares its own permissions as a StrEnum
in `<app>/permissions.py` (`PatientsPerm`, `SchedulingPerm`, ...) and registers it from its
AppConfig.ready(). Core's own are `Perm` below. Code anywhere checks a permission by its
enum member; the registry answers which permissions exist (emergency access, role editing,
the tests that every granted codename is known).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ImproperlyConfigured


class Perm(StrEnum):
    """Core's own permissions: the practice, its users and the audit trail."""

    MANAGE_PRACTICE = "core.manage_practice"
    MANAGE_USERS = "core.manage_users"
    VIEW_AUDIT = "core.view_audit"
    EXPORT_AUDIT = "core.export_audit"
    REVIEW_EMERGENCY_ACCESS = "core.review_emergency_access"


ROLE_CODES = (
    "owner", "manager", "front_desk", "biller", "hr_payroll", "clinician", "medical_assistant",
    "auditor",
)  # fmt: skip


@dataclass(frozen=True)
class Permission:
    codename: str  # what RolePermission rows hold, e.g. "patients.view"
    app_label: str  # the app that declared it
    name: str  # the enum member's name, e.g. "VIEW_PATIENTS"


_registry: dict[str, Permission] = {}


def register(app_label: str, names: type[StrEnum]) -> None:
    """Add an app's permissions (call from its AppConfig.ready(); calling again is harmless).

    A codename already declared by another app is a configuration error, not a silent merge.
    """
    for member in names:
        codename = str(member.value)
        if "." not in codename:
            raise ImproperlyConfigured(f"Permission {codename!r} must read 'app.action'.")
        known = _registry.get(codename)
        if known is not None and known.app_label != app_label:
            raise ImproperlyConfigured(
                f"Permission {codename!r} is declared by both {known.app_label!r} "
                f"and {app_label!r}."
            )
        _registry[codename] = Permission(codename, app_label, member.name)


def unregister(app_label: str) -> None:
    """Forget an app's permissions (tests that register a throwaway app)."""
    for codename in [c for c, p in _registry.items() if p.app_label == app_label]:
        del _registry[codename]


def registered() -> list[Permission]:
    """Every declared permission, sorted by codename."""
    return [_registry[codename] for codename in sorted(_registry)]


def is_registered(codename: str) -> bool:
    return codename in _registry


def in_words(codename: str) -> str:
    """What a permission lets a person do, in words from its declared name:
    "reception.collect_payment" (COLLECT_PAYMENTS) -> "collect payments"."""
    known = _registry.get(str(codename))
    name = known.name if known is not None else str(codename).partition(".")[2]
    return name.replace("_", " ").lower()
