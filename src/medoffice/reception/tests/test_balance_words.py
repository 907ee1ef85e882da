"""Money at the desk reads right: until a module posts charges, money received is "paid",
not a "credit" that invites refund questions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from medoffice.reception import selectors


@pytest.fixture
def charges_posted(monkeypatch):
    def charges(patient_ids):
        return {}

    monkeypatch.setattr(selectors.money, "_charge_sources", [charges])


def test_without_charges_a_payment_is_paid_not_a_credit():
    assert not selectors.charges_are_posted()
    assert selectors.balance_text(Decimal("-25.00")) == "$25.00 paid (no charges posted yet)"
    assert selectors.balance_text(Decimal("40")) == "$40.00 due"
    assert selectors.balance_text(Decimal("0")) == "$0.00"


def test_once_charges_are_posted_an_overpayment_is_a_credit(charges_posted):
    assert selectors.charges_are_posted()
    assert selectors.balance_text(Decimal("-25.00")) == "$25.00 credit"


@pytest.mark.django_db
def test_the_account_page_says_paid(client_for, users):
    from medoffice.testing import patients_factories as pf
    from medoffice.testing import reception_factories as rf

    patient = pf.patient()
    rf.payment(patient=patient, received_by=users["front_desk"], amount="25.00", method="card")
    page = client_for("front_desk").get(f"/reception/accounts/{patient.pk}/").content.decode()
    assert "$25.00 paid (no charges posted yet)" in page
    assert "credit" not in page
