"""The patients module's permissions (registered with core from PatientsConfig.ready())."""

from __future__ import annotations

from enum import StrEnum


class PatientsPerm(StrEnum):
    VIEW_PATIENTS = "patients.view"
    EDIT_PATIENTS = "patients.edit"
    MERGE_PATIENTS = "patients.merge"
    MANAGE_PAYERS = "patients.manage_payers"
    # Copays, balances and payments: the desk, billing, the practice's leaders and the auditor;
    # not the medical assistant (nothing financial) nor the clinician.
    VIEW_MONEY = "patients.view_money"
