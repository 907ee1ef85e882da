"""Insurance A/R has a sub-account per payer, made the first time anything posts for that
payer: each payer's balance is its own, the trial balance shows them under insurance A/R,
and two postings at the same moment make one account."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections

from medoffice.core.exceptions import Conflict
from medoffice.ledger import selectors, services
from medoffice.ledger.models import Account
from medoffice.ledger.services import Line, Posting
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 10)


def billed(n: int, payer, amount: str) -> Posting:
    return Posting(
        source_type="tests.claim", source_id=n, date=DAY,
        lines=[
            Line(services.payer_account(payer), debit=amount),
            Line("revenue:office_visits", credit=amount),
        ],
    )  # fmt: skip


def test_each_payer_has_its_own_insurance_ar_account(users):
    acme, bluebird = pf.payer(name="Acme Health"), pf.payer(name="Bluebird Mutual")
    services.post(billed(1, acme, "120.00"), actor=users["manager"])
    services.post(billed(2, acme, "30.00"), actor=users["manager"])
    services.post(billed(3, bluebird, "45.50"), actor=users["manager"])
    first = services.payer_account(acme)
    assert services.payer_account(acme) == first  # made once
    parent = Account.objects.get(key="insurance_ar")
    assert first.parent == parent and first.type == parent.type
    assert (
        first.name == "Insurance A/R: Acme Health" and first.key == f"insurance_ar:payer:{acme.pk}"
    )
    assert selectors.balance_of(first) == Decimal("150.00")
    assert selectors.balance_of(services.payer_account(bluebird)) == Decimal("45.50")
    rows = {row.account.name: row for row in selectors.trial_balance(DAY).rows}
    assert rows["Insurance A/R: Acme Health"].debit == Decimal("150.00")
    assert rows["Insurance A/R: Bluebird Mutual"].debit == Decimal("45.50")


def test_what_each_payer_owes_is_its_own_accounts_balance(users):
    acme, bluebird, idle = (pf.payer(name=n) for n in ("Acme Health", "Bluebird", "Idle Mutual"))
    services.post(billed(1, acme, "120.00"), actor=users["manager"])
    services.post(billed(2, bluebird, "45.50"), actor=users["manager"])
    services.post(billed(3, idle, "10.00"), actor=users["manager"])
    services.post(
        Posting(source_type="tests.payment", source_id=1, date=DAY, lines=[
            Line("bank_operating", debit="10.00"), Line(services.payer_account(idle), credit="10.00"),
        ]),
        actor=users["manager"],
    )  # fmt: skip
    assert selectors.payer_ar_cents() == {acme.pk: 12000, bluebird.pk: 4550}  # paid: none
    assert selectors.payer_ar_cents([bluebird.pk, idle.pk]) == {bluebird.pk: 4550}
    assert selectors.payer_ar_cents([]) == {}
    assert selectors.payer_of_key(services.payer_account(acme).key) == acme.pk
    assert selectors.payer_of_key("insurance_ar") is None
    assert selectors.payer_of_key("patient_ar") is None


def test_a_code_taken_by_another_account_is_a_conflict_in_words(users):
    acme = pf.payer(name="Acme Health")
    code = f"{Account.objects.get(key='insurance_ar').code}-P{acme.pk:04d}"
    services.account_create(actor=users["manager"], code=code, name="Someone's own", type="asset")
    with pytest.raises(Conflict, match=f"account code {code} for Acme Health"):
        services.payer_account(acme)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postings_for_a_new_payer_at_the_same_moment_make_one_account(users):
    payer = pf.payer(name="Race Health")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            services.post(billed(n, payer, "10.00"), actor=users["manager"])
            outcomes.append("ok")
        except Exception as exc:  # reported, so the assertion shows it
            outcomes.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == ["ok"] * 6, outcomes
    assert Account.objects.filter(key=f"insurance_ar:payer:{payer.pk}").count() == 1
    assert selectors.balance_of(services.payer_account(payer)) == Decimal("60.00")


def test_a_drawer_code_taken_by_another_account_is_a_conflict_naming_the_desk(users, client_for):
    from medoffice.testing import factories

    desk = factories.location(name="Annex")
    code = f"{Account.objects.get(key='cash_drawer').code}-{desk.pk:02d}"
    services.account_create(actor=users["manager"], code=code, name="Petty cash", type="asset")
    with pytest.raises(Conflict, match=f"account code {code} for the cash drawer at Annex"):
        services.account_for("cash_drawer", location=desk)
    patient = pf.patient()
    answer = client_for("front_desk").post(
        "/api/reception/payments",
        {"patient_id": patient.pk, "amount": "5.00", "method": "cash", "location_id": desk.pk},
        content_type="application/json", headers={"Idempotency-Key": "taken-code"},
    )  # fmt: skip
    assert answer.status_code == 409, answer.content
    assert f"account code {code}" in answer.json()["detail"]
