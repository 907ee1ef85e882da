"""The flow board's wall display: initials only, one location, today, read-only, no session."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.middleware import SESSION_LAST_SEEN
from medoffice.core.models import AuditEvent
from medoffice.reception import services, wall
from medoffice.reception.models import Stage, WallDisplayLink
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing import scheduling_factories as sf


def wall_url(raw: str) -> str:
    return reverse("reception:wall_display", args=[raw])


@pytest.fixture
def roomed(desk_day, users):
    """Maria Lopez checked in and roomed in Exam 1 at Main St."""
    desk = users["front_desk"]
    services.check_in(
        appointment_id=desk_day.appointment.pk, checked_in_by=desk,
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    services.flow_advance(
        appointment_id=desk_day.appointment.pk, to_stage=Stage.ROOMED, actor=desk,
        room_id=desk_day.rooms[0].pk,
    )  # fmt: skip
    return desk_day


@pytest.fixture
def link(roomed, users):
    made, raw = wall.wall_link_create(
        location=roomed.location, name="Back office screen", actor=users["manager"]
    )
    return made, raw


def test_initials_room_stage_and_provider_but_no_name_dob_or_mrn(roomed, link, users):
    _, raw = link
    patient = roomed.patient
    response = Client().get(wall_url(raw))
    assert response.status_code == 200
    html = response.content.decode()
    assert "M. L." in html
    assert "Exam 1" in html
    assert "Roomed" in html
    assert "A. Able" in html  # the provider's short name
    assert "Main St" in html
    for secret in (patient.last_name, patient.first_name, patient.mrn, "01/01/1980", "1980"):
        assert secret not in html, secret
    assert "$" not in html  # no copay, no balance
    assert not re.search(r"<(form|button|input|select|textarea)\b", html)
    assert not re.search(r"<a\b", html)  # no links to records (or anywhere)
    assert 'http-equiv="refresh" content="30"' in html


def test_no_session_no_cookie_and_not_cached(roomed, link):
    _, raw = link
    response = Client().get(wall_url(raw))
    assert response.status_code == 200
    assert "Set-Cookie" not in str(response.serialize_headers(), "latin-1")
    assert not response.cookies
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in response


def test_a_signed_in_browser_is_not_kept_signed_in_by_the_screen(roomed, link, client_for):
    """The screen never reads the session: its refreshes are no activity, write no session."""
    _, raw = link
    manager = client_for("manager")
    assert manager.get(reverse("reception:flow_board")).status_code == 200
    # The browser has been idle past the sign-out limit: a page of the app would sign it out
    # (and one after a minute's activity would stamp the session); the screen does neither.
    session = manager.session
    idle = settings.MEDOFFICE_IDLE_MINUTES * 60 + 60
    session[SESSION_LAST_SEEN] = time.time() - idle
    session.save()
    key = session.session_key
    before = Session.objects.get(session_key=key).session_data
    response = manager.get(wall_url(raw))
    assert response.status_code == 200
    assert "M. L." in response.content.decode()
    assert not response.cookies
    assert Session.objects.get(session_key=key).session_data == before
    # The same browser's next page is signed out as it should be: the screen kept nobody in.
    assert manager.get(reverse("reception:flow_board")).status_code == 302


def test_other_locations_and_other_days_are_absent(roomed, link, users):
    _, raw = link
    elsewhere = factories.location(name="Hilltop")
    provider = factories.provider(first_name="Ben", last_name="Bow", locations=[elsewhere])
    kind = sf.appointment_type(name="Visit", code="visit-hill", providers=[provider])
    other = pf.patient(first_name="Zed", last_name="Quinn")
    appointment = sf.appointment(
        patient=other, provider=provider, location=elsewhere, appointment_type=kind
    )
    services.check_in(
        appointment_id=appointment.pk, checked_in_by=users["front_desk"],
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    html = Client().get(wall_url(raw)).content.decode()
    assert "M. L." in html
    assert "Z. Q." not in html and "Bow" not in html and "Hilltop" not in html


def test_unknown_revoked_and_written_requests(roomed, link, users):
    made, raw = link
    client = Client()
    assert client.get(wall_url("not-a-real-token")).status_code == 404
    assert client.get(wall_url(raw[:-1] + ("x" if raw[-1] != "x" else "y"))).status_code == 404
    assert client.post(wall_url(raw)).status_code == 405
    assert client.get(wall_url(raw)).status_code == 200
    wall.wall_link_revoke(link_id=made.pk, actor=users["manager"])
    gone = client.get(wall_url(raw))
    assert gone.status_code == 404
    assert "M. L." not in gone.content.decode()


def test_only_the_digest_is_stored(link):
    made, raw = link
    made.refresh_from_db()
    assert raw not in (made.digest, made.prefix)
    assert raw not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


def test_making_and_revoking_are_audited_and_use_at_most_once_an_hour(roomed, users):
    manager = users["manager"]
    made, raw = wall.wall_link_create(location=roomed.location, name="Back", actor=manager)
    security = AuditEvent.objects.filter(action="security", object_type="reception.walldisplaylink")
    assert security.count() == 1 and security.get().actor_id == manager.pk

    uses = AuditEvent.objects.filter(object_type="reception.walldisplay")
    client = Client()
    for _ in range(3):
        assert client.get(wall_url(raw)).status_code == 200
    assert uses.count() == 1
    use = uses.get()
    assert use.action == "view"
    assert use.changes["patients"] == [roomed.patient.pk]
    assert use.actor_name == f"wall display {made.prefix}"

    # An hour later the next refresh is recorded again, once.
    WallDisplayLink.objects.filter(pk=made.pk).update(
        last_used_at=timezone.now() - timedelta(minutes=61)
    )
    client.get(wall_url(raw))
    client.get(wall_url(raw))
    assert uses.count() == 2

    wall.wall_link_revoke(link_id=made.pk, actor=manager)
    assert security.count() == 2
    wall.wall_link_revoke(link_id=made.pk, actor=manager)  # again: nothing new
    assert security.count() == 2


def test_use_is_claimed_by_one_conditional_update(roomed, link):
    made, _ = link
    now = timezone.now()
    assert wall._record_use(made, [roomed.patient.pk], now) is True
    assert wall._record_use(made, [roomed.patient.pk], now + timedelta(minutes=59)) is False
    assert wall._record_use(made, [roomed.patient.pk], now + timedelta(minutes=60)) is True


def test_links_page_permissions_and_errors(desk_day, client, client_for, users):
    url = reverse("reception:wall_links")
    data = {"action": "create", "name": "Back office screen", "location": desk_day.location.pk}
    assert client.get(url).status_code == 302
    assert client.post(url, data).status_code == 302
    for role in ("front_desk", "medical_assistant", "clinician", "auditor"):
        assert client_for(role).get(url).status_code == 403
        assert client_for(role).post(url, data).status_code == 403
    assert not WallDisplayLink.objects.exists()
    with pytest.raises(NotPermitted):
        wall.wall_link_create(location=desk_day.location, name="x", actor=users["front_desk"])

    manager = client_for("manager")
    bad = manager.post(url, {"action": "create", "name": "  ", "location": "999999"})
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "Give the screen a name" in text and "Choose an active location" in text
    assert not WallDisplayLink.objects.exists()
    with pytest.raises(InvalidInput) as raised:
        wall.wall_link_create(location=desk_day.location, name="", actor=users["manager"])
    assert set(raised.value.errors) == {"name"}

    made = manager.post(url, data)
    assert made.status_code == 200
    address = made.context["new_address"]
    assert address.startswith("http://testserver/reception/wall/")
    assert Client().get(address.removeprefix("http://testserver")).status_code == 200
    link = WallDisplayLink.objects.get()
    assert (link.name, link.location, link.created_by) == (
        "Back office screen", desk_day.location, users["manager"],
    )  # fmt: skip
    listed = manager.get(url).content.decode()
    assert "Back office screen" in listed and link.prefix in listed
    assert address not in listed  # shown once, when made

    manager.post(url, {"action": "revoke", "link": link.pk})
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == users["manager"]
    assert Client().get(address.removeprefix("http://testserver")).status_code == 404
