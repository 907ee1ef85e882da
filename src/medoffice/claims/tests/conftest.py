"""What the encounter tests need: a clinic, a patient, and the code-table rows they code with
(the coding app's lookups read them from the database like any practice's tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from medoffice.testing import factories
from medoffice.testing import patients_factories as pf
from medoffice.testing.coding_tables import make_code_tables


@dataclass
class Office:
    location: Any
    provider: Any  # Dr Able: the clinician user's provider
    other_provider: Any
    patient: Any
    day: date


@pytest.fixture
def code_tables(db):
    """The shared test code tables (medoffice.testing.coding_tables.make_code_tables)."""
    return make_code_tables()


@pytest.fixture
def office(db, practice, users, code_tables) -> Office:
    main = factories.location(name="Main St")
    dr_a = factories.provider(
        first_name="Ann", last_name="Able", locations=[main], user=users["clinician"]
    )
    dr_b = factories.provider(first_name="Ben", last_name="Baker", locations=[main])
    from medoffice.claims.selectors import practice_today

    return Office(
        location=main, provider=dr_a, other_provider=dr_b, patient=pf.patient(),
        day=practice_today() - timedelta(days=1),
    )  # fmt: skip
