"""Find next available: templates, lunch, closures, holidays, bookings and rooms respected."""

from datetime import timedelta

import pytest

from medoffice.core.exceptions import InvalidInput
from medoffice.scheduling import services
from medoffice.scheduling.availability import practice_zone
from medoffice.scheduling.selectors import free_slots
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db


def local(slot):
    start = slot.start.astimezone(practice_zone())
    return f"{start:%Y-%m-%d %H:%M}"


def book(clinic, users, start, **fields):
    values = {
        "patient": pf.patient(), "provider": clinic.provider, "location": clinic.location,
        "appointment_type": clinic.follow_up, "start": start, "booked_by": users["front_desk"],
    }  # fmt: skip
    values.update(fields)
    return services.appointment_book(**values)


def test_first_slots_start_with_the_working_day(clinic):
    day = workday()
    slots = free_slots(
        clinic.follow_up, providers=[clinic.provider], start=at(day, "00:00"), limit=3
    )
    assert [local(s) for s in slots] == [f"{day} 09:00", f"{day} 09:10", f"{day} 09:20"]
    assert all(s.provider_id == clinic.provider.pk for s in slots)
    assert all(s.end - s.start == timedelta(minutes=20) for s in slots)


def test_every_slot_found_can_be_booked(clinic, users):
    day = workday()
    slots = free_slots(clinic.new_patient, start=at(day, "00:00"), end=at(day, "23:00"), limit=200)
    assert slots
    for slot in slots[:: max(1, len(slots) // 10)]:
        services.appointment_book(
            patient=pf.patient(), provider=clinic.provider if slot.provider_id == clinic.provider.pk
            else clinic.other_provider, location=clinic.location,
            appointment_type=clinic.new_patient, start=slot.start, booked_by=users["front_desk"],
        )  # fmt: skip
        # Booked slots disappear from the next search.
        again = free_slots(
            clinic.new_patient, start=at(day, "00:00"), end=at(day, "23:00"), limit=200
        )
        assert all(
            not (s.provider_id == slot.provider_id and s.start < slot.end and s.end > slot.start)
            for s in again
        )


def test_bookings_and_lunch_are_skipped(clinic, users):
    day = workday()
    book(clinic, users, at(day, "09:00"))
    book(clinic, users, at(day, "09:20"), appointment_type=clinic.new_patient)  # until 10:00
    slots = free_slots(
        clinic.follow_up, providers=[clinic.provider], start=at(day, "00:00"),
        end=at(day, "23:59"), limit=200,
    )  # fmt: skip
    times = [local(s)[-5:] for s in slots]
    assert times[0] == "10:00"
    assert "11:40" in times and "11:50" not in times  # 11:50-12:10 would cross lunch
    assert "12:30" not in times and times[times.index("11:40") + 1] == "13:00"
    assert times[-1] == "16:40"


def test_closures_and_holidays_move_the_first_slot(clinic):
    day = workday(1)
    sf.closure(start_date=day, reason="Inventory")
    sf.closure(
        scope="provider", provider=clinic.provider, start_date=day + timedelta(days=1),
        start_time=at(day, "09:00").time(), end_time=at(day, "15:00").time(), reason="Board",
    )  # fmt: skip
    slots = free_slots(
        clinic.follow_up, providers=[clinic.provider], start=at(day, "00:00"), limit=1
    )
    assert local(slots[0]) == f"{day + timedelta(days=1)} 15:00"


def test_room_must_be_free_for_types_that_need_one(clinic, users):
    day = workday()
    book(clinic, users, at(day, "09:00"), appointment_type=clinic.procedure)
    slots = free_slots(
        clinic.procedure, providers=[clinic.other_provider], start=at(day, "00:00"), limit=2
    )
    # Dr B is free at 9:00, but the only procedure room is not until 9:30.
    assert [local(s)[-5:] for s in slots] == ["09:30", "09:40"]
    assert slots[0].room_id == clinic.procedure_room.pk


def test_location_and_provider_preferences(clinic):
    sf.template(provider=clinic.other_provider, location=clinic.other_location, weekdays=(5,))
    saturday = workday(5)
    slots = free_slots(
        clinic.follow_up, locations=[clinic.other_location], start=at(saturday - timedelta(days=5), "00:00"),
        limit=1,
    )  # fmt: skip
    assert slots[0].location_id == clinic.other_location.pk
    assert local(slots[0]) == f"{saturday} 09:00"
    nobody = factories.provider(last_name="Nobody")
    assert free_slots(clinic.follow_up, providers=[nobody], limit=5) == []


def test_types_limited_to_some_blocks(clinic):
    dr_c = factories.provider(last_name="Carter", locations=[clinic.location])
    clinic.new_patient.providers.add(dr_c)
    clinic.follow_up.providers.add(dr_c)
    sf.template(provider=dr_c, location=clinic.location, types=[clinic.new_patient])
    assert free_slots(clinic.follow_up, providers=[dr_c], limit=5) == []
    assert free_slots(clinic.new_patient, providers=[dr_c], limit=5)


def test_never_offers_the_past_and_refuses_a_backwards_range(clinic):
    slots = free_slots(clinic.follow_up, start=at(workday(1, weeks_ahead=-2), "09:00"), limit=5)
    from django.utils import timezone

    assert all(s.start >= timezone.now() for s in slots)
    with pytest.raises(InvalidInput) as caught:
        free_slots(clinic.follow_up, start=at(workday(), "12:00"), end=at(workday(), "09:00"))
    assert caught.value.field == "end"
