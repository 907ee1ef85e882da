"""The desk's money in the books: payments post, voids reverse, the drawer closes with its
over/short, deposits carry closed days to the bank, refunds go through the approval service."""

from __future__ import annotations

import importlib
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps as live_apps
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, NotPermitted
from medoffice.core.models import ApprovalRequest, ApprovalStatus
from medoffice.core.services import approval_decide
from medoffice.ledger.models import JournalEntry, JournalLine
from medoffice.ledger.selectors import trial_balance
from medoffice.reception import selectors, services
from medoffice.reception.documents import deposit_slip_pdf, receipt_pdf, refund_receipt_pdf
from medoffice.reception.models import Deposit, DepositDay, DrawerClose, Payment, Refund
from medoffice.reception.payments import PaymentInput
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf

pytestmark = pytest.mark.django_db


def pay(patient, user, amount="25.00", method="cash", reference="", **kwargs):
    return services.payment_record(
        patient=patient,
        payment=PaymentInput(amount=amount, method=method, reference=reference),
        received_by=user,
        **kwargs,
    )


def lines_of(source_key: str) -> list[tuple[str, int, int | None]]:
    entry = JournalEntry.objects.get(source_key=source_key)
    return sorted(
        (line.account.key, line.amount_cents, line.patient_id)
        for line in entry.lines.select_related("account")
    )


def snapshot() -> tuple:
    return (
        JournalEntry.objects.count(),
        JournalLine.objects.count(),
        Payment.objects.count(),
        Payment.objects.filter(voided_at__isnull=False).count(),
        DrawerClose.objects.count(),
        Deposit.objects.count(),
        Refund.objects.count(),
    )


def account_net(key: str) -> int:
    return sum(JournalLine.objects.filter(account__key=key).values_list("amount_cents", flat=True))


@pytest.fixture
def desk(practice, users):
    location = factories.location(name="Main St")
    factories.location(name="North")  # two desks: the location is never guessed
    return location


def today():
    return selectors.local_today()


# --- Payments post --------------------------------------------------------------------------


def test_a_cash_payment_posts_to_the_drawer_and_the_patients_account(desk, users):
    patient = pf.patient()
    payment = pay(patient, users["front_desk"], "25.00", location=desk)
    drawer = f"cash_drawer:{desk.pk}"
    assert lines_of(f"reception.payment:{payment.pk}") == sorted(
        [(drawer, 2500, None), ("unapplied_patient", -2500, patient.pk)]
    )
    entry = JournalEntry.objects.get(source_key=f"reception.payment:{payment.pk}")
    assert entry.date == today() and entry.posted_by == users["front_desk"]
    assert selectors.patient_balance(patient) == Decimal("-25.00")
    assert trial_balance().balanced


def test_a_card_payment_posts_to_card_clearing(desk, users):
    patient = pf.patient()
    payment = pay(patient, users["front_desk"], "30.00", "card", "A1B2C3", location=desk)
    assert lines_of(f"reception.payment:{payment.pk}") == sorted(
        [("card_clearing", 3000, None), ("unapplied_patient", -3000, patient.pk)]
    )


def test_the_entry_is_dated_the_payments_day_in_the_practices_zone(desk, users):
    """23:30 in Chicago is the next day in UTC; the entry keeps the local day."""
    zone = selectors.practice_zone()
    late = datetime.combine(today() - timedelta(days=1), time(23, 30), tzinfo=zone)
    payment = pay(pf.patient(), users["front_desk"], "10.00", location=desk, now=late)
    entry = JournalEntry.objects.get(source_key=f"reception.payment:{payment.pk}")
    assert late.astimezone(UTC).date() != entry.date == late.date()


def test_cash_without_a_location_is_refused_when_there_are_several(desk, users):
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        pay(pf.patient(), users["front_desk"], "10.00")
    assert caught.value.field == "location"
    assert snapshot() == before


def test_a_payment_whose_entry_fails_is_not_written(desk, users, monkeypatch):
    from medoffice.reception.services import payments

    def broken(*args, **kwargs):
        raise RuntimeError("books unavailable")

    monkeypatch.setattr(payments.ledger, "post", broken)
    before = snapshot()
    with pytest.raises(RuntimeError):
        pay(pf.patient(), users["front_desk"], "10.00", location=desk)
    assert snapshot() == before


