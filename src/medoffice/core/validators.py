"""Validators for identifiers the practice's paperwork depends on."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def npi_is_valid(npi: str) -> bool:
    """The NPI check digit: Luhn over the number prefixed with 80840 (CMS NPI standard)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = "80840" + npi[:9]
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def validate_npi(value: str) -> None:
    if not (len(value) == 10 and value.isdigit()):
        raise ValidationError("An NPI is exactly 10 digits.", code="npi_format")
    if not npi_is_valid(value):
        raise ValidationError(
            "This NPI fails the check digit (Luhn with prefix 80840); check for a typo.",
            code="npi_check_digit",
        )
