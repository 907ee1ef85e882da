"""The patients module's permissions (registered with core from PatientsConfig.ready())."""

from __future__ import annotations

from enum import StrEnum


class PatientsPerm(StrEnum):
    VIEW_PATIENTS = "patients.view"
    EDIT_PATIENTS = "patients.edit"
    MERGE_PATIENTS = "patients.merge"
    MANAGE_PAYERS = "patients.manage_payers"
