"""The waitlist: entries, and offering a freed time to the first matching patient, who
accepts (it is booked) or declines (it goes to the next).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, MedofficeError
from medoffice.core.models import Location, Provider, User
from medoffice.core.services import full_clean_or_raise
from medoffice.scheduling.availability import local_date
from medoffice.scheduling.models import (
    Appointment,
    AppointmentType,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from medoffice.scheduling.permissions import SchedulingPerm
from medoffice.scheduling.services._common import _require
from medoffice.scheduling.services.booking import BookingRequest, appointment_book, check_booking

if TYPE_CHECKING:
    from medoffice.patients.models import Patient


@transaction.atomic
@binds_actor("added_by")
def waitlist_add(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    earliest_date: date,
    latest_date: date,
    added_by: User | None,
    provider: Provider | None = None,
    location: Location | None = None,
    priority: int = 3,
    notes: str = "",
) -> WaitlistEntry:
    _require(added_by, SchedulingPerm.BOOK_APPOINTMENTS)
    if getattr(patient, "merged_into_id", None) or not getattr(patient, "is_active", True):
        raise InvalidInput("This patient record is inactive or merged.", field="patient")
    entry = WaitlistEntry(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        location=location,
        earliest_date=earliest_date,
        latest_date=latest_date,
        priority=priority,
        notes=notes.strip(),
        created_by=added_by,
    )
    if earliest_date and latest_date and latest_date < earliest_date:
        raise InvalidInput("The last date must be on or after the first.", field="latest_date")
    full_clean_or_raise(entry, exclude=["created_by"])
    entry.save()
    return entry


@transaction.atomic
@binds_actor("removed_by")
def waitlist_remove(*, entry: WaitlistEntry, removed_by: User | None) -> WaitlistEntry:
    _require(removed_by, SchedulingPerm.BOOK_APPOINTMENTS)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status == WaitlistStatus.BOOKED:
        raise InvalidTransition("This entry was already booked.")
    entry.status = WaitlistStatus.REMOVED
    entry.save(update_fields=["status"])
    entry.offers.filter(status=OfferStatus.OPEN).update(
        status=OfferStatus.DECLINED, responded_at=timezone.now(), responded_by=removed_by
    )
    return entry


@binds_actor("freed_by")
def waitlist_offer_freed_slot(
    *,
    provider: Provider,
    location: Location,
    start: datetime,
    end: datetime,
    freed_by: Appointment | None = None,
    skip_entry_ids: Iterable[int] = (),
) -> WaitlistOffer | None:
    """Offer a freed time to the first matching waiting patient (priority, then order added).

    Matching: waiting, date window containing the day, provider and location preferences
    met (or empty), the entry's appointment type no longer than the freed time, and bookable
    at that start (hours, type allowed there, provider offers it, a room free if needed).
    Only future times are offered.
    """
    now = timezone.now()
    if start <= now:
        return None
    day = local_date(start)
    candidates = (
        WaitlistEntry.objects.select_related("patient", "appointment_type")
        .filter(status=WaitlistStatus.WAITING, earliest_date__lte=day, latest_date__gte=day)
        .filter(Q(provider__isnull=True) | Q(provider=provider))
        .filter(Q(location__isnull=True) | Q(location=location))
        .exclude(pk__in=list(skip_entry_ids))
        .exclude(
            offers__start=start, offers__provider=provider, offers__status=OfferStatus.DECLINED
        )
        .order_by("priority", "created_at", "pk")
    )
    if freed_by is not None:
        candidates = candidates.exclude(patient_id=freed_by.patient_id)
    for entry in candidates[:50]:
        length = timedelta(minutes=entry.appointment_type.duration_minutes)
        if start + length > end:
            continue  # longer than the freed time
        req = BookingRequest(
            entry.patient, provider, location, entry.appointment_type, start, start + length
        )
        try:
            room = check_booking(req, now=now)
        except MedofficeError:
            continue
        entry.status = WaitlistStatus.OFFERED
        entry.save(update_fields=["status"])
        return WaitlistOffer.objects.create(
            entry=entry,
            provider=provider,
            location=location,
            room=room,
            start=start,
            end=start + length,
            freed_by=freed_by,
        )
    return None


def _open_offer(offer: WaitlistOffer) -> WaitlistOffer:
    offer = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related(
            "entry", "entry__patient", "entry__appointment_type", "provider", "location"
        )
        .get(pk=offer.pk)
    )
    if offer.status != OfferStatus.OPEN:
        raise InvalidTransition(f"This offer is already {offer.get_status_display().lower()}.")
    return offer


@binds_actor("accepted_by")
def waitlist_offer_accept(*, offer: WaitlistOffer, accepted_by: User | None) -> Appointment:
    """The patient takes the offered time: book it.

    If the time was taken (or closed) meanwhile, the offer is marked taken, the patient goes
    back to waiting, and Conflict says why.
    """
    _require(accepted_by, SchedulingPerm.BOOK_APPOINTMENTS)
    appointment, problem = _accept_offer(offer, accepted_by)
    if problem is not None:
        raise Conflict(
            f"The offered time can no longer be booked: {problem.message} The patient stays on "
            "the waitlist.",
            code="offer_taken",
        )
    assert appointment is not None  # booked when nothing went wrong
    return appointment


@transaction.atomic
def _accept_offer(
    offer: WaitlistOffer, accepted_by: User | None
) -> tuple[Appointment | None, MedofficeError | None]:
    offer = _open_offer(offer)
    entry = offer.entry
    offer.responded_at, offer.responded_by = timezone.now(), accepted_by
    try:
        with transaction.atomic():
            appointment = appointment_book(
                patient=entry.patient,
                provider=offer.provider,
                location=offer.location,
                appointment_type=entry.appointment_type,
                start=offer.start,
                end=offer.end,
                booked_by=accepted_by,
                room=offer.room,
                notes=f"From the waitlist. {entry.notes}".strip(),
            )
    except (Conflict, InvalidInput) as exc:
        offer.status = OfferStatus.TAKEN
        offer.save()
        entry.status = WaitlistStatus.WAITING
        entry.save(update_fields=["status"])
        return None, exc
    offer.status = OfferStatus.ACCEPTED
    offer.appointment = appointment
    offer.save()
    entry.status = WaitlistStatus.BOOKED
    entry.save(update_fields=["status"])
    return appointment, None


@transaction.atomic
@binds_actor("declined_by")
def waitlist_offer_decline(
    *, offer: WaitlistOffer, declined_by: User | None
) -> WaitlistOffer | None:
    """The patient does not want it: back to waiting, and the time goes to the next match."""
    _require(declined_by, SchedulingPerm.BOOK_APPOINTMENTS)
    offer = _open_offer(offer)
    offer.status = OfferStatus.DECLINED
    offer.responded_at, offer.responded_by = timezone.now(), declined_by
    offer.save()
    entry = offer.entry
    entry.status = WaitlistStatus.WAITING
    entry.save(update_fields=["status"])
    return waitlist_offer_freed_slot(
        provider=offer.provider,
        location=offer.location,
        start=offer.start,
        end=offer.end,
        freed_by=offer.freed_by,
        skip_entry_ids=[entry.pk],
    )
