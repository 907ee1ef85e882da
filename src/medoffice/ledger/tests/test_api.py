"""/api/ledger/...: the chart, entries (filtered, paged, bounded), the trial balance and a
patient account (a PHI read, audited once)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medoffice.core.models import AuditEvent
from medoffice.ledger import services
from medoffice.ledger.services import Line, Posting
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(users, practice):
    patient = pf.patient()
    manager = users["manager"]
    made = []
    for n in range(1, 6):
        made.append(
            services.post(
                Posting(
                    source_type="tests.charge", source_id=str(n), date=dt.date(2026, 11, n),
                    lines=[Line("patient_ar", debit=f"{n}0.00", patient=patient),
                           Line("revenue:office_visits", credit=f"{n}0.00")],
                ),
                actor=manager,
            )
        )  # fmt: skip
    made.append(
        services.post(
            Posting(
                source_type="tests.payment", source_id="1", date=dt.date(2026, 11, 9),
                lines=[Line("bank_operating", debit="35.00"),
                       Line("patient_ar", credit="35.00", patient=patient)],
            ),
            actor=manager,
        )
    )  # fmt: skip
    return {"patient": patient, "entries": made}


ROLES_WITH_BOOKS = ("owner", "manager", "biller", "auditor")
ROLES_WITHOUT = ("front_desk", "clinician", "hr_payroll", "medical_assistant")


@pytest.mark.parametrize(
    "path", ["/api/ledger/accounts", "/api/ledger/entries", "/api/ledger/trial-balance"]
)
def test_reads_need_the_books_permission(client, client_for, posted, path):
    assert client.get(path).status_code == 401
    for role in ROLES_WITHOUT:
        assert client_for(role).get(path).status_code == 403, role
    for role in ROLES_WITH_BOOKS:
        assert client_for(role).get(path).status_code == 200, role


def test_accounts_and_the_trial_balance(client_for, posted):
    client = client_for("auditor")
    chart = client.get("/api/ledger/accounts").json()
    assert {"code": "1110", "key": "patient_ar", "normal_side": "debit"}.items() <= next(
        a for a in chart if a["key"] == "patient_ar"
    ).items()
    tb = client.get("/api/ledger/trial-balance", {"as_of": "2026-11-05"}).json()
    assert tb["balanced"] and tb["as_of"] == "2026-11-05"
    assert tb["total_debit"] == "150.00"
    assert client.get("/api/ledger/trial-balance", {"as_of": "0001-01-01"}).status_code == 422


def test_a_trial_balance_filtered_by_a_location_says_it_need_not_balance(client_for, users):
    from medoffice.testing import factories

    desk = factories.location(name="Main St")
    services.post(
        Posting(source_type="tests.supply", source_id="1", date=dt.date(2026, 11, 3),
                lines=[Line("other_expense", debit="3.00", location=desk),
                       Line("bank_operating", credit="3.00")]),
        actor=users["manager"],
    )  # fmt: skip
    client = client_for("auditor")
    whole = client.get("/api/ledger/trial-balance").json()
    assert whole["balanced"] and not whole["filtered"]
    one = client.get("/api/ledger/trial-balance", {"location_id": desk.pk}).json()
    assert not one["balanced"] and one["filtered"] and one["total_debit"] == "3.00"
    page = client.get("/ledger/trial-balance/", {"location": desk.pk}).content.decode()
    assert "differ by $3.00" in page and "need not balance; the whole books do" in page
    missing = client.get("/api/ledger/trial-balance", {"location_id": 999999})
    assert missing.status_code == 422
    assert missing.json()["detail"] == "There is no location 999999: choose one of the locations."
    assert "location_id" in missing.json()["errors"]
    nobody = client.get("/api/ledger/trial-balance", {"provider_id": 999999})
    assert nobody.status_code == 422 and "provider_id" in nobody.json()["errors"]


def test_entries_are_filtered_paged_and_bounded(client_for, posted):
    client = client_for("biller")
    page = client.get("/api/ledger/entries", {"limit": 2}).json()
    assert page["count"] == 6 and page["limit"] == 2
    assert [e["source_key"] for e in page["results"]] == ["tests.payment:1", "tests.charge:5"]
    first = page["results"][0]
    assert first["total"] == "35.00"
    assert [(line["debit"], line["credit"]) for line in first["lines"]] == [
        ("35.00", "0.00"), ("0.00", "35.00"),
    ]  # fmt: skip
    charges = client.get(
        "/api/ledger/entries", {"source_type": "tests.charge", "since": "2026-11-02",
                                "until": "2026-11-03"},
    ).json()  # fmt: skip
    assert [e["source_id"] for e in charges["results"]] == ["3", "2"]
    bank = posted["entries"][-1].lines.get(amount_cents__gt=0).account_id
    assert client.get("/api/ledger/entries", {"account_id": bank}).json()["count"] == 1
    assert client.get("/api/ledger/entries", {"limit": 501}).status_code == 422
    with CaptureQueriesContext(connection) as few:
        client.get("/api/ledger/entries", {"limit": 2})
    with CaptureQueriesContext(connection) as many:
        client.get("/api/ledger/entries", {"limit": 6})
    assert len(few) == len(many)  # lines are prefetched, not read entry by entry


@pytest.mark.parametrize("what", ["balance", "activity"])
def test_a_patient_account_is_one_audited_read(client, client_for, users, posted, what):
    patient = posted["patient"]
    path = f"/api/ledger/patients/{patient.pk}/{what}"
    biller = client_for("biller")
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = biller.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == "115.00"
    if what == "activity":
        assert [line["balance"] for line in body["lines"]] == [
            "10.00", "30.00", "60.00", "100.00", "150.00", "115.00",
        ]  # fmt: skip
        assert body["lines"][-1]["amount"] == "-35.00"
    events = list(AuditEvent.objects.filter(id__gt=last))
    assert [(e.action, e.patient_id, e.actor_id) for e in events] == [
        ("view", str(patient.pk), users["biller"].pk)
    ]
    desk = client_for("front_desk")
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert client.get(path).status_code == 401
    assert desk.get(path).status_code == 403
    assert biller.get("/api/ledger/patients/999999/balance").status_code == 404
    assert not AuditEvent.objects.filter(id__gt=last, action="view").exists()


def test_a_patient_account_needs_the_money_permission_too(client_for, users, posted):
    from medoffice.core.access import forget_permissions
    from medoffice.core.models import RolePermission

    biller = client_for("biller")
    path = f"/api/ledger/patients/{posted['patient'].pk}/activity"
    page = f"/ledger/patients/{posted['patient'].pk}/"
    assert biller.get(path).status_code == 200 and biller.get(page).status_code == 200
    RolePermission.objects.filter(role__code="biller", codename="patients.view_money").delete()
    forget_permissions(users["biller"])
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert biller.get(path).status_code == 403
    assert biller.get(page).status_code == 403
    assert not AuditEvent.objects.filter(id__gt=last, action="view").exists()
