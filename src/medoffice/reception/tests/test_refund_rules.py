"""What keeps a refund from giving back money the practice does not hold: a void never takes
away credit a refund still counts on, an approval re-checks the credit, a drawer pays out only
the cash it took, a refund limit holds for the day's total, a cancelled request lets go of
the credit it held, and a refund's status moves only as its transitions allow. The papers say
what happened, not more."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from medoffice.core.exceptions import InvalidTransition
from medoffice.core.models import ApprovalRequest, ApprovalStatus, Location
from medoffice.core.services import approval_cancel, approval_decide
from medoffice.ledger import services as ledger
from medoffice.ledger.models import JournalEntry
from medoffice.ledger.services import Line, Posting
from medoffice.reception import selectors, services
from medoffice.reception.documents import deposit_slip_pdf, refund_receipt_pdf
from medoffice.reception.models import REFUND_TRANSITIONS, Payment, Refund, RefundStatus
from medoffice.reception.payments import PaymentInput
from medoffice.reception.services.refunds import _refund_move
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


def pay(patient, user, amount, method="cash", reference="", **kwargs):
    return services.payment_record(
        patient=patient,
        payment=PaymentInput(amount=amount, method=method, reference=reference),
        received_by=user,
        **kwargs,
    )


def ask(patient, user, amount, method="cash", location=None):
    return services.refund_request(
        patient=patient, amount=amount, method=method, reason="overpaid",
        requested_by=user, location=location,
    )  # fmt: skip


@pytest.fixture
def desk(practice, users):
    location = factories.location(name="Main St")
    factories.location(name="North")
    return location


def text_of(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


# --- A void keeps the refunds covered --------------------------------------------------------


def test_a_void_is_refused_while_a_refund_waits_on_its_credit(desk, users):
    patient = pf.patient()
    payment = pay(patient, users["front_desk"], "120.00", location=desk)
    refund = ask(patient, users["front_desk"], "100.00", "check", desk)  # over $50: it waits
    assert refund.status == "requested"
    with pytest.raises(
        InvalidTransition, match=f"refund {refund.number}.*reject or cancel a refund waiting"
    ):
        services.payment_void(payment_id=payment.pk, voided_by=users["front_desk"], reason="oops")
    assert not Payment.objects.get(pk=payment.pk).is_void
    approval_decide(
        request_id=refund.approval.pk, decided_by=users["manager"], approve=False, note="no"
    )
    services.payment_void(payment_id=payment.pk, voided_by=users["front_desk"], reason="oops")
    assert selectors.patient_balance(patient) == Decimal("0.00")


def test_a_void_is_refused_under_an_approved_refund_and_after_one_was_paid(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    first = pay(patient, desk_user, "30.00", location=desk)
    second = pay(patient, desk_user, "20.00", location=desk)
    refund = ask(patient, desk_user, "25.00", "cash", desk)  # within $50: approved at once
    assert refund.status == "approved"
    with pytest.raises(InvalidTransition, match="approved, to pay out"):
        services.payment_void(payment_id=first.pk, voided_by=desk_user, reason="mistake")
    services.refund_pay(refund_id=refund.pk, paid_by=desk_user)
    with pytest.raises(InvalidTransition, match="owing money that was never taken"):
        services.payment_void(payment_id=first.pk, voided_by=desk_user, reason="mistake")
    # The $20 payment can go: the $25 refunded is still covered by the $30 one.
    services.payment_void(payment_id=second.pk, voided_by=desk_user, reason="mistake")
    assert selectors.patient_balance(patient) == Decimal("-5.00")


def test_an_approval_rechecks_the_credit_it_gives_back(desk, users):
    patient = pf.patient()
    pay(patient, users["front_desk"], "90.00", "card", "AB1", location=desk)
    refund = ask(patient, users["front_desk"], "80.00", "card", desk)
    # While it waits, an adjustment by the accountant takes $30 of the credit.
    ledger.post(
        Posting(
            source_type="tests.adjustment", source_id=1, date=selectors.local_today(),
            lines=[
                Line("unapplied_patient", debit="30.00", patient=patient),
                Line("bank_operating", credit="30.00"),
            ],
        ),
        actor=users["owner"],
    )  # fmt: skip
    with pytest.raises(InvalidTransition, match=r"more than the credit on the account now \(\$60"):
        approval_decide(request_id=refund.approval.pk, decided_by=users["manager"], approve=True)
    assert Refund.objects.get(pk=refund.pk).status == "requested"
    assert ApprovalRequest.objects.get(pk=refund.approval.pk).status == ApprovalStatus.PENDING
    assert not JournalEntry.objects.filter(source_type="reception.refund").exists()


# --- The drawer pays only the cash it holds --------------------------------------------------


def test_a_cash_refund_beyond_the_days_cash_is_refused_and_paid_by_check_instead(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "40.00", "card", "AB2", location=desk)  # no cash in the drawer
    refund = ask(patient, desk_user, "40.00", "cash", desk)
    assert refund.status == "approved"
    with pytest.raises(InvalidTransition, match=r"holds \$0.00 in cash") as caught:
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user)
    assert caught.value.field == "method"
    assert Refund.objects.get(pk=refund.pk).status == "approved"
    paid = services.refund_pay(
        refund_id=refund.pk, paid_by=desk_user, method="check", reference="7001"
    )
    assert (paid.status, paid.method, paid.reference) == ("paid", "check", "7001")
    assert selectors.drawer_day(desk, selectors.local_today()).expected_cash == Decimal("0.00")
    entry = JournalEntry.objects.get(source_key=f"reception.refund:{refund.pk}:paid")
    assert {line.account.key for line in entry.lines.all()} == {
        "refunds_payable",
        "bank_operating",
    }


def test_a_cash_refund_within_the_days_cash_is_paid_from_the_drawer(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "30.00", location=desk)
    refund = ask(patient, desk_user, "30.00", "cash", desk)
    services.refund_pay(refund_id=refund.pk, paid_by=desk_user)
    assert selectors.drawer_day(desk, selectors.local_today()).expected_cash == Decimal("0.00")
    other = pf.patient()
    pay(other, desk_user, "10.00", "card", "AB3", location=desk)
    second = ask(other, desk_user, "5.00", "cash", desk)
    with pytest.raises(InvalidTransition, match="holds"):  # the drawer is empty again
        services.refund_pay(refund_id=second.pk, paid_by=desk_user)


# --- The limit holds for the day -------------------------------------------------------------


def test_a_refund_split_under_the_limit_still_goes_to_the_queue(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]  # refund authority $50
    pay(patient, desk_user, "90.00", location=desk)
    first = ask(patient, desk_user, "30.00", "cash", desk)
    second = ask(patient, desk_user, "30.00", "cash", desk)
    assert first.status == "approved"
    assert second.status == "requested"  # $60 today is over $50
    assert "$30.00 the same person refunded today" in second.approval.description
    assert second.approval.amount == Decimal("30.00")  # the queue shows the refund itself
    # Another person's authority is their own.
    third = ask(patient, factories.user("front_desk"), "20.00", "cash", desk)
    assert third.status == "approved"


# --- A cancelled request lets go -------------------------------------------------------------


def test_cancelling_the_request_cancels_the_refund_and_frees_the_credit(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "100.00", "card", "AB4", location=desk)
    refund = ask(patient, desk_user, "100.00", "card", desk)
    assert selectors.refundable_credit(patient.pk) == Decimal("0.00")
    approval_cancel(request_id=refund.approval.pk, cancelled_by=desk_user)
    refund.refresh_from_db()
    assert refund.status == "cancelled"
    assert selectors.refundable_credit(patient.pk) == Decimal("100.00")
    with pytest.raises(InvalidTransition, match="was cancelled"):
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="R1")


# --- A refund moves only as the table allows ------------------------------------------------


def test_a_refund_moves_only_as_its_transitions_allow(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "40.00", location=desk)
    paid = ask(patient, desk_user, "25.00", "cash", desk)  # within $50: approved at once
    services.refund_pay(refund_id=paid.pk, paid_by=desk_user)
    paid.refresh_from_db()
    entries = JournalEntry.objects.count()
    with pytest.raises(InvalidTransition, match=f"Refund {paid.number} is paid: it cannot become"):
        _refund_move(paid, RefundStatus.APPROVED)
    assert paid.status == "paid" and Refund.objects.get(pk=paid.pk).status == "paid"
    assert JournalEntry.objects.count() == entries
    for start in RefundStatus:
        for to in RefundStatus:
            refund = Refund.objects.get(pk=paid.pk)
            refund.status = start
            if to in REFUND_TRANSITIONS[start]:
                _refund_move(refund, to)
                assert refund.status == to
                continue
            with pytest.raises(InvalidTransition, match=f"is {start.value}: .* become {to.value}"):
                _refund_move(refund, to)
            assert refund.status == start
    assert Refund.objects.get(pk=paid.pk).status == "paid"  # nothing was saved


# --- The papers ------------------------------------------------------------------------------


def test_a_refund_receipt_says_what_happened_to_the_money(desk, users):
    patient = pf.patient()
    pay(patient, users["front_desk"], "100.00", "card", "AB5", location=desk)
    refund = ask(patient, users["front_desk"], "90.00", "card", desk)
    text = text_of(refund_receipt_pdf(refund))
    assert "Amount asked for (waiting for approval)" in text
    assert "Amount refunded" not in text and "not a receipt" in text
    approval_decide(
        request_id=refund.approval.pk, decided_by=users["manager"], approve=False, note="no"
    )
    refund.refresh_from_db()
    text = text_of(refund_receipt_pdf(refund))
    assert "Rejected by" in text and "Approved by" not in text
    paid = ask(patient, users["front_desk"], "40.00", "card", desk)
    services.refund_pay(refund_id=paid.pk, paid_by=users["front_desk"], reference="RF7")
    paid.refresh_from_db()
    text = text_of(refund_receipt_pdf(paid))
    assert "Amount refunded" in text and "Keep this receipt" in text


def test_a_deposit_slip_adds_up_when_the_checks_counted_differ_from_the_receipts(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "45.00", "check", "1001", location=desk)
    pay(patient, desk_user, "30.00", "check", "1002", location=desk)
    close = services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="0", counted_checks="73.00",
        counted_card="0", closed_by=desk_user,
    )  # fmt: skip
    deposit = services.deposit_make(location=desk, close_ids=[close.pk], made_by=desk_user)
    text = text_of(deposit_slip_pdf(deposit))
    assert "$45.00" in text and "$30.00" in text and "$73.00" in text
    assert "Checks counted at the close, less the receipts above" in text and "-$2.00" in text


# --- What the probe of the demo found --------------------------------------------------------


def test_a_card_refund_comes_off_the_days_card_batch(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "60.00", "card", "AB6", location=desk)
    refund = ask(patient, desk_user, "25.00", "card", desk)
    services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="RF-8")
    day = selectors.drawer_day(desk, selectors.local_today())
    assert day.expected_card == Decimal("35.00")  # what the terminal's batch holds
    assert [r.pk for r in day.refunds] == [refund.pk]


def test_a_card_refund_beyond_the_days_card_batch_is_refused_and_paid_by_check(desk, users):
    """The processor pays a day's batch net of its refunds: a card refund larger than the
    day's card payments would leave the batch below nothing (and its close a false overage)."""
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "30.00", "cash", location=desk)
    pay(patient, desk_user, "10.00", "card", "AB9", location=desk)
    refund = ask(patient, desk_user, "25.00", "card", desk)
    with pytest.raises(InvalidTransition, match=r"holds \$10.00 in card payments taken today"):
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="RF-10")
    assert selectors.drawer_day(desk, selectors.local_today()).expected_card == Decimal("10.00")
    services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="1234", method="check")
    refund.refresh_from_db()
    assert (refund.status, refund.method) == ("paid", "check")
    assert selectors.drawer_day(desk, selectors.local_today()).expected_card == Decimal("10.00")


