"""Errors of the patients app."""

from __future__ import annotations

from medoffice.core.exceptions import Conflict


class PossibleDuplicate(Conflict):
    """Registration stopped: the person may already be a patient. Confirm to register anyway."""

    code = "possible_duplicate"
    message = "This person may already be registered; check the matches or confirm to continue."

    def __init__(self, candidates: list, message: str | None = None):
        super().__init__(message, field="confirm_not_duplicate")
        self.candidates = candidates
