"""Coding's permissions (registered with core from CodingConfig.ready())."""

from __future__ import annotations

from enum import StrEnum


class CodingPerm(StrEnum):
    VIEW = "coding.view"  # code search, fee schedule, contracts (read)
    IMPORT_CODE_SETS = "coding.import_code_sets"  # HCPCS, CPT, NCCI, MPFS files
    MANAGE_FEES = "coding.manage_fees"  # the practice's charges and its payer contracts