def test_the_data_migration_posts_each_existing_payment_once(desk, users):
    migration = importlib.import_module(
        "medoffice.reception.migrations.0006_post_existing_payments"
    )
    patient = pf.patient()
    old = [
        rf.payment(patient=patient, received_by=users["front_desk"], amount="12.34", post=False,
                   location=desk),
        rf.payment(patient=patient, received_by=users["front_desk"], amount="5.00",
                   method="card", reference="X1", post=False),
    ]  # fmt: skip
    posted_already = pay(patient, users["front_desk"], "1.00", location=desk)
    editor = SimpleNamespace(connection=connection)  # all the migration's function uses of it
    migration.post_existing_payments(live_apps, editor)
    migration.post_existing_payments(live_apps, editor)  # again: nothing more
    for payment in old:
        assert (
            JournalEntry.objects.filter(source_key=f"reception.payment:{payment.pk}").count() == 1
        )
    assert JournalEntry.objects.filter(source_type="reception.payment").count() == 3
    assert lines_of(f"reception.payment:{old[0].pk}") == sorted(
        [(f"cash_drawer:{desk.pk}", 1234, None), ("unapplied_patient", -1234, patient.pk)]
    )
    assert posted_already.pk
    assert selectors.patient_balance(patient) == Decimal("-18.34")
    assert trial_balance().balanced


# --- Void ---------------------------------------------------------------------------------


def test_a_void_reverses_the_entry_and_keeps_the_receipt_number(desk, users):
    patient = pf.patient()
    keep = pay(patient, users["front_desk"], "30.00", location=desk)
    mistake = pay(patient, users["front_desk"], "40.00", location=desk)
    voided = services.payment_void(
        payment_id=mistake.pk, voided_by=users["front_desk"], reason="typed twice"
    )
    assert voided.is_void and voided.receipt_number == mistake.receipt_number
    assert voided.voided_by == users["front_desk"] and voided.void_reason == "typed twice"
    reversal = JournalEntry.objects.get(source_key=f"reception.payment:{mistake.pk}:void")
    assert reversal.reverses.source_key == f"reception.payment:{mistake.pk}"
    assert selectors.patient_balance(patient) == Decimal("-30.00")
    assert account_net(f"cash_drawer:{desk.pk}") == 3000
    assert keep.pk and not Payment.objects.get(pk=keep.pk).is_void
    pdf = PdfReader(io.BytesIO(receipt_pdf(voided))).pages[0].extract_text()
    assert "VOID" in pdf and "typed twice" in pdf


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_void_needs_a_reason(desk, users, reason):
    payment = pay(pf.patient(), users["front_desk"], location=desk)
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        services.payment_void(payment_id=payment.pk, voided_by=users["front_desk"], reason=reason)
    assert caught.value.field == "reason"
    assert snapshot() == before


