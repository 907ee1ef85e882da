from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, NotPermitted
from medoffice.patients import selectors, services
from medoffice.patients.models import (
    AuthorizationKind,
    Coverage,
    EligibilityCheck,
    EligibilityMethod,
    Payer,
    PlanType,
)
from medoffice.testing import patients_factories as pf

JAN1 = date(2025, 1, 1)


def add(user, patient, payer, **changes):
    fields = {"payer": payer, "member_id": "abc123", "effective_date": JAN1, "priority": 1,
              "copay": Decimal("25.00")}  # fmt: skip
    fields.update(changes)
    return services.coverage_add(actor=user, patient=patient, **fields)


@pytest.mark.django_db
def test_coverage_added_and_offered_while_in_force(users, patient, payer):
    coverage = add(users["front_desk"], patient, payer, end_date=date(2025, 12, 31))
    assert coverage.member_id == "ABC123"
    assert list(selectors.coverages_in_force(patient, date(2025, 6, 1))) == [coverage]
    assert list(selectors.coverages_in_force(patient, date(2025, 12, 31))) == [coverage]
    # ended: not offered for a visit after its end date, nor before it started
    assert list(selectors.coverages_in_force(patient, date(2026, 1, 1))) == []
    assert list(selectors.coverages_in_force(patient, date(2024, 12, 31))) == []


@pytest.mark.django_db
def test_coverages_in_force_are_ordered_by_priority(users, patient, payer):
    secondary = add(users["front_desk"], patient, pf.payer(), priority=2)
    primary = add(users["front_desk"], patient, payer, priority=1)
    tertiary = add(users["front_desk"], patient, pf.payer(), priority=3)
    assert list(selectors.coverages_in_force(patient, date(2025, 3, 1))) == [
        primary,
        secondary,
        tertiary,
    ]


@pytest.mark.django_db
def test_ending_a_coverage_removes_it_from_new_visits(users, patient, payer):
    coverage = add(users["front_desk"], patient, payer)
    services.coverage_end(actor=users["front_desk"], coverage=coverage, end_date="06/30/2025")
    assert list(selectors.coverages_in_force(patient, date(2025, 7, 1))) == []
    assert list(selectors.coverages_in_force(patient, date(2025, 6, 30))) == [coverage]


@pytest.mark.django_db
def test_end_before_effective_is_refused_and_nothing_changes(users, patient, payer):
    coverage = add(users["front_desk"], patient, payer)
    with pytest.raises(InvalidInput) as caught:
        services.coverage_end(
            actor=users["front_desk"], coverage=coverage, end_date=date(2024, 12, 31)
        )
    assert caught.value.field == "end_date"
    coverage.refresh_from_db()
    assert coverage.end_date is None
    with pytest.raises(InvalidInput) as caught:
        add(users["front_desk"], patient, payer, priority=2, end_date=date(2024, 1, 1))
    assert "end_date" in caught.value.errors
    assert Coverage.objects.count() == 1


