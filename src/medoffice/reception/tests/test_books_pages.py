"""The desk's money pages: void, refund, the drawer's close and the deposit, with who may."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from medoffice.ledger.models import JournalEntry
from medoffice.reception import selectors, services
from medoffice.reception.models import Deposit, DrawerClose, Payment, Refund
from medoffice.reception.payments import PaymentInput
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(practice):
    return factories.location(name="Main St")


def pay(patient, user, location, amount="25.00", method="cash", reference=""):
    return services.payment_record(
        patient=patient,
        payment=PaymentInput(amount=amount, method=method, reference=reference),
        received_by=user,
        location=location,
    )


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("/reception/drawer/", "front_desk", "biller"),
        ("/reception/deposits/", "manager", "auditor"),
    ],
)
def test_drawer_pages_need_close_drawer(client, client_for, desk, url, allowed, refused):
    assert client.get(url).status_code == 302  # anonymous: to the login
    assert client_for(refused).get(url).status_code == 403
    assert client_for(allowed).get(url).status_code == 200


def test_the_desk_voids_on_the_receipt_page(client_for, desk, users):
    patient = pf.patient()
    payment = pay(patient, users["front_desk"], desk, "40.00")
    desk_client = client_for("front_desk")
    page = desk_client.get(f"/reception/payments/{payment.pk}/").content.decode()
    assert "Void this payment" in page
    assert (
        client_for("auditor")
        .post(f"/reception/payments/{payment.pk}/void/", {"reason": "x"})
        .status_code
        == 403
    )
    assert not Payment.objects.get(pk=payment.pk).is_void
    refused = desk_client.post(
        f"/reception/payments/{payment.pk}/void/", {"reason": ""}, follow=True
    )
    assert "Say why the payment is voided." in refused.content.decode()
    assert "reason: " not in refused.content.decode()  # in words, no field name
    assert not Payment.objects.get(pk=payment.pk).is_void
    done = desk_client.post(
        f"/reception/payments/{payment.pk}/void/", {"reason": "wrong amount"}, follow=True
    ).content.decode()
    assert "VOID" in done and "wrong amount" in done and "Void this payment" not in done
    account = desk_client.get(f"/reception/accounts/{patient.pk}/").content.decode()
    assert "VOID" in account and "$0.00" in account
    pdf = desk_client.get(f"/reception/payments/{payment.pk}/receipt.pdf")
    assert pdf["Content-Type"] == "application/pdf"


def test_the_desk_closes_the_drawer_and_makes_the_deposit(client_for, desk, users):
    pay(pf.patient(), users["front_desk"], desk, "30.00")
    pay(pf.patient(), users["front_desk"], desk, "45.00", "check", "1042")
    desk_client = client_for("front_desk")
    url = f"/reception/drawer/?location={desk.pk}"
    page = desk_client.get(url).content.decode()
    assert "$30.00" in page and "$45.00" in page
    bad = desk_client.post(url, {"counted_cash": "", "counted_checks": "45", "counted_card": "0"})
    assert "type the amount counted" in bad.content.decode()
    assert not DrawerClose.objects.exists()
    closed = desk_client.post(
        url, {"counted_cash": "28.00", "counted_checks": "45.00", "counted_card": "0"}, follow=True
    ).content.decode()
    assert "short $2.00" in closed
    close = DrawerClose.objects.get()
    deposits = desk_client.get(f"/reception/deposits/?location={desk.pk}").content.decode()
    assert f'value="{close.pk}"' in deposits
    made = desk_client.post(
        f"/reception/deposits/?location={desk.pk}", {"close": [close.pk]}, follow=True
    )
    deposit = Deposit.objects.get()
    assert deposit.total == Decimal("73.00") and "$73.00" in made.content.decode()
    slip = desk_client.get(f"/reception/deposits/{deposit.pk}/slip.pdf")
    assert slip["Content-Type"] == "application/pdf" and slip.content.startswith(b"%PDF")
    again = desk_client.post(f"/reception/deposits/?location={desk.pk}", {"close": [close.pk]})
    assert "already" in again.content.decode() and Deposit.objects.count() == 1


@pytest.mark.parametrize(
    ("counted", "words"),
    [
        (("30.00", "20.00"), "even."),
        (("28.00", "20.00"), "short $2.00."),
        (("30.00", "15.50"), "cash and checks even; the card batch is short $4.50."),
        (("30.00", "21.25"), "cash and checks even; the card batch is over $1.25."),
        (("31.00", "19.00"), "over $1.00; the card batch is short $1.00."),
    ],
    ids=["even", "drawer-short", "card-short", "card-over", "both"],
)
def test_the_close_says_even_only_when_the_card_batch_matched_too(
    client_for, desk, users, counted, words
):
    pay(pf.patient(), users["front_desk"], desk, "30.00")
    pay(pf.patient(), users["front_desk"], desk, "20.00", "card", "AB12")
    cash, card = counted
    desk_client = client_for("front_desk")
    closed = desk_client.post(
        f"/reception/drawer/?location={desk.pk}",
        {"counted_cash": cash, "counted_checks": "0", "counted_card": card},
        follow=True,
    ).content.decode()
    assert f"Drawer closed for {selectors.local_today():%m/%d/%Y}: {words}" in closed
    shown = re.search(r'data-testid="drawer-closed">(.*?)</p>', closed, re.S)
    assert shown is not None and f": {words}" in " ".join(shown.group(1).split())  # the page too


def test_the_desk_requests_and_pays_a_refund(client_for, desk, users):
    patient = pf.patient()
    pay(patient, users["front_desk"], desk, "60.00")
    desk_client = client_for("front_desk")
    assert "Refund" in desk_client.get(f"/reception/accounts/{patient.pk}/").content.decode()
    form = desk_client.get(f"/reception/accounts/{patient.pk}/refund/")
    token = form.context["form_token"]
    too_much = desk_client.post(
        f"/reception/accounts/{patient.pk}/refund/",
        {"form_token": token, "amount": "61.00", "method": "cash", "reason": "x",
         "location": desk.pk},
    )  # fmt: skip
    assert "more than the credit" in too_much.content.decode()
    assert not Refund.objects.exists()
    done = desk_client.post(
        f"/reception/accounts/{patient.pk}/refund/",
        {"form_token": token, "amount": "20.00", "method": "cash", "reason": "overpaid",
         "location": desk.pk},
        follow=True,
    )  # fmt: skip
    refund = Refund.objects.get()
    assert refund.status == "approved" and "Pay it out" in done.content.decode()
    desk_client.post(f"/reception/refunds/{refund.pk}/")
    refund.refresh_from_db()
    assert refund.status == "paid"
    assert JournalEntry.objects.filter(source_type="reception.refund").count() == 2
    pdf = desk_client.get(f"/reception/refunds/{refund.pk}/receipt.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert selectors.patient_balance(patient) == Decimal("-40.00")


def test_a_cash_refund_the_drawer_cannot_pay_is_paid_by_check_from_the_page(
    client_for, desk, users
):
    patient = pf.patient()
    services.payment_record(
        patient=patient,
        payment=PaymentInput(amount="30.00", method="card", reference="AB9"),
        received_by=users["front_desk"],
        location=desk,
    )
    refund = services.refund_request(
        patient=patient, amount="30.00", method="cash", reason="overpaid",
        requested_by=users["front_desk"], location=desk,
    )  # fmt: skip
    desk_client = client_for("front_desk")
    page = desk_client.get(f"/reception/refunds/{refund.pk}/").content.decode()
    assert 'name="method"' in page and '<option value="cash" selected>' in page
    short = desk_client.post(f"/reception/refunds/{refund.pk}/").content.decode()
    assert "holds $0.00 in cash" in short and 'role="alert"' in short
    desk_client.post(f"/reception/refunds/{refund.pk}/", {"method": "check", "reference": "7002"})
    refund.refresh_from_db()
    assert (refund.status, refund.method, refund.reference) == ("paid", "check", "7002")


def test_a_refund_asked_for_at_a_closed_drawer_says_how_to_pay_it_on_its_pages(
    client_for, desk, users
):
    patient = pf.patient()
    pay(patient, users["front_desk"], desk, "30.00")
    day = selectors.local_today()
    services.drawer_close(
        location=desk, day=day, counted_cash="30", counted_checks="0", counted_card="0",
        closed_by=users["front_desk"],
    )  # fmt: skip
    desk_client = client_for("front_desk")
    form = desk_client.get(f"/reception/accounts/{patient.pk}/refund/")
    done = desk_client.post(
        f"/reception/accounts/{patient.pk}/refund/",
        {"form_token": form.context["form_token"], "amount": "10.00", "method": "cash",
         "reason": "overpaid", "location": desk.pk},
        follow=True,
    ).content.decode()  # fmt: skip
    refund = Refund.objects.get()
    assert refund.status == "approved"
    closed = f"The drawer at Main St for {day:%m/%d/%Y} is closed"
    assert f"Refund {refund.number} approved. {closed}" in done
    assert "pay it out now" not in done
    page = desk_client.get(f"/reception/refunds/{refund.pk}/").content.decode()
    assert 'data-testid="refund-closed-drawer"' in page and "pay it by check now" in page
    assert '<option value="check" selected>' in page  # the way that works today is offered
    desk_client.post(f"/reception/refunds/{refund.pk}/", {"method": "check", "reference": "7003"})
    refund.refresh_from_db()
    assert (refund.status, refund.method) == ("paid", "check")


def test_the_drawer_page_refuses_a_location_that_is_not_one_and_hides_a_card_number(
    client_for, desk, users
):
    page = client_for("front_desk")
    for bad in ("999", "abc"):
        refused = page.get("/reception/drawer/", {"location": bad})
        assert refused.status_code == 422
        assert "Choose one of the active locations" in refused.content.decode()
    posted = page.post(
        f"/reception/drawer/?location={desk.pk}",
        {"location": desk.pk, "counted_cash": "0", "counted_checks": "0", "counted_card": "0",
         "note": "4111111111111111"},
    ).content.decode()  # fmt: skip
    assert "never record a card number" in posted.lower()
    assert "4111111111111111" not in posted
    assert not DrawerClose.objects.exists()


def test_a_closed_day_with_no_cash_or_checks_is_not_offered_for_deposit(client_for, desk, users):
    pay(pf.patient(), users["front_desk"], desk, "20.00", "card", "AB1")
    close = services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="0", counted_checks="0",
        counted_card="20", closed_by=users["front_desk"],
    )  # fmt: skip
    assert not selectors.closes_to_deposit(desk).filter(pk=close.pk).exists()
    assert selectors.closes_to_settle(desk).filter(pk=close.pk).exists()


def test_the_drawer_page_offers_no_close_for_a_day_to_come(client_for, desk):
    tomorrow = selectors.local_today() + dt.timedelta(days=1)
    page = (
        client_for("front_desk")
        .get("/reception/drawer/", {"location": desk.pk, "date": tomorrow.isoformat()})
        .content.decode()
    )
    assert "has not come yet" in page and 'name="counted_cash"' not in page
    today = client_for("front_desk").get("/reception/drawer/", {"location": desk.pk})
    assert 'name="counted_cash"' in today.content.decode()
