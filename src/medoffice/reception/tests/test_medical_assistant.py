"""The medical assistant rooms patients and moves them along the board, and touches no money;
a clinician moves only their own patients."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medoffice.core.exceptions import NotPermitted
from medoffice.reception import services
from medoffice.reception.models import Payment, Stage, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def arrived(desk_day, users):
    services.check_in(
        appointment_id=desk_day.appointment.pk, checked_in_by=users["front_desk"],
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    return desk_day


def test_the_assistant_rooms_the_patient_and_sends_them_to_the_provider(arrived, client_for):
    ma = client_for("medical_assistant")
    board = ma.get(reverse("reception:flow_board"))
    assert board.status_code == 200
    assert "Lopez" in board.content.decode()
    url = reverse("reception:flow_advance", args=[arrived.appointment.pk])
    ma.post(url, {"stage": Stage.ROOMED, "room": arrived.rooms[0].pk})
    assert Visit.objects.get().stage == Stage.ROOMED
    ma.post(url, {"stage": Stage.WITH_PROVIDER})
    assert Visit.objects.get().stage == Stage.WITH_PROVIDER


def test_the_assistant_cannot_check_out_check_in_or_take_money(arrived, client_for, users):
    ma = client_for("medical_assistant")
    desk, a = users["front_desk"], arrived.appointment.pk
    services.flow_advance(appointment_id=a, to_stage=Stage.ROOMED, actor=desk,
                          room_id=arrived.rooms[0].pk)  # fmt: skip
    services.flow_advance(appointment_id=a, to_stage=Stage.WITH_PROVIDER, actor=desk)
    with pytest.raises(NotPermitted):
        services.flow_advance(
            appointment_id=arrived.appointment.pk, to_stage=Stage.CHECKED_OUT,
            actor=users["medical_assistant"],
        )  # fmt: skip
    assert Visit.objects.get().stage == Stage.WITH_PROVIDER
    patient = arrived.patient.pk
    assert ma.get(reverse("reception:payment_new", args=[patient])).status_code == 403
    assert ma.get(reverse("reception:patient_desk", args=[patient])).status_code == 403
    assert ma.get(reverse("reception:check_in", args=[arrived.appointment.pk])).status_code == 403
    record = ma.get(reverse("patients:detail", args=[patient])).content.decode()
    assert "Take payment" not in record and 'id="record-account"' not in record
    assert not Payment.objects.exists()


def test_a_clinician_moves_their_own_patients_only(arrived, users):
    from medoffice.testing import factories
    from medoffice.testing import scheduling_factories as sf

    own = arrived.provider
    own.user = users["clinician"]
    own.save()
    services.flow_advance(
        appointment_id=arrived.appointment.pk, to_stage=Stage.ROOMED, actor=users["clinician"],
        room_id=arrived.rooms[0].pk,
    )  # fmt: skip
    assert Visit.objects.get(appointment=arrived.appointment).stage == Stage.ROOMED

    colleague = factories.provider(
        first_name="Ben", last_name="Baker", locations=[arrived.location]
    )
    kind = sf.appointment_type(providers=[colleague])
    theirs = sf.appointment(provider=colleague, location=arrived.location, appointment_type=kind)
    services.check_in(
        appointment_id=theirs.pk, checked_in_by=users["front_desk"],
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    with pytest.raises(NotPermitted, match="only your own patients"):
        services.flow_advance(
            appointment_id=theirs.pk, to_stage=Stage.ROOMED, actor=users["clinician"],
            room_id=arrived.rooms[1].pk,
        )  # fmt: skip
    assert Visit.objects.get(appointment=theirs).stage == Stage.ARRIVED


@pytest.mark.parametrize("role", ["medical_assistant", "clinician", "auditor"])
def test_the_record_offers_sign_a_form_only_to_roles_that_can_open_the_account_page(
    desk_day, client_for, role
):
    """The forms panel's link leads to the account page, which needs check-in: a role that
    reads the forms but cannot check in sees no link it would be refused at."""
    patient = desk_day.patient.pk
    desk_page = reverse("reception:patient_desk", args=[patient])
    reader = client_for(role)
    record = reader.get(reverse("patients:detail", args=[patient])).content.decode()
    assert 'id="record-forms"' in record
    assert desk_page not in record
    assert reader.get(desk_page).status_code == 403
    desk = client_for("front_desk").get(reverse("patients:detail", args=[patient])).content.decode()
    assert "Sign a form" in desk and desk_page in desk


@pytest.mark.parametrize("room", ["abc", "1e5", "2.0", "-1"])
def test_rooming_with_a_room_that_is_no_number_is_refused_naming_the_room(
    arrived, client_for, room
):
    """The board's form posts the room's number; any other text is refused in words (it was
    a server error), the patient stays where they were."""
    ma = client_for("medical_assistant")
    url = reverse("reception:flow_advance", args=[arrived.appointment.pk])
    page = ma.post(url, {"stage": Stage.ROOMED, "room": room}, follow=True)
    assert page.status_code == 200
    assert "Choose a room at this location." in page.content.decode()
    assert Visit.objects.get().stage == Stage.ARRIVED
    board = ma.post(url, {"stage": Stage.ROOMED, "room": room}, HTTP_HX_REQUEST="true")
    assert board.status_code == 200
    assert "Choose a room at this location." in board.content.decode()