def test_voiding_twice_yesterday_or_after_the_close_is_refused(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    once = pay(patient, desk_user, location=desk)
    services.payment_void(payment_id=once.pk, voided_by=desk_user, reason="wrong patient")
    yesterday = pay(patient, desk_user, location=desk, now=timezone.now() - timedelta(days=1))
    closed = pay(patient, desk_user, location=desk)
    services.drawer_close(
        location=desk, day=today(), counted_cash="25.00", counted_checks="0",
        counted_card="0", closed_by=desk_user,
    )  # fmt: skip
    before = snapshot()
    with pytest.raises(InvalidTransition, match="already void"):
        services.payment_void(payment_id=once.pk, voided_by=desk_user, reason="again")
    with pytest.raises(InvalidTransition, match="only today's"):
        services.payment_void(payment_id=yesterday.pk, voided_by=desk_user, reason="late")
    with pytest.raises(InvalidTransition, match="is closed"):
        services.payment_void(payment_id=closed.pk, voided_by=desk_user, reason="after close")
    assert snapshot() == before


def test_voiding_needs_the_permission(desk, users):
    payment = pay(pf.patient(), users["front_desk"], location=desk)
    with pytest.raises(NotPermitted):
        services.payment_void(payment_id=payment.pk, voided_by=users["auditor"], reason="x")
    assert not Payment.objects.get(pk=payment.pk).is_void


# --- The drawer's close ---------------------------------------------------------------------


def test_the_close_counts_the_day_and_posts_a_shortage(desk, users):
    desk_user = users["front_desk"]
    patient = pf.patient()
    pay(patient, desk_user, "30.00", location=desk)
    pay(patient, desk_user, "45.00", "check", "1042", location=desk)
    pay(patient, desk_user, "20.00", "card", "AB12", location=desk)
    voided = pay(patient, desk_user, "99.00", location=desk)
    services.payment_void(payment_id=voided.pk, voided_by=desk_user, reason="mistake")
    pay(patient, desk_user, "7.00", location=factories.location(name="Elsewhere"))
    close = services.drawer_close(
        location=desk, day=today(), counted_cash="28.00", counted_checks="45.00",
        counted_card="20.00", closed_by=desk_user, note="short two dollars",
    )  # fmt: skip
    assert (close.expected_cash, close.expected_checks, close.expected_card) == (
        Decimal("30.00"), Decimal("45.00"), Decimal("20.00"),
    )  # fmt: skip
    assert close.over_short == Decimal("-2.00") and close.check_count == 1
    assert lines_of(f"reception.drawerclose:{close.pk}") == sorted(
        [("cash_over_short", 200, None), (f"cash_drawer:{desk.pk}", -200, None)]
    )
    assert account_net(f"cash_drawer:{desk.pk}") == 2800 + 4500
    assert close.closed_by == desk_user


def test_a_card_batch_that_differs_from_the_receipts_posts_its_difference(desk, users):
    desk_user = users["front_desk"]
    patient = pf.patient()
    pay(patient, desk_user, "20.00", location=desk)
    pay(patient, desk_user, "50.00", "card", "AB13", location=desk)
    close = services.drawer_close(
        location=desk, day=today(), counted_cash="21.00", counted_checks="0",
        counted_card="45.00", closed_by=desk_user,
    )  # fmt: skip
    assert lines_of(f"reception.drawerclose:{close.pk}") == sorted(
        [
            (f"cash_drawer:{desk.pk}", 100, None), ("cash_over_short", -100, None),
            ("cash_over_short", 500, None), ("card_clearing", -500, None),
        ]
    )  # fmt: skip
    assert account_net("card_clearing") == 4500  # what the processor will pay
    entry = JournalEntry.objects.get(source_key=f"reception.drawerclose:{close.pk}")
    assert entry.memo == f"Close {today():%m/%d/%Y}: drawer over, card batch short"


def test_an_overage_posts_the_other_way_and_an_even_count_posts_nothing(desk, users):
    desk_user = users["front_desk"]
    pay(pf.patient(), desk_user, "10.00", location=desk)
    over = services.drawer_close(
        location=desk, day=today(), counted_cash="10.50", counted_checks="0", counted_card="0",
        closed_by=desk_user,
    )  # fmt: skip
    assert lines_of(f"reception.drawerclose:{over.pk}") == sorted(
        [("cash_over_short", -50, None), (f"cash_drawer:{desk.pk}", 50, None)]
    )
    north = factories.location(name="Quiet")
    even = services.drawer_close(
        location=north, day=today(), counted_cash="0", counted_checks="0", counted_card="0",
        closed_by=desk_user,
    )  # fmt: skip
    assert not JournalEntry.objects.filter(source_key=f"reception.drawerclose:{even.pk}").exists()


def test_a_closed_day_refuses_payments_at_that_drawer_and_a_second_close(desk, users):
    desk_user = users["front_desk"]
    services.drawer_close(
        location=desk, day=today(), counted_cash="0", counted_checks="0", counted_card="0",
        closed_by=desk_user,
    )  # fmt: skip
    before = snapshot()
    with pytest.raises(InvalidTransition, match="is closed"):
        pay(pf.patient(), desk_user, "10.00", location=desk)
    with pytest.raises(InvalidTransition, match="closed already"):
        services.drawer_close(
            location=desk, day=today(), counted_cash="0", counted_checks="0", counted_card="0",
            closed_by=desk_user,
        )  # fmt: skip
    assert snapshot() == before
    other = Payment.objects.filter(
        pk=pay(pf.patient(), desk_user, location=factories.location()).pk
    )
    assert other.exists()  # another location's drawer is open


@pytest.mark.parametrize(
    ("counts", "field"),
    [
        ({"counted_cash": "", "counted_checks": "0", "counted_card": "0"}, "counted_cash"),
        ({"counted_cash": "-1", "counted_checks": "0", "counted_card": "0"}, "counted_cash"),
        ({"counted_cash": "0", "counted_checks": "abc", "counted_card": "0"}, "counted_checks"),
        ({"counted_cash": "0", "counted_checks": "0", "counted_card": "1.005"}, "counted_card"),
    ],
)
def test_bad_counts_are_refused_naming_the_field(desk, users, counts, field):
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        services.drawer_close(location=desk, day=today(), closed_by=users["front_desk"], **counts)
    assert field in caught.value.errors
    assert snapshot() == before


def test_closing_needs_the_permission(desk, users):
    with pytest.raises(NotPermitted):
        services.drawer_close(
            location=desk, day=today(), counted_cash="0", counted_checks="0", counted_card="0",
            closed_by=users["biller"],
        )  # fmt: skip
    assert not DrawerClose.objects.exists()


# --- The deposit ----------------------------------------------------------------------------


def closed_day(desk, user, day_offset: int, cash: str, check: str | None, counted_cash=None):
    when = timezone.now() - timedelta(days=day_offset)
    patient = pf.patient()
    pay(patient, user, cash, location=desk, now=when)
    if check:
        pay(patient, user, check, "check", str(1000 + day_offset), location=desk, now=when)
    pay(patient, user, "15.00", "card", "CARD1", location=desk, now=when)
    return services.drawer_close(
        location=desk, day=selectors.local_today(when), counted_cash=counted_cash or cash,
        counted_checks=check or "0", counted_card="15.00", closed_by=user,
    )  # fmt: skip


def test_a_deposit_moves_cash_and_checks_of_closed_days_to_the_bank(desk, users):
    desk_user = users["front_desk"]
    first = closed_day(desk, desk_user, 2, "30.00", "45.00")
    second = closed_day(desk, desk_user, 1, "20.00", "12.50", counted_cash="18.00")
    deposit = services.deposit_make(
        location=desk, close_ids=[first.pk, second.pk], made_by=desk_user
    )
    assert (deposit.cash, deposit.checks, deposit.total) == (
        Decimal("48.00"), Decimal("57.50"), Decimal("105.50"),
    )  # fmt: skip
    assert deposit.check_count == 2
    assert lines_of(f"reception.deposit:{deposit.pk}") == sorted(
        [("bank_operating", 10550, None), (f"cash_drawer:{desk.pk}", -10550, None)]
    )
    assert account_net(f"cash_drawer:{desk.pk}") == 0  # the drawer is empty again
    assert account_net("card_clearing") == 3000  # cards settle from the processor
    assert not selectors.closes_to_deposit(desk).exists()
    text = PdfReader(io.BytesIO(deposit_slip_pdf(deposit))).pages[0].extract_text()
    assert "1001" in text and "1002" in text and "$105.50" in text and "$48.00" in text


def test_a_close_goes_to_the_bank_once(desk, users):
    desk_user = users["front_desk"]
    close = closed_day(desk, desk_user, 1, "30.00", None)
    services.deposit_make(location=desk, close_ids=[close.pk], made_by=desk_user)
    before = snapshot()
    with pytest.raises(Conflict, match="already"):
        services.deposit_make(location=desk, close_ids=[close.pk], made_by=desk_user)
    assert snapshot() == before


def test_the_database_holds_a_close_to_one_deposit(desk, users):
    from django.db import IntegrityError, transaction

    desk_user = users["front_desk"]
    close = closed_day(desk, desk_user, 1, "30.00", None)
    deposit = services.deposit_make(location=desk, close_ids=[close.pk], made_by=desk_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        DepositDay.objects.create(deposit=deposit, drawer_close=close)


def test_a_deposit_takes_only_that_locations_closed_days(desk, users):
    desk_user = users["front_desk"]
    other = factories.location(name="Other")
    close = services.drawer_close(
        location=other, day=today(), counted_cash="5", counted_checks="0", counted_card="0",
        closed_by=desk_user,
    )  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        services.deposit_make(location=desk, close_ids=[close.pk], made_by=desk_user)
    assert caught.value.field == "days"
    with pytest.raises(InvalidInput):
        services.deposit_make(location=desk, close_ids=[], made_by=desk_user)
    assert not Deposit.objects.exists()


# --- Refunds --------------------------------------------------------------------------------


def test_a_refund_within_the_desks_limit_is_approved_and_posted_at_once(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]  # refund authority $50
    pay(patient, desk_user, "80.00", location=desk)
    refund = services.refund_request(
        patient=patient, amount="30.00", method="cash", reason="paid twice",
        requested_by=desk_user, location=desk,
    )  # fmt: skip
    assert refund.status == "approved" and refund.approval.status == ApprovalStatus.APPROVED
    assert lines_of(f"reception.refund:{refund.pk}:approved") == sorted(
        [("unapplied_patient", 3000, patient.pk), ("refunds_payable", -3000, None)]
    )
    assert selectors.patient_balance(patient) == Decimal("-50.00")
    paid = services.refund_pay(refund_id=refund.pk, paid_by=desk_user)
    assert paid.status == "paid"
    assert lines_of(f"reception.refund:{refund.pk}:paid") == sorted(
        [("refunds_payable", 3000, None), (f"cash_drawer:{desk.pk}", -3000, None)]
    )
    # The drawer's day counts the cash given back.
    assert selectors.drawer_day(desk, today()).expected_cash == Decimal("50.00")
    text = PdfReader(io.BytesIO(refund_receipt_pdf(paid))).pages[0].extract_text()
    assert refund.number in text and "$30.00" in text
    with pytest.raises(InvalidTransition, match="paid out already"):
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user)


def test_a_refund_over_the_limit_waits_for_the_manager(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "120.00", "card", "AB12", location=desk)
    refund = services.refund_request(
        patient=patient, amount="100.00", method="card", reason="cancelled procedure",
        requested_by=desk_user, location=desk,
    )  # fmt: skip
    assert refund.status == "requested"
    assert refund.approval.status == ApprovalStatus.PENDING
    assert not JournalEntry.objects.filter(source_type="reception.refund").exists()
    # The credit waiting for approval cannot be asked for again.
    with pytest.raises(InvalidInput, match="more than the credit"):
        services.refund_request(
            patient=patient, amount="30.00", method="card", reason="again",
            requested_by=desk_user, location=desk,
        )  # fmt: skip
    with pytest.raises(InvalidTransition, match="waiting for approval"):
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="RF1")
    approval_decide(request_id=refund.approval.pk, decided_by=users["manager"], approve=True)
    refund.refresh_from_db()
    assert refund.status == "approved"
    assert lines_of(f"reception.refund:{refund.pk}:approved")[0][1] in (10000, -10000)
    paid = services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="RF-991")
    assert lines_of(f"reception.refund:{paid.pk}:paid") == sorted(
        [("refunds_payable", 10000, None), ("card_clearing", -10000, None)]
    )
    assert selectors.patient_balance(patient) == Decimal("-20.00")


