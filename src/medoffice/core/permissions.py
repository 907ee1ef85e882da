"""Named permissions. Roles hold them (RolePermission rows); code checks them by these names."""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    # core
    MANAGE_PRACTICE = "core.manage_practice"
    MANAGE_USERS = "core.manage_users"
    VIEW_AUDIT = "core.view_audit"
    EXPORT_AUDIT = "core.export_audit"
    REVIEW_EMERGENCY_ACCESS = "core.review_emergency_access"
    # dashboard
    VIEW_DASHBOARD = "dashboard.view"
    # patients
    VIEW_PATIENTS = "patients.view"
    EDIT_PATIENTS = "patients.edit"
    MERGE_PATIENTS = "patients.merge"
    MANAGE_PAYERS = "patients.manage_payers"
    # scheduling
    VIEW_SCHEDULE = "scheduling.view"
    VIEW_OWN_SCHEDULE = "scheduling.view_own"
    BOOK_APPOINTMENTS = "scheduling.book"
    MANAGE_SCHEDULING = "scheduling.manage"
    # reception
    VIEW_FLOW_BOARD = "reception.view_flow"
    CHECK_IN = "reception.check_in"
    COLLECT_PAYMENTS = "reception.collect_payment"
    MOVE_FLOW = "reception.move_flow"  # room patients, send them to the provider


ROLE_CODES = (
    "owner", "manager", "front_desk", "biller", "hr_payroll", "clinician", "medical_assistant",
    "auditor",
)  # fmt: skip
