"""A page around a service call: a refusal by role is a 403, any other refusal is kept for the
form (with its errors by field), and everything else is not the page's to swallow."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.views import refusal


def test_a_refusal_by_role_is_the_pages_403():
    with pytest.raises(PermissionDenied, match="not yours"), refusal():
        raise NotPermitted("not yours")


def test_any_other_refusal_is_kept_and_stops_the_block():
    refused_amount = InvalidInput(
        "Check the amount.", errors={"amount": ["Too much.", "Whole cents."]}
    )

    def service(amount: int) -> int:
        if amount > 10:
            raise refused_amount
        return amount

    written = []
    for amount in (5, 20, 7):  # the refused call stops its block; the page goes on after it
        with refusal() as refused:
            written.append(service(amount))
        assert bool(refused) == (amount > 10)
    assert written == [5, 7]
    with refusal() as refused:
        service(20)
    assert refused.error is refused_amount
    assert refused.message == "Check the amount."
    assert refused.errors == {"amount": "Too much. Whole cents."}


def test_a_refusal_on_one_field_is_that_fields_error():
    with refusal() as refused:
        raise InvalidInput("reason: say why.", field="reason")
    assert refused.errors == {"reason": "Say why."}  # the field is named by where it stands


def test_no_refusal_is_falsy_and_other_errors_pass_through():
    with refusal() as refused:
        pass
    assert not refused and refused.message == "" and refused.errors == {}
    with pytest.raises(KeyError), refusal():
        raise KeyError("a bug is not a refusal")
