"""The desk home's "Needs" column: one badge per kind of need, counted, each naming its items."""

from __future__ import annotations

import pytest

from medoffice.reception.selectors import todays_arrivals

pytestmark = pytest.mark.django_db


def test_needs_are_one_badge_per_kind_with_a_count(desk_day):
    # Two unsigned forms showed as "Form Form": a reader could not tell them apart.
    (group,) = todays_arrivals()
    (row,) = [r for r in group.rows if r.appointment.pk == desk_day.appointment.pk]
    labels = [badge.label for badge in row.needs]
    assert "2 forms" in labels and "Form" not in labels
    (forms,) = [badge for badge in row.needs if badge.label == "2 forms"]
    assert "Notice of privacy practices" in forms.message and "Financial policy" in forms.message
    assert len(labels) == len(set(labels))