def test_a_card_refund_at_a_closed_drawer_is_refused(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "60.00", "card", "AB7", location=desk)
    refund = ask(patient, desk_user, "20.00", "card", desk)
    services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="0", counted_checks="0",
        counted_card="60", closed_by=desk_user,
    )  # fmt: skip
    with pytest.raises(InvalidTransition, match="cannot be paid back to the card there today"):
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="RF-9")


@pytest.mark.parametrize(("method", "how"), [("cash", "in cash"), ("card", "back to the card")])
def test_a_refund_approved_at_a_closed_drawer_says_how_to_pay_it(desk, users, method, how):
    """Approving touches no drawer (the credit moves to refunds payable), so it is not refused;
    what cannot happen today is paying it from the closed drawer: the refund says so at once,
    naming the drawer and the day, and a check pays it."""
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "60.00", method, "" if method == "cash" else "AB8", location=desk)
    day = selectors.local_today()
    services.drawer_close(
        location=desk, day=day, counted_cash="60" if method == "cash" else "0",
        counted_checks="0", counted_card="0" if method == "cash" else "60",
        closed_by=desk_user,
    )  # fmt: skip
    refund = ask(patient, desk_user, "20.00", method, desk)
    assert refund.status == "approved"
    words = (
        f"The drawer at Main St for {day:%m/%d/%Y} is closed (by {desk_user}), so refund "
        f"{refund.number} cannot be paid {how} there today: pay it by check now, or {how} on "
        "a day the drawer is open."
    )
    assert services.refund_closed_drawer(refund) == words
    with pytest.raises(InvalidTransition) as caught:
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="RF-10")
    assert caught.value.message == words and caught.value.field == "method"
    assert Refund.objects.get(pk=refund.pk).status == "approved"
    paid = services.refund_pay(
        refund_id=refund.pk, paid_by=desk_user, method="check", reference="7010"
    )
    assert (paid.status, paid.method) == ("paid", "check")
    assert services.refund_closed_drawer(paid) == ""  # paid: nothing stops it any more


