from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import ManyToManyRel

from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotPermitted
from medoffice.core.models import AuditEvent
from medoffice.patients import selectors, services
from medoffice.patients.models import Coverage, Patient, Relationship
from medoffice.patients.services import merge
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories, scheduling_factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def rows_pointing_at(patient: Patient) -> dict[str, int]:
    """Model-independent: every relation to Patient, counted for one patient."""
    found = {}
    for relation in Patient._meta.related_objects:
        model: Any
        if isinstance(relation, ManyToManyRel):
            model = relation.through
            names = [
                f.name for f in model._meta.fields if f.is_relation and f.related_model is Patient
            ]
        else:
            model, names = relation.related_model, [relation.field.name]
        if services.moved_by_handler(model):
            continue  # history that never changes (the books' lines): moved by a transfer
        for name in names:
            count = model._default_manager.filter(**{name: patient}).count()
            if count:
                found[f"{model._meta.label}.{name}"] = count
    return found


@pytest.fixture
def pair(db, users, media_root):
    """A survivor and a duplicate with records of every kind, across apps."""
    survivor = pf.patient(first_name="William", last_name="Nunez", date_of_birth=date(1975, 5, 20))
    duplicate = pf.patient(
        first_name="Bill", last_name="Nuñez", date_of_birth=date(1975, 5, 20),
        phone="+13125550150", email="bill@example.com",
    )  # fmt: skip
    payer = pf.payer()
    pf.coverage(patient=survivor, payer=payer, priority=1)
    clashing = pf.coverage(patient=duplicate, payer=payer, priority=1)
    pf.coverage(patient=duplicate, payer=pf.payer(), priority=2)
    services.eligibility_record(coverage=clashing, checked_by=users["front_desk"], status="active")
    pf.authorization(patient=duplicate, coverage=clashing)
    services.document_upload(
        actor=users["front_desk"], patient=duplicate, kind="consent",
        upload=SimpleUploadedFile("consent.pdf", PDF, content_type="application/pdf"),
    )  # fmt: skip
    pf.patient(
        first_name="Kid", guarantor_relationship=Relationship.PARENT, guarantor_patient=duplicate
    )
    older = pf.patient(first_name="Old", is_active=False)
    Patient.objects.filter(pk=older.pk).update(merged_into=duplicate)
    appointment = scheduling_factories.appointment(patient=duplicate)
    reception_factories.visit(appointment=appointment)
    reception_factories.payment(patient=duplicate, received_by=users["front_desk"])
    reception_factories.signed_form(
        patient=duplicate,
        form_type=reception_factories.form_type(),
        recorded_by=users["front_desk"],
    )
    return survivor, duplicate


@pytest.mark.django_db
def test_merge_leaves_no_row_pointing_at_the_duplicate(users, pair):
    survivor, duplicate = pair
    before = rows_pointing_at(duplicate)
    assert (
        len(before) >= 8
    )  # coverages, authorizations, documents, guarantor, merged, appointments, visits, payments...
    summary = services.patient_merge(actor=users["manager"], survivor=survivor, duplicate=duplicate,
                                     reason="same person, registered twice")  # fmt: skip
    assert rows_pointing_at(duplicate) == {}
    after = rows_pointing_at(survivor)
    for label, count in before.items():
        assert after.get(label, 0) >= count, label
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor and not duplicate.is_active and duplicate.merged_at
    survivor.refresh_from_db()
    assert survivor.phone == "+13125550150"  # filled from the duplicate where empty
    # the clashing open primary was withdrawn, the secondary kept
    assert Coverage.objects.filter(patient=survivor, priority=1, is_active=True).count() == 1
    assert len(summary["withdrawn_coverages"]) == 1
    assert summary["moved"]["scheduling.appointment.patient"]