def test_a_rejected_refund_posts_nothing(desk, users):
    patient = pf.patient()
    pay(patient, users["front_desk"], "90.00", location=desk)
    refund = services.refund_request(
        patient=patient, amount="90.00", method="check", reason="overpaid",
        requested_by=users["front_desk"], location=desk,
    )  # fmt: skip
    approval_decide(
        request_id=refund.approval.pk, decided_by=users["manager"], approve=False,
        note="apply it to the next visit",
    )  # fmt: skip
    refund.refresh_from_db()
    assert refund.status == "rejected"
    assert not JournalEntry.objects.filter(source_type="reception.refund").exists()
    assert ApprovalRequest.objects.get(pk=refund.approval.pk).status == ApprovalStatus.REJECTED


def test_a_check_refund_pays_from_the_bank_with_its_number(desk, users):
    patient = pf.patient()
    pay(patient, users["front_desk"], "40.00", location=desk)
    refund = services.refund_request(
        patient=patient, amount="40.00", method="check", reason="overpaid",
        requested_by=users["front_desk"], location=desk,
    )  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        services.refund_pay(refund_id=refund.pk, paid_by=users["front_desk"], reference="")
    assert caught.value.field == "reference"
    paid = services.refund_pay(refund_id=refund.pk, paid_by=users["front_desk"], reference="5001")
    assert paid.reference == "5001"
    assert ("bank_operating", -4000, None) in lines_of(f"reception.refund:{paid.pk}:paid")