@pytest.mark.django_db
def test_database_refuses_end_before_effective(patient, payer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Coverage.objects.create(patient=patient, payer=payer, member_id="X", effective_date=JAN1,
                                end_date=JAN1 - timedelta(days=1))  # fmt: skip


@pytest.mark.django_db
def test_second_open_primary_is_refused_by_service_and_database(users, patient, payer):
    add(users["front_desk"], patient, payer)
    with pytest.raises(Conflict) as caught:
        add(
            users["front_desk"],
            patient,
            pf.payer(),
            member_id="OTHER",
            effective_date=date(2025, 3, 1),
        )
    assert caught.value.field == "priority"
    assert Coverage.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Coverage.objects.create(
            patient=patient, payer=payer, member_id="Y", effective_date=JAN1, priority=1
        )


@pytest.mark.django_db
def test_overlapping_dated_coverage_at_same_priority_is_refused(users, patient, payer):
    add(users["front_desk"], patient, payer, end_date=date(2025, 12, 31))
    with pytest.raises(Conflict):
        add(
            users["front_desk"],
            patient,
            payer,
            effective_date=date(2025, 12, 1),
            end_date=date(2026, 5, 1),
        )
    # the day after it ends is fine
    nxt = add(users["front_desk"], patient, payer, effective_date=date(2026, 1, 1))
    assert list(selectors.coverages_in_force(patient, date(2026, 2, 1))) == [nxt]


@pytest.mark.django_db
def test_replace_existing_ends_the_old_coverage_the_day_before(users, patient, payer):
    old = add(users["front_desk"], patient, payer)
    new = add(
        users["front_desk"],
        patient,
        pf.payer(),
        effective_date=date(2026, 1, 1),
        replace_existing=True,
    )
    old.refresh_from_db()
    assert old.end_date == date(2025, 12, 31)
    assert list(selectors.coverages_in_force(patient, date(2026, 1, 2))) == [new]


@pytest.mark.django_db
def test_withdrawn_coverage_is_not_offered_and_frees_its_priority(users, patient, payer):
    coverage = add(users["front_desk"], patient, payer)
    with pytest.raises(InvalidInput):
        services.coverage_withdraw(actor=users["front_desk"], coverage=coverage, reason=" ")
    services.coverage_withdraw(
        actor=users["front_desk"], coverage=coverage, reason="entered in error"
    )
    assert list(selectors.coverages_in_force(patient, date(2025, 6, 1))) == []
    add(users["front_desk"], patient, payer, member_id="RIGHT1")
    with pytest.raises(InvalidTransition):
        services.coverage_update(actor=users["front_desk"], coverage=coverage, member_id="Z")


@pytest.mark.django_db
def test_subscriber_other_than_self_needs_name_and_birth_date(users, patient, payer):
    with pytest.raises(InvalidInput) as caught:
        add(users["front_desk"], patient, payer, subscriber_relationship="spouse")
    assert {"subscriber_first_name", "subscriber_last_name", "subscriber_date_of_birth"} <= set(
        caught.value.errors
    )
    coverage = add(users["front_desk"], patient, payer, subscriber_relationship="spouse",
                   subscriber_first_name="Luis", subscriber_last_name="Núñez",
                   subscriber_date_of_birth="1970-02-02")  # fmt: skip
    assert coverage.subscriber_name == "Luis Núñez"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"copay": 12.5}, "copay"),
        ({"copay": "-1"}, "copay"),
        ({"specialist_copay": "lots"}, "specialist_copay"),
        ({"priority": 4}, "priority"),
        ({"member_id": ""}, "member_id"),
        ({"payer": 999999}, "payer"),
        ({"effective_date": "someday"}, "effective_date"),
    ],
)
def test_invalid_coverage_names_the_field_and_writes_nothing(users, patient, payer, changes, field):
    with pytest.raises(InvalidInput) as caught:
        add(users["front_desk"], patient, changes.pop("payer", payer), **changes)
    assert field in caught.value.errors
    assert not Coverage.objects.exists()


@pytest.mark.django_db
def test_inactive_payer_cannot_be_chosen_for_new_coverage(users, patient):
    gone = pf.payer(is_active=False)
    with pytest.raises(InvalidInput) as caught:
        add(users["front_desk"], patient, gone)
    assert "payer" in caught.value.errors


@pytest.mark.django_db
def test_coverage_changes_need_edit_permission(users, patient, payer):
    with pytest.raises(NotPermitted):
        add(users["clinician"], patient, payer)
    coverage = add(users["biller"], patient, payer)
    with pytest.raises(NotPermitted):
        services.coverage_end(actor=users["auditor"], coverage=coverage, end_date=JAN1)


