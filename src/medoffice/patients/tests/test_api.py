import json

import pytest
from django.test import Client

from medoffice.core.models import AuditEvent
from medoffice.patients.models import Coverage, Patient, Payer
from medoffice.testing import patients_factories as pf

NEW = {"first_name": "Ana", "last_name": "Reyes", "date_of_birth": "1980-03-14", "sex": "F",
       "phone": "(312) 555-0177"}  # fmt: skip


def call(client: Client, method: str, url: str, body=None):
    kwargs = (
        {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    )
    return getattr(client, method)(url, **kwargs)


# --- Permissions: anonymous, a role without, a role with -------------------------------------

ENDPOINTS = [
    # (method, url template, body, role without, role with)
    ("get", "/api/patients?q=smith", None, "hr_payroll", "clinician"),
    ("post", "/api/patients", NEW, "clinician", "front_desk"),
    ("get", "/api/patients/{patient}", None, "hr_payroll", "auditor"),
    ("patch", "/api/patients/{patient}", {"city": "Peoria"}, "auditor", "biller"),
    ("get", "/api/coverages?patient_id={patient}", None, "hr_payroll", "clinician"),
    ("post", "/api/coverages", "coverage", "clinician", "front_desk"),
    ("patch", "/api/coverages/{coverage}", {"group_number": "G2"}, "auditor", "front_desk"),
    ("post", "/api/coverages/{coverage}/end", {"end_date": "2030-01-01"}, "clinician", "biller"),
    (
        "post",
        "/api/coverages/{coverage}/eligibility",
        {"status": "active"},
        "auditor",
        "front_desk",
    ),
    ("get", "/api/payers", None, "hr_payroll", "front_desk"),
    ("post", "/api/payers", {"name": "New Plan", "plan_type": "ppo"}, "front_desk", "biller"),
    ("patch", "/api/payers/{payer}", {"timely_filing_days": 120}, "front_desk", "manager"),
    ("post", "/api/patients/merge", "merge", "front_desk", "manager"),
]


@pytest.fixture
def world(db, patient, payer):
    coverage = pf.coverage(patient=patient, payer=payer, priority=2)
    return {"patient": patient.pk, "coverage": coverage.pk, "payer": payer.pk}


def body_for(body, world):
    if body == "coverage":
        return {"patient_id": world["patient"], "payer_id": world["payer"], "member_id": "M1",
                "effective_date": "2024-01-01", "priority": 1, "copay": "20.00"}  # fmt: skip
    if body == "merge":
        return {"survivor_id": world["patient"], "duplicate_id": pf.patient().pk}
    return body


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body", "without", "with_"), ENDPOINTS)
def test_permissions(client, client_for, world, method, url, body, without, with_):
    url = url.format(**world)
    body = body_for(body, world)
    assert call(client, method, url, body).status_code == 401
    denied = call(client_for(without), method, url, body)
    assert denied.status_code == 403, denied.content
    allowed = call(client_for(with_), method, url, body)
    assert allowed.status_code in (200, 201), allowed.content


@pytest.mark.django_db
def test_refused_writes_change_nothing(client_for, world):
    before = (Patient.objects.count(), Coverage.objects.count(), Payer.objects.count())
    call(client_for("clinician"), "post", "/api/patients", NEW)
    call(client_for("auditor"), "patch", f"/api/patients/{world['patient']}", {"city": "X"})
    call(client_for("front_desk"), "post", "/api/payers", {"name": "P", "plan_type": "ppo"})
    assert (Patient.objects.count(), Coverage.objects.count(), Payer.objects.count()) == before
    assert Patient.objects.get(pk=world["patient"]).city == ""


# --- CRUD ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patient_create_read_update_search(client_for):
    client = client_for("front_desk")
    created = call(client, "post", "/api/patients", NEW)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["phone"] == "+13125550177" and data["mrn"]
    read = client.get(f"/api/patients/{data['id']}")
    assert read.status_code == 200 and read.json()["last_name"] == "Reyes"
    assert AuditEvent.objects.filter(action="view", patient_id=str(data["id"])).count() == 1
    updated = call(client, "patch", f"/api/patients/{data['id']}", {"email": "ANA@EXAMPLE.COM"})
    assert updated.status_code == 200 and updated.json()["email"] == "ana@example.com"
    found = client.get("/api/patients", {"q": "reyes, an"}).json()
    assert [p["id"] for p in found] == [data["id"]]
    found = client.get("/api/patients", {"q": "03/14/1980"}).json()
    assert [p["id"] for p in found] == [data["id"]]


@pytest.mark.django_db
def test_possible_duplicate_answers_409_with_candidates(client_for):
    client = client_for("front_desk")
    first = call(client, "post", "/api/patients", NEW).json()
    again = call(client, "post", "/api/patients", {**NEW, "first_name": "ANA", "phone": ""})
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "possible_duplicate"
    assert body["candidates"][0]["patient"]["mrn"] == first["mrn"]
    assert body["candidates"][0]["reasons"]
    assert Patient.objects.count() == 1
    confirmed = call(client, "post", "/api/patients",
                     {**NEW, "first_name": "ANA", "phone": "", "confirm_not_duplicate": True})  # fmt: skip
    assert confirmed.status_code == 201
    assert Patient.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**NEW, "date_of_birth": "14/03/1980"}, {"date_of_birth"}),
        ({**NEW, "phone": "12345"}, {"phone"}),
        ({**NEW, "sex": "Q", "state": "Illinois"}, {"sex", "state"}),
        ({k: v for k, v in NEW.items() if k != "last_name"}, {"last_name"}),
        ({**NEW, "first_name": "x" * 61}, {"first_name"}),
    ],
)
def test_invalid_patient_is_422_naming_the_fields_and_writes_nothing(client_for, body, fields):
    response = call(client_for("front_desk"), "post", "/api/patients", body)
    assert response.status_code == 422, response.content
    assert fields <= set(response.json()["errors"])
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_coverage_api_flow(client_for, world):
    client = client_for("front_desk")
    body = body_for("coverage", world)
    created = call(client, "post", "/api/coverages", body)
    assert created.status_code == 201, created.content
    coverage = created.json()
    assert coverage["copay"] == "20.00" and coverage["payer"]["id"] == world["payer"]
    clash = call(
        client,
        "post",
        "/api/coverages",
        {**body, "member_id": "M2", "effective_date": "2024-06-01"},
    )
    assert clash.status_code == 409 and clash.json()["field"] == "priority"
    bad = call(client, "post", "/api/coverages", {**body, "copay": "-5", "priority": 3})
    assert bad.status_code == 422 and "copay" in bad.json()["errors"]
    ended = call(client, "post", f"/api/coverages/{coverage['id']}/end", {"end_date": "2023-01-01"})
    assert ended.status_code == 422 and "end_date" in ended.json()["errors"]
    ended = call(client, "post", f"/api/coverages/{coverage['id']}/end", {"end_date": "2024-12-31"})
    assert ended.status_code == 200 and ended.json()["end_date"] == "2024-12-31"
    in_force = client.get(
        "/api/coverages", {"patient_id": world["patient"], "in_force_on": "2025-02-01"}
    )
    assert [c["id"] for c in in_force.json()] == [world["coverage"]]
    check = call(client, "post", f"/api/coverages/{coverage['id']}/eligibility",
                 {"status": "inactive", "note": "terminated"})  # fmt: skip
    assert check.status_code == 201
    read = client.get(f"/api/coverages/{coverage['id']}").json()
    assert read["latest_eligibility"]["status"] == "inactive"


@pytest.mark.django_db
def test_payer_api(client_for):
    client = client_for("biller")
    created = call(
        client,
        "post",
        "/api/payers",
        {"name": "Riverbend HMO", "plan_type": "hmo", "payer_id": "rb1"},
    )
    assert created.status_code == 201 and created.json()["requires_referral"] is True
    bad = call(client, "post", "/api/payers", {"name": "X", "plan_type": "spaceship"})
    assert bad.status_code == 422 and "plan_type" in bad.json()["errors"]
    listed = client_for("front_desk").get("/api/payers", {"q": "riverbend"}).json()
    assert [p["payer_id"] for p in listed] == ["RB1"]


@pytest.mark.django_db
def test_openapi_lists_the_endpoints(client_for):
    schema = client_for("manager").get("/api/openapi.json").json()
    for path in ("/api/patients", "/api/patients/{patient_id}", "/api/coverages", "/api/payers",
                 "/api/coverages/{coverage_id}/end", "/api/patients/merge"):  # fmt: skip
        assert path in schema["paths"], path
