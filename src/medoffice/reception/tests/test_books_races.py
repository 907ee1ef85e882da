"""At most once, from many threads at the same moment: a void, a drawer's close, a deposit of
a close, a refund paid out, the credit refunded, a payment's entry. Each rule also holds in
the database (a unique key) when the service's own check is not there."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, connections, transaction

from medoffice.ledger import services as ledger
from medoffice.ledger.models import JournalEntry
from medoffice.reception import selectors, services
from medoffice.reception.models import (
    CardSettlementDay,
    DepositDay,
    DrawerClose,
    Payment,
    Refund,
)
from medoffice.reception.payments import PaymentInput
from medoffice.reception.postings import payment_posting
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

THREADS = 8
race = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def at_once(attempt: Callable[[], object]) -> list[str]:
    """Run `attempt` from THREADS threads released together; each outcome as text."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            result = attempt()
            outcomes.append(f"ok:{getattr(result, 'pk', result)}")
        except Exception as exc:  # reported, so the assertion shows it
            outcomes.append(f"refused:{type(exc).__name__}:{exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(outcomes) == THREADS, outcomes
    return outcomes


def oks(outcomes: list[str]) -> list[str]:
    return [o for o in outcomes if o.startswith("ok:")]


def refusals_say(outcomes: list[str], *words: str) -> bool:
    return all(any(word in o for word in words) for o in outcomes if o.startswith("refused:"))


@pytest.fixture
def desk(users):
    return factories.location(name="Race St")


def pay(patient, user, location, amount="60.00", method="cash"):
    reference = "AUTH1" if method == "card" else ""
    return services.payment_record(
        patient=patient, payment=PaymentInput(amount=amount, method=method, reference=reference),
        received_by=user, location=location,
    )  # fmt: skip


@race
def test_one_void_from_many_threads(desk, users):
    payment = pay(pf.patient(), users["front_desk"], desk)
    outcomes = at_once(
        lambda: services.payment_void(
            payment_id=payment.pk, voided_by=users["front_desk"], reason="race"
        )
    )
    assert len(oks(outcomes)) == 1 and refusals_say(outcomes, "already void"), outcomes
    assert (
        JournalEntry.objects.filter(source_key=f"reception.payment:{payment.pk}:void").count() == 1
    )
    assert Payment.objects.get(pk=payment.pk).is_void


@race
def test_one_close_from_many_threads(desk, users):
    pay(pf.patient(), users["front_desk"], desk, "30.00")
    day = selectors.local_today()
    outcomes = at_once(
        lambda: services.drawer_close(
            location=desk,
            day=day,
            counted_cash="28.00",
            counted_checks="0",
            counted_card="0",
            closed_by=users["front_desk"],
        )
    )
    assert len(oks(outcomes)) == 1 and refusals_say(outcomes, "closed already"), outcomes
    assert DrawerClose.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="reception.drawerclose").count() == 1


@race
def test_a_close_and_payments_at_the_same_moment_agree(desk, users):
    """Payments racing the close either land before it (and are counted) or are refused."""
    patient = pf.patient()
    day = selectors.local_today()
    barrier_outcomes: list[str] = []
    closed: list[DrawerClose] = []

    # Seven threads pay while one closes.
    barrier = threading.Barrier(THREADS)

    def payer() -> None:
        try:
            barrier.wait(timeout=30)
            pay(patient, users["front_desk"], desk, "10.00")
            barrier_outcomes.append("paid")
        except Exception as exc:
            barrier_outcomes.append(f"refused:{exc}")
        finally:
            connections.close_all()

    def closer() -> None:
        try:
            barrier.wait(timeout=30)
            closed.append(
                services.drawer_close(
                    location=desk,
                    day=day,
                    counted_cash="0",
                    counted_checks="0",
                    counted_card="0",
                    closed_by=users["front_desk"],
                )
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=payer) for _ in range(THREADS - 1)]
    threads.append(threading.Thread(target=closer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    close = DrawerClose.objects.get()
    counted = Payment.objects.filter(location=desk).count()
    assert close.expected_cash == Decimal("10.00") * counted
    assert barrier_outcomes.count("paid") == counted
    assert all("is closed" in o for o in barrier_outcomes if o != "paid"), barrier_outcomes


@race
def test_one_deposit_of_a_close_from_many_threads(desk, users):
    pay(pf.patient(), users["front_desk"], desk, "30.00")
    close = services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="30", counted_checks="0",
        counted_card="0", closed_by=users["front_desk"],
    )  # fmt: skip
    outcomes = at_once(
        lambda: services.deposit_make(location=desk, close_ids=[close.pk], made_by=users["manager"])
    )
    assert len(oks(outcomes)) == 1 and refusals_say(outcomes, "already", "another deposit"), (
        outcomes
    )
    assert DepositDay.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="reception.deposit").count() == 1


