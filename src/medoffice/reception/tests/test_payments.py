"""Payments at the desk: what is accepted, receipt numbers, the balance, the receipt PDF."""

from __future__ import annotations

import io
import threading
from decimal import Decimal

import pytest
from django.db import connection
from pypdf import PdfReader

from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.reception import selectors, services
from medoffice.reception.documents import receipt_pdf
from medoffice.reception.models import Payment, ReceiptSequence
from medoffice.reception.payments import PaymentInput, clean_payment, looks_like_card_number
from medoffice.testing import patients_factories as pf


def pay(patient, user, amount="25.00", method="cash", reference="", **kwargs):
    return services.payment_record(
        patient=patient,
        payment=PaymentInput(amount=amount, method=method, reference=reference),
        received_by=user,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("amount", "method", "reference", "field"),
    [
        ("0", "cash", "", "amount"),
        ("-5.00", "cash", "", "amount"),
        ("10.005", "cash", "", "amount"),
        ("abc", "cash", "", "amount"),
        ("NaN", "cash", "", "amount"),
        ("10000.01", "cash", "", "amount"),
        ("20.00", "bitcoin", "", "method"),
        ("20.00", "check", "", "reference"),
        ("20.00", "check", "12a", "reference"),
        ("20.00", "card", "", "reference"),
        ("20.00", "card", "4111 1111 1111 1111", "reference"),
        ("20.00", "cash", "4111-1111-1111-1111", "reference"),
    ],
)
def test_bad_payments_are_refused_naming_the_field(amount, method, reference, field):
    with pytest.raises(InvalidInput) as caught:
        clean_payment(PaymentInput(amount=amount, method=method, reference=reference))
    assert field in caught.value.errors


def test_good_payments_are_cleaned():
    assert clean_payment(PaymentInput("25", "cash")).amount == Decimal("25.00")
    assert clean_payment(PaymentInput("$1,200.50", "check", "1042")).amount == Decimal("1200.50")
    card = clean_payment(PaymentInput(Decimal("30.00"), "CARD", "A1B2C3"))
    assert (card.method, card.reference) == ("card", "A1B2C3")
    # A 12-digit terminal retrieval reference is not a card number.
    assert not looks_like_card_number("123456789012")
    assert looks_like_card_number("4111111111111111")


def test_payment_is_recorded_with_sequential_receipt_numbers(desk_day, users):
    first = pay(desk_day.patient, users["front_desk"], "25.00")
    second = pay(desk_day.patient, users["front_desk"], "10.50", "check", "1042")
    year = first.received_at.astimezone(selectors.practice_zone()).year
    assert first.receipt_number == f"{year}-000001"
    assert second.receipt_number == f"{year}-000002"
    assert second.reference == "1042"
    assert selectors.patient_balance(desk_day.patient) == Decimal("-35.50")


def test_refused_payment_writes_nothing_and_takes_no_number(desk_day, users):
    with pytest.raises(InvalidInput):
        pay(desk_day.patient, users["front_desk"], "25.00", "card", "4111111111111111")
    assert not Payment.objects.exists()
    assert not ReceiptSequence.objects.filter(last_number__gt=0).exists()
    payment = pay(desk_day.patient, users["front_desk"])
    assert payment.receipt_number.endswith("-000001")


def test_only_roles_that_collect_payments_may(desk_day, users):
    for role in ("clinician", "auditor", "biller"):
        with pytest.raises(NotPermitted):
            pay(desk_day.patient, users[role])
    assert not Payment.objects.exists()
    assert pay(desk_day.patient, users["manager"]).amount == Decimal("25.00")


def test_payment_for_a_merged_record_is_refused(desk_day, users):
    survivor = pf.patient()
    duplicate = pf.patient(merged_into=survivor, is_active=False)
    with pytest.raises(InvalidInput) as caught:
        pay(duplicate, users["front_desk"])
    assert caught.value.field == "patient"
    assert not Payment.objects.exists()


def test_balances_for_many_patients_in_one_query(desk_day, users, django_assert_num_queries):
    other = pf.patient()
    pay(desk_day.patient, users["front_desk"], "25.00")
    pay(other, users["front_desk"], "5.00")
    with django_assert_num_queries(1):
        balances = selectors.balances_for([desk_day.patient.pk, other.pk, 999999])
    assert balances == {
        desk_day.patient.pk: Decimal("-25.00"),
        other.pk: Decimal("-5.00"),
        999999: Decimal("0.00"),
    }


def test_receipt_pdf_is_a_real_pdf_with_number_and_amount(desk_day, users):
    patient = pf.patient(first_name="Zoë", last_name="Nguyễn")
    payment = pay(
        patient, users["front_desk"], "1234.56", "card", "AUTH77", location=desk_day.location
    )
    content = receipt_pdf(payment, balance=Decimal("-1234.56"))
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert payment.receipt_number in text
    assert "$1,234.56" in text
    assert "AUTH77" in text
    assert "Nguyen" in text  # drawn without the accent the built-in font lacks
    assert "Main St" not in text or desk_day.location.address_line1 in text


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_get_distinct_consecutive_numbers(practice, users):
    """Six desks take a payment at the same moment: six numbers, no duplicate, no gap."""
    from medoffice.testing import factories

    factories.location()  # the one drawer the cash goes to
    patient = pf.patient()
    user = users["front_desk"]
    numbers: list[str] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(6)

    def take():
        try:
            barrier.wait(timeout=10)
            numbers.append(pay(patient, user, "10.00").receipt_number)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sorted(int(n.split("-")[1]) for n in numbers) == [1, 2, 3, 4, 5, 6]
    assert Payment.objects.count() == 6
