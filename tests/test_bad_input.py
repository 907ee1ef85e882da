"""Input no field can hold answers 400 (pages) or 422 (API) naming the field, never a server
error, and writes nothing: NUL characters, numbers beyond 64 bits, dates at the calendar's
ends, very long searches. Run on both databases (PostgreSQL refuses NULs in its driver)."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from medoffice.core.models import Location
from medoffice.scheduling.models import Appointment, Closure

pytestmark = pytest.mark.django_db

BIG = "9999999999999999999999"
NUL = "Main\x00Street"


def _json(client: Client, method: str, url: str, body) -> object:
    return getattr(client, method)(url, body, content_type="application/json")


# --- NUL characters ---------------------------------------------------------------------------


def test_a_nul_in_a_json_text_field_is_refused_naming_it(client_for, practice):
    body = {"name": NUL, "address_line1": "1 Main", "city": "Town", "state": "NY",
            "zip_code": "10001"}  # fmt: skip
    response = _json(client_for("manager"), "post", "/api/locations", body)
    assert response.status_code == 422
    assert "name" in response.json()["errors"]
    assert not Location.objects.exists()


def test_a_nul_in_a_nested_json_value_is_refused(client_for, practice):
    body = [{"role": "biller\x00", "kind": "purchase", "amount": "10.00"}]
    response = _json(client_for("owner"), "put", "/api/practice/limits", body)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["1.role"]


def test_a_nul_in_a_page_form_is_refused_naming_it(client_for, practice):
    form = {"name": NUL, "address_line1": "1 Main", "city": "Town", "state": "NY",
            "zip_code": "10001", "place_of_service": "11"}  # fmt: skip
    response = client_for("manager").post("/practice/locations/new/", form)
    assert response.status_code == 400
    assert b"name" in response.content and b"NUL" in response.content
    assert not Location.objects.exists()


@pytest.mark.parametrize(
    "url", ["/api/patients?q=ab%00cd", "/api/audit?user=x%00", "/api/appointments?status=%00"]
)
def test_a_nul_in_an_api_query_parameter_is_refused(client_for, url):
    response = client_for("owner").get(url)
    assert response.status_code == 422
    assert response.json()["errors"]


@pytest.mark.parametrize("url", ["/patients/?q=ab%00cd", "/practice/audit/?user=x%00"])
def test_a_nul_in_a_page_query_parameter_is_refused(client_for, url):
    response = client_for("owner").get(url)
    assert response.status_code == 400


# --- Numbers beyond 64 bits -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, field",
    [
        (f"/api/audit?offset={BIG}", "offset"),
        (f"/api/appointments?provider={BIG}", "provider"),
        (f"/api/appointments?patient=-{BIG}", "patient"),
        (f"/api/patients/{BIG}", "path"),
    ],
)
def test_an_api_number_beyond_64_bits_is_refused_naming_it(client_for, clinic, url, field):
    response = client_for("owner").get(url)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_a_json_number_beyond_64_bits_is_refused(client_for, clinic):
    body = {"patient": int(BIG), "provider": clinic.provider.pk, "location": clinic.location.pk,
            "appointment_type": clinic.follow_up.pk, "start": "2030-01-08T10:00:00-05:00"}  # fmt: skip
    response = _json(client_for("front_desk"), "post", "/api/appointments", body)
    assert response.status_code == 422
    assert "patient" in response.json()["errors"]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "url", [f"/scheduling/?provider={BIG}", f"/scheduling/week/?location={BIG}",
            f"/reception/?location={BIG}"],
)  # fmt: skip
def test_a_page_number_beyond_64_bits_is_refused(client_for, clinic, url):
    response = client_for("owner").get(url)
    assert response.status_code == 400
    assert b"number too large" in response.content


# --- Dates at the calendar's ends -------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/scheduling/", "/scheduling/week/", "/reception/", "/reception/chart-prep/"]
)
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_page_date_outside_the_range_names_the_field(client_for, clinic, url, day):
    response = client_for("owner").get(url, {"date": day})
    assert response.status_code == 422
    # In the page's words and its MM/DD/YYYY dates; no parameter name ("done date: the date").
    page = response.content.decode()
    assert "Check the date: it must be between 01/01/1900 and 12/31/2199." in page
    assert "date: the date" not in page and "1900-01-01" not in page


@pytest.mark.parametrize(
    "url",
    [
        "/scheduling/",
        "/scheduling/week/",
        "/reception/",
        "/reception/drawer/",
        "/ledger/trial-balance/",
    ],
)
@pytest.mark.parametrize("day", ["yesterday", "2026-02-30", "12/01/2026"])
def test_an_unreadable_page_date_is_refused_not_read_as_today(client_for, clinic, url, day):
    response = client_for("owner").get(url, {"date": day, "as_of": day})
    assert response.status_code == 422
    assert f"Check the date: “{day}” cannot be read as a date" in response.content.decode()


def test_a_page_date_inside_the_range_still_shows(client_for, clinic):
    response = client_for("owner").get("/scheduling/week/", {"date": "2199-12-31"})
    assert response.status_code == 200


@pytest.mark.parametrize("start", ["9999-12-31T23:50:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_booking_at_the_calendar_end_is_refused_naming_start(client_for, clinic, start):
    body = {"patient": clinic.patient.pk, "provider": clinic.provider.pk,
            "location": clinic.location.pk, "appointment_type": clinic.follow_up.pk,
            "start": start}  # fmt: skip
    response = _json(client_for("front_desk"), "post", "/api/appointments", body)
    assert response.status_code == 422
    assert "start" in response.json()["errors"]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "url", ["/api/appointments?day=9999-12-31", "/api/reception/flow-board?date=9999-12-31",
            "/api/audit?to=9999-12-31", "/api/slots?appointment_type=1&start=9999-12-31T23:00:00Z"],
)  # fmt: skip
def test_an_api_date_outside_the_range_is_refused(client_for, clinic, url):
    response = client_for("owner").get(url)
    assert response.status_code == 422


def test_the_booking_page_refuses_a_slot_at_the_calendar_end(client_for, clinic):
    slot = f"{clinic.provider.pk}|{clinic.location.pk}|9999-12-31T23:50:00+00:00|"
    response = client_for("front_desk").post(
        "/scheduling/book/",
        {"patient": clinic.patient.pk, "appointment_type": clinic.follow_up.pk, "slot": slot},
    )
    assert response.status_code in (200, 422)
    assert "slot" in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_a_closure_at_the_calendar_end_is_a_form_error(client_for, clinic):
    response = client_for("manager").post(
        "/scheduling/setup/closures/",
        {"start_date": "9999-12-31", "end_date": "9999-12-31", "reason": "End of time",
         "scope": "practice"},
    )  # fmt: skip
    assert response.status_code in (200, 422)
    assert not Closure.objects.filter(start_date=date(9999, 12, 31)).exists()


# --- Long searches ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/patients/", "/scheduling/book/patients/"],
)
def test_a_very_long_page_search_is_refused_with_a_message(client_for, clinic, url):
    response = client_for("owner").get(url, {"q": "a%" * 25_000})
    assert response.status_code == 400
    assert b"search text too long (at most 200 characters)" in response.content


def test_a_very_long_api_search_is_refused_naming_q(client_for, clinic):
    response = client_for("owner").get("/api/patients", {"q": "a" * 50_000})
    assert response.status_code == 422
    assert "q" in response.json()["errors"]


def test_a_search_at_the_limit_still_answers(client_for, clinic):
    response = client_for("owner").get("/api/patients", {"q": "a" * 200})
    assert response.status_code == 200


# --- A body that is not an object ---------------------------------------------------------------


@pytest.mark.parametrize("body", ['"hello world"', "5", "true", "null"])
def test_a_bare_json_value_as_a_patch_body_edits_nothing(client_for, users, body):
    member = users["biller"]
    before = (member.title, member.first_name, member.is_active)
    response = client_for("manager").patch(
        f"/api/users/{member.pk}", body, content_type="application/json"
    )
    assert response.status_code == 422
    assert "body" in response.json()["errors"]
    member.refresh_from_db()
    assert (member.title, member.first_name, member.is_active) == before


def test_an_object_patch_body_still_edits(client_for, users):
    member = users["biller"]
    response = client_for("manager").patch(
        f"/api/users/{member.pk}", {"title": "Coder"}, content_type="application/json"
    )
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.title == "Coder"


def test_a_json_true_is_not_read_as_the_id_1(client_for, practice):
    from medoffice.testing import patients_factories as pf

    patient = pf.patient()
    body = {"patient_id": True, "amount": "5.00", "method": "check", "reason": "x",
            "location_id": True}  # fmt: skip
    response = _json(client_for("manager"), "post", "/api/reception/refunds", body)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"patient_id", "location_id"}
    assert "Patient id must be a whole number, not true or false." in response.json()["detail"]
    assert patient.refunds.count() == 0


def test_a_body_that_is_not_json_is_named_so(client_for, practice):
    response = client_for("manager").post(
        "/api/reception/refunds", "{", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is not valid JSON.", "code": "invalid"}
