"""The encounters' API: create, code, finalize (with Idempotency-Key), reopen and read, with the
coding page's permissions, in the OpenAPI document."""

from __future__ import annotations

import pytest

from medoffice.claims.models import Encounter, EncounterStatus
from medoffice.ledger.models import JournalEntry
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf

pytestmark = pytest.mark.django_db
JSON = "application/json"

CODES = {"diagnoses": ["e119", "I10"], "lines": [
    {"code": "99213", "diagnosis_pointers": [1, 2]},
    {"code": "36415", "units": 2, "diagnosis_pointers": [2]},
]}  # fmt: skip


def create(client, office, provider=None):
    return client.post("/api/claims/encounters", {
        "patient_id": office.patient.pk, "location_id": office.location.pk,
        "rendering_provider_id": (provider or office.provider).pk,
        "date_of_service": office.day.isoformat(),
    }, content_type="application/json")  # fmt: skip


def test_create_code_finalize_and_read(office, users, client_for):
    pf.coverage(patient=office.patient)
    clinician, coder = client_for("clinician"), client_for("biller")
    made = create(clinician, office)
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    assert made.json()["place_of_service"] == "11" and made.json()["status"] == "draft"
    coded = clinician.put(f"/api/claims/encounters/{pk}/codes", CODES,
                          content_type="application/json")  # fmt: skip
    assert coded.status_code == 200, coded.content
    body = coded.json()
    assert [d["code"] for d in body["diagnoses"]] == ["E11.9", "I10"]
    assert body["total_charge"] == "155.00" and body["lines"][1]["charge"] == "30.00"
    assert clinician.post(f"/api/claims/encounters/{pk}/mark-coded").json()["coded_by"] == (
        users["clinician"].username
    )
    assert clinician.post(f"/api/claims/encounters/{pk}/finalize").status_code == 403
    key = {"Idempotency-Key": "finalize-1"}
    first = coder.post(f"/api/claims/encounters/{pk}/finalize", {}, content_type=JSON, headers=key)
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "ready" and first.json()["charge_entry_id"]
    again = coder.post(f"/api/claims/encounters/{pk}/finalize", {}, content_type=JSON, headers=key)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert JournalEntry.objects.filter(source_type="claims.encounter").count() == 1
    repeat = coder.post(f"/api/claims/encounters/{pk}/finalize")
    assert repeat.status_code == 409 and "already finalized" in repeat.json()["detail"]
    read = client_for("auditor").get(f"/api/claims/encounters/{pk}")
    assert read.status_code == 200 and read.json()["finalized_by"] == users["biller"].username


def test_errors_name_each_position_and_nothing_is_written(office, users, client_for):
    client = client_for("biller")
    pk = create(client, office).json()["id"]
    answer = client.put(f"/api/claims/encounters/{pk}/codes", {
        "diagnoses": ["E11.9", "E11"],
        "lines": [{"code": "99213", "modifiers": ["XX"], "diagnosis_pointers": [3]},
                  {"code": "J3301", "diagnosis_pointers": [1]}],
    }, content_type="application/json")  # fmt: skip
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert set(errors) == {"diagnoses.2", "lines.1.modifiers.1", "lines.1.pointers.1",
                           "lines.2.charge"}  # fmt: skip
    assert errors["diagnoses.2"][0].startswith("Diagnosis 2: E11 is a category")
    encounter = Encounter.objects.get(pk=pk)
    assert not encounter.diagnoses.exists() and not encounter.lines.exists()


def test_a_clinician_reads_and_codes_their_own_visits_only(office, users, client_for):
    theirs = create(client_for("biller"), office, provider=office.other_provider).json()["id"]
    mine = create(client_for("biller"), office).json()["id"]
    clinician = client_for("clinician")
    assert clinician.get(f"/api/claims/encounters/{theirs}").status_code == 403
    assert clinician.put(f"/api/claims/encounters/{theirs}/codes", CODES,
                         content_type="application/json").status_code == 403  # fmt: skip
    assert create(clinician, office, provider=office.other_provider).status_code == 403
    listed = [row["id"] for row in clinician.get("/api/claims/encounters").json()]
    assert listed == [mine]
    assert client_for("front_desk").get("/api/claims/encounters").status_code == 403
    assert not Encounter.objects.get(pk=theirs).diagnoses.exists()


