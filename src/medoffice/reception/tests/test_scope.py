"""Who sees which patients at the desk: a clinician limited to their own schedule sees only their
own patients on the flow board (page and API); with the patients module switched off, the
booking page's patient picker and the desk's account pages show no patient at all."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medoffice.core.services import module_set_enabled
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_providers(desk_day, users):
    """desk_day's Dr Able sees Maria Lopez; Dr Chen (the clinician user) sees Tom Ward."""
    own = factories.provider(
        first_name="Cara", last_name="Chen", locations=[desk_day.location], user=users["clinician"]
    )
    theirs = pf.patient(first_name="Tom", last_name="Ward")
    sf.appointment(patient=theirs, provider=own, location=desk_day.location,
                   appointment_type=sf.appointment_type(providers=[own]))  # fmt: skip
    return desk_day, theirs


def _board_names(response) -> set[str]:
    return {row.appointment.patient.last_name for row in response.context["board"].rows}


def test_a_clinician_sees_only_their_own_patients_on_the_board_page(client_for, two_providers):
    day, _ = two_providers
    query = {"location": day.location.pk}
    response = client_for("clinician").get(reverse("reception:flow_board"), query)
    assert response.status_code == 200
    assert _board_names(response) == {"Ward"}
    assert b"Lopez" not in response.content
    everyone = client_for("front_desk").get(reverse("reception:flow_board"), query)
    assert _board_names(everyone) == {"Ward", "Lopez"}


def test_a_clinician_sees_only_their_own_patients_on_the_board_api(client_for, two_providers):
    day, theirs = two_providers
    url = f"/api/reception/flow-board?location={day.location.pk}"
    rows = client_for("clinician").get(url).json()["rows"]
    assert [row["patient_id"] for row in rows] == [theirs.pk]
    everyone = client_for("auditor").get(url).json()["rows"]
    assert {row["patient_id"] for row in everyone} == {theirs.pk, day.patient.pk}


@pytest.fixture
def patients_off(desk_day, users):
    module_set_enabled(actor=users["owner"], module="patients", enabled=False)
    return desk_day


def test_with_patients_off_the_booking_picker_finds_nobody(client_for, desk_day, users):
    url = reverse("scheduling:patient_options")
    client = client_for("front_desk")
    assert b"Maria" in client.get(url, {"q": "Lopez"}).content  # while the module is on
    module_set_enabled(actor=users["owner"], module="patients", enabled=False)
    response = client.get(url, {"q": "Lopez"})
    assert response.status_code == 200
    assert (
        b"Maria" not in response.content and desk_day.patient.mrn.encode() not in response.content
    )
    assert b"No active patient matches" in response.content
    booking = client.get(reverse("scheduling:book"), {"patient": desk_day.patient.pk})
    assert booking.status_code == 200
    assert b"Lopez" not in booking.content and desk_day.patient.mrn.encode() not in booking.content


@pytest.mark.parametrize("name", ["reception:patient_desk", "reception:payment_new"])
def test_with_patients_off_the_account_pages_show_no_patient(client_for, patients_off, name):
    patient = patients_off.patient
    response = client_for("front_desk").get(reverse(name, args=[patient.pk]))
    assert response.status_code == 404
    for shown in (patient.last_name, patient.mrn, patient.date_of_birth.isoformat()):
        assert shown.encode() not in response.content


@pytest.mark.parametrize("name", ["reception:patient_desk", "reception:payment_new"])
def test_with_patients_on_the_account_pages_show_the_patient(client_for, desk_day, name):
    response = client_for("front_desk").get(reverse(name, args=[desk_day.patient.pk]))
    assert response.status_code == 200
    assert b"Lopez" in response.content