def test_a_refund_approved_in_the_queue_after_the_close_says_how_to_pay_it(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]  # refund authority $50
    pay(patient, desk_user, "90.00", location=desk)
    refund = ask(patient, desk_user, "80.00", "cash", desk)
    assert refund.status == "requested"
    assert services.refund_closed_drawer(refund) == ""  # nothing to pay yet
    services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="90", counted_checks="0",
        counted_card="0", closed_by=desk_user,
    )  # fmt: skip
    approval_decide(request_id=refund.approval.pk, decided_by=users["manager"], approve=True)
    refund.refresh_from_db()
    assert refund.status == "approved"
    assert "pay it by check now, or in cash on a day the drawer is open" in (
        services.refund_closed_drawer(refund)
    )
    tomorrow = timezone.now() + timedelta(days=1)
    assert services.refund_closed_drawer(refund, now=tomorrow) == ""  # the next day's drawer


def test_card_money_names_its_desk_when_there_are_several(desk, users):
    from medoffice.core.exceptions import InvalidInput

    patient = pf.patient()
    with pytest.raises(InvalidInput, match="location's card terminal") as caught:
        pay(patient, users["front_desk"], "10.00", "card", "AB8")
    assert caught.value.field == "location"
    pay(patient, users["front_desk"], "10.00", "card", "AB8", location=desk)
    with pytest.raises(InvalidInput, match="card terminal gives it back"):
        ask(patient, users["front_desk"], "5.00", "card")


