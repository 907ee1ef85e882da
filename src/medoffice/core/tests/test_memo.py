"""The practice, its zone and the module switches are read once per page view, and a change
is seen by the very next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medoffice.core import memo
from medoffice.core.models import ModuleSwitch
from medoffice.core.modules import enabled_codes
from medoffice.core.selectors import practice_or_none, practice_time_zone

pytestmark = pytest.mark.django_db


def _reads(queries, table: str) -> int:
    return sum(
        1 for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    )


def test_a_page_view_reads_the_practice_and_switches_once(client_for):
    client = client_for("manager")
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboard/").status_code == 200
    assert _reads(queries.captured_queries, "core_practice") <= 2  # the row, and its zone
    assert _reads(queries.captured_queries, "core_moduleswitch") == 1


def test_outside_a_request_every_call_reads_the_database(practice):
    with CaptureQueriesContext(connection) as queries:
        practice_or_none()
        practice_or_none()
        practice_time_zone()
    assert len(queries.captured_queries) == 3


def test_inside_the_memo_a_switch_turned_off_is_seen_by_the_next_request(practice):
    with memo.request_memo():
        assert "scheduling" in enabled_codes()
    ModuleSwitch.objects.update_or_create(module="scheduling", defaults={"enabled": False})
    with memo.request_memo():
        assert "scheduling" not in enabled_codes()
        enabled_codes().add("scheduling")  # a caller changing its copy changes no one else's
        assert "scheduling" not in enabled_codes()


def test_a_module_switched_off_by_a_post_is_off_on_the_next_page(client_for, practice):
    client = client_for("manager")
    assert client.get("/scheduling/").status_code == 200
    ModuleSwitch.objects.update_or_create(module="scheduling", defaults={"enabled": False})
    assert client.get("/scheduling/").status_code == 404
