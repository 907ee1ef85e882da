from datetime import date

import pytest
from django.urls import reverse

from medoffice.core.models import AuditEvent
from medoffice.patients.models import Coverage, Patient, Payer
from medoffice.testing import patients_factories as pf
from medoffice.testing.forms import form_token

FORM = {
    "first_name": "Ana", "last_name": "Reyes", "date_of_birth": "03/14/1980", "sex": "F",
    "phone": "(312) 555-0177", "phone_type": "mobile", "preferred_language": "en",
    "guarantor_relationship": "self",
}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "args", "without", "with_"),
    [
        ("patients:search", (), "hr_payroll", "clinician"),
        ("patients:register", (), "clinician", "front_desk"),
        ("patients:detail", ("patient",), "hr_payroll", "auditor"),
        ("patients:edit", ("patient",), "auditor", "biller"),
        ("patients:coverage_add", ("patient",), "clinician", "front_desk"),
        ("patients:document_upload", ("patient",), "clinician", "front_desk"),
        ("patients:authorization_add", ("patient",), "auditor", "front_desk"),
        ("patients:payers", (), "hr_payroll", "front_desk"),
        ("patients:payer_add", (), "front_desk", "biller"),
        ("patients:merge", (), "front_desk", "manager"),
    ],
)
def test_page_permissions(client, client_for, patient, name, args, without, with_):
    url = reverse(name, args=[patient.pk if a == "patient" else a for a in args])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and reverse("core:login") in anonymous["Location"]
    assert client_for(without).get(url).status_code == 403
    assert client_for(with_).get(url).status_code == 200


@pytest.mark.django_db
def test_viewing_a_record_writes_a_view_event(client_for, users, patient):
    response = client_for("clinician").get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="view", patient_id=str(patient.pk))
    assert event.actor_id == users["clinician"].pk


@pytest.mark.django_db
def test_refused_view_is_not_logged_as_a_view(client_for, patient):
    client_for("hr_payroll").get(reverse("patients:detail", args=[patient.pk]))
    assert not AuditEvent.objects.filter(action="view", patient_id=str(patient.pk)).exists()