def test_a_past_day_without_money_or_in_a_closed_month_does_not_close(desk, users):
    from datetime import timedelta

    from medoffice.core.exceptions import InvalidInput

    desk_user = users["front_desk"]
    empty_day = selectors.local_today() - timedelta(days=3)
    with pytest.raises(InvalidInput, match="There was no money at Main St"):
        services.drawer_close(
            location=desk, day=empty_day, counted_cash="500", counted_checks="0",
            counted_card="0", closed_by=desk_user,
        )  # fmt: skip
    assert not JournalEntry.objects.exists()
    services.drawer_close(  # today closes whatever it holds, even nothing
        location=desk, day=selectors.local_today(), counted_cash="0", counted_checks="0",
        counted_card="0", closed_by=desk_user,
    )  # fmt: skip


def test_a_drawer_close_refused_names_what_to_check(desk, users):
    from medoffice.core.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match=r"check the cash counted, note\.") as caught:
        services.drawer_close(
            location=desk, day=selectors.local_today(), counted_cash="", counted_checks="0",
            counted_card="0", note="x" * 201, closed_by=users["front_desk"],
        )  # fmt: skip
    assert set(caught.value.errors) == {"counted_cash", "note"}


# --- Withdrawing an approved refund ---------------------------------------------------------


def test_an_approved_refund_is_withdrawn_and_its_credit_comes_back_so_the_void_can_go(desk, users):
    """A void refused under an approved refund names the way out, and the way out works: the
    refund is withdrawn (its approval entry reversed), then the payment is voided."""
    patient = pf.patient()
    desk_user = users["front_desk"]
    payment = pay(patient, desk_user, "30.00", location=desk)
    refund = ask(patient, desk_user, "25.00", "check", desk)
    assert refund.status == "approved"
    with pytest.raises(InvalidTransition, match="withdraw an approved one on its page"):
        services.payment_void(payment_id=payment.pk, voided_by=desk_user, reason="mistake")
    from medoffice.core.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="Say why the refund is withdrawn"):
        services.refund_withdraw(refund_id=refund.pk, withdrawn_by=desk_user, reason=" ")
    done = services.refund_withdraw(
        refund_id=refund.pk, withdrawn_by=desk_user, reason="patient keeps the credit"
    )
    assert done.status == RefundStatus.WITHDRAWN and done.withdrawn_by == desk_user
    withdrawal = JournalEntry.objects.get(source_key=f"reception.refund:{refund.pk}:withdrawn")
    assert withdrawal.reverses.source_key == f"reception.refund:{refund.pk}:approved"
    assert selectors.patient_balance(patient) == Decimal("-30.00")  # the credit is back
    with pytest.raises(InvalidTransition, match="was withdrawn"):
        services.refund_withdraw(refund_id=refund.pk, withdrawn_by=desk_user, reason="again")
    with pytest.raises(InvalidTransition, match="was withdrawn"):
        services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="1234")
    services.payment_void(payment_id=payment.pk, voided_by=desk_user, reason="mistake")
    assert selectors.patient_balance(patient) == Decimal("0.00")