@race
def test_one_card_settlement_of_a_batch_from_many_threads(desk, users):
    pay(pf.patient(), users["front_desk"], desk, "30.00", "card")
    close = services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="0", counted_checks="0",
        counted_card="30", closed_by=users["front_desk"],
    )  # fmt: skip
    outcomes = at_once(
        lambda: services.card_settlement_record(
            location=desk, close_ids=[close.pk], net="29.10", made_by=users["manager"]
        )
    )
    assert len(oks(outcomes)) == 1 and refusals_say(outcomes, "already", "another settlement"), (
        outcomes
    )
    assert CardSettlementDay.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="reception.cardsettlement").count() == 1


@race
def test_the_days_refund_limit_holds_for_refunds_asked_at_the_same_moment(desk, users):
    """Each of several patients has a $45 credit; the desk's own authority is $50 a day, so
    of refunds asked for all at once, one is approved and the rest wait for the manager."""
    patients = [pf.patient() for _ in range(THREADS)]
    for patient in patients:
        pay(patient, users["front_desk"], desk, "45.00", "card")
    queue = list(patients)
    lock = threading.Lock()

    def ask():
        with lock:
            patient = queue.pop()
        return services.refund_request(
            patient=patient, amount="45.00", method="card", reason="race",
            requested_by=users["front_desk"], location=desk,
        )  # fmt: skip

    outcomes = at_once(ask)
    assert len(oks(outcomes)) == THREADS, outcomes
    assert Refund.objects.filter(status="approved").count() == 1
    assert Refund.objects.filter(status="requested").count() == THREADS - 1


@race
def test_one_refund_payout_and_never_more_than_the_credit(desk, users):
    patient = pf.patient()
    pay(patient, users["front_desk"], desk, "60.00", "card")
    outcomes = at_once(
        lambda: services.refund_request(
            patient=patient,
            amount="25.00",
            method="card",
            reason="race",
            requested_by=users["front_desk"],
            location=desk,
        )
    )
    assert len(oks(outcomes)) == 2 and refusals_say(outcomes, "more than the credit"), outcomes
    assert selectors.patient_balance(patient) == Decimal("-10.00")
    refund = Refund.objects.order_by("pk").first()
    outcomes = at_once(
        lambda: services.refund_pay(
            refund_id=refund.pk, paid_by=users["front_desk"], reference="RF-1"
        )
    )
    assert len(oks(outcomes)) == 1 and refusals_say(outcomes, "paid out already"), outcomes
    assert JournalEntry.objects.filter(source_key=f"reception.refund:{refund.pk}:paid").count() == 1


@race
def test_a_payments_entry_posted_from_many_threads_posts_once(desk, users):
    payment = Payment.objects.get(pk=factories_payment(desk, users).pk)
    zone = selectors.practice_zone()
    outcomes = at_once(lambda: ledger.post(payment_posting(payment, zone), actor=None))
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("ok:"), outcomes
    assert JournalEntry.objects.filter(source_key=f"reception.payment:{payment.pk}").count() == 1


def factories_payment(desk, users):
    from medoffice.testing import reception_factories as rf

    return rf.payment(
        patient=pf.patient(), received_by=users["front_desk"], location=desk, post=False
    )


@pytest.mark.django_db
def test_the_database_holds_one_close_a_day(desk, users):
    pay(pf.patient(), users["front_desk"], desk, "30.00")
    close = services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="30", counted_checks="0",
        counted_card="0", closed_by=users["front_desk"],
    )  # fmt: skip
    twin = DrawerClose(
        location=desk, date=close.date, expected_cash=0, expected_checks=0, expected_card=0,
        counted_cash=0, counted_checks=0, counted_card=0, closed_at=close.closed_at,
        closed_by=users["front_desk"],
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save(force_insert=True)
