"""Model validation turned into the project's errors, naming each field as people know it.
Every app's services use these.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Model

from medoffice.core.exceptions import InvalidInput


def field_label(model: Model | type[Model], name: str) -> str:
    """The name people know a field by (its verbose name), for error messages."""
    if name in ("__all__", "", None):
        return "input"
    try:
        label = getattr(model._meta.get_field(name), "verbose_name", None)
    except Exception:
        label = None
    return name.replace("_", " ") if label is None else str(label)


def full_clean_or_raise(instance: Model, *, exclude: list[str] | None = None) -> None:
    """Run model validation and turn Django's error into ours, naming every field.

    The message names the field as people know it: "group NPI: This NPI fails the check digit".
    """
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        summary = "; ".join(
            f"{field_label(instance, name)}: {' '.join(messages)}"
            for name, messages in errors.items()
        )
        first_field = next(iter(errors))
        raise InvalidInput(summary, field=first_field, errors=errors) from exc
