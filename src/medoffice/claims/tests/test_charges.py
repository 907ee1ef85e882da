"""An encounter's charges on the books: finalizing posts one balanced entry (insurance A/R of
the responsible coverage, or the patient's account for self-pay; revenue by service line), a
correction reverses it and posts anew, and two finalizations at once post once."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections

from medoffice.claims import charges
from medoffice.claims import encounters as svc
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import Encounter, EncounterStatus
from medoffice.core.exceptions import InvalidInput, InvalidTransition
from medoffice.ledger import selectors as books
from medoffice.ledger import services as ledger
from medoffice.ledger.models import Account, EntryKind, FiscalPeriod, JournalEntry, PeriodStatus
from medoffice.ledger.sources import describe_keys
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

LINES = [LineInput("99213", pointers=[1]), LineInput("36415", units=2, pointers=[2]),
         LineInput("J3301", charge="0", pointers=[1])]  # fmt: skip


def coded(office, users, *, lines=LINES, day=None) -> Encounter:
    encounter = svc.encounter_create(
        actor=users["clinician"], patient=office.patient, location=office.location,
        rendering_provider=office.provider, date_of_service=day or office.day,
    )  # fmt: skip
    svc.encounter_code(actor=users["clinician"], encounter_id=encounter.pk,
                       diagnoses=["E11.9", "I10"], lines=lines)  # fmt: skip
    return svc.encounter_mark_coded(actor=users["clinician"], encounter_id=encounter.pk)


def finalize(encounter, users) -> Encounter:
    return svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)


def lines_of(entry: JournalEntry) -> list[tuple[str, int, int | None, int | None, int | None]]:
    return sorted(
        (line.account.key or line.account.code, line.amount_cents, line.location_id,
         line.provider_id, line.patient_id)
        for line in entry.lines.select_related("account")
    )  # fmt: skip


def test_an_insured_visit_bills_the_primary_payer_and_credits_revenue_by_line(office, users):
    primary = pf.coverage(patient=office.patient, priority=1, payer=pf.payer(name="Acme Health"))
    pf.coverage(patient=office.patient, priority=2, payer=pf.payer(name="Second Mutual"))
    ready = finalize(coded(office, users), users)
    entry = ready.charge_entry
    assert entry is not None and ready.status == EncounterStatus.READY
    assert entry.source_key == f"claims.encounter:{ready.pk}:charges-1"
    assert entry.date == office.day and entry.total_cents == 12500 + 3000
    where = (office.location.pk, office.provider.pk)
    assert lines_of(entry) == sorted([
        (f"insurance_ar:payer:{primary.payer.pk}", 15500, *where, None),
        ("revenue:office_visits", -12500, *where, None),
        ("revenue:laboratory", -3000, *where, None),
    ])  # fmt: skip
    assert books.balance_of(ledger.payer_account(primary.payer)) == Decimal("155.00")
    assert books.trial_balance().balanced
    assert books.patient_account_cents([office.patient.pk]) == {}


def test_a_self_pay_visit_is_billed_to_the_patients_account(office, users):
    pf.coverage(patient=office.patient, effective_date=date(2019, 1, 1),
                end_date=office.day - timedelta(days=1))  # ended the day before  # fmt: skip
    ready = finalize(coded(office, users), users)
    assert lines_of(ready.charge_entry)[-1][0] == "revenue:office_visits"
    assert ("patient_ar", 15500, office.location.pk, office.provider.pk, office.patient.pk) in (
        lines_of(ready.charge_entry)
    )
    assert books.patient_account_cents([office.patient.pk]) == {office.patient.pk: 15500}
    assert books.trial_balance().balanced


def test_a_correction_reverses_the_charges_and_posts_new_ones(office, users):
    coverage = pf.coverage(patient=office.patient)
    encounter = finalize(coded(office, users), users)
    first = encounter.charge_entry
    reopened = svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk,
                                    reason="wrong level of visit")  # fmt: skip
    assert reopened.charge_entry is None and reopened.status == EncounterStatus.DRAFT
    reversal = JournalEntry.objects.get(reverses=first)
    assert reversal.kind == EntryKind.REVERSAL
    assert reversal.source_key == f"claims.encounter:{encounter.pk}:reversal-1"
    assert "wrong level of visit" in reversal.memo
    assert sorted(a for _, a, *_ in lines_of(reversal)) == sorted(
        -a for _, a, *_ in lines_of(first)
    )
    payer_ar = ledger.payer_account(coverage.payer)
    assert books.balance_of(payer_ar) == Decimal("0.00")
    svc.encounter_code(actor=users["biller"], encounter_id=encounter.pk, diagnoses=["E11.9"],
                       lines=[LineInput("99214", pointers=[1])])  # fmt: skip
    svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    again = finalize(encounter, users)
    second = again.charge_entry
    assert second.pk not in (first.pk, reversal.pk)
    assert second.source_key == f"claims.encounter:{encounter.pk}:charges-2"
    assert books.balance_of(payer_ar) == Decimal("180.00")
    assert list(charges.charge_entries(encounter)) == [first, reversal, second]
    assert books.trial_balance().balanced
    revenue = Account.objects.get(key="revenue:office_visits")
    assert books.balance_of(revenue) == Decimal("180.00")


def test_finalizing_writes_nothing_when_the_charges_cannot_post(office, users):
    encounter = coded(office, users)
    ledger.account_by_key("revenue:laboratory")
    Account.objects.filter(key="revenue:laboratory").update(is_active=False)
    with pytest.raises(InvalidInput, match="inactive"):
        finalize(encounter, users)
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.CODED
    assert encounter.finalized_by is None and encounter.charge_entry is None
    assert not JournalEntry.objects.exists()


def test_a_visit_in_a_closed_month_posts_its_charges_today(office, users):
    day = office.day.replace(day=1) - timedelta(days=20)
    start = day.replace(day=1)
    FiscalPeriod.objects.create(start=start, end=office.day.replace(day=1) - timedelta(days=1),
                                status=PeriodStatus.CLOSED)  # fmt: skip
    ready = finalize(coded(office, users, day=day), users)
    assert ready.charge_entry.date == office.day + timedelta(days=1)  # today
    assert ready.date_of_service == day


def test_a_visit_with_no_charge_posts_no_entry(office, users):
    ready = finalize(coded(office, users, lines=[LineInput("99213", charge="0", pointers=[1])]),
                     users)  # fmt: skip
    assert ready.status == EncounterStatus.READY and ready.charge_entry is None
    assert not JournalEntry.objects.exists()


def test_the_books_name_the_entry_and_refuse_to_reverse_it_by_hand(office, users):
    ready = finalize(coded(office, users), users)
    label = describe_keys([ready.charge_entry.source_key])[ready.charge_entry.source_key]
    assert label.text.startswith(f"Encounter {ready.pk} of ")
    assert label.url == f"/claims/encounters/{ready.pk}/"
    with pytest.raises(InvalidTransition, match="reopen the encounter"):
        ledger.entry_reverse(entry_id=ready.charge_entry.pk, actor=users["owner"], reason="x")


def test_revenue_accounts_by_kind_of_code():
    assert charges.revenue_key("99213") == "revenue:office_visits"
    assert charges.revenue_key("36415") == "revenue:laboratory"
    assert charges.revenue_key("85025") == "revenue:laboratory"
    assert charges.revenue_key("0001U") == "revenue:laboratory"
    assert charges.revenue_key("90471") == "revenue:immunizations"
    assert charges.revenue_key("G0008") == "revenue:immunizations"
    assert charges.revenue_key("20610") == "revenue:procedures"
    assert charges.revenue_key("93000") == "revenue:procedures"
    assert charges.revenue_key("J3301") == "revenue:other"


# --- Two at once (PostgreSQL) -----------------------------------------------------------------


def _at_once(count: int, work) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            work()
            outcomes.append("ok")
        except Exception as exc:  # reported, so the assertion shows it
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_finalizations_at_once_post_one_charge_entry(office, users):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")
    pf.coverage(patient=office.patient)
    encounter = coded(office, users)
    outcomes = _at_once(2, lambda: finalize(encounter, users))
    assert outcomes == ["InvalidTransition", "ok"], outcomes
    assert JournalEntry.objects.filter(source_type="claims.encounter").count() == 1
    assert books.trial_balance().balanced


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_the_lock_the_source_key_still_posts_the_charges_once(office, users):
    """The status check and the row lock switched off: charges posted from four threads at
    once meet the ledger's unique source key, and one entry is written."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency: PostgreSQL only")
    encounter = coded(office, users)

    def post() -> None:
        from django.db import transaction

        with transaction.atomic():
            charges.post_charges(Encounter.objects.get(pk=encounter.pk), actor=users["biller"])

    outcomes = _at_once(4, post)
    assert outcomes == ["ok"] * 4, outcomes
    assert JournalEntry.objects.filter(source_type="claims.encounter").count() == 1
