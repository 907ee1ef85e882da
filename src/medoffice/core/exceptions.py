"""Errors as data: each has a code and a message a person can act on."""

from __future__ import annotations


def _without_field_name(message: str, field: str | None) -> str:
    """A message is read by a person: "amount: say how much" reaches them as "Say how much"
    (the field is named by where the message stands, and by `field` for programs)."""
    prefix = f"{field}: " if field else ""
    if prefix and message.startswith(prefix) and len(message) > len(prefix):
        rest = message[len(prefix) :]
        return rest[0].upper() + rest[1:]
    return message


class MedofficeError(Exception):
    """Base of every domain error; interfaces turn it into a form error, a 4xx or a CLI line."""

    code = "error"
    status = 400
    message = "The request could not be completed."

    def __init__(
        self, message: str | None = None, *, field: str | None = None, code: str | None = None
    ):
        self.message = _without_field_name(message or self.message, field)
        self.field = field
        if code:
            self.code = code
        super().__init__(self.message)


class NotPermitted(MedofficeError):
    code = "not_permitted"
    status = 403
    message = "Your role does not allow this."


class RecordNotPermitted(NotPermitted):
    """A role does not cover one record; pages offer emergency access to it (view permissions)."""

    def __init__(self, message: str | None = None, *, object_type: str, object_id: str, perm: str):
        super().__init__(message)
        self.object_type = object_type
        self.object_id = object_id
        self.perm = perm


class NotFound(MedofficeError):
    code = "not_found"
    status = 404
    message = "Not found."


class Conflict(MedofficeError):
    code = "conflict"
    status = 409
    message = "This conflicts with something already recorded."


class InvalidInput(MedofficeError):
    code = "invalid"
    status = 422
    message = "Some of the input is not valid."

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        errors: dict | None = None,
        code: str | None = None,
    ):
        super().__init__(message, field=field, code=code)
        self.errors = errors or ({field: [self.message]} if field else {})


class InvalidTransition(MedofficeError):
    code = "invalid_transition"
    status = 409
    message = "That change of status is not allowed."


class AuditImmutable(MedofficeError):
    code = "audit_immutable"
    status = 403
    message = "The audit trail is append-only: its records cannot be changed or deleted."
