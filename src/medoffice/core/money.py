"""The one way money is read from people and programs: a strict parser of dollars and cents.

Accepted: ``25``, ``25.5``, ``25.50``, ``.50``, ``$1,200.50``, ``1200.50`` (commas only in
groups of three), a leading ``-`` where the caller allows negatives, a ``Decimal`` or an
``int`` from Python code, a JSON string or integer from the API. Refused, with a message
naming the field: exponents (``1e3``), ``NaN``, ``Infinity``, misplaced commas (``1,00,0``),
doubled signs (``--5``), fractions of a cent (``1.234``), empty input, floats (binary
fractions are not money), booleans and anything else, and amounts outside the caller's range.

Three faces, one parser: ``parse_money`` (services, views), ``MoneyField`` (Django forms) and
``Money`` / ``MoneyRange`` (django-ninja / pydantic schemas).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from medoffice.core.exceptions import InvalidInput

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest amount a DecimalField(max_digits=12, decimal_places=2) holds.
MAX_AMOUNT = Decimal("9999999999.99")
MAX_LENGTH = 32  # characters of text looked at; anything longer is refused unread

_AMOUNT = re.compile(
    r"""
    (?P<sign>-)?
    \$?
    (?P<whole>\d{1,3}(?:,\d{3})+|\d+)?
    (?:\.(?P<cents>\d{1,2}))?
    """,
    re.VERBOSE | re.ASCII,
)
JSON_PATTERN = r"^-?\$?(\d{1,3}(,\d{3})+|\d+)?(\.\d{1,2})?$"
EXAMPLE = "25.00"


class MoneyError(ValueError):
    """Why a value is not an amount of money (the message is for people)."""


def _describe(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _check_range(amount: Decimal, minimum: Decimal, maximum: Decimal) -> Decimal:
    if amount < minimum:
        if minimum == CENT:
            raise MoneyError("must be more than zero")
        if minimum == ZERO:
            raise MoneyError("must not be negative")
        raise MoneyError(f"must be at least {_describe(minimum)}")
    if amount > maximum:
        raise MoneyError(f"must be at most {_describe(maximum)}")
    return amount.quantize(CENT)


def to_decimal(value: Any, *, minimum: Decimal = CENT, maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """The amount ``value`` stands for, rounded to no place (it must already be in cents).

    Raises MoneyError (a ValueError) whose message is what is wrong said of the amount ("must
    not be negative"), without naming it; the callers below put the field's name in front.
    """
    if minimum > maximum:
        raise ValueError("the minimum of a money range is above its maximum")
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"must be in dollars and cents, such as {EXAMPLE}")
    if isinstance(value, float):
        raise MoneyError(f"must be sent as a string such as {EXAMPLE!r}, not a binary fraction")
    if isinstance(value, int):
        if not -MAX_AMOUNT <= value <= MAX_AMOUNT:  # compared as int: no huge Decimal is made
            raise MoneyError(f"must be at most {_describe(maximum)}")
        return _check_range(Decimal(value), minimum, maximum)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"must be in dollars and cents, such as {EXAMPLE}")
        if value.adjusted() > 12:
            raise MoneyError(f"must be at most {_describe(maximum)}")
        if value != value.quantize(CENT):
            raise MoneyError("cannot have fractions of a cent (at most two decimals)")
        return _check_range(value, minimum, maximum)
    if not isinstance(value, str):
        raise MoneyError(f"must be in dollars and cents, such as {EXAMPLE}")
    text = value.strip()
    if not text:
        raise MoneyError("is required")
    if len(text) > MAX_LENGTH:
        raise MoneyError(f"must be at most {_describe(maximum)}")
    match = _AMOUNT.fullmatch(text)
    if match is None or (match["whole"] is None and match["cents"] is None):
        if re.fullmatch(r"-?\$?[\d,]*\.\d{3,}", text, re.ASCII):
            raise MoneyError("cannot have fractions of a cent (at most two decimals)")
        raise MoneyError(f"must be in dollars and cents, such as {EXAMPLE} or $1,200.50")
    whole = (match["whole"] or "0").replace(",", "")
    if len(whole.lstrip("0")) > 10:
        raise MoneyError(f"must be at most {_describe(maximum)}")
    try:
        amount = Decimal(f"{match['sign'] or ''}{whole}.{match['cents'] or '0'}")
    except InvalidOperation:  # the pattern admits only digits; kept as a guard
        raise MoneyError(f"must be in dollars and cents, such as {EXAMPLE}") from None
    return _check_range(amount, minimum, maximum)


def parse_money(
    value: Any,
    *,
    field: str,
    label: str | None = None,
    minimum: Decimal = CENT,
    maximum: Decimal = MAX_AMOUNT,
) -> Decimal:
    """An amount in cents within [minimum, maximum], or InvalidInput naming ``field``.

    The default range is more than zero up to $9,999,999,999.99; pass ``minimum=ZERO`` where
    zero is meaningful and a negative minimum only where a negative amount is.
    """
    try:
        return to_decimal(value, minimum=minimum, maximum=maximum)
    except MoneyError as exc:
        words = label or field.replace("_", " ").capitalize()  # "amount" is read as "Amount"
        # One sentence: "Amount paid into the bank must not be negative."
        raise InvalidInput(f"{words} {exc}.", field=field) from None


# --- Django forms -----------------------------------------------------------------------------


class MoneyField(forms.CharField):
    """A form field for an amount: the same parser, its error shown on the field.

    ``required=False`` gives None for an empty box (callers decide what empty means).
    """

    def __init__(
        self, *, minimum: Decimal = CENT, maximum: Decimal = MAX_AMOUNT, **kwargs: Any
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        # A model DecimalField passes its shape; the range above is what bounds the amount.
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        kwargs.setdefault("max_length", MAX_LENGTH)
        attrs = {"inputmode": "decimal", "autocomplete": "off"}
        widget = kwargs.pop("widget", None) or forms.TextInput(attrs=attrs)
        super().__init__(widget=widget, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, Decimal):
            text: Any = value
        else:
            text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return to_decimal(text, minimum=self.minimum, maximum=self.maximum)
        except MoneyError as exc:
            raise ValidationError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", code="money") from None

    def validate(self, value: Any) -> None:
        if value is None and self.required:
            raise ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value: Any) -> None:
        if value is not None:
            super().run_validators(str(value))

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            return f"{value:.2f}"
        return value


ADMIN_OVERRIDES: dict[type, dict[str, Any]] = {
    models.DecimalField: {"form_class": MoneyField, "minimum": ZERO}
}
"""``formfield_overrides`` for the admin of a model whose amounts may be 0 (copays, limits)."""


# --- API schemas (django-ninja / pydantic) ------------------------------------------------------


@dataclass(frozen=True)
class MoneyRange:
    """Pydantic metadata for an amount in a schema: ``Annotated[Decimal, MoneyRange(...)]``.

    The value is a JSON string (or integer) in dollars and cents, read by the same parser; a bad
    value is a validation error at its place in the body, which the API answers 422 naming the
    field.
    """

    minimum: Decimal = CENT
    maximum: Decimal = MAX_AMOUNT
    description: str = ""

    def _validate(self, value: Any) -> Decimal:
        try:
            return to_decimal(value, minimum=self.minimum, maximum=self.maximum)
        except MoneyError as exc:
            raise PydanticCustomError("money", str(exc)) from None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": JSON_PATTERN,
            "maxLength": MAX_LENGTH,
            "examples": [EXAMPLE],
            "description": self.description
            or f"dollars and cents from {_describe(self.minimum)} to {_describe(self.maximum)}",
        }


Money = Annotated[Decimal, MoneyRange()]
"""An amount in a schema: more than zero, at most $9,999,999,999.99."""
