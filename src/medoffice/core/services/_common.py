"""Helpers the core services share: refusing fields a service does not set, and setting
the rest on an instance.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from medoffice.core.exceptions import InvalidInput


def _apply(instance: Model, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


def _checked_fields(
    model: type[Model], fields: dict[str, Any], allowed: tuple[str, ...]
) -> dict[str, Any]:
    """Refuse fields a service does not set, and tidy text (trim; codes upper-cased)."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]}: this field cannot be set here.",
            field=unknown[0],
            errors={name: ["This field cannot be set here."] for name in unknown},
        )
    tidy = {}
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
            if name in ("state", "taxonomy"):
                value = value.upper()
        tidy[name] = value
    return tidy