@pytest.mark.parametrize(
    ("amount", "method", "reason", "field"),
    [
        ("60.01", "cash", "too much", "amount"),
        ("0", "cash", "nothing", "amount"),
        ("10.00", "gold", "odd", "method"),
        ("10.00", "cash", "", "reason"),
    ],
)
def test_bad_refunds_are_refused(desk, users, amount, method, reason, field):
    patient = pf.patient()
    pay(patient, users["front_desk"], "60.00", location=desk)
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        services.refund_request(
            patient=patient, amount=amount, method=method, reason=reason,
            requested_by=users["front_desk"], location=desk,
        )  # fmt: skip
    assert field in caught.value.errors or caught.value.field == field
    assert snapshot() == before


def test_a_cash_refund_after_the_close_is_refused(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "40.00", location=desk)
    refund = services.refund_request(
        patient=patient, amount="20.00", method="cash", reason="overpaid",
        requested_by=desk_user, location=desk,
    )  # fmt: skip
    services.drawer_close(
        location=desk, day=today(), counted_cash="40", counted_checks="0", counted_card="0",
        closed_by=desk_user,
    )  # fmt: skip
    with pytest.raises(InvalidTransition, match="is closed"):
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user)
    assert Refund.objects.get(pk=refund.pk).status == "approved"
