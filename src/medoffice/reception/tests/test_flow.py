"""The patient's way through the office: legal and illegal moves, wait times, check-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from medoffice.core.exceptions import Conflict, InvalidInput, NotPermitted
from medoffice.reception import selectors, services
from medoffice.reception.exceptions import IllegalStageTransition
from medoffice.reception.models import Stage, Visit
from medoffice.scheduling.models import Appointment
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf


@pytest.fixture
def arrived(desk_day, users):
    services.check_in(
        appointment_id=desk_day.appointment.pk,
        checked_in_by=users["front_desk"],
        demographics_confirmed=True,
        coverage_confirmed=True,
    )
    return desk_day


def advance(day, user, stage, room=None):
    return services.flow_advance(
        appointment_id=day.appointment.pk,
        to_stage=stage,
        actor=user,
        room_id=room.pk if room else None,
    )


def test_the_whole_way_through(arrived, users):
    desk = users["front_desk"]
    visit = advance(arrived, desk, Stage.ROOMED, arrived.rooms[0])
    assert (visit.stage, visit.room) == (Stage.ROOMED, arrived.rooms[0])
    assert visit.roomed_at is not None
    visit = advance(arrived, desk, Stage.WITH_PROVIDER)
    assert visit.with_provider_at >= visit.roomed_at >= visit.arrived_at
    visit = advance(arrived, desk, Stage.CHECKED_OUT)
    assert visit.stage == Stage.CHECKED_OUT and visit.checked_out_by == desk
    appointment = Appointment.objects.get(pk=arrived.appointment.pk)
    assert appointment.status == "completed" and appointment.completed_at is not None


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], Stage.WITH_PROVIDER),  # arrived -> with provider skips rooming
        ([], Stage.CHECKED_OUT),  # arrived -> checked out
        ([], Stage.ARRIVED),  # arrived again
        ([Stage.ROOMED], Stage.ARRIVED),  # backwards
        ([Stage.ROOMED], Stage.CHECKED_OUT),
        ([Stage.ROOMED, Stage.WITH_PROVIDER], Stage.ROOMED),
        ([Stage.ROOMED, Stage.WITH_PROVIDER, Stage.CHECKED_OUT], Stage.ROOMED),
        ([Stage.ROOMED, Stage.WITH_PROVIDER, Stage.CHECKED_OUT], Stage.CHECKED_OUT),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(arrived, users, path, illegal):
    desk = users["front_desk"]
    for stage in path:
        advance(arrived, desk, stage, arrived.rooms[0] if stage == Stage.ROOMED else None)
    before = Visit.objects.values().get()
    status_before = Appointment.objects.get(pk=arrived.appointment.pk).status
    with pytest.raises(IllegalStageTransition):
        advance(arrived, desk, illegal, arrived.rooms[1])
    assert Visit.objects.values().get() == before
    assert Appointment.objects.get(pk=arrived.appointment.pk).status == status_before


def test_a_scheduled_patient_arrives_only_through_check_in(desk_day, users):
    with pytest.raises(IllegalStageTransition):
        advance(desk_day, users["front_desk"], Stage.ARRIVED)
    with pytest.raises(IllegalStageTransition):
        advance(desk_day, users["front_desk"], Stage.ROOMED, desk_day.rooms[0])
    assert not Visit.objects.exists()


def test_unknown_stage_is_invalid_input(arrived, users):
    with pytest.raises(InvalidInput) as caught:
        advance(arrived, users["front_desk"], "teleported")
    assert caught.value.field == "stage"


def test_rooming_needs_a_free_room_at_the_location(arrived, users):
    desk = users["front_desk"]
    with pytest.raises(InvalidInput) as caught:
        advance(arrived, desk, Stage.ROOMED)
    assert caught.value.field == "room"
    elsewhere = sf.room(name="Far away")
    with pytest.raises(InvalidInput):
        advance(arrived, desk, Stage.ROOMED, elsewhere)
    # Another patient already in Exam 1.
    other = sf.appointment(
        patient=pf.patient(), provider=arrived.provider, location=arrived.location,
        appointment_type=arrived.visit_type,
    )  # fmt: skip
    rf.visit(appointment=other, stage=Stage.ROOMED, room=arrived.rooms[0])
    with pytest.raises(Conflict):
        advance(arrived, desk, Stage.ROOMED, arrived.rooms[0])
    assert Visit.objects.get(appointment=arrived.appointment).stage == Stage.ARRIVED
    assert advance(arrived, desk, Stage.ROOMED, arrived.rooms[1]).room == arrived.rooms[1]


def test_moving_patients_needs_the_check_in_permission(arrived, users):
    for role in ("clinician", "auditor"):
        with pytest.raises(NotPermitted):
            advance(arrived, users[role], Stage.ROOMED, arrived.rooms[0])
    assert Visit.objects.get().stage == Stage.ARRIVED


def test_check_out_before_the_provider_is_refused(arrived, users):
    with pytest.raises(IllegalStageTransition):
        services.check_out(
            appointment_id=arrived.appointment.pk, checked_out_by=users["front_desk"]
        )
    assert Appointment.objects.get(pk=arrived.appointment.pk).status == "checked_in"


def test_appointment_checked_in_on_the_schedule_gets_a_visit_when_moved(desk_day, users):
    from medoffice.core.services import module_set_enabled
    from medoffice.scheduling.services import appointment_check_in

    # Checked in on the schedule while the front desk module was off, then switched on.
    module_set_enabled(actor=None, module="reception", enabled=False)
    appointment_check_in(appointment=desk_day.appointment, checked_in_by=users["front_desk"])
    module_set_enabled(actor=None, module="reception", enabled=True)
    board = selectors.flow_board(day=selectors.local_today(), location=desk_day.location)
    assert [row.stage for row in board.rows] == [Stage.ARRIVED]
    visit = advance(desk_day, users["front_desk"], Stage.ROOMED, desk_day.rooms[0])
    assert visit.arrived_at == Appointment.objects.get(pk=desk_day.appointment.pk).checked_in_at


def test_wait_times_come_from_the_stored_times(desk_day):
    now = timezone.now()
    visit = rf.visit(appointment=desk_day.appointment, stage=Stage.ROOMED)
    Visit.objects.filter(pk=visit.pk).update(
        arrived_at=now - timedelta(minutes=40), roomed_at=now - timedelta(minutes=12)
    )
    row = selectors.flow_board(
        day=selectors.local_today(now), location=desk_day.location, now=now
    ).rows[0]
    assert (row.stage, row.minutes_in_stage, row.minutes_since_arrival) == (Stage.ROOMED, 12, 40)
    later = now + timedelta(minutes=5)
    row = selectors.flow_board(
        day=selectors.local_today(now), location=desk_day.location, now=later
    ).rows[0]
    assert (row.minutes_in_stage, row.minutes_since_arrival) == (17, 45)
    # Checked out: the total stays fixed, there is no "in stage" wait.
    Visit.objects.filter(pk=visit.pk).update(
        stage=Stage.CHECKED_OUT,
        with_provider_at=now - timedelta(minutes=10),
        checked_out_at=now - timedelta(minutes=2),
    )
    row = selectors.flow_board(
        day=selectors.local_today(now), location=desk_day.location, now=later
    ).rows[0]
    assert (row.stage, row.minutes_in_stage, row.minutes_since_arrival) == (
        Stage.CHECKED_OUT,
        None,
        38,
    )


def test_board_lists_the_day_by_stage_in_two_queries(desk_day, users, django_assert_num_queries):
    patients = [pf.patient() for _ in range(5)]
    for index, patient in enumerate(patients):
        appointment = sf.appointment(
            patient=patient, provider=desk_day.provider, location=desk_day.location,
            appointment_type=desk_day.visit_type,
        )  # fmt: skip
        if index % 2:
            rf.visit(appointment=appointment, stage=Stage.ARRIVED)
    sf.appointment(
        patient=pf.patient(), provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type, status="cancelled",
    )  # fmt: skip
    today = selectors.local_today()
    with django_assert_num_queries(2):  # the practice's time zone, then the appointments
        board = selectors.flow_board(day=today, location=desk_day.location)
        counts = {column.stage: len(column.rows) for column in board.columns}
        names = [row.patient.last_name for row in board.rows]
    assert counts == {
        "scheduled": 4,
        "arrived": 2,
        "roomed": 0,
        "with_provider": 0,
        "checked_out": 0,
    }
    assert len(names) == 6
    assert board.waiting == 2
    counts = selectors.front_desk_counts()
    assert (counts["waiting"], counts["checked_in"]) == (2, 2)
    assert counts["longest_wait"] is not None


def test_late_scheduled_patients_show_how_late(desk_day):
    now = desk_day.appointment.start + timedelta(minutes=25)
    row = selectors.flow_board(
        day=selectors.local_today(now), location=desk_day.location, now=now
    ).rows[0]
    assert (row.stage, row.minutes_late) == (Stage.SCHEDULED, 25)
