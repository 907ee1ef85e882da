"""The NPI check digit (Luhn over the number prefixed with 80840)."""

import pytest
from django.core.exceptions import ValidationError

from medoffice.core.validators import npi_is_valid, validate_npi


@pytest.mark.parametrize(
    "npi",
    [
        "1234567893",  # the example NPI in the CMS check-digit specification
        "1245319599",
        "1003000126",
        "1993999998",
    ],
)
def test_known_valid_npis_pass(npi):
    assert npi_is_valid(npi)
    validate_npi(npi)  # does not raise


@pytest.mark.parametrize(
    ("npi", "code"),
    [
        ("1234567890", "npi_check_digit"),  # last digit should be 3
        ("1234567894", "npi_check_digit"),
        ("1245319598", "npi_check_digit"),
        ("123456789", "npi_format"),  # 9 digits
        ("12345678933", "npi_format"),  # 11 digits
        ("", "npi_format"),
        ("12345A7893", "npi_format"),  # a letter
        ("ABCDEFGHIJ", "npi_format"),
        ("1234 67893", "npi_format"),
    ],
)
def test_invalid_npis_are_refused_with_a_reason(npi, code):
    assert not npi_is_valid(npi)
    with pytest.raises(ValidationError) as caught:
        validate_npi(npi)
    assert caught.value.code == code


def test_every_single_digit_typo_is_caught():
    valid = "1234567893"
    for position in range(10):
        for digit in "0123456789":
            typo = valid[:position] + digit + valid[position + 1 :]
            if typo != valid:
                assert not npi_is_valid(typo), typo


def test_the_check_digit_message_is_actionable():
    with pytest.raises(ValidationError) as caught:
        validate_npi("1234567890")
    assert "fails the check digit" in caught.value.messages[0]
