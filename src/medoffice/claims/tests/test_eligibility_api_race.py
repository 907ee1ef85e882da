"""Twenty POSTs to /api/claims/eligibility-requests with one Idempotency-Key at the same moment,
each from its own client and database connection: one request is made and one 270 sent; the
call that made it answers 201, every replay 200, all with the same request. On PostgreSQL and
on SQLite (each engine's run of the suite runs its own variant); the constraint-only variant
switches the service's first look off, so the unique key alone decides who made it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from medoffice.claims import eligibility_requests
from medoffice.claims.models import EligibilityRequest, MailboxSubmission
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.core.idempotency import HEADER
from medoffice.testing.races import at_once

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
URL = "/api/claims/eligibility-requests"
CALLS = 20


@pytest.mark.parametrize("precheck", [True, False], ids=["precheck", "constraint-only"])
@pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"]
)
def test_one_key_at_once_answers_201_once_and_200_to_every_replay(
    engine, precheck, desk_day, users, tmp_path, monkeypatch
):
    if connection.vendor != engine:
        pytest.skip(f"this variant runs on {engine}; the database is {connection.vendor}")
    if not precheck:  # only the unique key stands between the calls
        monkeypatch.setattr(eligibility_requests, "_earlier", lambda *args: None)
    house = folder_clearinghouse(tmp_path / "mailbox", users["manager"])
    clients = []
    for _ in range(CALLS):
        client = Client()
        client.force_login(users["front_desk"])
        clients.append(client)

    def attempt(n: int) -> str:
        answer = clients[n].post(
            URL, {"coverage_id": desk_day.coverage.pk}, content_type="application/json",
            headers={HEADER: "one-click"},
        )  # fmt: skip
        return f"{answer.status_code}:{answer.json().get('id')}"

    outcomes = at_once(CALLS, attempt)
    made = EligibilityRequest.objects.get()
    assert sorted(outcomes) == [f"200:{made.pk}"] * (CALLS - 1) + [f"201:{made.pk}"], outcomes
    assert made.status == "pending"
    assert [p.name for p in Path(house.outbound_path).iterdir()] == [made.file_name]
    assert MailboxSubmission.objects.count() == 1
