"""Twelve "Check eligibility" calls with one key at the same moment, each thread with its own
database connection: one request, one 270 in the outbound folder, one submission. The
constraint-only variant switches the Python look-up off, so only the unique key stands
between the threads."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from medoffice.claims import eligibility_requests
from medoffice.claims.models import ControlCounter, EligibilityRequest, MailboxSubmission
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.claims.tests.test_mailbox_race import in_threads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
THREADS = 12


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("twelve writers at once: PostgreSQL only")


@pytest.mark.parametrize("precheck", [True, False], ids=["precheck", "constraint-only"])
def test_one_key_at_once_makes_one_request_and_sends_once(
    desk_day, users, tmp_path, monkeypatch, precheck
):
    house = folder_clearinghouse(tmp_path / "mailbox", users["manager"])
    if not precheck:
        monkeypatch.setattr(eligibility_requests, "_earlier", lambda *args: None)
    desk, coverage = users["front_desk"], desk_day.coverage

    outcomes = in_threads(
        THREADS,
        lambda n: (
            eligibility_requests.request_eligibility(
                coverage, desk, idempotency_key="same-click"
            ).pk
        ),
    )
    assert [o for o in outcomes if isinstance(o, str)] == []
    made = EligibilityRequest.objects.get()
    assert set(outcomes) == {made.pk}
    assert made.status == "pending"
    assert [p.name for p in Path(house.outbound_path).iterdir()] == [made.file_name]
    assert MailboxSubmission.objects.count() == 1
    # The losers' control numbers were rolled back with their rows: the one sent is the last.
    assert ControlCounter.objects.get(kind="ISA").last_value == made.interchange_control_number


def test_different_keys_at_once_each_send_their_own(desk_day, users, tmp_path):
    house = folder_clearinghouse(tmp_path / "mailbox", users["manager"])
    desk, coverage = users["front_desk"], desk_day.coverage
    outcomes = in_threads(
        6,
        lambda n: (
            eligibility_requests.request_eligibility(
                coverage, desk, idempotency_key=f"click-{n}"
            ).trace_number
        ),
    )
    assert len(set(outcomes)) == 6, outcomes
    assert len(list(Path(house.outbound_path).iterdir())) == 6
    assert EligibilityRequest.objects.filter(status="pending").count() == 6