@pytest.mark.django_db
def test_search_page_and_live_results(client_for, patient):
    client = client_for("front_desk")
    page = client.get(reverse("patients:search"), {"q": "nunez"})
    assert page.status_code == 200
    assert b'role="search"' in page.content and b"Maria" in page.content
    partial = client.get(reverse("patients:search"), {"q": "nu"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert b"<html" not in partial.content and b"Maria" in partial.content
    empty = client.get(reverse("patients:search"), {"q": "zz"}, HTTP_HX_REQUEST="true")
    assert b"No patient matches" in empty.content


@pytest.mark.django_db
def test_register_page_creates_and_redirects(client_for):
    response = client_for("front_desk").post(reverse("patients:register"), FORM)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert patient.phone == "+13125550177"


@pytest.mark.django_db
def test_register_page_shows_errors_on_fields_and_writes_nothing(client_for):
    response = client_for("front_desk").post(
        reverse("patients:register"), {**FORM, "phone": "12", "date_of_birth": "31/31/1980"}
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "phone" in errors and "date_of_birth" in errors
    assert b'aria-invalid="true"' in response.content
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_register_page_warns_of_duplicates_until_confirmed(client_for, patient):
    client = client_for("front_desk")
    form = {
        **FORM,
        "first_name": "MARIA",
        "last_name": "Nunez",
        "date_of_birth": "01/01/1980",
        "phone": "",
    }
    warned = client.post(reverse("patients:register"), form)
    assert warned.status_code == 409
    assert b"may already be registered" in warned.content and patient.mrn.encode() in warned.content
    assert Patient.objects.count() == 1
    confirmed = client.post(reverse("patients:register"), {**form, "confirm_not_duplicate": "on"})
    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2


@pytest.mark.django_db
def test_edit_page_saves(client_for, patient):
    response = client_for("biller").post(
        reverse("patients:edit", args=[patient.pk]),
        {
            **FORM,
            "first_name": "Maria",
            "last_name": "Núñez",
            "date_of_birth": "01/01/1980",
            "city": "Peoria",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.city == "Peoria"


@pytest.mark.django_db
def test_coverage_pages_add_end_and_detail_shows_eligibility(client_for, patient, payer):
    client = client_for("front_desk")
    add_url = reverse("patients:coverage_add", args=[patient.pk])
    added = client.post(
        add_url,
        {"payer": payer.pk, "member_id": "m-1", "priority": 1, "effective_date": "01/01/2024",
         "copay": "25.00", "specialist_copay": "0", "subscriber_relationship": "self",
         "form_token": form_token(client, add_url)},
    )  # fmt: skip
    assert added.status_code == 302, added.context and added.context["form"].errors
    coverage = Coverage.objects.get()
    clash = client.post(
        add_url,
        {"payer": payer.pk, "member_id": "m-2", "priority": 1, "effective_date": "02/01/2024",
         "copay": "0", "specialist_copay": "0", "subscriber_relationship": "self",
         "form_token": form_token(client, add_url)},
    )  # fmt: skip
    assert clash.status_code == 422 and "priority" in clash.context["form"].errors
    check_url = reverse("patients:eligibility_add", args=[coverage.pk])
    checked = client.post(
        check_url, {"status": "active", "form_token": form_token(client, check_url)}
    )
    assert checked.status_code == 302
    ended = client.post(
        reverse("patients:coverage_end", args=[coverage.pk]), {"end_date": "12/31/2024"}
    )
    assert ended.status_code == 302
    coverage.refresh_from_db()
    assert coverage.end_date == date(2024, 12, 31)
    page = client.get(reverse("patients:detail", args=[patient.pk]))
    assert b"M-1" in page.content and b"12/31/2024" in page.content and b">active<" in page.content


@pytest.mark.django_db
def test_payer_pages(client_for):
    client = client_for("biller")
    response = client.post(
        reverse("patients:payer_add"),
        {"name": "Riverbend HMO", "payer_id": "RB1", "plan_type": "hmo", "timely_filing_days": 90},
    )
    assert response.status_code == 302
    assert Payer.objects.get().name == "Riverbend HMO"
    listing = client_for("clinician").get(reverse("patients:payers"))
    assert b"Riverbend HMO" in listing.content


@pytest.mark.django_db
def test_merge_page_previews_then_merges(client_for, users):
    survivor = pf.patient(first_name="Katherine", last_name="Lee", date_of_birth=date(1990, 1, 1))
    duplicate = pf.patient(first_name="Kate", last_name="Lee", date_of_birth=date(1990, 1, 1))
    pf.coverage(patient=duplicate, priority=2)
    client = client_for("manager")
    listing = client.get(reverse("patients:merge"))
    assert duplicate.mrn.encode() in listing.content
    preview = client.get(
        reverse("patients:merge"), {"survivor": survivor.mrn, "duplicate": duplicate.mrn}
    )
    assert preview.status_code == 200 and b"What moves" in preview.content
    not_confirmed = client.post(
        reverse("patients:merge"), {"survivor": survivor.mrn, "duplicate": duplicate.mrn}
    )
    assert "confirm" in not_confirmed.context["form"].errors
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    done = client.post(
        reverse("patients:merge"),
        {
            "survivor": survivor.mrn,
            "duplicate": duplicate.mrn,
            "confirm": "on",
            "reason": "same person",
        },
    )
    assert done.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor
    assert Coverage.objects.get().patient == survivor


@pytest.mark.django_db
def test_dashboard_tiles(client_for, patient, payer):
    from django.utils import timezone

    today = timezone.localdate()
    pf.coverage(patient=patient, payer=payer, effective_date=date(2020, 1, 1), end_date=today)
    page = client_for("front_desk").get(reverse("dashboard:home"))
    assert b"Coverages ending within 30 days" in page.content
    assert b"New patients, last 30 days" in page.content
    assert (
        b"Coverages ending" not in client_for("hr_payroll").get(reverse("dashboard:home")).content
    )
