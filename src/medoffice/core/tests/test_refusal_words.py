"""A refused page or call says in words what the role lacks, never a permission code."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_refused_page_names_what_is_missing_in_words(client_for):
    # The page read "Your role does not allow this (core.view_audit)."
    response = client_for("front_desk").get(reverse("core:audit"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "it needs permission to view audit" in html
    assert "core.view_audit" not in html


def test_a_refused_api_call_names_what_is_missing_in_words(client_for):
    response = client_for("front_desk").get("/api/users")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_permitted"
    assert "core." not in body["detail"] and "manage users" in body["detail"]
