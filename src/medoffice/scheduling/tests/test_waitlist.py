"""The waitlist: a freed slot goes to the first matching waiting patient; accepting books it."""

from datetime import timedelta

import pytest

from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.scheduling import services
from medoffice.scheduling.models import (
    Appointment,
    AppointmentStatus,
    OfferStatus,
    WaitlistOffer,
    WaitlistStatus,
)
from medoffice.testing import patients_factories as pf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db


def wait(clinic, users, **fields):
    values = {
        "patient": pf.patient(), "appointment_type": clinic.follow_up,
        "earliest_date": workday() - timedelta(days=7), "latest_date": workday() + timedelta(days=7),
        "added_by": users["front_desk"],
    }  # fmt: skip
    values.update(fields)
    return services.waitlist_add(**values)


def booked(clinic, users, hhmm="10:00", **fields):
    values = {
        "patient": pf.patient(), "provider": clinic.provider, "location": clinic.location,
        "appointment_type": clinic.follow_up, "start": at(workday(), hhmm),
        "booked_by": users["front_desk"],
    }  # fmt: skip
    values.update(fields)
    return services.appointment_book(**values)


def cancel(appointment, users):
    return services.appointment_cancel(
        appointment=appointment, reason="Cannot make it", cancelled_by=users["front_desk"]
    )


def test_offer_goes_to_highest_priority_then_earliest_added(clinic, users):
    routine_first = wait(clinic, users, priority=3)
    urgent_second = wait(clinic, users, priority=1)
    urgent_third = wait(clinic, users, priority=1)
    appointment = booked(clinic, users)
    cancel(appointment, users)
    offer = WaitlistOffer.objects.get()
    assert offer.entry == urgent_second
    assert (offer.start, offer.end) == (appointment.start, appointment.end)
    assert offer.freed_by == appointment
    assert offer.provider == clinic.provider
    urgent_second.refresh_from_db()
    assert urgent_second.status == WaitlistStatus.OFFERED
    for other in (routine_first, urgent_third):
        other.refresh_from_db()
        assert other.status == WaitlistStatus.WAITING


def test_entries_that_do_not_match_are_skipped(clinic, users):
    wait(clinic, users, priority=1, provider=clinic.other_provider)
    wait(clinic, users, priority=1, location=clinic.other_location)
    wait(
        clinic, users, priority=1, earliest_date=workday() + timedelta(days=1),
        latest_date=workday() + timedelta(days=30),
    )  # fmt: skip
    wait(clinic, users, priority=1, appointment_type=clinic.new_patient)  # 40 min: longer
    matching = wait(clinic, users, priority=5)
    cancel(booked(clinic, users), users)
    assert WaitlistOffer.objects.get().entry == matching


def test_no_match_no_offer_and_past_slots_are_not_offered(clinic, users):
    cancel(booked(clinic, users), users)
    assert not WaitlistOffer.objects.exists()
    wait(clinic, users, earliest_date=workday(1, weeks_ahead=-4), latest_date=workday())
    past = booked(clinic, users, start=at(workday(1, weeks_ahead=-3), "10:00"), allow_past=True)
    cancel(past, users)
    assert not WaitlistOffer.objects.exists()


def test_reschedule_offers_the_old_time(clinic, users):
    entry = wait(clinic, users)
    appointment = booked(clinic, users, "10:00")
    services.appointment_reschedule(
        appointment=appointment, start=at(workday(), "15:00"), rescheduled_by=users["front_desk"]
    )
    offer = WaitlistOffer.objects.get()
    assert offer.entry == entry
    assert offer.start == at(workday(), "10:00")


def test_accepting_books_the_slot(clinic, users):
    entry = wait(clinic, users)
    cancel(booked(clinic, users), users)
    offer = WaitlistOffer.objects.get()
    appointment = services.waitlist_offer_accept(offer=offer, accepted_by=users["front_desk"])
    assert appointment.patient == entry.patient
    assert appointment.start == offer.start
    assert appointment.status == AppointmentStatus.BOOKED
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and offer.appointment == appointment
    assert entry.status == WaitlistStatus.BOOKED


def test_declining_passes_the_slot_to_the_next_patient(clinic, users):
    first = wait(clinic, users, priority=1)
    second = wait(clinic, users, priority=2)
    cancel(booked(clinic, users), users)
    offer = WaitlistOffer.objects.get()
    assert offer.entry == first
    next_offer = services.waitlist_offer_decline(offer=offer, declined_by=users["front_desk"])
    assert next_offer.entry == second
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING


def test_accepting_a_slot_taken_meanwhile_is_a_conflict_and_the_patient_keeps_waiting(
    clinic, users
):
    entry = wait(clinic, users)
    appointment = booked(clinic, users)
    cancel(appointment, users)
    offer = WaitlistOffer.objects.get()
    booked(clinic, users)  # someone else took the time at the desk
    count = Appointment.objects.count()
    with pytest.raises(Conflict, match="stays on the waitlist"):
        services.waitlist_offer_accept(offer=offer, accepted_by=users["front_desk"])
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert offer.status == OfferStatus.TAKEN
    assert entry.status == WaitlistStatus.WAITING
    assert Appointment.objects.count() == count


def test_waitlist_window_must_be_in_order(clinic, users):
    with pytest.raises(InvalidInput) as caught:
        wait(clinic, users, earliest_date=workday(), latest_date=workday() - timedelta(days=1))
    assert "latest_date" in caught.value.errors or caught.value.field == "latest_date"
