"""The eligibility requests' API: send (201, the same key again 200 with the same request),
read one, list a coverage's or a patient's; 403 for a role without the permission, 404 for
what is not there, 422 naming the bad field; the paths are in the OpenAPI document."""

from __future__ import annotations

import pytest

from medoffice.claims import eligibility
from medoffice.claims.models import EligibilityRequest, MailboxSubmission
from medoffice.claims.tests.eligibility_support import answer_271
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db
JSON = "application/json"
URL = "/api/claims/eligibility-requests"


@pytest.fixture
def house(tmp_path, users):
    return folder_clearinghouse(tmp_path / "mailbox", users["manager"])


def _send(client, coverage_id, key="k-1", **body):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(URL, {"coverage_id": coverage_id, **body}, content_type=JSON,
                       headers=headers)  # fmt: skip


def test_send_then_replay_then_read(desk_day, users, house, client_for):
    desk = client_for("front_desk")
    first = _send(desk, desk_day.coverage.pk)
    assert first.status_code == 201, first.content
    body = first.json()
    made = EligibilityRequest.objects.get()
    assert body["id"] == made.pk and body["status"] == "pending"
    assert body["trace_number"] == made.trace_number and body["coverage_id"] == desk_day.coverage.pk
    assert body["patient_id"] == desk_day.patient.pk and body["clearinghouse"] == house.name
    assert body["answer"] is None
    again = _send(desk, desk_day.coverage.pk)
    assert again.status_code == 200 and again.json()["id"] == made.pk
    assert EligibilityRequest.objects.count() == 1 and MailboxSubmission.objects.count() == 1
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["biller"])
    read = desk.get(f"{URL}/{made.pk}")
    assert read.status_code == 200
    answered = read.json()
    assert answered["status"] == "answered" and answered["answer"]["status"] == "active"
    assert answered["answer"]["benefits"]["deductible"] == "1500.00"
    assert answered["answer"]["benefits"]["coinsurance_percent"] == "20.0"


def test_lists_by_coverage_and_by_patient(desk_day, users, house, client_for):
    desk = client_for("front_desk")
    second = pf.coverage(patient=desk_day.patient, priority=2)
    a = _send(desk, desk_day.coverage.pk, key="a").json()["id"]
    b = _send(desk, second.pk, key="b").json()["id"]
    _send(desk, pf.coverage().pk, key="c")  # another patient's
    by_coverage = desk.get(URL, {"coverage_id": desk_day.coverage.pk})
    assert by_coverage.status_code == 200 and [r["id"] for r in by_coverage.json()] == [a]
    by_patient = desk.get(URL, {"patient_id": desk_day.patient.pk}).json()
    assert sorted(r["id"] for r in by_patient) == sorted([a, b])
    neither = desk.get(URL)
    assert neither.status_code == 422 and "coverage_id" in neither.json()["errors"]


def test_a_role_without_the_permission_gets_403_and_nothing_is_sent(
    desk_day, users, house, client_for
):
    made = _send(client_for("front_desk"), desk_day.coverage.pk).json()["id"]
    clinician = client_for("clinician")
    assert _send(clinician, desk_day.coverage.pk, key="x").status_code == 403
    assert clinician.get(f"{URL}/{made}").status_code == 403
    assert clinician.get(URL, {"patient_id": desk_day.patient.pk}).status_code == 403
    assert EligibilityRequest.objects.count() == 1 and MailboxSubmission.objects.count() == 1


def test_unknown_ids_are_404(desk_day, house, client_for):
    desk = client_for("front_desk")
    assert desk.get(f"{URL}/999999").status_code == 404
    missing = _send(desk, 999999)
    assert missing.status_code == 404 and missing.json()["field"] == "coverage_id"
    assert desk.get(URL, {"patient_id": 999999}).status_code == 404
    assert not EligibilityRequest.objects.exists()


def test_bad_input_names_the_field_and_writes_nothing(desk_day, house, client_for):
    desk = client_for("front_desk")
    no_key = _send(desk, desk_day.coverage.pk, key="")
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["errors"]
    not_a_number = _send(desk, "abc")
    assert not_a_number.status_code == 422 and "coverage_id" in str(not_a_number.json()["errors"])
    other_house = _send(desk, desk_day.coverage.pk, clearinghouse_id=999999)
    assert other_house.status_code == 422
    assert "clearinghouse_id" in other_house.json()["errors"]
    assert not EligibilityRequest.objects.exists() and not MailboxSubmission.objects.exists()


def test_without_a_clearinghouse_the_answer_names_it(desk_day, client_for):
    refused = _send(client_for("front_desk"), desk_day.coverage.pk)
    assert refused.status_code == 422
    assert "clearinghouse" in refused.json()["errors"]
    assert "No clearinghouse is set up" in refused.json()["detail"]
    assert not EligibilityRequest.objects.exists()


def test_the_endpoints_are_in_the_openapi_document(client_for):
    schema = client_for("front_desk").get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths[URL]) == {"get", "post"}
    assert "get" in paths[URL + "/{request_id}"]
    headers = [p for p in paths[URL]["post"]["parameters"] if p["in"] == "header"]
    assert headers[0]["name"] == "Idempotency-Key" and headers[0]["required"] is True
