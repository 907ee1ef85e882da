"""The front desk at its busiest, on PostgreSQL: check-ins with copays and desk payments from
many threads at once, while the sealer runs. Audit events take no lock while written, so
no writer queues behind the trail and no lock order can deadlock (check-in used to take the
audit lock before the receipt counter, a desk payment the other way round); the chain
sealed afterwards verifies.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from medoffice.core import audit
from medoffice.core.models import AuditEvent
from medoffice.reception import services
from medoffice.reception.models import Payment, Visit
from medoffice.reception.payments import PaymentInput
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CHECK_INS = 12
PAYMENTS = 12


def test_check_ins_and_desk_payments_at_once_neither_deadlock_nor_fork_the_chain(practice, users):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")
    desk = users["front_desk"]
    location = factories.location(name="Main St")
    provider = factories.provider(locations=[location])
    visit_type = sf.appointment_type(name="Follow-up", code="fu", providers=[provider])
    appointments = [
        sf.appointment(provider=provider, location=location, appointment_type=visit_type)
        for _ in range(CHECK_INS)
    ]
    payers = [pf.patient() for _ in range(PAYMENTS)]
    audit.seal()
    first_new = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    barrier = threading.Barrier(CHECK_INS + PAYMENTS + 1)
    outcomes: list[str] = []
    guard = threading.Lock()
    stop = threading.Event()

    def check_in(appointment_id: int) -> None:
        services.check_in(
            appointment_id=appointment_id, checked_in_by=desk, demographics_confirmed=True,
            coverage_confirmed=True, copay=PaymentInput("25.00", "card", "AUTH"),
        )  # fmt: skip

    def pay(patient) -> None:
        services.payment_record(
            patient=patient, payment=PaymentInput("40.00", "cash"), received_by=desk
        )

    def run(action, argument) -> None:
        try:
            barrier.wait(timeout=60)
            action(argument)
            result = "ok"
        except Exception as exc:  # reported, so the assertion shows it
            result = f"error:{type(exc).__name__}:{exc}"
        finally:
            connections.close_all()
        with guard:
            outcomes.append(result)

    def sealer() -> None:
        try:
            barrier.wait(timeout=60)
            while not stop.is_set():
                audit.seal()
                stop.wait(0.05)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(check_in, a.pk)) for a in appointments]
    threads += [threading.Thread(target=run, args=(pay, p)) for p in payers]
    seal_thread = threading.Thread(target=sealer)
    for thread in [*threads, seal_thread]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    stop.set()
    seal_thread.join(timeout=60)

    assert outcomes == ["ok"] * (CHECK_INS + PAYMENTS), outcomes
    assert Visit.objects.filter(appointment__in=appointments, stage="arrived").count() == CHECK_INS
    payments = Payment.objects.filter(received_by=desk)
    assert payments.count() == CHECK_INS + PAYMENTS
    assert (
        sum(p.amount for p in payments)
        == Decimal("25.00") * CHECK_INS + Decimal("40.00") * PAYMENTS
    )
    assert len(set(payments.values_list("receipt_number", flat=True))) == CHECK_INS + PAYMENTS
    audit.seal()
    new_events = AuditEvent.objects.filter(id__gt=first_new)
    assert new_events.filter(object_type="reception.payment").count() == CHECK_INS + PAYMENTS
    assert not new_events.filter(seq__isnull=True).exists()
    seqs = sorted(AuditEvent.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert list(audit.verify_chain()) == []