def test_from_an_appointment_and_reopen(office, users, client_for):
    appointment = sf.appointment(
        patient=office.patient, provider=office.provider, location=office.location
    )
    coder = client_for("biller")
    made = coder.post("/api/claims/encounters", {"appointment_id": appointment.pk},
                      content_type="application/json")  # fmt: skip
    pk = made.json()["id"]
    assert made.json()["appointment_id"] == appointment.pk
    coder.put(f"/api/claims/encounters/{pk}/codes", CODES, content_type="application/json")
    coder.post(f"/api/claims/encounters/{pk}/mark-coded")
    coder.post(
        f"/api/claims/encounters/{pk}/finalize",
        {},
        content_type=JSON,
        headers={"Idempotency-Key": "f-2"},
    )
    reopened = coder.post(f"/api/claims/encounters/{pk}/reopen", {"reason": "wrong units"},
                          content_type="application/json", headers={"Idempotency-Key": "r-2"})  # fmt: skip
    assert reopened.status_code == 200, reopened.content
    assert reopened.json()["status"] == EncounterStatus.DRAFT
    assert JournalEntry.objects.filter(reverses__isnull=False).count() == 1


def test_the_endpoints_are_in_the_openapi_document(client_for):
    paths = client_for("biller").get("/api/openapi.json").json()["paths"]
    assert {"/api/claims/encounters", "/api/claims/encounters/{encounter_id}",
            "/api/claims/encounters/{encounter_id}/codes",
            "/api/claims/encounters/{encounter_id}/finalize"} <= set(paths)  # fmt: skip
    finalize = paths["/api/claims/encounters/{encounter_id}/finalize"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in finalize.get("parameters", [])]


def test_a_charge_left_empty_follows_the_fee_schedule_and_one_given_is_kept(office, client_for):
    """Changing a line's code and units with no charge given charges the fee schedule anew
    ($180 x 3 for 99214, not the $125 of the 99213 it was); a charge given stays as given."""
    client = client_for("biller")
    pk = create(client, office).json()["id"]
    url = f"/api/claims/encounters/{pk}/codes"
    first = client.put(url, {"diagnoses": ["E11.9"], "lines": [
        {"code": "99213", "diagnosis_pointers": [1]}]}, content_type=JSON)  # fmt: skip
    assert first.json()["lines"][0]["charge"] == "125.00"
    changed = client.put(url, {"diagnoses": ["E11.9"], "lines": [
        {"code": "99214", "units": 3, "charge": None, "diagnosis_pointers": [1]}]},
        content_type=JSON)  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert changed.json()["lines"][0]["charge"] == "540.00"
    own = client.put(url, {"diagnoses": ["E11.9"], "lines": [
        {"code": "99214", "units": 2, "charge": "150.00", "diagnosis_pointers": [1]}]},
        content_type=JSON)  # fmt: skip
    assert own.json()["lines"][0]["charge"] == "150.00"
    assert list(Encounter.objects.get(pk=pk).lines.values_list("charge_cents", flat=True)) == [
        15000
    ]


def test_a_prior_authorization_with_an_x12_delimiter_is_refused(office, client_for):
    client = client_for("biller")
    pk = create(client, office).json()["id"]
    answer = client.put(f"/api/claims/encounters/{pk}/codes", {**CODES,
                        "prior_authorization": "PA*77~81"}, content_type=JSON)  # fmt: skip
    assert answer.status_code == 422
    assert list(answer.json()["errors"]) == ["prior_authorization"]
    encounter = Encounter.objects.get(pk=pk)
    assert encounter.prior_authorization == "" and not encounter.lines.exists()


def test_a_date_of_service_before_the_patients_birth_is_refused(office, client_for):
    client = client_for("biller")
    answer = client.post("/api/claims/encounters", {
        "patient_id": office.patient.pk, "location_id": office.location.pk,
        "rendering_provider_id": office.provider.pk,
        "date_of_service": office.patient.date_of_birth.replace(year=1979).isoformat(),
    }, content_type=JSON)  # fmt: skip
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert list(errors) == ["date_of_service"]
    assert "is before the patient was born (01/01/1980)" in " ".join(errors["date_of_service"])
    assert not Encounter.objects.exists()


def test_an_unknown_or_inactive_rendering_provider_is_refused_naming_the_field(office, client_for):
    from medoffice.testing import factories

    client = client_for("biller")
    gone = factories.provider(first_name="Gil", last_name="Gone", is_active=False)
    for provider_id, words in ((999_999, "no provider with id '999999'"),
                               (0, "no provider with id '0'"),
                               (gone.pk, "Gil Gone")):  # fmt: skip
        answer = client.post("/api/claims/encounters", {
            "patient_id": office.patient.pk, "location_id": office.location.pk,
            "rendering_provider_id": provider_id, "date_of_service": office.day.isoformat(),
        }, content_type=JSON)  # fmt: skip
        assert answer.status_code == 422, answer.content
        errors = answer.json()["errors"]
        assert list(errors) == ["rendering_provider_id"]
        assert errors["rendering_provider_id"][0].startswith("Rendering provider: ")
        assert words in errors["rendering_provider_id"][0]
    assert not Encounter.objects.exists()


