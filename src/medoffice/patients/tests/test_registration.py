import threading
from datetime import date

import pytest
from django.db import close_old_connections

from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import AuditEvent
from medoffice.patients import services
from medoffice.patients.exceptions import PossibleDuplicate
from medoffice.patients.models import MrnCounter, Patient, Relationship
from medoffice.testing import patients_factories as pf

VALID = {
    "first_name": "Ana",
    "last_name": "Reyes",
    "date_of_birth": "03/14/1980",
    "sex": "F",
    "phone": "(312) 555-0142",
    "address_line1": "12 Oak St",
    "city": "Springfield",
    "state": "il",
    "zip_code": "62701",
}


def register(user, **changes):
    return services.patient_register(actor=user, **{**VALID, **changes})


@pytest.mark.django_db
def test_registration_normalises_and_assigns_mrn(users):
    patient = register(users["front_desk"])
    patient.refresh_from_db()
    assert patient.mrn.isdigit() and len(patient.mrn) == 8
    assert patient.phone == "+13125550142"
    assert patient.phone_key == "3125550142"
    assert patient.state == "IL"
    assert patient.date_of_birth == date(1980, 3, 14)
    assert (patient.last_name_key, patient.first_name_key) == ("reyes", "ana")
    assert AuditEvent.objects.filter(
        action="create", object_type="patients.patient", patient_id=str(patient.pk)
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"first_name": "  "}, "first_name"),
        ({"last_name": ""}, "last_name"),
        ({"date_of_birth": "14/03/1980"}, "date_of_birth"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1800-01-01"}, "date_of_birth"),
        ({"sex": "Q"}, "sex"),
        ({"phone": "555-01"}, "phone"),
        ({"emergency_contact_phone": "12"}, "emergency_contact_phone"),
        ({"email": "not-an-email"}, "email"),
        ({"state": "Illinois"}, "state"),
        ({"zip_code": "6270"}, "zip_code"),
        ({"contact_by_sms": True, "phone": ""}, "contact_by_sms"),
        ({"guarantor_relationship": "parent"}, "guarantor_last_name"),
        ({"guarantor_relationship": "parent", "guarantor_patient": 999999}, "guarantor_patient"),
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"shoe_size": 9}, "shoe_size"),
    ],
)
def test_invalid_registration_names_the_field_and_writes_nothing(users, changes, field):
    patients_before = Patient.objects.count()
    audit_before = AuditEvent.objects.count()
    counter_before = MrnCounter.objects.get(pk=1).last_value
    with pytest.raises(InvalidInput) as caught:
        register(users["front_desk"], **changes)
    assert field in caught.value.errors
    assert Patient.objects.count() == patients_before
    assert AuditEvent.objects.count() == audit_before
    assert MrnCounter.objects.get(pk=1).last_value == counter_before


@pytest.mark.django_db
def test_several_errors_are_reported_together(users):
    with pytest.raises(InvalidInput) as caught:
        register(users["front_desk"], first_name="", phone="12", sex="")
    assert {"first_name", "phone", "sex"} <= set(caught.value.errors)


@pytest.mark.django_db
def test_registration_needs_edit_permission(users):
    for role in ("clinician", "auditor", "hr_payroll"):
        with pytest.raises(NotPermitted):
            register(users[role])
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_guarantor_can_be_another_patient_or_a_named_person(users):
    parent = register(users["front_desk"])
    child = register(
        users["front_desk"], first_name="Leo", date_of_birth="2015-06-01", phone="",
        guarantor_relationship=Relationship.PARENT, guarantor_patient=parent.pk,
    )  # fmt: skip
    assert child.guarantor_patient == parent
    assert child.guarantor_name == parent.full_name
    other = register(
        users["front_desk"], first_name="Mia", date_of_birth="2016-07-01", phone="",
        guarantor_relationship=Relationship.LEGAL_GUARDIAN, guarantor_first_name="Rosa",
        guarantor_last_name="Diaz", guarantor_phone="312 555 0199",
    )  # fmt: skip
    assert other.guarantor_name == "Rosa Diaz"
    assert other.guarantor_phone == "+13125550199"


@pytest.mark.django_db
def test_self_guarantor_clears_other_guarantor_fields(users):
    patient = register(users["front_desk"], guarantor_first_name="Leftover")
    assert patient.guarantor_first_name == ""


