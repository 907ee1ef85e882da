"""Helpers the patients services share: turning what a person typed into values and
errors by field, refusing unknown fields, and locking a patient record for a change.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from medoffice.core import money
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotFound
from medoffice.patients import normalize
from medoffice.patients.models import Patient

#: Error messages by field name, as InvalidInput carries them.
Errors = dict[str, list[str]]


def _model_errors(instance: models.Model, *, exclude: list[str] | None = None) -> Errors:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return {}


def _raise_if(errors: dict[str, Any]) -> None:
    if errors:
        first_field, first_messages = next(iter(errors.items()))
        message = first_messages[0] if isinstance(first_messages, list) else first_messages
        label = first_field if first_field != "__all__" else "input"
        raise InvalidInput(
            f"{label}: {message}",
            field=first_field,
            errors={k: v if isinstance(v, list) else [v] for k, v in errors.items()},
        )


def _check_known(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidInput(
            f"{unknown[0]}: not a field that can be set here.",
            errors={name: ["Not a field that can be set here."] for name in unknown},
        )


def _text(value: object) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


def _money(value: object, field: str, errors: Errors) -> Decimal | None:
    """A copay: empty is $0.00; otherwise the project's one money parser, zero allowed."""
    if value is None or value == "":
        return money.ZERO
    try:
        return money.parse_money(value, field=field, minimum=money.ZERO)
    except InvalidInput as exc:
        errors[field] = [exc.message]
        return None


def _date(value: object, field: str, errors: Errors) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    parsed = normalize.parse_date(str(value))
    if parsed is None:
        errors[field] = ["Enter a date such as 03/14/1980 or 1980-03-14."]
    return parsed


def _phone(value: object, field: str, errors: Errors) -> str:
    try:
        return normalize.phone_e164(str(value or ""))
    except ValueError as exc:
        errors[field] = [str(exc)]
        return ""


def _locked_patient(patient: Patient) -> Patient:
    locked = Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if locked is None:
        raise NotFound("No such patient.")
    if locked.merged_into_id:
        raise InvalidTransition("This record was merged; add coverage to the surviving record.")
    return locked
