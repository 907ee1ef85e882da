"""Every read of PHI writes exactly one audit event; a list or search writes one event naming
every patient it showed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from medoffice.core.models import AuditEvent
from medoffice.testing import reception_factories as rf

pytestmark = pytest.mark.django_db


def _patients_named(event: AuditEvent) -> set[int]:
    named = set(event.changes.get("patients", []))
    if event.patient_id:
        named.add(int(event.patient_id))
    return named


def _reads(desk_day):
    today = timezone.localdate().isoformat()
    patient = desk_day.patient
    surname = patient.last_name
    return {
        "patient search page": ("get", reverse("patients:search"), {"q": surname}),
        "patient search API": ("get", "/api/patients", {"q": surname}),
        "patient picker": ("get", reverse("scheduling:patient_options"), {"q": surname}),
        "flow board page": ("get", reverse("reception:flow_board"), {"location": desk_day.location.pk}),
        "flow board API": ("get", "/api/reception/flow-board", {}),
        "day schedule": ("get", reverse("scheduling:day"), {"date": today, "location": desk_day.location.pk}),
        "appointment list API": ("get", "/api/appointments", {"day": today}),
        "chart prep page": ("get", reverse("reception:chart_prep"), {"date": today}),
        "chart prep API": ("get", "/api/reception/chart-prep", {"date": today}),
        "balance API": ("get", f"/api/reception/patients/{patient.pk}/balance", {}),
        "arrivals": ("get", reverse("reception:arrivals"), {}),
    }  # fmt: skip


READS = [
    "patient search page", "patient search API", "patient picker", "flow board page",
    "flow board API", "day schedule", "appointment list API", "chart prep page",
    "chart prep API", "balance API", "arrivals",
]  # fmt: skip


@pytest.mark.parametrize("read", READS)
def test_each_phi_read_writes_exactly_one_event_naming_the_patient(
    client_for, desk_day, users, read
):
    client = client_for("front_desk")
    method, url, params = _reads(desk_day)[read]
    before = AuditEvent.objects.count()
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = getattr(client, method)(url, params)
    assert response.status_code == 200, response.content[:300]
    new = list(AuditEvent.objects.filter(id__gt=last))
    assert AuditEvent.objects.count() - before == 1, [(e.action, e.object_type) for e in new]
    event = new[0]
    assert event.action == "view"
    assert event.actor_id == users["front_desk"].pk
    assert desk_day.patient.pk in _patients_named(event)


def test_a_list_names_every_patient_it_showed_and_only_those(client_for, desk_day):
    from medoffice.testing import patients_factories as pf

    other = pf.patient(first_name="Maria", last_name=desk_day.patient.last_name)
    pf.patient(first_name="Zed", last_name="Unrelated")
    client_for("front_desk").get("/api/patients", {"q": desk_day.patient.last_name})
    event = AuditEvent.objects.first()
    assert set(event.changes["patients"]) == {desk_day.patient.pk, other.pk}
    assert event.changes["filters"]["q"] == desk_day.patient.last_name


@pytest.mark.parametrize("where", ["page", "API"])
def test_a_receipt_pdf_is_one_download_event(client_for, desk_day, users, where):
    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    client = client_for("front_desk")
    url = (
        reverse("reception:receipt_pdf", args=[payment.pk])
        if where == "page"
        else f"/api/reception/payments/{payment.pk}/receipt.pdf"
    )
    before = AuditEvent.objects.count()
    response = client.get(url)
    assert response.status_code == 200
    assert AuditEvent.objects.count() - before == 1
    event = AuditEvent.objects.first()
    assert (event.action, event.object_type, event.patient_id) == (
        "download", "reception.payment", str(desk_day.patient.pk),
    )  # fmt: skip


def test_each_admin_change_page_of_phi_writes_one_view_event(desk_day, users):
    """Walk every admin registration whose model is PHI (names a patient)."""
    from django.contrib import admin

    from medoffice.core.admin import PhiReadAudited

    superuser = users["owner"]
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client = Client()
    client.force_login(superuser)
    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    assert payment
    walked = []
    for model, model_admin in admin.site._registry.items():
        if not hasattr(model, "audit_patient_id"):
            continue
        assert isinstance(model_admin, PhiReadAudited), f"{model.__name__}'s admin is not audited"
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        url = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]
        )
        before = AuditEvent.objects.count()
        response = client.get(url)
        assert response.status_code == 200, url
        assert AuditEvent.objects.count() - before == 1, url
        event = AuditEvent.objects.first()
        assert (event.action, event.object_id) == ("view", str(obj.pk))
        walked.append(model._meta.label_lower)
    assert {"patients.patient", "scheduling.appointment", "reception.payment"} <= set(walked)


@pytest.mark.parametrize(
    "read", ["ledger statement page", "ledger balance API", "ledger activity API"]
)
def test_each_read_of_a_patient_account_in_the_books_writes_one_event(
    client_for, desk_day, users, read
):
    patient = desk_day.patient
    url = {
        "ledger statement page": reverse("ledger:patient_statement", args=[patient.pk]),
        "ledger balance API": f"/api/ledger/patients/{patient.pk}/balance",
        "ledger activity API": f"/api/ledger/patients/{patient.pk}/activity",
    }[read]
    client = client_for("biller")
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    new = list(AuditEvent.objects.filter(id__gt=last))
    assert [(e.action, e.actor_id) for e in new] == [("view", users["biller"].pk)]
    assert patient.pk in _patients_named(new[0])
