"""A page view does not write the session row each time: the activity stamp is refreshed at
most once a minute, so signed-in users do not queue on the database's writer."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medoffice.core.middleware import ACTIVITY_STAMP_SECONDS, SESSION_LAST_SEEN, SESSION_LOGIN_AT

pytestmark = pytest.mark.django_db
HOME = reverse("dashboard:home")


def _session_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "django_session" in q["sql"]
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]


def _stamp(client, seconds_ago: float) -> float:
    session = client.session
    stamp = time.time() - seconds_ago
    session[SESSION_LOGIN_AT] = stamp - 5
    session[SESSION_LAST_SEEN] = stamp
    session.save()
    return stamp


def test_a_second_page_view_within_a_minute_writes_nothing_to_the_session(client_for):
    client = client_for("front_desk")
    stamp = _stamp(client, seconds_ago=10)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(HOME).status_code == 200
    assert _session_writes(queries.captured_queries) == []
    assert client.session[SESSION_LAST_SEEN] == stamp


def test_after_a_minute_the_activity_stamp_is_refreshed(client_for):
    client = client_for("front_desk")
    stamp = _stamp(client, seconds_ago=ACTIVITY_STAMP_SECONDS + 1)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(HOME).status_code == 200
    assert len(_session_writes(queries.captured_queries)) == 1
    assert client.session[SESSION_LAST_SEEN] > stamp
