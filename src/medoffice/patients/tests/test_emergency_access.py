"""Emergency access on the real patient record: only real permissions and the object types they
guard are granted, and a valid grant opens the record on the page and the API (each read
flagged) until it expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.core import services
from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import AuditAction, AuditEvent, EmergencyAccessGrant
from medoffice.core.tests.test_security import _last_event
from medoffice.testing import factories, patients_factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

REASON = "Patient in clinic, chart needed now"


@pytest.fixture
def record(practice):
    return pf.patient(first_name="Ida", last_name="Quinn")


def _open(client, **form):
    return client.post(reverse("core:emergency_open"), {"reason": REASON, **form})


@pytest.mark.parametrize("perm", ["patients.view_everything", "madeup.view", "patients.views"])
def test_a_made_up_permission_is_refused(client_for, record, perm):
    response = _open(
        client_for("hr_payroll"), object_type="patients.patient", object_id=record.pk, perm=perm
    )
    assert response.status_code == 200
    assert "no permission" in response.context["error"]
    assert not EmergencyAccessGrant.objects.exists()


def test_a_made_up_object_type_is_refused(client_for, record):
    response = _open(
        client_for("hr_payroll"), object_type="patients.nothing", object_id=record.pk,
        perm="patients.view",
    )  # fmt: skip
    assert response.status_code == 403
    assert not EmergencyAccessGrant.objects.exists()


def test_an_object_the_permission_does_not_guard_is_refused(client_for, users):
    location = factories.location()
    response = _open(
        client_for("hr_payroll"), object_type="core.location", object_id=location.pk,
        perm="patients.view",
    )  # fmt: skip
    assert response.status_code == 200
    assert "opens patients records only" in response.context["error"]
    assert not EmergencyAccessGrant.objects.exists()
    with pytest.raises(InvalidInput):
        services.emergency_access_open(
            user=users["hr_payroll"], obj=users["biller"], perm="patients.view", reason=REASON
        )
    assert not EmergencyAccessGrant.objects.exists()


def test_a_valid_grant_opens_the_record_on_the_page_and_the_api(client_for, users, record):
    client = client_for("hr_payroll")  # the role has no patients.view
    page = reverse("patients:detail", args=[record.pk])
    api = f"/api/patients/{record.pk}"

    refused = client.get(page)
    assert refused.status_code == 403
    assert refused.context["emergency_url"].startswith(reverse("core:emergency_open"))
    assert client.get(api).status_code == 403

    opened = _open(client, object_type="patients.patient", object_id=record.pk,
                   perm="patients.view", next=page)  # fmt: skip
    assert opened.status_code == 302 and opened["Location"] == page

    before = AuditEvent.objects.filter(action=AuditAction.VIEW, flagged=True).count()
    shown = client.get(page)
    assert shown.status_code == 200 and b"Quinn" in shown.content
    answered = client.get(api)
    assert answered.status_code == 200 and answered.json()["last_name"] == "Quinn"
    views = AuditEvent.objects.filter(
        action=AuditAction.VIEW, flagged=True, object_id=str(record.pk),
        actor_id=users["hr_payroll"].pk,
    ).order_by("seq")  # fmt: skip
    assert views.count() - before >= 2
    assert all(event.reason == f"emergency access: {REASON}" for event in views)

    other = pf.patient(last_name="Other")  # the grant names one record, not every patient
    assert client.get(reverse("patients:detail", args=[other.pk])).status_code == 403
    assert client.get(f"/api/patients/{other.pk}").status_code == 403

    EmergencyAccessGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(page).status_code == 403
    assert client.get(api).status_code == 403


# --- Moved from core's security tests (core's tests import no other app) ---


@pytest.mark.urls("medoffice.core.tests.urls_emergency")
def test_emergency_access_opens_expires_and_is_reviewed(client_for, users):
    record = patients_factories.patient(last_name="Seven")
    page = reverse("test_record", args=[record.pk])
    client = client_for("hr_payroll")  # the role lacks patients.view

    refused = client.get(page)
    assert refused.status_code == 403
    link = refused.context["emergency_url"]
    assert link.startswith(reverse("core:emergency_open"))
    assert client.get(link).status_code == 200

    form = {"object_type": "patients.patient", "object_id": record.pk, "perm": "patients.view",
            "next": page}  # fmt: skip
    short = client.post(reverse("core:emergency_open"), {**form, "reason": "urgent"})
    assert short.status_code == 200 and "at least 10" in short.context["error"]
    assert not EmergencyAccessGrant.objects.exists()

    opened = client.post(
        reverse("core:emergency_open"), {**form, "reason": "Patient in clinic, chart needed now"}
    )
    assert opened.status_code == 302 and opened["Location"] == page
    assert client.get(page).status_code == 200
    flagged = _last_event(AuditAction.EMERGENCY_ACCESS)
    assert flagged.flagged and flagged.actor_id == users["hr_payroll"].pk
    assert flagged.reason == "Patient in clinic, chart needed now"
    view = _last_event(AuditAction.VIEW)
    assert view.reason.startswith("emergency access:")

    grant = EmergencyAccessGrant.objects.get()
    EmergencyAccessGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(page).status_code == 403  # the grant expired

    auditor = client_for("auditor")
    review_page = auditor.get(reverse("core:emergency_review"))
    assert grant in review_page.context["grants"] and review_page.context["open_count"] == 1
    search = auditor.get(reverse("core:audit"), {"flagged": "1"})
    assert flagged in list(search.context["page"])
    auditor.post(reverse("core:emergency_review_one", args=[grant.pk]), {"note": "confirmed"})
    grant.refresh_from_db()
    assert grant.reviewed_by == users["auditor"] and grant.review_note == "confirmed"


def test_only_reviewers_review_emergency_access(client_for, users):
    record = patients_factories.patient()
    grant = services.emergency_access_open(
        user=users["hr_payroll"], obj=record, perm="patients.view", reason="needed in a hurry"
    )
    response = client_for("front_desk").post(
        reverse("core:emergency_review_one", args=[grant.pk]), {"note": "fine"}
    )
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.reviewed_at is None
