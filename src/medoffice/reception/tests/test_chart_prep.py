"""Chart preparation: each missing or due item is flagged, in a fixed number of queries."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from medoffice.patients.models import EligibilityCheck
from medoffice.reception import selectors
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf


@pytest.fixture
def tomorrow():
    return selectors.local_today() + timedelta(days=1)


@pytest.fixture
def book(desk_day, tomorrow):
    slots = iter(range(60))

    def make(patient, appointment_type=None):
        start = datetime.combine(tomorrow, time(8, 0), tzinfo=selectors.practice_zone())
        return sf.appointment(
            patient=patient, provider=desk_day.provider, location=desk_day.location,
            appointment_type=appointment_type or desk_day.visit_type,
            start=start + timedelta(minutes=20 * next(slots)),
        )  # fmt: skip

    return make


def prepared_patient(desk_day, users, **coverage_fields):
    """A patient with nothing to do: insurance checked recently, forms signed."""
    patient = pf.patient()
    coverage = pf.coverage(patient=patient, **coverage_fields)
    EligibilityCheck.objects.create(
        coverage=coverage, checked_at=timezone.now() - timedelta(days=3), method="manual",
        status="active", service_date=selectors.local_today(), checked_by=users["front_desk"],
    )  # fmt: skip
    for form in (desk_day.privacy, desk_day.financial):
        rf.signed_form(patient=patient, form_type=form, recorded_by=users["front_desk"])
    return patient


def kinds(rows, patient):
    return next(row.kinds() for row in rows if row.patient.pk == patient.pk)


def messages(rows, patient):
    return " | ".join(
        item.message for row in rows if row.patient.pk == patient.pk for item in row.items
    )


def test_a_prepared_patient_is_ready(desk_day, users, book, tomorrow):
    patient = prepared_patient(desk_day, users)
    book(patient)
    rows = selectors.chart_prep(day=tomorrow, location=desk_day.location)
    assert len(rows) == 1 and rows[0].ready, [i.message for i in rows[0].items]


def test_each_kind_of_missing_item_is_flagged(desk_day, users, book, tomorrow):
    now = timezone.now()
    ended = prepared_patient(desk_day, users, end_date=tomorrow - timedelta(days=1))
    never = prepared_patient(desk_day, users)
    EligibilityCheck.objects.filter(coverage__patient=never).delete()
    stale = prepared_patient(desk_day, users)
    EligibilityCheck.objects.filter(coverage__patient=stale).update(
        checked_at=now - timedelta(days=45)
    )
    inactive = prepared_patient(desk_day, users)
    EligibilityCheck.objects.filter(coverage__patient=inactive).update(status="inactive")
    unsigned = prepared_patient(desk_day, users)
    unsigned.signed_forms.filter(form_type=desk_day.financial).delete()
    renewal = prepared_patient(desk_day, users)
    renewal.signed_forms.filter(form_type=desk_day.privacy).update(
        signed_at=now - timedelta(days=400)
    )
    hmo = pf.payer(plan_type="hmo", requires_referral=True)
    no_referral = prepared_patient(desk_day, users, payer=hmo)
    with_referral = prepared_patient(desk_day, users, payer=hmo)
    pf.authorization(patient=with_referral, kind="referral")
    used_up = prepared_patient(desk_day, users, payer=hmo)
    pf.authorization(patient=used_up, kind="referral", visits_allowed=2, visits_used=2)
    specialist = sf.appointment_type(
        name="Specialist consult", code="consult", requires_referral=True, requires_prior_auth=True
    )
    needs_auth = prepared_patient(desk_day, users)
    for patient in (
        ended,
        never,
        stale,
        inactive,
        unsigned,
        renewal,
        no_referral,
        with_referral,
        used_up,
    ):
        book(patient)
    book(needs_auth, specialist)

    rows = selectors.chart_prep(day=tomorrow, location=desk_day.location, stale_days=30)

    assert len(rows) == 10
    assert kinds(rows, ended) == {"coverage"}
    assert "ended" in messages(rows, ended)
    assert kinds(rows, never) == {"eligibility"} and "never verified" in messages(rows, never)
    assert kinds(rows, stale) == {"eligibility"} and "last verified" in messages(rows, stale)
    assert kinds(rows, inactive) == {"eligibility"} and "inactive" in messages(rows, inactive)
    assert kinds(rows, unsigned) == {"form"} and "Financial policy: never signed" in messages(
        rows, unsigned
    )
    assert kinds(rows, renewal) == {"form"} and "renewal due" in messages(rows, renewal)
    assert kinds(rows, no_referral) == {"referral"}
    assert kinds(rows, with_referral) == set()
    assert kinds(rows, used_up) == {"referral"}
    assert kinds(rows, needs_auth) == {"referral", "prior_auth"}


def test_stale_threshold_is_chosen(desk_day, users, book, tomorrow):
    patient = prepared_patient(desk_day, users)
    EligibilityCheck.objects.filter(coverage__patient=patient).update(
        checked_at=timezone.now() - timedelta(days=10)
    )
    book(patient)
    assert selectors.chart_prep(day=tomorrow, stale_days=30)[0].ready
    assert selectors.chart_prep(day=tomorrow, stale_days=7)[0].kinds() == {"eligibility"}


def test_balance_due_is_flagged(desk_day, users, book, tomorrow, monkeypatch):
    owes = prepared_patient(desk_day, users)
    paid_up = prepared_patient(desk_day, users)
    book(owes)
    book(paid_up)

    def charges(patient_ids):  # what the claims module will add: charges the patient owes
        return {owes.pk: Decimal("80.00"), paid_up.pk: Decimal("20.00")}

    monkeypatch.setattr(
        selectors.money, "_balance_sources", [*selectors.money._balance_sources, charges]
    )
    rf.payment(patient=owes, received_by=users["front_desk"], amount="30.00")
    rf.payment(patient=paid_up, received_by=users["front_desk"], amount="20.00")
    rows = selectors.chart_prep(day=tomorrow)
    assert kinds(rows, owes) == {"balance"} and "$50.00" in messages(rows, owes)
    assert kinds(rows, paid_up) == set()
    assert selectors.patient_balance(owes) == Decimal("50.00")


def test_only_booked_appointments_of_that_day(desk_day, users, book, tomorrow):
    patient = prepared_patient(desk_day, users)
    cancelled = book(patient)
    cancelled.status = "cancelled"
    cancelled.save()
    assert selectors.chart_prep(day=tomorrow) == []
    assert selectors.chart_prep(day=tomorrow + timedelta(days=3)) == []


def test_query_count_does_not_grow_with_patients(
    desk_day, users, book, tomorrow, django_assert_max_num_queries
):
    def add(count):
        for index in range(count):
            patient = prepared_patient(desk_day, users)
            if index % 3 == 0:
                pf.authorization(patient=patient, kind="referral")
            book(patient)

    add(3)
    with django_assert_max_num_queries(7):
        small = selectors.chart_prep(day=tomorrow, location=desk_day.location)
    add(12)
    with django_assert_max_num_queries(7):
        large = selectors.chart_prep(day=tomorrow, location=desk_day.location)
    assert (len(small), len(large)) == (3, 15)