def test_an_unknown_or_inactive_supervising_provider_is_refused_and_nothing_is_written(
    office, client_for
):
    from medoffice.testing import factories

    client = client_for("biller")
    pk = create(client, office).json()["id"]
    kept = client.put(f"/api/claims/encounters/{pk}/codes", {
        **CODES, "supervising_provider_id": office.other_provider.pk,
    }, content_type=JSON)  # fmt: skip
    assert (
        kept.status_code == 200
        and kept.json()["supervising_provider_id"] == office.other_provider.pk
    )
    before = list(Encounter.objects.get(pk=pk).lines.values_list("code", "units"))
    gone = factories.provider(first_name="Gil", last_name="Gone", is_active=False)
    for provider_id, words in ((999_999, "there is no provider with id '999999'"),
                               (gone.pk, "Gil Gone, MD is no longer an active provider")):  # fmt: skip
        answer = client.put(f"/api/claims/encounters/{pk}/codes", {
            "diagnoses": ["I10"], "lines": [{"code": "99213", "diagnosis_pointers": [1]}],
            "supervising_provider_id": provider_id,
        }, content_type=JSON)  # fmt: skip
        assert answer.status_code == 422, answer.content
        errors = answer.json()["errors"]
        assert list(errors) == ["supervising_provider_id"]
        assert errors["supervising_provider_id"][0] == f"Supervising provider: {words}" + (
            "." if provider_id == 999_999 else "; choose an active one."
        )
        encounter = Encounter.objects.get(pk=pk)
        assert encounter.supervising_provider_id == office.other_provider.pk  # not dropped
        assert list(encounter.diagnoses.values_list("code", flat=True)) == ["E11.9", "I10"]
        assert list(encounter.lines.values_list("code", "units")) == before


def test_a_supervising_provider_no_longer_active_may_stay_on_the_visit(office, client_for):
    client = client_for("biller")
    pk = create(client, office).json()["id"]
    body = {**CODES, "supervising_provider_id": office.other_provider.pk}
    assert (
        client.put(f"/api/claims/encounters/{pk}/codes", body, content_type=JSON).status_code == 200
    )
    type(office.other_provider).objects.filter(pk=office.other_provider.pk).update(is_active=False)
    again = client.put(f"/api/claims/encounters/{pk}/codes", body, content_type=JSON)
    assert again.status_code == 200, again.content
    assert again.json()["supervising_provider_id"] == office.other_provider.pk


def test_a_second_encounter_for_the_same_visit_is_refused_unless_separate(
    office, users, client_for
):
    """Two encounters for one patient, provider and day would both post charges: the second
    is refused with 409 naming the first, unless the caller says the patient was seen again."""
    from medoffice.claims.models import Encounter

    client = client_for("biller")
    payload = {"patient_id": office.patient.pk, "location_id": office.location.pk,
               "rendering_provider_id": office.provider.pk,
               "date_of_service": office.day.isoformat()}  # fmt: skip
    first = client.post("/api/claims/encounters", payload, content_type="application/json")
    assert first.status_code == 201
    again = client.post("/api/claims/encounters", payload, content_type="application/json")
    assert again.status_code == 409
    assert f"already has encounter {first.json()['id']}" in again.json()["detail"]
    assert Encounter.objects.filter(patient=office.patient).count() == 1
    separate = client.post("/api/claims/encounters", {**payload, "separate_visit": True},
                           content_type="application/json")  # fmt: skip
    assert separate.status_code == 201
    assert Encounter.objects.filter(patient=office.patient).count() == 2


def test_an_encounter_opened_by_the_api_takes_its_supervising_provider(office, users, client_for):
    from medoffice.claims.models import Encounter

    client = client_for("biller")
    payload = {"patient_id": office.patient.pk, "location_id": office.location.pk,
               "rendering_provider_id": office.provider.pk,
               "date_of_service": office.day.isoformat(), "supervising_provider_id": 999_999}  # fmt: skip
    refused = client.post("/api/claims/encounters", payload, content_type="application/json")
    assert refused.status_code == 422 and "no provider with id" in refused.json()["detail"]
    assert not Encounter.objects.filter(patient=office.patient).exists()
    supervising = office.provider.__class__.objects.exclude(pk=office.provider.pk).first()
    made = client.post("/api/claims/encounters", {**payload,
                       "supervising_provider_id": supervising.pk},
                       content_type="application/json")  # fmt: skip
    assert made.status_code == 201
    assert Encounter.objects.get(pk=made.json()["id"]).supervising_provider == supervising
