"""The reception app's own errors."""

from __future__ import annotations

from medoffice.core.exceptions import InvalidTransition


class IllegalStageTransition(InvalidTransition):
    """A visit asked to move to a stage its current stage does not lead to."""

    code = "illegal_stage_transition"
    message = "The patient cannot move to that stage from where they are."

    def __init__(self, current: str, requested: str, message: str | None = None):
        self.current = current
        self.requested = requested
        super().__init__(
            message or f"A visit cannot move from {current!r} to {requested!r}.", field="stage"
        )
