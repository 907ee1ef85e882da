"""The API of the desk's money in the books: void and refund with Idempotency-Key, and the
patient's account with its activity."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from medoffice.ledger.models import JournalEntry
from medoffice.reception import services
from medoffice.reception.models import Payment, Refund
from medoffice.reception.payments import PaymentInput
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db
API = "/api/reception"


def post(client, url, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def paid(practice, users):
    location = factories.location(name="Main St")
    patient = pf.patient()
    payment = services.payment_record(
        patient=patient,
        payment=PaymentInput(amount="60.00", method="cash"),
        received_by=users["front_desk"],
        location=location,
    )
    return patient, payment, location


def test_void_by_api_with_a_key_voids_once(client_for, paid):
    _, payment, _ = paid
    client = client_for("front_desk")
    url = f"{API}/payments/{payment.pk}/void"
    first = post(client, url, {"reason": "typed twice"}, key="void-1")
    assert first.status_code == 200, first.content
    assert first.json()["void"] is True and first.json()["void_reason"] == "typed twice"
    again = post(client, url, {"reason": "typed twice"}, key="void-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert (
        JournalEntry.objects.filter(source_key=f"reception.payment:{payment.pk}:void").count() == 1
    )
    refused = post(client, url, {"reason": "typed twice"}, key="void-2")
    assert refused.status_code in (409, 422) and "already void" in refused.content.decode()


def test_refund_by_api_then_paid_out_and_the_account(client_for, paid):
    patient, _, location = paid
    client = client_for("front_desk")
    body = {"patient_id": patient.pk, "amount": "25.00", "method": "check", "reason": "overpaid",
            "location_id": location.pk}  # fmt: skip
    made = post(client, f"{API}/refunds", body, key="refund-1")
    assert made.status_code == 201, made.content
    assert post(client, f"{API}/refunds", body, key="refund-1").json() == made.json()
    assert Refund.objects.count() == 1
    refund_id = made.json()["id"]
    assert made.json()["status"] == "approved"
    bad = post(client, f"{API}/refunds/{refund_id}/pay", {"reference": "abc"})
    assert bad.status_code == 422 and "reference" in bad.json()["errors"]
    paid_out = post(client, f"{API}/refunds/{refund_id}/pay", {"reference": "5001"}, key="pay-1")
    assert paid_out.status_code == 200 and paid_out.json()["status"] == "paid"
    account = client.get(f"{API}/patients/{patient.pk}/account").json()
    assert Decimal(account["balance"]) == Decimal("-35.00")
    assert Decimal(account["refundable"]) == Decimal("35.00")
    assert [Decimal(a["amount"]) for a in account["activity"]] == [
        Decimal("25.00"),
        Decimal("-60.00"),
    ]
    too_much = post(client, f"{API}/refunds", {**body, "amount": "36.00"})
    assert too_much.status_code == 422 and "amount" in too_much.json()["errors"]
    assert Refund.objects.count() == 1


def test_auditor_cannot_void_or_refund(client_for, paid):
    patient, payment, _ = paid
    client = client_for("auditor")
    assert post(client, f"{API}/payments/{payment.pk}/void", {"reason": "x"}).status_code == 403
    body = {"patient_id": patient.pk, "amount": "5.00", "method": "card", "reason": "x"}
    assert post(client, f"{API}/refunds", body).status_code == 403
    assert not Payment.objects.get(pk=payment.pk).is_void and not Refund.objects.exists()
