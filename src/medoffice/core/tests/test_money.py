"""The one money parser: what it accepts, what it refuses (naming the field), in each face."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from ninja import Schema
from pydantic import ValidationError

from medoffice.core.exceptions import InvalidInput
from medoffice.core.money import (
    CENT,
    MAX_AMOUNT,
    ZERO,
    Money,
    MoneyField,
    parse_money,
    to_decimal,
)

ACCEPTED = [
    ("25", "25.00"),
    ("25.5", "25.50"),
    ("25.50", "25.50"),
    (" 25.50 ", "25.50"),
    (".50", "0.50"),
    ("$25", "25.00"),
    ("$1,200.50", "1200.50"),
    ("1,234,567.89", "1234567.89"),
    ("1200.50", "1200.50"),
    ("007", "7.00"),
    ("9,999,999,999.99", "9999999999.99"),
    (12, "12.00"),
    (Decimal("12.3"), "12.30"),
    (Decimal("12.300"), "12.30"),  # the same amount, written with more zeros
]

REFUSED = [
    "1e3",
    "1E3",
    "1e400",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1,00,0",
    "1,0000",
    ",100",
    "100,",
    "--5",
    "-+5",
    "+5",
    "1.234",
    "10.005",
    "",
    "   ",
    "$",
    "-",
    ".",
    "5.",
    "$-5",
    "5$",
    "1 000",
    "12abc",
    "0x10",
    "١٢",  # digits of another script
    "10" * 20,  # 40 digits
    "1" * 100,
    "10000000000.00",  # one above the largest amount
    10**40,
    -(10**40),
    1e400,  # float('inf') as json reads it
    2.5,
    float("nan"),
    True,
    None,
    b"25",
    ["25"],
    {"amount": "25"},
    Decimal("NaN"),
    Decimal("Infinity"),
    Decimal("1E+400"),
    Decimal("1E-400"),
    Decimal("0.001"),
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED)
def test_accepted_forms(value, expected):
    amount = parse_money(value, field="amount")
    assert amount == Decimal(expected)
    assert amount.as_tuple().exponent == -2  # always in cents


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_refused_with_a_message_naming_the_field(value):
    with pytest.raises(InvalidInput) as caught:
        parse_money(value, field="copay")
    assert caught.value.field == "copay"
    assert caught.value.errors == {"copay": [caught.value.message]}
    # One sentence, the field named as a person reads it: "Copay must ...", never "Copay: must".
    assert caught.value.message.startswith("Copay ")
    assert not caught.value.message.startswith("Copay:")
    assert caught.value.status == 422


def test_the_messages_say_what_is_wrong():
    def message(value, **kwargs):
        with pytest.raises(InvalidInput) as caught:
            parse_money(value, field="amount", **kwargs)
        return caught.value.message

    assert "fractions of a cent" in message("1.234")
    assert "such as 25.00" in message("1e3")
    assert message("") == "Amount is required."
    assert "at most $9,999,999,999.99" in message(10**40)
    assert "at most $9,999,999,999.99" in message("99999999999")
    assert "not a binary fraction" in message(2.5)
    assert message("0") == "Amount must be more than zero."
    assert message("-1", minimum=ZERO) == "Amount must not be negative."
    assert message("5.00", minimum=Decimal("10")) == "Amount must be at least $10.00."
    assert message("500", maximum=Decimal("100")) == "Amount must be at most $100.00."
    assert message("x") == "Amount must be in dollars and cents, such as 25.00 or $1,200.50."
    assert message(2.5) == (
        "Amount must be sent as a string such as '25.00', not a binary fraction."
    )
    assert message("-1", label="Amount paid into the bank", minimum=ZERO) == (
        "Amount paid into the bank must not be negative."
    )


def test_zero_and_negatives_only_where_the_caller_allows():
    with pytest.raises(InvalidInput):
        parse_money("0", field="amount")
    assert parse_money("0", field="copay", minimum=ZERO) == ZERO
    with pytest.raises(InvalidInput):
        parse_money("-5", field="copay", minimum=ZERO)
    assert parse_money("-5", field="adjustment", minimum=-MAX_AMOUNT) == Decimal("-5.00")
    assert parse_money("-$1,000.10", field="adjustment", minimum=-MAX_AMOUNT) == Decimal("-1000.10")
    with pytest.raises(InvalidInput):
        parse_money("--5", field="adjustment", minimum=-MAX_AMOUNT)


def test_the_range_bounds_are_inclusive():
    assert to_decimal("0.01") == CENT
    assert to_decimal(MAX_AMOUNT) == MAX_AMOUNT
    assert to_decimal("100", maximum=Decimal("100")) == Decimal("100.00")
    with pytest.raises(ValueError):
        to_decimal("100.01", maximum=Decimal("100"))
    with pytest.raises(ValueError):
        to_decimal("1", minimum=Decimal("2"), maximum=Decimal("1"))


# --- The form field -----------------------------------------------------------------------------


class CopayForm(forms.Form):
    copay = MoneyField(minimum=ZERO, required=False, label="Copay")
    amount = MoneyField(label="Amount")


@pytest.mark.parametrize("value", ["1e400", "10" * 20, "NaN", "1,00,0", "--5", "1.234", "x"])
def test_the_form_field_puts_the_error_on_the_field(value):
    form = CopayForm({"copay": value, "amount": "10"})
    assert not form.is_valid()
    assert list(form.errors) == ["copay"]
    assert form.errors["copay"][0][0].isupper()


def test_the_form_field_cleans_to_cents_and_empty_to_none():
    form = CopayForm({"copay": "", "amount": "$1,200.5"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"copay": None, "amount": Decimal("1200.50")}
    required = CopayForm({"copay": "0"})
    assert not required.is_valid()
    assert "amount" in required.errors and "copay" not in required.errors


def test_the_form_field_shows_an_initial_amount_in_cents():
    form = CopayForm(initial={"copay": Decimal("25")})
    assert 'value="25.00"' in str(form["copay"])
    assert 'inputmode="decimal"' in str(form["copay"])


# --- The schema type ----------------------------------------------------------------------------


class Body(Schema):
    amount: Money
    copay: Money | None = None


def test_the_schema_type_reads_strings_and_integers():
    assert Body(amount="$1,200.50").amount == Decimal("1200.50")
    assert Body(amount=12).amount == Decimal("12.00")
    assert Body(amount="1", copay=None).copay is None


@pytest.mark.parametrize("value", ["1e400", 1e400, 10**40, "NaN", "1,00,0", "--5", "1.234", 2.5])
def test_the_schema_type_refuses_at_the_field(value):
    with pytest.raises(ValidationError) as caught:
        Body(amount="1", copay=value)
    (error,) = caught.value.errors()
    assert error["loc"] == ("copay",)
    assert error["type"] == "money"


def test_the_schema_type_documents_a_string_with_its_range():
    schema = Body.model_json_schema()["properties"]["amount"]
    assert schema["type"] == "string" and schema["pattern"].startswith("^")
    assert "$0.01" in schema["description"] and "$9,999,999,999.99" in schema["description"]


def test_money_endpoints_document_the_idempotency_key(client_for):
    schema = client_for("owner").get("/api/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert ("POST", "/api/approvals") in documented
    assert ("PUT", "/api/practice/limits") in documented
    assert ("GET", "/api/practice/limits") not in documented
    amount = schema["components"]["schemas"]["ApprovalIn"]["properties"]["amount"]
    assert amount["type"] == "string" and "pattern" in amount


@pytest.mark.django_db
def test_the_admin_reads_limits_with_the_same_parser(rf, users):
    from django.contrib.admin.sites import site

    from medoffice.core.admin import AuthorityLimitInline
    from medoffice.core.models import Role

    request = rf.get("/")
    request.user = users["owner"]
    inline = AuthorityLimitInline(Role, site)
    form = inline.get_formset(request).form
    assert isinstance(form.base_fields["amount"], MoneyField)
    bound = form({"kind": "purchase", "amount": "1e400"})
    assert not bound.is_valid() and "amount" in bound.errors
