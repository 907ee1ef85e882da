"""Providers' private iCalendar feeds: content, privacy, tokens and their rotation, audit."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.core.models import AuditEvent
from medoffice.scheduling import ical
from medoffice.scheduling.models import AppointmentStatus, CalendarFeedToken, Room
from medoffice.testing import factories
from medoffice.testing import reminders_factories as rf


@pytest.fixture
def provider(practice):
    location = factories.location(name="Northside Clinic")
    return factories.provider(first_name="Dana", last_name="Okafor", locations=[location])


@pytest.fixture
def manager(users):
    return users["manager"]


def feed_url(raw: str) -> str:
    return reverse("scheduling:ical_feed", args=[raw])


def events_of(response) -> dict[str, icalendar.Component]:
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


@pytest.mark.django_db
def test_feed_holds_exactly_the_booked_and_checked_in_appointments(client, provider, manager):
    now = timezone.now().replace(second=0, microsecond=0)
    location = provider.locations.get()
    room = Room.objects.create(location=location, name="Exam 3")
    patient = rf.reachable_patient(first_name="Maria", last_name="Gonzalez")
    kind = rf.appointment_type(name="Annual physical")

    def make(hours, **fields):
        fields.setdefault("provider", provider)
        fields.setdefault("location", location)
        return rf.appointment(start=now + timedelta(hours=hours), **fields)

    expected = [
        make(24, patient=patient, appointment_type=kind, room=room),
        make(-24 * 29, status=AppointmentStatus.CHECKED_IN),  # within the past 30 days
        make(24 * 179),
    ]
    make(48, status=AppointmentStatus.CANCELLED)
    make(-24 * 5, status=AppointmentStatus.COMPLETED)
    make(-24 * 6, status=AppointmentStatus.NO_SHOW)
    make(-24 * 31)  # too old
    make(24 * 181)  # too far ahead
    rf.appointment(start=now + timedelta(hours=24))  # another provider's
    raw = ical.calendar_feed_rotate(provider=provider, actor=manager)

    response = client.get(feed_url(raw))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert {"private", "no-store"} <= set(response["Cache-Control"].replace(" ", "").split(","))
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == ical.PRODID
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
    events = events_of(response)
    domain = f"{factories.practice().group_npi}.medoffice"
    assert set(events) == {f"appointment-{a.pk}@{domain}" for a in expected}

    first = events[f"appointment-{expected[0].pk}@{domain}"]
    assert str(first["SUMMARY"]) == "M.G. - Annual physical"
    assert str(first["LOCATION"]) == "Northside Clinic, Exam 3"
    assert first["DTSTART"].dt == expected[0].start
    assert first["DTSTART"].dt.tzinfo == zoneinfo.ZoneInfo("America/Chicago")
    assert first["DTEND"].dt == expected[0].end
    assert first["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert str(first["STATUS"]) == "CONFIRMED"
    assert b"Gonzalez" not in response.content
    assert b"Maria" not in response.content
    assert patient.email.encode() not in response.content
    assert str(events[f"appointment-{expected[1].pk}@{domain}"]["DESCRIPTION"]) == "Checked in"


@pytest.mark.django_db
def test_patient_detail_is_a_setting(client, provider, manager, settings):
    when = timezone.now() + timedelta(days=1)
    appointment = rf.appointment(
        start=when, provider=provider, location=provider.locations.get(),
        patient=rf.reachable_patient(first_name="Maria", last_name="Gonzalez"),
        appointment_type=rf.appointment_type(name="Lab draw"),
    )  # fmt: skip
    raw = ical.calendar_feed_rotate(provider=provider, actor=manager)

    settings.MEDOFFICE_ICAL_PATIENT_DETAIL = "none"
    settings.MEDOFFICE_ICAL_SHOW_TYPE = False
    (event,) = events_of(client.get(feed_url(raw))).values()
    assert str(event["SUMMARY"]) == "Appointment"

    settings.MEDOFFICE_ICAL_PATIENT_DETAIL = "full_name"
    settings.MEDOFFICE_ICAL_SHOW_TYPE = True
    (event,) = events_of(client.get(feed_url(raw))).values()
    assert str(event["SUMMARY"]) == "Maria Gonzalez - Lab draw"
    assert str(event["UID"]).startswith(f"appointment-{appointment.pk}@")


@pytest.mark.django_db
def test_wrong_token_rotation_and_revocation(client, provider, manager):
    rf.appointment(start=timezone.now() + timedelta(days=2), provider=provider,
                   location=provider.locations.get())  # fmt: skip
    assert client.get(feed_url("not-a-real-token")).status_code == 404

    old = ical.calendar_feed_rotate(provider=provider, actor=manager)
    assert client.get(feed_url(old)).status_code == 200
    assert client.get(feed_url(old[:-1] + ("x" if old[-1] != "x" else "y"))).status_code == 404

    new = ical.calendar_feed_rotate(provider=provider, actor=manager)
    assert new != old
    assert client.get(feed_url(old)).status_code == 404
    assert client.get(feed_url(new)).status_code == 200
    assert CalendarFeedToken.objects.filter(provider=provider).count() == 1

    ical.calendar_feed_revoke(provider=provider, actor=manager)
    assert client.get(feed_url(new)).status_code == 404


@pytest.mark.django_db
def test_an_inactive_provider_has_no_feed(client, provider, manager):
    raw = ical.calendar_feed_rotate(provider=provider, actor=manager)
    provider.is_active = False
    provider.save(update_fields=["is_active"])
    assert client.get(feed_url(raw)).status_code == 404


@pytest.mark.django_db
def test_each_fetch_is_one_export_event_and_no_views(client, provider, manager):
    location = provider.locations.get()
    for days in (1, 2, 3):
        rf.appointment(start=timezone.now() + timedelta(days=days), provider=provider,
                       location=location)  # fmt: skip
    raw = ical.calendar_feed_rotate(provider=provider, actor=manager)
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    client.get(feed_url(raw))

    new_events = AuditEvent.objects.filter(id__gt=before)
    assert [e.action for e in new_events] == ["export"]
    export = new_events.get()
    assert export.object_type == "scheduling.appointment"
    assert export.changes["rows"] == 3
    assert export.changes["provider"] == provider.pk
    assert export.changes["token_prefix"] == raw[:8]
    assert raw not in str(export.changes)
    assert CalendarFeedToken.objects.get(provider=provider).last_used_at is not None


@pytest.mark.django_db
def test_only_the_digest_of_the_token_is_stored(provider, manager):
    raw = ical.calendar_feed_rotate(provider=provider, actor=manager)
    token = CalendarFeedToken.objects.get(provider=provider)
    assert raw not in (token.digest, token.prefix)
    assert raw not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


# --- The page where feeds are made and rotated ------------------------------------------------------


@pytest.mark.django_db
def test_feed_page_permissions(client, client_for, users, provider):
    own_user = users["clinician"]
    provider.user = own_user
    provider.save(update_fields=["user"])
    other = factories.provider(first_name="Lee", last_name="Other")
    url = reverse("scheduling:calendar_feeds")

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert reverse("core:login") in anonymous["Location"]
    assert client.post(url, {"provider": provider.pk, "action": "rotate"}).status_code == 302
    assert not CalendarFeedToken.objects.exists()

    front_desk = client_for("front_desk")
    assert front_desk.get(url).status_code == 403
    assert front_desk.post(url, {"provider": provider.pk, "action": "rotate"}).status_code == 403
    assert not CalendarFeedToken.objects.exists()

    clinician = client_for("clinician")
    page = clinician.get(url)
    assert page.status_code == 200
    assert b"Okafor" in page.content and b"Other" not in page.content
    made = clinician.post(url, {"provider": provider.pk, "action": "rotate"})
    assert made.status_code == 200
    shown = made.context["new_address"]
    assert shown.startswith("http://testserver/scheduling/ical/") and shown.endswith(".ics")
    assert client.get(shown.removeprefix("http://testserver")).status_code == 200
    assert clinician.post(url, {"provider": other.pk, "action": "rotate"}).status_code == 403
    assert not CalendarFeedToken.objects.filter(provider=other).exists()

    manager = client_for("manager")
    assert manager.post(url, {"provider": other.pk, "action": "rotate"}).status_code == 200
    assert manager.post(url, {"provider": provider.pk, "action": "revoke"}).status_code == 200
    assert client.get(shown.removeprefix("http://testserver")).status_code == 404
    rotated = AuditEvent.objects.filter(
        action="security", object_type="scheduling.calendarfeedtoken"
    )
    assert rotated.count() == 3  # made by the clinician, made for the other, revoked