def test_a_refund_paid_out_or_waiting_is_not_withdrawn(desk, users):
    patient = pf.patient()
    desk_user = users["front_desk"]
    pay(patient, desk_user, "300.00", location=desk)
    paid = ask(patient, desk_user, "20.00", "cash", desk)
    services.refund_pay(refund_id=paid.pk, paid_by=desk_user)
    with pytest.raises(InvalidTransition, match="was paid out already"):
        services.refund_withdraw(refund_id=paid.pk, withdrawn_by=desk_user, reason="x")
    waiting = ask(patient, desk_user, "200.00", "check", desk)  # over the desk's $50
    with pytest.raises(InvalidTransition, match="is waiting for approval"):
        services.refund_withdraw(refund_id=waiting.pk, withdrawn_by=desk_user, reason="x")
    assert not JournalEntry.objects.filter(source_key__endswith=":withdrawn").exists()


def test_the_refund_page_and_the_api_withdraw_once(client_for, desk, users):
    import json

    patient = pf.patient()
    pay(patient, users["front_desk"], "90.00", location=desk)
    first = ask(patient, users["front_desk"], "10.00", "check", desk)
    second = ask(patient, users["front_desk"], "15.00", "check", desk)
    page = client_for("front_desk")
    shown = page.get(f"/reception/refunds/{first.pk}/").content.decode()
    assert "Withdraw refund" in shown
    after = page.post(
        f"/reception/refunds/{first.pk}/",
        {"action": "withdraw", "withdraw_reason": "asked in error"},
        follow=True,
    ).content.decode()
    assert "is withdrawn: $10.00 is back" in after
    assert "asked in error" in after and "Withdraw refund" not in after
    send = lambda key, body: page.post(  # noqa: E731
        f"/api/reception/refunds/{second.pk}/withdraw", json.dumps(body),
        content_type="application/json", headers={"Idempotency-Key": key},
    )  # fmt: skip
    assert send("w1", {"reason": ""}).status_code == 422
    done = send("w2", {"reason": "keeps the credit"})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"
    assert send("w2", {"reason": "keeps the credit"}).json() == done.json()  # replayed
    assert send("w3", {"reason": "again"}).status_code == 409
    assert client_for("auditor").post(
        f"/api/reception/refunds/{second.pk}/withdraw", json.dumps({"reason": "x"}),
        content_type="application/json", headers={"Idempotency-Key": "a1"},
    ).status_code == 403  # fmt: skip
    assert selectors.patient_balance(patient) == Decimal("-90.00")
    text = "".join(
        p.extract_text()
        for p in PdfReader(io.BytesIO(refund_receipt_pdf(Refund.objects.get(pk=first.pk)))).pages
    )
    assert "withdrawn before it was paid out" in text and "asked in error" in text
    assert "Refund record" in text and "Refund receipt" not in text


@pytest.mark.parametrize("method", ["cash", "card"])
def test_a_void_that_would_leave_the_drawer_below_its_refunds_is_refused(desk, users, method):
    """A refund paid from today's drawer came out of its cash (or off its card batch); the
    patient's credit may come from elsewhere, so a void may still pass the credit's check, but
    it may not take out more than is left in the drawer (its close would book a false over)."""
    desk_user = users["front_desk"]
    reference = "" if method == "cash" else "AB5"
    patient = pf.patient()
    north = Location.objects.get(name="North")
    pay(patient, desk_user, "100.00", "check", "1001", location=north)  # credit from elsewhere
    taken = pay(patient, desk_user, "35.00", method, reference, location=desk)
    refund = ask(patient, desk_user, "30.00", method, desk)
    services.refund_pay(refund_id=refund.pk, paid_by=desk_user, reference="RF-5")
    with pytest.raises(InvalidTransition, match=r"leave \$5.00 in .* less than its \$35.00"):
        services.payment_void(payment_id=taken.pk, voided_by=desk_user, reason="mistake")
    day = selectors.drawer_day(desk, selectors.local_today())
    assert (day.expected_cash if method == "cash" else day.expected_card) == Decimal("5.00")
    assert not Payment.objects.get(pk=taken.pk).is_void