# --- Eligibility ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_manual_eligibility_check_is_recorded_and_latest_is_found(users, patient, payer):
    coverage = add(users["front_desk"], patient, payer)
    assert selectors.latest_eligibility(coverage) is None
    services.eligibility_record(
        coverage=coverage, checked_by=users["front_desk"], status="inactive"
    )
    latest = services.eligibility_record(
        coverage=coverage, checked_by=users["front_desk"], status="active", reference="CALL-1",
        copay_reported="30", service_date="2025-02-01",
    )  # fmt: skip
    found = selectors.latest_eligibility(coverage)
    assert found == latest
    assert found.copay_reported == Decimal("30.00")
    assert found.service_date == date(2025, 2, 1)
    assert selectors.coverages_of(patient).get().eligibility_status == "active"


@pytest.mark.django_db
def test_eligibility_from_a_271_needs_no_person(patient, payer, users):
    coverage = add(users["front_desk"], patient, payer)
    check = services.eligibility_record(
        coverage=coverage, method=EligibilityMethod.X12_271, status="active"
    )
    assert check.checked_by is None


@pytest.mark.django_db
def test_invalid_eligibility_writes_nothing(users, patient, payer):
    coverage = add(users["front_desk"], patient, payer)
    with pytest.raises(InvalidInput) as caught:
        services.eligibility_record(
            coverage=coverage, checked_by=users["front_desk"], status="maybe"
        )
    assert "status" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        services.eligibility_record(coverage=coverage, status="active")
    assert "checked_by" in caught.value.errors
    assert not EligibilityCheck.objects.exists()


# --- Authorizations ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_authorization_in_force_respects_dates_and_visits(users, patient, payer):
    auth = services.authorization_save(
        actor=users["front_desk"], patient=patient, kind=AuthorizationKind.REFERRAL, number="R1",
        valid_from="2025-01-01", valid_to="2025-03-31", visits_allowed=2,
    )  # fmt: skip
    day = date(2025, 2, 1)
    assert selectors.authorization_in_force(patient, "referral", day) == auth
    assert selectors.authorization_in_force(patient, "prior_auth", day) is None
    assert selectors.authorization_in_force(patient, "referral", date(2025, 4, 1)) is None
    services.authorization_use_visit(authorization=auth)
    services.authorization_use_visit(authorization=auth)
    assert selectors.authorization_in_force(patient, "referral", day) is None
    with pytest.raises(Conflict):
        services.authorization_use_visit(authorization=auth)
    services.authorization_release_visit(authorization=auth)
    assert selectors.authorization_in_force(patient, "referral", day) == auth


@pytest.mark.django_db
def test_authorization_validation(users, patient):
    other_patient_coverage = pf.coverage()
    with pytest.raises(InvalidInput) as caught:
        services.authorization_save(
            actor=users["front_desk"], patient=patient, kind="referral", valid_from="2025-03-01",
            valid_to="2025-01-01", referring_provider_npi="1234567890",
            coverage=other_patient_coverage.pk,
        )  # fmt: skip
    assert {"valid_to", "referring_provider_npi", "coverage"} <= set(caught.value.errors)
    assert not patient.authorizations.exists()


# --- Payers --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_payer_directory_rules(users):
    hmo = services.payer_save(actor=users["biller"], name="Riverbend HMO", payer_id="rb1",
                              plan_type=PlanType.HMO, timely_filing_days=90, phone="800-555-0100")  # fmt: skip
    assert hmo.requires_referral is True
    assert hmo.payer_id == "RB1"
    assert hmo.phone == "+18005550100"
    ppo = services.payer_save(actor=users["biller"], name="Summit PPO", plan_type=PlanType.PPO)
    assert ppo.requires_referral is False
    with pytest.raises(InvalidInput) as caught:
        services.payer_save(
            actor=users["biller"], name="Bad", plan_type="nope", timely_filing_days=0
        )
    assert {"plan_type", "timely_filing_days"} <= set(caught.value.errors)
    with pytest.raises(NotPermitted):
        services.payer_save(actor=users["front_desk"], name="Nope", plan_type=PlanType.PPO)
    assert Payer.objects.count() == 2
