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


def test_the_arrivals_table_shows_copay_and_balance_only_to_who_sees_money(
    desk_day, client_for, users
):
    from django.urls import reverse

    from medoffice.core.models import RolePermission
    from medoffice.core.role_permissions import forget_permissions

    url = reverse("reception:arrivals")
    desk = client_for("front_desk")
    assert "Copay due" in desk.get(url).content.decode()
    # A practice whose desk checks patients in but is not to see their money.
    RolePermission.objects.filter(role__code="front_desk", codename="patients.view_money").delete()
    forget_permissions(users["front_desk"])
    page = client_for("front_desk").get(url).content.decode()
    assert "Lopez" in page  # the table is still there
    assert "Copay due" not in page and "Balance due" not in page
