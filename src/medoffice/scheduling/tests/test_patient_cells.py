"""One patient cannot be in two appointments at once: the database holds the rule.

Every appointment's occupancy cells carry its patient, and a unique (patient, cell)
constraint refuses a second appointment of the same patient in the same five minutes,
whichever path writes it. The tests switch the Python overlap check off where it would
otherwise answer first, so the constraint alone is what they prove.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from medoffice.core.exceptions import Conflict
from medoffice.scheduling import selectors, services
from medoffice.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Occupancy,
    OfferStatus,
    SeriesPolicy,
    WaitlistEntry,
    WaitlistOffer,
)
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


def rows():
    return (
        sorted(Appointment.objects.values_list("pk", "status", "start", "provider_id")),
        sorted(Occupancy.objects.values_list("appointment_id", "patient_id", "cell")),
    )


def test_every_cell_carries_the_patient(clinic, users):
    appointment = book(clinic, users, at(workday(), "09:00"))
    cells = list(Occupancy.objects.filter(appointment=appointment).values_list("patient_id"))
    assert cells == [(clinic.patient.pk,)] * 4


def test_database_refuses_a_second_cell_of_the_same_patient(clinic, users):
    first = book(clinic, users, at(workday(), "10:00"))
    other = sf.appointment(
        patient=pf.patient(), provider=clinic.other_provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=first.start,
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Occupancy.objects.create(
            appointment=other,
            provider=clinic.other_provider,
            patient=clinic.patient,
            cell=int(first.start.timestamp()) // 300 + 1,
        )


def test_python_check_still_names_the_clash(clinic, users):
    start = at(workday(), "10:00")
    book(clinic, users, start)
    before = rows()
    with pytest.raises(Conflict) as caught:
        book(clinic, users, start + timedelta(minutes=10), provider=clinic.other_provider)
    assert caught.value.code == "patient_busy"
    assert rows() == before


def test_booking_without_the_python_check_is_refused_by_the_database(
    clinic, users, no_overlap_check
):
    start = at(workday(), "10:00")
    book(clinic, users, start)
    before = rows()
    with pytest.raises(Conflict) as caught:
        book(clinic, users, start + timedelta(minutes=15), provider=clinic.other_provider)
    assert caught.value.code == "patient_taken"
    assert "The patient was booked" in caught.value.message
    assert rows() == before
    # Another patient with the other provider at that time is fine.
    book(clinic, users, start, provider=clinic.other_provider, patient=pf.patient())


def test_reschedule_into_the_patients_other_appointment_is_refused(clinic, users, no_overlap_check):
    first = book(clinic, users, at(workday(), "10:00"))
    second = book(clinic, users, at(workday(), "14:00"), provider=clinic.other_provider)
    before = rows()
    with pytest.raises(Conflict) as caught:
        services.appointment_reschedule(
            appointment=second, start=first.start, rescheduled_by=users["front_desk"]
        )
    assert caught.value.code == "patient_taken"
    assert rows() == before


def test_reschedule_moves_the_patients_cells(clinic, users, no_overlap_check):
    start = at(workday(), "10:00")
    appointment = book(clinic, users, start)
    services.appointment_reschedule(
        appointment=appointment, start=at(workday(), "15:00"), rescheduled_by=users["front_desk"]
    )
    # The old time is free for the patient again (with another provider).
    book(clinic, users, start, provider=clinic.other_provider)
    with pytest.raises(Conflict):
        book(clinic, users, at(workday(), "15:00"), provider=clinic.other_provider)


@pytest.mark.parametrize("how", ["cancel", "no_show"])
def test_cancel_and_no_show_free_the_patients_time(clinic, users, no_overlap_check, how):
    past = how == "no_show"
    start = at(workday(1, weeks_ahead=-1 if past else 2), "10:00")
    appointment = book(clinic, users, start, allow_past=past)
    if how == "cancel":
        services.appointment_cancel(
            appointment=appointment, reason="Patient called", cancelled_by=users["front_desk"]
        )
    else:
        services.appointment_mark_no_show(appointment=appointment, marked_by=users["front_desk"])
    assert not Occupancy.objects.filter(patient=clinic.patient).exists()
    book(clinic, users, start, provider=clinic.other_provider, allow_past=past)


def test_series_all_or_nothing_stops_at_the_patients_other_appointment(
    clinic, users, no_overlap_check
):
    first = at(workday(), "10:00")
    book(clinic, users, first + timedelta(weeks=2), provider=clinic.other_provider)
    before = rows()
    with pytest.raises(Conflict) as caught:
        services.series_book(
            patient=clinic.patient, provider=clinic.provider, location=clinic.location,
            appointment_type=clinic.follow_up, first_start=first, rrule="FREQ=WEEKLY;COUNT=4",
            booked_by=users["front_desk"],
        )  # fmt: skip
    assert caught.value.code == "series_conflicts"
    assert rows() == before

    _series, booked, skipped = services.series_book(
        patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.follow_up, first_start=first, rrule="FREQ=WEEKLY;COUNT=4",
        booked_by=users["front_desk"], policy=SeriesPolicy.FREE_ONLY,
    )  # fmt: skip
    assert len(booked) == 3
    assert [o.code for o in skipped] == ["patient_taken"]


def test_waitlist_offer_accepted_after_the_patient_was_booked_elsewhere(
    clinic, users, no_overlap_check
):
    """The offer was made while the patient was free; meanwhile they were booked at that time
    with another provider. Accepting is refused by the database and the offer is marked taken."""
    start = at(workday(), "10:00")
    freed = book(clinic, users, start, patient=pf.patient())
    entry = services.waitlist_add(
        patient=clinic.patient, appointment_type=clinic.follow_up,
        earliest_date=start.date() - timedelta(days=1), latest_date=start.date() + timedelta(days=1),
        added_by=users["front_desk"], provider=clinic.provider,
    )  # fmt: skip
    services.appointment_cancel(appointment=freed, reason="Sick", cancelled_by=users["front_desk"])
    offer = WaitlistOffer.objects.get(entry=entry, status=OfferStatus.OPEN)
    book(clinic, users, start, provider=clinic.other_provider)  # the patient, elsewhere
    booked_before = Appointment.objects.filter(patient=clinic.patient).count()
    with pytest.raises(Conflict) as caught:
        services.waitlist_offer_accept(offer=offer, accepted_by=users["front_desk"])
    assert caught.value.code == "offer_taken"
    offer.refresh_from_db()
    assert offer.status == OfferStatus.TAKEN
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    assert Appointment.objects.filter(patient=clinic.patient).count() == booked_before


def test_merging_two_records_booked_at_the_same_time_is_refused(clinic, users):
    from medoffice.patients.services import patient_merge

    start = at(workday(), "10:00")
    duplicate = pf.patient(first_name=clinic.patient.first_name, last_name="Twin")
    book(clinic, users, start)
    theirs = book(clinic, users, start, provider=clinic.other_provider, patient=duplicate)
    before = rows()
    with pytest.raises(Conflict):
        patient_merge(actor=None, survivor=clinic.patient, duplicate=duplicate)
    assert rows() == before
    assert Appointment.objects.get(pk=theirs.pk).patient_id == duplicate.pk

    # Once one of them is cancelled, the merge moves the other's cells with it.
    services.appointment_cancel(appointment=theirs, reason="dup", cancelled_by=None)
    later = book(clinic, users, at(workday(), "15:00"), provider=clinic.other_provider,
                 patient=duplicate)  # fmt: skip
    patient_merge(actor=None, survivor=clinic.patient, duplicate=duplicate)
    assert set(
        Occupancy.objects.filter(appointment=later).values_list("patient_id", flat=True)
    ) == {clinic.patient.pk}


def test_past_data_entry_is_held_too(clinic, users, no_overlap_check):
    start = at(workday(1, weeks_ahead=-2), "10:00")
    book(clinic, users, start, allow_past=True)
    with pytest.raises(Conflict):
        book(clinic, users, start, provider=clinic.other_provider, allow_past=True)


def test_double_bookings_from_before_the_rule_are_listed(clinic, users):
    """Cells without a patient are what migration 0005 leaves on the later of two overlapping
    appointments; the selector lists those appointments for the front desk."""
    first = book(clinic, users, at(workday(), "10:00"))
    later = sf.appointment(
        patient=clinic.patient, provider=clinic.other_provider, location=clinic.location,
        appointment_type=clinic.follow_up, start=first.start + timedelta(weeks=1),
    )  # fmt: skip
    assert list(selectors.patient_double_bookings()) == []
    Occupancy.objects.filter(appointment=later).update(patient=None)
    assert list(selectors.patient_double_bookings()) == [later]
    Appointment.objects.filter(pk=later.pk).update(status=AppointmentStatus.CANCELLED)
    assert list(selectors.patient_double_bookings()) == []