@pytest.mark.django_db
def test_merge_is_audited_with_what_moved_on_both_records(users, pair):
    survivor, duplicate = pair
    services.patient_merge(actor=users["manager"], survivor=survivor, duplicate=duplicate)
    for patient in (survivor, duplicate):
        event = AuditEvent.objects.filter(
            patient_id=str(patient.pk), changes__has_key="merge"
        ).get()
        assert event.actor_id is None or event.changes["merge"]["duplicate"]["id"] == duplicate.pk
        assert "patients.coverage.patient" in event.changes["merge"]["moved"]


@pytest.mark.django_db
def test_merge_needs_the_merge_permission_and_changes_nothing_without_it(users, pair):
    survivor, duplicate = pair
    before = rows_pointing_at(duplicate)
    for role in ("front_desk", "biller", "clinician", "auditor"):
        with pytest.raises(NotPermitted):
            services.patient_merge(actor=users[role], survivor=survivor, duplicate=duplicate)
    assert rows_pointing_at(duplicate) == before


@pytest.mark.django_db
def test_merge_refuses_same_record_and_merged_records(users):
    a, b, c = pf.patient(), pf.patient(), pf.patient()
    with pytest.raises(InvalidInput):
        services.patient_merge(actor=users["owner"], survivor=a, duplicate=a)
    services.patient_merge(actor=users["owner"], survivor=a, duplicate=b)
    with pytest.raises(InvalidTransition):
        services.patient_merge(actor=users["owner"], survivor=c, duplicate=b)
    with pytest.raises(InvalidTransition):
        services.patient_merge(actor=users["owner"], survivor=b, duplicate=c)
    with pytest.raises(InvalidTransition):
        services.patient_update(actor=users["owner"], patient=b, first_name="X")


@pytest.mark.django_db
def test_survivor_whose_guarantor_was_the_duplicate_becomes_self(users):
    duplicate = pf.patient()
    survivor = pf.patient(guarantor_relationship=Relationship.PARENT, guarantor_patient=duplicate)
    services.patient_merge(actor=users["owner"], survivor=survivor, duplicate=duplicate)
    survivor.refresh_from_db()
    assert survivor.guarantor_patient is None
    assert survivor.guarantor_relationship == Relationship.SELF
    assert rows_pointing_at(duplicate) == {}


@pytest.mark.django_db
def test_unique_rule_clashes_are_detected_generically():
    survivor, duplicate = pf.patient(), pf.patient()
    pf.coverage(patient=survivor, priority=1)
    theirs = pf.coverage(patient=duplicate, priority=1)
    pf.coverage(patient=duplicate, priority=2)
    field = Coverage._meta.get_field("patient")
    clashes = merge._collisions(Coverage, field, survivor, duplicate)
    assert [pk for pk, _ in clashes] == [theirs.pk]


@pytest.mark.django_db
def test_suspected_duplicates_lists_pairs(users):
    a = pf.patient(first_name="Katherine", last_name="Lee", date_of_birth=date(1990, 1, 1))
    b = pf.patient(first_name="Kate", last_name="LEE", date_of_birth=date(1990, 1, 1))
    pf.patient(first_name="Omar", last_name="Haddad", date_of_birth=date(1990, 1, 1))
    pairs = selectors.suspected_duplicates()
    assert [(x.pk, y.pk) for x, y, _ in pairs] == [(a.pk, b.pk)]


@pytest.mark.django_db
def test_merge_moves_the_duplicates_account_balance_by_a_transfer_entry(users, pair):
    from medoffice.ledger.models import JournalEntry
    from medoffice.ledger.selectors import patient_account_cents

    survivor, duplicate = pair
    before = patient_account_cents([survivor.pk, duplicate.pk])
    assert before.get(duplicate.pk), "the pair's duplicate has paid something"
    summary = services.patient_merge(actor=users["manager"], survivor=survivor, duplicate=duplicate)
    after = patient_account_cents([survivor.pk, duplicate.pk])
    assert after.get(duplicate.pk, 0) == 0
    assert after[survivor.pk] == before.get(survivor.pk, 0) + before[duplicate.pk]
    (entry_id,) = summary["moved"]["ledger.journalline.patient (transferred)"]
    assert JournalEntry.objects.get(pk=entry_id).source_type == "patients.merge"
