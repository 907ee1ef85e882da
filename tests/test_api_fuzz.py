"""Property-based probe of the whole JSON API: every operation in /api/openapi.json, called
with generated input (valid and not) as an owner, answers without a server error.

Bounded (MEDOFFICE_FUZZ_EXAMPLES examples per operation, 25 by default) so it runs in about
a minute; run it on PostgreSQL too (DATABASE_URL), where text with
NUL characters and out-of-range numbers reach the driver differently than on SQLite.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings

from medoffice.core import services

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("MEDOFFICE_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def api_schema(users, patient, clinic, media_root):
    """The API's own OpenAPI document, called in-process through the WSGI application."""
    from django.core.wsgi import get_wsgi_application

    # As Django's test client does: requests inside a test must not close its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def owner_token(users) -> str:
    _, raw = services.api_token_create(user=users["owner"], name="probe")
    return raw


def test_no_operation_answers_a_server_error(api_schema, owner_token):
    auth = {"Authorization": f"Bearer {owner_token}"}
    failures: list[str] = []
    operations = 0
    raised: list[str] = []

    def remember(sender, request=None, **kwargs) -> None:
        import sys

        raised.append(repr(sys.exc_info()[1])[:300])

    got_request_exception.connect(remember)

    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def probe(case) -> None:
            raised.clear()
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code} "
                    f"{' '.join(raised)}\n"
                    f"  {case.as_curl_command(headers=auth)}"
                )

        probe()
    got_request_exception.disconnect(remember)

    assert operations > 50  # the whole API was walked
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures)
