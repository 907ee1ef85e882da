"""The dashboard's figures are kept a few seconds per user, and recounted after."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db
HOME = "/dashboard/"


def _new_patients(client) -> str:
    response = client.get(HOME)
    return next(
        t.figure for _, group in response.context["sections"] for t in group
        if t.title.startswith("New patients")
    )  # fmt: skip


def test_figures_are_kept_for_the_set_seconds_then_recounted(client_for):
    cache.clear()
    client = client_for("manager")
    with override_settings(MEDOFFICE_DASHBOARD_CACHE_SECONDS=60):
        before = _new_patients(client)
        pf.patient()
        assert _new_patients(client) == before  # kept
        cache.clear()  # (the seconds have passed)
        assert int(_new_patients(client)) == int(before) + 1
    cache.clear()


def test_without_the_cache_every_view_counts_afresh(client_for):
    client = client_for("manager")
    before = _new_patients(client)
    pf.patient()
    assert int(_new_patients(client)) == int(before) + 1
