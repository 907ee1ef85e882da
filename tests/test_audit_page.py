"""The audit page as a manager reads it, and its CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medoffice.core import services
from medoffice.core.models import AuditAction, AuditEvent
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf

pytestmark = pytest.mark.django_db

AUDIT = "core:audit"


def _page(client, **params):
    response = client.get(reverse(AUDIT), params)
    assert response.status_code == 200
    return response.content.decode()


def test_a_change_reads_as_label_before_arrow_after(client_for, users, practice):
    location = factories.location(phone="5550100001")
    services.location_save(actor=users["manager"], location=location, phone="5550100002")
    html = _page(client_for("auditor"), object_type="core.location")
    assert "Phone: (555) 010-0001 → (555) 010-0002" in html
    assert "{&#x27;before&#x27;" not in html and "{'before'" not in html


def test_times_are_in_the_practice_zone_with_the_zone_shown(client_for, practice):
    from django.utils import timezone

    event = AuditEvent.objects.filter(object_type="core.practice").first()
    local = timezone.localtime(
        event.at, timezone=__import__("zoneinfo").ZoneInfo("America/Chicago")
    )
    html = _page(client_for("auditor"), object_type="core.practice")
    assert "America/Chicago" in html
    assert f"{local:%I}".lstrip("0") + f":{local:%M}:{local:%S}" in html
    assert " CST" in html or " CDT" in html


def test_an_appointment_is_named_in_words_with_a_link(client_for, users, practice):
    location = factories.location()
    provider = factories.provider(first_name="Ana", last_name="Patel", locations=[location])
    patient = pf.patient(first_name="Jane", last_name="Roe")
    appointment = sf.appointment(patient=patient, provider=provider, location=location)
    html = _page(client_for("auditor"), object_type="scheduling.appointment")
    from medoffice.core.audit_display import clock

    words = f"Appointment: Jane Roe, {clock(appointment.start)}, Ana Patel"
    assert words in html
    assert f'href="{reverse("scheduling:appointment", args=[appointment.pk])}"' in html


def test_search_by_patient_name_or_mrn(client_for, practice):
    jane = pf.patient(first_name="Jane", last_name="Roe")
    other = pf.patient(first_name="Zed", last_name="Other")
    auditor = client_for("auditor")
    for query in ("Roe", "jane roe", "Roe, Jane", jane.mrn):
        html = _page(auditor, patient=query)
        assert f"MRN {jane.mrn}" in html, query
        assert f"MRN {other.mrn}" not in html, query


def test_search_by_user_action_object_and_dates(client_for, users, practice):
    location = factories.location(name="Lakeside")
    services.location_save(actor=users["manager"], location=location, name="Bayside")
    auditor = client_for("auditor")
    html = _page(auditor, user=users["manager"].username, action="update", object="Bayside")
    assert "Name: Lakeside → Bayside" in html
    assert "1 record." in html
    assert "No records match." in _page(auditor, user=users["manager"].username, to="2001-01-01")


def test_list_events_name_the_patients_shown(client_for, desk_day):
    client_for("front_desk").get("/api/patients", {"q": desk_day.patient.last_name})
    html = _page(client_for("auditor"), action="view", object_type="patients.patient")
    assert f"Patients shown: {desk_day.patient.full_name} (MRN {desk_day.patient.mrn})" in html


def test_the_page_costs_a_fixed_number_of_queries(client_for, users, practice):
    auditor = client_for("auditor")
    location = factories.location()
    patient = pf.patient()
    services.location_save(actor=users["manager"], location=location, name="A0")
    _page(auditor)  # warm up (sessions, permissions)
    with CaptureQueriesContext(connection) as few:
        _page(auditor)
    for n in range(30):
        services.location_save(actor=users["manager"], location=location, name=f"A{n + 1}")
        pf.patient()
    assert patient
    with CaptureQueriesContext(connection) as many:
        _page(auditor)
    assert len(many.captured_queries) <= len(few.captured_queries) + 2  # + the patient types


def test_the_export_reads_like_the_page_and_is_audited(client_for, users, practice):
    location = factories.location(phone="5550100001")
    services.location_save(actor=users["manager"], location=location, phone="5550100002")
    response = client_for("auditor").get(
        reverse("core:audit_export"), {"object_type": "core.location"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    update = next(r for r in rows if r["action"] == AuditAction.UPDATE)
    assert update["changes"] == "Phone: (555) 010-0001 → (555) 010-0002"
    assert update["time_zone"] == "America/Chicago"
    assert update["object"] == f"Location: {location.name}"
    export = AuditEvent.objects.filter(action=AuditAction.EXPORT).first()
    assert export.actor_id == users["auditor"].pk
    assert export.changes["rows"] == len(rows)


def test_roles_without_the_audit_permission_get_403(client_for):
    assert client_for("front_desk").get(reverse(AUDIT)).status_code == 403


def test_phi_in_changes_is_shown_only_to_roles_allowed_to_read_it(
    client_for, users, practice, monkeypatch
):
    """Patient values are encrypted in the trail; the page shows them through
    audit.readable_changes_many: decrypted for a PHI reader, masked for anyone else."""
    from medoffice.core import audit

    patient = pf.patient(first_name="Jane", last_name="Roe", phone="5550100001")
    patient.phone = "5550100002"
    patient.save()
    auditor = client_for("auditor")
    html = _page(auditor, object_type="patients.patient", action="update")
    assert "Phone: (555) 010-0001 → (555) 010-0002" in html

    monkeypatch.setattr(audit, "may_read_phi", lambda user: False)
    html = _page(auditor, object_type="patients.patient", action="update")
    assert "010-0001" not in html and "010-0002" not in html
    assert f"Phone: {audit.MASKED_PHI} → {audit.MASKED_PHI}" in html
