"""Booking: what is accepted, what is refused (with the message), and that refusals write nothing."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, NotPermitted
from medoffice.scheduling import services
from medoffice.scheduling.models import Appointment, AppointmentStatus, Occupancy
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db


def book(clinic, users, start, **overrides):
    values = {
        "patient": clinic.patient,
        "provider": clinic.provider,
        "location": clinic.location,
        "appointment_type": clinic.follow_up,
        "start": start,
        "booked_by": users["front_desk"],
    }
    values.update(overrides)
    return services.appointment_book(**values)


def snapshot():
    return (Appointment.objects.count(), Occupancy.objects.count())


def test_booking_writes_the_appointment_and_its_cells(clinic, users):
    start = at(workday(), "09:00")
    appointment = book(clinic, users, start)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.end == start + timedelta(minutes=20)
    assert appointment.booked_by == users["front_desk"]
    assert Occupancy.objects.filter(appointment=appointment).count() == 4  # 20 min / 5


def test_second_booking_of_the_same_time_is_a_conflict_naming_the_first(clinic, users):
    start = at(workday(), "10:00")
    book(clinic, users, start)
    other = pf.patient()
    before = snapshot()
    with pytest.raises(Conflict) as caught:
        book(clinic, users, start + timedelta(minutes=10), patient=other)
    assert "already has Follow-up at 10:00 AM-10:20 AM" in caught.value.message
    assert caught.value.code == "provider_busy"
    assert snapshot() == before


def test_back_to_back_bookings_are_fine(clinic, users):
    start = at(workday(), "10:00")
    book(clinic, users, start)
    book(clinic, users, start + timedelta(minutes=20), patient=pf.patient())
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(
    ("hhmm", "code", "text"),
    [
        ("07:40", "outside_hours", "does not see patients at Main St at 7:40 AM-8:00 AM"),
        ("12:10", "outside_hours", "hours that day: 9:00 AM-12:00 PM, 1:00 PM-5:00 PM"),
        ("16:50", "outside_hours", "at 4:50 PM-5:10 PM"),
    ],
)
def test_outside_hours_or_in_lunch_is_refused(clinic, users, hhmm, code, text):
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, at(workday(), hhmm))
    assert caught.value.code == code
    assert text in caught.value.message
    assert caught.value.field == "start"
    assert snapshot() == before


def test_weekend_without_template_is_refused(clinic, users):
    saturday = workday(5)
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, at(saturday, "10:00"))
    assert "hours that day: no hours" in caught.value.message
    assert snapshot() == (0, 0)


def test_practice_closure_and_partial_day_closure(clinic, users):
    day = workday(2)
    sf.closure(start_date=day, end_date=day + timedelta(days=2), reason="Flooring work")
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, at(day + timedelta(days=1), "10:00"))
    assert caught.value.code == "closed"
    assert "Flooring work" in caught.value.message

    later = workday(2, weeks_ahead=4)
    sf.closure(
        scope="location", location=clinic.location, start_date=later,
        start_time=at(later, "14:00").time(), end_time=at(later, "15:00").time(),
        reason="Staff meeting",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, at(later, "14:30"))
    assert caught.value.code == "outside_hours"
    assert "1:00 PM-2:00 PM, 3:00 PM-5:00 PM" in caught.value.message
    book(clinic, users, at(later, "15:00"))  # after the meeting: fine
    assert Appointment.objects.count() == 1


def test_provider_closure_applies_to_that_provider_only(clinic, users):
    day = workday(3)
    sf.closure(scope="provider", provider=clinic.provider, start_date=day, reason="Conference")
    with pytest.raises(InvalidInput, match="Conference"):
        book(clinic, users, at(day, "10:00"))
    book(clinic, users, at(day, "10:00"), provider=clinic.other_provider)
    assert Appointment.objects.count() == 1


def test_federal_holiday_is_closed_unless_the_practice_stays_open(clinic, users):
    import holidays

    from medoffice.scheduling.models import SchedulingSettings

    today = workday(0, weeks_ahead=0)
    us = holidays.country_holidays("US", years=[today.year, today.year + 1], observed=True)
    day = next(d for d in sorted(us) if d > today + timedelta(days=1) and d.weekday() < 5)
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, at(day, "10:00"))
    assert caught.value.code == "closed"
    assert us[day].split(";")[0].replace(" (observed)", "") in caught.value.message
    SchedulingSettings.objects.create(open_on_holidays=us[day].replace(" (observed)", ""))
    book(clinic, users, at(day, "10:00"))
    assert Appointment.objects.count() == 1


def test_end_before_start_and_zero_length_are_refused(clinic, users):
    start = at(workday(), "10:00")
    for end in (start, start - timedelta(minutes=20)):
        with pytest.raises(InvalidInput) as caught:
            book(clinic, users, start, end=end)
        assert caught.value.field == "end"
        assert "end must be after the start" in caught.value.message
    assert snapshot() == (0, 0)


def test_off_grid_start_is_refused(clinic, users):
    with pytest.raises(InvalidInput, match="5-minute mark") as caught:
        book(clinic, users, at(workday(), "10:02"))
    assert caught.value.field == "start"


def test_provider_not_offering_the_type_is_refused(clinic, users):
    dr_c = factories.provider(last_name="Carter", locations=[clinic.location])
    sf.template(provider=dr_c, location=clinic.location)
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, at(workday(), "10:00"), provider=dr_c)
    assert caught.value.field == "provider"
    assert "does not offer Follow-up" in caught.value.message
    assert snapshot() == (0, 0)


def test_type_not_allowed_in_that_block(clinic, users):
    dr_c = factories.provider(last_name="Carter", locations=[clinic.location])
    clinic.follow_up.providers.add(dr_c)
    clinic.new_patient.providers.add(dr_c)
    sf.template(provider=dr_c, location=clinic.location, types=[clinic.new_patient])
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, at(workday(), "10:00"), provider=dr_c)
    assert caught.value.code == "type_not_allowed"
    book(clinic, users, at(workday(), "10:00"), provider=dr_c, appointment_type=clinic.new_patient)
    assert Appointment.objects.count() == 1


def test_inactive_and_merged_patients_are_refused(clinic, users):
    inactive = pf.patient(is_active=False)
    with pytest.raises(InvalidInput, match="inactive") as caught:
        book(clinic, users, at(workday(), "10:00"), patient=inactive)
    assert caught.value.field == "patient"
    survivor = pf.patient()
    merged = pf.patient(is_active=False, merged_into=survivor)
    with pytest.raises(InvalidInput, match=f"merged into MRN {survivor.mrn}"):
        book(clinic, users, at(workday(), "10:00"), patient=merged)
    assert snapshot() == (0, 0)


def test_past_needs_the_data_entry_flag(clinic, users):
    past_day = workday(1, weeks_ahead=-3)
    with pytest.raises(InvalidInput, match="That time has passed"):
        book(clinic, users, at(past_day, "10:00"))
    appointment = book(clinic, users, at(past_day, "10:00"), allow_past=True)
    assert appointment.pk


def test_procedure_takes_a_free_room_and_refuses_the_wrong_room(clinic, users):
    start = at(workday(), "10:00")
    with pytest.raises(InvalidInput) as caught:
        book(clinic, users, start, appointment_type=clinic.procedure, room=clinic.exam_room)
    assert caught.value.field == "room"
    assert "does not have what Procedure needs (one of: Procedure room)" in caught.value.message
    first = book(clinic, users, start, appointment_type=clinic.procedure)
    assert first.room == clinic.procedure_room
    # Dr B is free, but the only procedure room is not.
    with pytest.raises(Conflict) as caught:
        book(
            clinic, users, start, appointment_type=clinic.procedure,
            provider=clinic.other_provider, patient=pf.patient(),
        )  # fmt: skip
    assert caught.value.code == "room_busy"
    assert Appointment.objects.count() == 1


def test_patient_cannot_be_in_two_places(clinic, users):
    start = at(workday(), "10:00")
    book(clinic, users, start)
    with pytest.raises(Conflict) as caught:
        book(clinic, users, start, provider=clinic.other_provider)
    assert caught.value.code == "patient_busy"


def test_role_without_booking_permission_is_refused(clinic, users):
    with pytest.raises(NotPermitted):
        book(clinic, users, at(workday(), "10:00"), booked_by=users["clinician"])
    assert snapshot() == (0, 0)


def test_database_refuses_overlapping_cells_even_without_the_checks(clinic, users):
    """The constraint, not the Python check, is the guarantee."""
    start = at(workday(), "10:00")
    first = book(clinic, users, start)
    sneaky = Appointment.objects.create(
        patient=pf.patient(), provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=start + timedelta(minutes=15),
        end=start + timedelta(minutes=35),
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Occupancy.objects.create(
            appointment=sneaky, provider=clinic.provider, cell=int(first.end.timestamp()) // 300 - 1
        )
    # A room is held the same way.
    with pytest.raises(IntegrityError), transaction.atomic():
        Occupancy.objects.bulk_create(
            [
                Occupancy(
                    appointment=sneaky,
                    provider=clinic.other_provider,
                    room=clinic.exam_room,
                    cell=1,
                ),
                Occupancy(
                    appointment=first, provider=clinic.provider, room=clinic.exam_room, cell=1
                ),
            ]
        )


def test_cancel_frees_the_time_and_keeps_the_reason(clinic, users):
    start = at(workday(), "10:00")
    appointment = book(clinic, users, start)
    with pytest.raises(InvalidInput) as caught:
        services.appointment_cancel(
            appointment=appointment, reason=" ", cancelled_by=users["front_desk"]
        )
    assert caught.value.field == "reason"
    services.appointment_cancel(
        appointment=appointment, reason="Patient has the flu", cancelled_by=users["front_desk"]
    )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Patient has the flu"
    assert not Occupancy.objects.filter(appointment=appointment).exists()
    again = book(clinic, users, start, patient=pf.patient())
    assert again.pk != appointment.pk
    with pytest.raises(InvalidTransition):
        services.appointment_cancel(appointment=appointment, reason="twice", cancelled_by=None)


def test_no_show_only_after_the_start_and_counts(clinic, users):
    from medoffice.scheduling.selectors import no_show_count

    future = book(clinic, users, at(workday(), "10:00"))
    with pytest.raises(InvalidTransition, match="after the appointment's start"):
        services.appointment_mark_no_show(appointment=future, marked_by=users["front_desk"])
    for weeks in (-2, -3):
        past = book(clinic, users, at(workday(1, weeks_ahead=weeks), "10:00"), allow_past=True)
        services.appointment_mark_no_show(appointment=past, marked_by=users["front_desk"])
        assert not Occupancy.objects.filter(appointment=past).exists()
    assert no_show_count(clinic.patient) == 2
    assert no_show_count(pf.patient()) == 0


def test_check_in_and_complete_transitions(clinic, users):
    from django.utils import timezone

    from medoffice.core.services import module_set_enabled

    module_set_enabled(actor=None, module="reception", enabled=False)  # the schedule's own
    today = timezone.localdate()
    appointment = sf.appointment(
        patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(today, "08:00"),
    )  # fmt: skip
    with pytest.raises(NotPermitted):
        services.appointment_check_in(appointment=appointment, checked_in_by=users["clinician"])
    with pytest.raises(InvalidTransition):
        services.appointment_complete(appointment=appointment, completed_by=users["front_desk"])
    services.appointment_check_in(appointment=appointment, checked_in_by=users["front_desk"])
    done = services.appointment_complete(appointment=appointment, completed_by=users["front_desk"])
    assert done.status == AppointmentStatus.COMPLETED
    assert done.checked_in_at and done.completed_at
    # A completed visit still holds its time.
    assert Occupancy.objects.filter(appointment=appointment).count() == 4

    later = book(clinic, users, at(workday(), "10:00"))
    with pytest.raises(InvalidTransition, match="day of their appointment"):
        services.appointment_check_in(appointment=later, checked_in_by=users["front_desk"])


def test_reschedule_moves_and_frees_the_old_time(clinic, users):
    start = at(workday(), "10:00")
    appointment = book(clinic, users, start)
    new_start = at(workday(), "14:00")
    (moved,) = services.appointment_reschedule(
        appointment=appointment, start=new_start, rescheduled_by=users["front_desk"]
    )
    assert moved.pk == appointment.pk
    assert (moved.start, moved.end) == (new_start, new_start + timedelta(minutes=20))
    cells = set(Occupancy.objects.filter(appointment=moved).values_list("cell", flat=True))
    assert min(cells) == int(new_start.timestamp()) // 300
    book(clinic, users, start, patient=pf.patient())  # the old time is free again


def test_reschedule_into_a_taken_time_changes_nothing(clinic, users):
    first = book(clinic, users, at(workday(), "10:00"))
    second = book(clinic, users, at(workday(), "11:00"), patient=pf.patient())
    cells_before = sorted(Occupancy.objects.values_list("appointment_id", "cell"))
    with pytest.raises(Conflict):
        services.appointment_reschedule(
            appointment=second, start=first.start, rescheduled_by=users["front_desk"]
        )
    second.refresh_from_db()
    assert second.start == at(workday(), "11:00")
    assert sorted(Occupancy.objects.values_list("appointment_id", "cell")) == cells_before


def test_reschedule_to_its_own_overlapping_time(clinic, users):
    appointment = book(clinic, users, at(workday(), "10:00"))
    services.appointment_reschedule(
        appointment=appointment, start=at(workday(), "10:10"), rescheduled_by=None
    )
    appointment.refresh_from_db()
    assert appointment.start == at(workday(), "10:10")


def test_check_in_on_the_schedule_is_refused_while_the_front_desk_is_on(clinic, users):
    from django.utils import timezone

    appointment = sf.appointment(
        patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=at(timezone.localdate(), "08:00"),
    )  # fmt: skip
    with pytest.raises(Conflict) as caught:
        services.appointment_check_in(appointment=appointment, checked_in_by=users["front_desk"])
    assert caught.value.code == "front_desk_check_in"
    appointment.refresh_from_db()
    assert (appointment.status, appointment.checked_in_at) == (AppointmentStatus.BOOKED, None)