@pytest.mark.django_db
def test_update_validates_and_keeps_search_keys_in_step(users):
    patient = register(users["front_desk"])
    services.patient_update(actor=users["biller"], patient=patient, last_name="Reyes-Ortiz",
                            phone="+1 (773) 555-0100")  # fmt: skip
    patient.refresh_from_db()
    assert patient.last_name_key == "reyesortiz"
    assert patient.phone_key == "7735550100"
    with pytest.raises(InvalidInput) as caught:
        services.patient_update(actor=users["biller"], patient=patient, phone="nope")
    assert "phone" in caught.value.errors
    patient.refresh_from_db()
    assert patient.phone == "+17735550100"


# --- MRN ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_mrns_are_sequential_and_skip_numbers_already_used(users):
    first = services.next_mrn()
    taken = f"{int(first) + 1:08d}"
    pf.patient(mrn=taken)
    second = services.next_mrn()
    assert int(second) == int(first) + 2


@pytest.mark.django_db
def test_missing_counter_row_is_recreated_above_existing_mrns():
    pf.patient(mrn="00000500")
    MrnCounter.objects.all().delete()
    assert services.next_mrn() == "00000501"


@pytest.mark.django_db(transaction=True)
def test_mrns_are_unique_under_concurrent_registration(practice, users):
    """Eight threads register at once, each on its own database connection."""
    user = users["front_desk"]
    errors, made = [], []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for k in range(3):
                made.append(
                    services.patient_register(
                        actor=user, first_name=f"Thread{n}", last_name=f"Person{k}x{n}",
                        date_of_birth=date(1970, 1 + n, 1 + k), sex="F",
                    ).mrn
                )  # fmt: skip
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(made) == 24
    assert len(set(made)) == 24
    assert Patient.objects.count() == 24
    assert MrnCounter.objects.get(pk=1).last_value == max(int(m) for m in made)


# --- Duplicates --------------------------------------------------------------------------------


@pytest.fixture
def existing(db, users):
    return register(users["front_desk"], first_name="William", last_name="Núñez",
                    date_of_birth="1975-05-20", phone="(312) 555-0150")  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "last", "reason"),
    [
        ("william", "NUNEZ", "same name"),
        (" William ", "Nuñez", "same name"),
        ("Bill", "Nunez", "nickname"),
        ("Nunez", "William", "swapped"),
        ("William", "Nuenz", "similar"),
        ("Wiliam", "Nunez", "similar"),
    ],
)
def test_possible_duplicate_with_same_birth_date_stops_registration(
    users, existing, first, last, reason
):
    before = Patient.objects.count()
    with pytest.raises(PossibleDuplicate) as caught:
        register(users["front_desk"], first_name=first, last_name=last,
                 date_of_birth="05/20/1975", phone="")  # fmt: skip
    (candidate,) = caught.value.candidates
    assert candidate.patient == existing
    assert reason in " ".join(candidate.reasons)
    assert Patient.objects.count() == before


@pytest.mark.django_db
def test_same_phone_is_a_possible_duplicate(users, existing):
    with pytest.raises(PossibleDuplicate) as caught:
        register(users["front_desk"], first_name="Rosa", last_name="Lopez",
                 date_of_birth="1990-01-01", phone="+1 312-555-0150")  # fmt: skip
    assert caught.value.candidates[0].reasons == ("same phone number",)


@pytest.mark.django_db
def test_similar_name_with_another_birth_date_is_not_a_duplicate(users, existing):
    patient = register(users["front_desk"], first_name="William", last_name="Nunez",
                       date_of_birth="1975-05-21", phone="")  # fmt: skip
    assert patient.pk != existing.pk


@pytest.mark.django_db
def test_different_person_born_the_same_day_is_not_a_duplicate(users, existing):
    register(users["front_desk"], first_name="Grace", last_name="Okafor",
             date_of_birth="1975-05-20", phone="")  # fmt: skip


@pytest.mark.django_db
def test_confirming_not_a_duplicate_registers_and_is_audited(users, existing):
    patient = register(users["front_desk"], first_name="Bill", last_name="Nunez",
                       date_of_birth="1975-05-20", phone="", confirm_not_duplicate=True)  # fmt: skip
    assert patient.pk and patient.mrn != existing.mrn
    event = AuditEvent.objects.filter(
        patient_id=str(patient.pk), changes__has_key="possible_duplicates"
    )
    assert event.count() == 1
    assert event.get().changes["possible_duplicates"][0]["mrn"] == existing.mrn
