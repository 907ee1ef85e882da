"""Claims' permissions (registered with core from ClaimsConfig.ready())."""

from __future__ import annotations

from enum import StrEnum


class ClaimsPerm(StrEnum):
    VIEW = "claims.view"  # the worklist, encounters, claims and their history
    CODE_OWN = "claims.code_own"  # a clinician picks the codes of their own visits
    CODE = "claims.code"  # a coder codes and finalizes any encounter
    SUBMIT = "claims.submit"  # scrub, batch, submit, resubmit, void; collect responses
    OVERRIDE_WARNINGS = "claims.override_warnings"  # send a claim past scrubber warnings
    CHECK_ELIGIBILITY = "claims.check_eligibility"  # send a 270 for a coverage
    MANAGE_CLEARINGHOUSE = "claims.manage_clearinghouse"  # the mailbox's settings and keys
