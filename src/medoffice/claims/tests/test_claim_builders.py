"""The claims the tests build (`testing.claim_builders`): dated from the day the tests run,
so a claim scrubbed "today" passes in any year, not only before its filing limit passes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from medoffice.claims.scrubber import scrub
from medoffice.claims.selectors import practice_today
from medoffice.testing.claim_builders import make_claim, service_day

pytestmark = pytest.mark.django_db


def test_a_built_claim_is_dated_from_today_and_scrubs_clean(practice):
    claim = make_claim()
    today = practice_today()
    assert claim.encounter.date_of_service == service_day() == today - timedelta(days=60)
    assert scrub(claim, today) == []


def test_a_built_claim_scrubs_clean_after_a_fixed_date_would_be_too_late(practice):
    later = date(2029, 3, 1)  # past 11/02/2028, two years after the builders' old fixed date
    claim = make_claim(date_of_service=service_day(later))
    assert claim.encounter.date_of_service == date(2028, 12, 31)
    assert scrub(claim, later) == []
    assert [f.code for f in scrub(claim, later + timedelta(days=650))] == ["timely_filing_near"]
